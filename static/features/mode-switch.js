// The Code / URLs switch in the main page's header: which mode the page is
// in (data-mode on #playground shows and hides .code-only and .url-only),
// the pressed button, and the timeline card's title.

/** The switch; onChange(mode, {focus}) is called after the page changed mode. */
export function modeSwitch({ playground, buttons, timelineTitle, onChange }) {
  let mode = "code";
  const modes = {
    get current() {
      return mode;
    },
    /** Switch to "code" or "urls" (anything else is code); focus the mode's input unless told not to. */
    set(next, { focus = true } = {}) {
      next = next === "urls" ? "urls" : "code";
      if (next === mode) return;
      mode = next;
      playground.dataset.mode = mode;
      for (const button of buttons) button.setAttribute("aria-pressed", String(button.dataset.mode === mode));
      timelineTitle.textContent = mode === "urls" ? "Waterfall" : "Timeline";
      onChange(mode, { focus });
    },
  };
  for (const button of buttons) button.addEventListener("click", () => modes.set(button.dataset.mode));
  return modes;
}
