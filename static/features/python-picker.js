// The Python picker of the main page (#python-select, beside the clock
// picker): which Python a run is on, the other one "Run on two Pythons"
// compares it with (its button says which), and a Python that suits an
// example that needs a newer one.

import { defaultPython, satisfies, suitedPython, versionOf } from "../lib/pythons.js";

/**
 * The picker over select (its options the server's Pythons); compareButton
 * is "Run on two Pythons". onChange(id) after the reader picks one.
 */
export function pythonPicker({ select, compareButton, pythons, onChange }) {
  const known = (id) => pythons.some((p) => p.id === id);
  let previous = null; // the Python picked before this one
  let last = select.value; // the one picked now

  /** The picker now shows id (a change of the reader's or of the page's). */
  function picked(id) {
    previous = last;
    last = id;
    showOther();
  }

  const picker = {
    /** The id picked (the server's default until one is). */
    get value() {
      return known(select.value) ? select.value : defaultPython(pythons);
    },
    /** The exact version of a Python ("3.14.10"), the picked one by default. */
    version: (id = picker.value) => versionOf(pythons, id),
    /** Pick the Python of this id; false (and no change) when the server has none such. */
    set(id) {
      if (!known(id)) return false;
      if (id !== select.value) {
        select.value = id;
        picked(id);
      }
      return true;
    },
    /** The Python to compare the picked one with: the one picked before, else the default, else the newest other; null if there is none. */
    other() {
      const current = picker.value;
      if (previous && previous !== current && known(previous)) return previous;
      const fallback = defaultPython(pythons);
      if (fallback && fallback !== current) return fallback;
      const others = pythons.filter((p) => p.id !== current);
      return others.length ? others[others.length - 1].id : null;
    },
    /** Code that needs `needs` or newer: keep the pick if it suits, else pick one that does. The id picked, or null if none suits. */
    suit(needs) {
      if (satisfies(picker.value, needs)) return picker.value;
      const suited = suitedPython(pythons, needs);
      if (suited) picker.set(suited);
      return suited;
    },
  };

  /** The compare button names the other Python. */
  function showOther() {
    const other = picker.other();
    compareButton.hidden = !other;
    if (!other) return;
    compareButton.textContent = `Compare with Python ${other}`;
    compareButton.title = `Run this code on Python ${picker.version(other)} and on Python ${picker.version()}, and show both timelines on one time scale`;
  }

  select.addEventListener("change", () => {
    picked(select.value);
    onChange(select.value);
  });
  showOther();
  return picker;
}
