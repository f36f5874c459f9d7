// The Example menu of the main page: the examples the server put in the
// page (#examples-data), and which one the editor holds (or "Your code").

import { element, readPageData } from "../lib/dom.js";

/** The examples in the page: [{name, title, code}]. */
export function readExamples() {
  const data = readPageData("examples-data");
  return Array.isArray(data) ? data.filter((e) => e && typeof e.code === "string") : [];
}

/** The menu: onPick(name) when the reader picks an example; showFor(code) selects the entry for code. */
export function exampleMenu(select, examples, { onPick }) {
  select.addEventListener("change", () => onPick(select.value));
  return {
    find: (name) => examples.find((e) => e.name === name) || null,

    /** Select the example whose code this is, or a "Your code" entry. */
    showFor(code) {
      const same = examples.find((e) => e.code === code);
      let custom = select.querySelector("option[data-custom]");
      if (same) {
        select.value = same.name;
        if (custom) custom.remove();
        return;
      }
      if (!custom) {
        custom = element("option", { value: "", "data-custom": "", text: "Your code" });
        custom.disabled = true;
        select.prepend(custom);
      }
      select.value = "";
    },

    select(name) {
      select.value = name;
    },
  };
}
