// The Run button and Ctrl/Cmd+Enter of a page: one run at a time, and while
// a run is under way the button is busy, the status line ticks and (on the
// main page) the old results fade.

/**
 * Wire button and the page's Ctrl/Cmd+Enter to run(), an async function
 * that calls start(text) when the request goes out and stop() when it is
 * back. staleArea gets .is-stale meanwhile.
 */
export function runControl({ button, statusLine, staleArea = null, run: runOnce }) {
  let running = null;
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
    stop() {
      statusLine.stopTicking();
      button.disabled = false;
      button.removeAttribute("aria-busy");
      if (staleArea) staleArea.classList.remove("is-stale");
    },
  };
  button.addEventListener("click", () => control.run());
  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) return;
    event.preventDefault();
    control.run();
  });
  return control;
}
