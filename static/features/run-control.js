// The Run and Stop buttons of a page, Ctrl/Cmd+Enter (run) and Ctrl/Cmd+.
// (stop): one run at a time; while a run is under way the Run button is
// busy, the status line ticks and (on the main page) the old results fade;
// while a run can be stopped, the Stop button shows.

/** Whether a key press is Ctrl+key (Cmd+key on a Mac). */
const withCtrl = (event, key) => !event.defaultPrevented && event.key === key && (event.ctrlKey || event.metaKey);

/**
 * Wire button and the page's Ctrl/Cmd+Enter to run(), an async function
 * that calls start(text) when the request goes out and finish() when it is
 * back; stopButton and Ctrl/Cmd+. to the handler offerStop(handler) gives
 * while the run can be stopped. staleArea gets .is-stale until the run
 * shows something of its own (fresh()).
 */
export function runControl({ button, stopButton = null, statusLine, staleArea = null, run: runOnce }) {
  let running = null;
  let stopHandler = null;
  const showStop = (shown) => {
    if (!stopButton) return;
    stopButton.hidden = !shown;
    stopButton.removeAttribute("aria-disabled");
    stopButton.removeAttribute("aria-busy");
  };
  const control = {
    /** Run (or do task, another kind of run), unless a run is under way; resolves when it is done. */
    run(task = runOnce) {
      if (running) return running;
      running = (async () => {
        try {
          await task();
        } finally {
          running = null;
        }
      })();
      return running;
    },
    start(text) {
      statusLine.running(text);
      button.disabled = true;
      button.setAttribute("aria-busy", "true");
      if (staleArea) staleArea.classList.add("is-stale");
    },
    /** The run shows results of its own: the old ones no longer fade. */
    fresh() {
      if (staleArea) staleArea.classList.remove("is-stale");
    },
    /** The run can be stopped now: the Stop button and Ctrl/Cmd+. call handler. */
    offerStop(handler) {
      stopHandler = handler;
      showStop(true);
    },
    /** Stop the run, as the Stop button does (nothing when no run can be stopped). */
    stop() {
      if (!stopHandler) return;
      // Not disabled: the button keeps the focus (a disabled one drops it).
      if (stopButton) {
        stopButton.setAttribute("aria-disabled", "true");
        stopButton.setAttribute("aria-busy", "true");
      }
      const handler = stopHandler;
      stopHandler = () => {}; // once is enough
      handler();
    },
    finish() {
      statusLine.stopTicking();
      const focusWasOnStop = stopButton !== null && document.activeElement === stopButton;
      stopHandler = null;
      showStop(false);
      button.disabled = false;
      button.removeAttribute("aria-busy");
      if (focusWasOnStop) button.focus();
      if (staleArea) staleArea.classList.remove("is-stale");
    },
  };
  button.addEventListener("click", () => control.run());
  if (stopButton) stopButton.addEventListener("click", () => control.stop());
  if (/Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent || "")) {
    // The keys as a Mac names them, on the buttons that show them.
    for (const [host, keys] of [[button, "\u2318\u2009\u21b5"], [stopButton, "\u2318\u2009."]]) {
      const kbd = host && host.querySelector(".btn-run-kbd");
      if (kbd) kbd.textContent = keys;
    }
  }
  document.addEventListener("keydown", (event) => {
    if (withCtrl(event, "Enter")) {
      event.preventDefault();
      control.run();
    } else if (withCtrl(event, ".") && stopHandler) {
      event.preventDefault();
      control.stop();
    }
  });
  return control;
}
