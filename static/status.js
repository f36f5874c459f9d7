// The status line and output rows of a run, shared by the main page and the
// embed page: what state the run is in, a ticking clock while it runs, detail
// lines under it, the events worth a note, and each printed line. Everything
// from a run goes in as text.

export const str = (v) => (v === null || v === undefined ? "" : String(v));
export const num = (v, fallback) => (typeof v === "number" && Number.isFinite(v) ? v : fallback);
export const validLine = (line) => Number.isInteger(line) && line > 0;

/** What the status line calls each status a limit or the server decided. */
export const STATUS_TITLE = {
  timeout: "Timed out",
  cpu_limit: "CPU limit reached",
  memory_limit: "Memory limit reached",
  output_limit: "Output limit reached",
  deadlock: "Deadlock",
  crashed: "Crashed",
};

/** Task names by id, for lines that say which task did something. */
export function taskNames(trace) {
  const names = new Map();
  for (const t of Array.isArray(trace.tasks) ? trace.tasks : []) {
    if (t && typeof t === "object") names.set(t.id, str(t.name) || `task ${str(t.id)}`);
  }
  return names;
}

/** The trace's events of these kinds, in that order of importance, then by time. */
export function eventNotes(trace, kinds) {
  return (Array.isArray(trace.events) ? trace.events : [])
    .filter((e) => e && kinds.includes(e.kind) && e.message)
    .sort((a, b) => kinds.indexOf(a.kind) - kinds.indexOf(b.kind) || num(a.t, 0) - num(b.t, 0));
}

/**
 * The status box ([data-testid="status"] with .status-text, .status-elapsed
 * and .status-detail): set(state, text) replaces what it says (the state goes
 * to data-status), detail() adds a line under it, and running(text) shows a
 * clock that ticks until the next set().
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

  detail(className, text) {
    const p = document.createElement("p");
    p.className = className;
    p.textContent = text;
    this.details.appendChild(p);
    return p;
  }

  running(text) {
    this.set("running", text);
    const started = performance.now();
    // The ticking seconds are aria-hidden so screen readers hear the text
    // once, not ten times a second.
    const tick = () => {
      this.elapsed.textContent = `${((performance.now() - started) / 1000).toFixed(1)} s`;
    };
    tick();
    this.timer = setInterval(tick, 100);
  }

  stopTicking() {
    clearInterval(this.timer);
  }
}

/** One printed line as an output row: time, task, text (all as text). */
export function outputRow(o, names) {
  const row = document.createElement("div");
  const stream = o.stream === "stderr" ? "stderr" : "stdout";
  row.className = `out-line out-${stream}`;
  row.setAttribute("data-output-line", "");
  row.dataset.stream = stream;
  const t = document.createElement("span");
  t.className = "out-t";
  t.textContent = `${num(o.t, 0).toFixed(3)} s`;
  const task = document.createElement("span");
  task.className = "out-task";
  task.textContent = o.task === null || o.task === undefined ? "\u2014" : names.get(o.task) || `task ${str(o.task)}`;
  const text = document.createElement("span");
  text.className = "out-text";
  text.textContent = str(o.text).replace(/\n$/, "");
  row.append(t, task, text);
  return row;
}
