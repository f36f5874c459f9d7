// The Example menu of the main page: the examples the server put in the
// page (#examples-data), which one the editor holds (or "(your code)" once
// the code is edited), and "Reset to the example", which puts back the
// example the code came from.

import { element, readPageData } from "../lib/dom.js";

/** The examples in the page: [{name, title, code}]. */
export function readExamples() {
  const data = readPageData("examples-data");
  return Array.isArray(data) ? data.filter((e) => e && typeof e.code === "string") : [];
}

/**
 * The menu: onPick(name) when the reader picks an example (in the menu, or
 * with resetButton: the example the code came from); showFor(code) selects
 * the entry for code; base() is the name of the example the code came from.
 */
export function exampleMenu(select, examples, { onPick, resetButton = null }) {
  const find = (name) => examples.find((e) => e.name === name) || null;
  let base = examples.length ? examples[0].name : "";
  select.addEventListener("change", () => {
    if (select.value) onPick(select.value);
  });
  if (resetButton) resetButton.addEventListener("click", () => base && onPick(base));

  function showReset(shown) {
    if (!resetButton) return;
    const example = find(base);
    resetButton.hidden = !shown || !example;
    if (example) resetButton.title = `Put back the example \u201c${example.title || example.name}\u201d (Ctrl+Z in the editor takes it back)`;
  }

  return {
    find,
    base: () => base,

    /** The code came from this example (kept when no example has that name). */
    setBase(name) {
      if (find(name)) base = name;
    },

    /** Select the example whose code this is, or a "(your code)" entry. */
    showFor(code) {
      const same = examples.find((e) => e.code === code);
      let custom = select.querySelector("option[data-custom]");
      if (same) {
        base = same.name;
        select.value = same.name;
        if (custom) custom.remove();
        showReset(false);
        return;
      }
      if (!custom) {
        custom = element("option", { value: "", "data-custom": "", text: "(your code)" });
        custom.disabled = true;
        select.prepend(custom);
      }
      select.value = "";
      showReset(true);
    },

    select(name) {
      if (find(name)) base = name;
      select.value = name;
    },
  };
}
