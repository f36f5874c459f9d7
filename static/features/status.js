// The status line of both pages ([data-testid="status"]): what state the run
// is in (data-status), a ticking clock while it runs, and detail lines under
// it. Everything from a run goes in as text.

/** What the status line calls each status a limit or the server decided. */
export const STATUS_TITLE = {
  timeout: "Timed out",
  cpu_limit: "CPU limit reached",
  memory_limit: "Memory limit reached",
  output_limit: "Output limit reached",
  deadlock: "Deadlock",
  crashed: "Crashed",
  stopped: "Stopped by you",
  disconnected: "Connection lost",
};

/**
 * The status box (with .status-text, .status-elapsed and .status-detail):
 * set(state, text) replaces what it says, detail() and append() add under
 * it, running(text) shows a clock that ticks until the next set().
 */
export class StatusBox {
  constructor(box) {
    this.box = box;
    this.text = box.querySelector(".status-text");
    this.elapsed = box.querySelector(".status-elapsed");
    this.details = box.querySelector(".status-detail");
    this.timer = 0;
  }

  set(state, text) {
    clearInterval(this.timer);
    this.box.dataset.status = state;
    this.text.textContent = text;
    this.elapsed.textContent = "";
    this.details.replaceChildren();
  }

  /** Add a paragraph of this class under the status line; returns it. */
  detail(className, text) {
    const p = document.createElement("p");
    p.className = className;
    p.textContent = text;
    this.details.appendChild(p);
    return p;
  }

  /** Add an element (a list, a traceback) under the status line. */
  append(node) {
    this.details.appendChild(node);
  }

  running(text) {
    this.set("running", text);
    const started = performance.now();
    // The ticking seconds are aria-hidden so screen readers hear the text
    // once, not ten times a second.
    const tick = () => {
      this.showElapsed(`${((performance.now() - started) / 1000).toFixed(1)} s`);
    };
    tick();
    this.timer = setInterval(tick, 100);
  }

  /** Say text instead, keeping the state and the ticking clock (a running run that waits, starts, stops). */
  say(text) {
    this.text.textContent = text;
  }

  showElapsed(text) {
    this.elapsed.textContent = text;
  }

  stopTicking() {
    clearInterval(this.timer);
  }
}
