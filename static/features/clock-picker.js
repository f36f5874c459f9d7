// The clock picker of the main page (#clock-select, "virtual clock" or "real
// clock") and the one sentence under the toolbar ([data-testid="clock-hint"])
// that says what the picked clock means; its two sentences are the hint's
// data-virtual and data-real, written in the template.

/** The picker: value() is "real" or "virtual"; set(clock) picks one (anything else keeps the pick); onChange(clock) after the reader picks. */
export function clockPicker({ select, hint, onChange }) {
  const value = () => (select.value === "real" ? "real" : "virtual");

  function set(clock) {
    if (clock === "real" || clock === "virtual") select.value = clock;
    hint.dataset.clock = value();
    hint.textContent = hint.dataset[value()] || "";
  }

  select.addEventListener("change", () => {
    set(select.value);
    onChange(value());
  });
  set(value()); // a browser may bring back the last pick on a reload
  return { value, set };
}
