// The result of a run as both pages show it: the status line and what it
// says under it, the failing line marked in the editor, the output rows and
// the timeline. The main page shows it in full (its run-advice.js under the
// status line, output rows that point at the timeline); the embed page
// compactly (a few notes, plain output rows). Everything from a run is
// inserted as text.

import { emptyNote } from "../lib/dom.js";
import { formatDuration, formatSeconds, plural } from "../lib/format.js";
import { eventNotes, taskNames } from "../lib/trace.js";
import { asArray, asObject, isMissing, num, str, validLine } from "../lib/values.js";
import { clearTimeline, renderTimeline } from "../timeline/index.js";
import { STATUS_TITLE } from "./status.js";

const NO_OUTPUT = "No output yet";
const NO_RUN = "No timeline: the run did not happen.";

// The embed has room for one more word on a deadlock.
const COMPACT_TITLES = { ...STATUS_TITLE, deadlock: "Deadlock: every task waits for something that never happens" };
// Events worth a line under the embed's status, most telling first.
const COMPACT_NOTE_KINDS = ["deadlock", "limit", "hint", "never_awaited", "never_retrieved", "blocking", "exception",
  "warning"];
const COMPACT_MAX_NOTES = 3;

/** The timeline of a result view that draws one timeline in box. */
export function singleTimeline(box, options = {}) {
  let current = null;
  return {
    draw: (trace) => (current = renderTimeline(box, trace, options)),
    clear: (message) => {
      clearTimeline(box, message);
      current = null;
    },
    current: () => current,
  };
}

/**
 * The result view. parts: statusLine (a StatusBox), outputBox, outputCount
 * (the main page's line count, or null), lines (editorLines), timelines
 * ({draw(trace), clear(message), current()}), compact (the embed page),
 * explain(statusLine, trace, {status, err, errLine, names}) (what the full
 * view says under the status line: the main page's run-advice.js), and
 * linkOutput() (whether output rows may point at the timeline now).
 */
export function resultView({ statusLine, outputBox, outputCount = null, lines, timelines, compact = false,
  explain = showCompactNotes, linkOutput = () => true }) {
  let shownTrace = null;
  const view = {
    statusLine,
    /** The trace shown, or null. */
    get trace() {
      return shownTrace;
    },
    /** The controller of the timeline shown, or null. */
    get timeline() {
      return timelines.current();
    },

    /** Show a run's trace; clientSeconds is how long the request took. */
    show(trace, clientSeconds) {
      shownTrace = trace;
      const status = str(trace.status) || "error";
      const err = asObject(trace.error);
      const errLine = err && validLine(err.line) ? err.line : null;
      const names = taskNames(trace);
      statusLine.set(status, headline(trace, status, err, clientSeconds, compact));
      statusLine.box.dataset.cached = String(trace.cached === true);
      explain(statusLine, trace, { status, err, errLine, names });
      lines.markError(errLine);
      view.showOutput(trace, names);
      timelines.draw(trace);
    },

    /** The output rows of a trace, each printed line's time, task and text. */
    showOutput(trace, names) {
      const all = asArray(trace.output);
      const count = all.filter((o) => o && typeof o === "object").length;
      outputBox.replaceChildren();
      if (outputCount) outputCount.textContent = count ? plural(count, "line") : "";
      if (!count && !compact) {
        outputBox.appendChild(emptyNote(NO_OUTPUT));
        return;
      }
      const frag = document.createDocumentFragment();
      all.forEach((o, index) => {
        if (!o || typeof o !== "object") return;
        const row = outputRow(o, names);
        if (!compact) {
          row.dataset.index = String(index);
          row.dataset.t = String(num(o.t, 0));
          row.tabIndex = 0;
          row.title = "Show where this was printed on the timeline";
        }
        frag.appendChild(row);
      });
      outputBox.appendChild(frag);
    },

    /** Back to no result: empty output, the timeline replaced by message. */
    clear(message) {
      outputBox.replaceChildren();
      if (!compact) outputBox.appendChild(emptyNote(NO_OUTPUT));
      if (outputCount) outputCount.textContent = "";
      timelines.clear(message);
      shownTrace = null;
    },

    /** The run did not happen: say why (the server's error code on the box), and show no result. */
    showRequestError(message, { code = null, advice = null } = {}) {
      statusLine.set("request-error", message);
      if (code) statusLine.box.dataset.errorCode = str(code);
      else delete statusLine.box.dataset.errorCode;
      if (advice) statusLine.detail("advice", advice);
      view.clear(NO_RUN);
    },

    /** Replay: hide the output printed after t (null: show it all). */
    showOutputUntil(t) {
      for (const row of outputBox.querySelectorAll("[data-output-line]")) {
        row.classList.toggle("is-future", t !== null && Number(row.dataset.t) > t);
      }
    },

    /** Highlight the output row printed at this index, and bring it into view. */
    flashOutputRow(index) {
      const row = outputBox.querySelector(`[data-output-line][data-index="${Number(index)}"]`);
      if (!row) return;
      flashRow(outputBox, row);
      row.scrollIntoView({ block: "nearest" });
    },
  };
  if (!compact) linkOutputToTimeline(outputBox, view, linkOutput);
  return view;
}

/** What the status line says of a run: how it ended, and how long it took. */
function headline(trace, status, err, clientSeconds, compact) {
  const clock = trace.clock === "real" ? "real clock" : "virtual clock";
  const loopTime = `${formatDuration(num(trace.duration, 0))} of loop time (${clock})`;
  // A cached answer is the stored trace of an earlier run of the same code.
  const cached = trace.cached === true;
  const wall = num(trace.wall, clientSeconds);
  const timing = compact ? loopTime : `${loopTime} \u00b7 ${cached ? "an earlier identical run, reused" : `ran in ${num(wall, 0).toFixed(2)} s`}`;
  const suffix = compact && cached ? " \u00b7 cached run" : "";
  if (status === "ok") return `ok \u00b7 ${timing}${suffix}`;
  if (status === "error" && err) {
    const where = validLine(err.line) ? ` on line ${err.line}` : "";
    return `${str(err.type) || "Error"}${where}: ${str(err.message)}${suffix}`;
  }
  const titles = compact ? COMPACT_TITLES : STATUS_TITLE;
  return `${titles[status] || status} \u00b7 ${timing}${suffix}`;
}

/** The embed's few notes under the status line, and whether the trace was cut. */
function showCompactNotes(statusLine, trace, { names }) {
  for (const e of eventNotes(trace, COMPACT_NOTE_KINDS).slice(0, COMPACT_MAX_NOTES)) {
    const who = names.has(e.task) ? `${names.get(e.task)}: ` : "";
    statusLine.detail(`note note-${e.kind}`, `${formatSeconds(e.t)} \u00b7 ${who}${str(e.message)}`);
  }
  if (trace.truncated) statusLine.detail("truncated", "The trace was cut: the run recorded more than the playground keeps.");
}

/** One printed line as an output row: time, task, text (all as text). */
function outputRow(o, names) {
  const row = document.createElement("div");
  const stream = o.stream === "stderr" ? "stderr" : "stdout";
  row.className = `out-line out-${stream}`;
  row.setAttribute("data-output-line", "");
  row.dataset.stream = stream;
  const t = document.createElement("span");
  t.className = "out-t";
  t.textContent = formatSeconds(o.t);
  const task = document.createElement("span");
  task.className = "out-task";
  task.textContent = isMissing(o.task) ? "\u2014" : names.get(o.task) || `task ${str(o.task)}`;
  const text = document.createElement("span");
  text.className = "out-text";
  text.textContent = str(o.text).replace(/\n$/, "");
  row.append(t, task, text);
  return row;
}

function flashRow(outputBox, row) {
  for (const other of outputBox.querySelectorAll(".is-flashed")) other.classList.remove("is-flashed");
  row.classList.add("is-flashed");
}

/** Clicking an output row (or Enter or Space on it) flashes where it was printed on the timeline. */
function linkOutputToTimeline(outputBox, view, linkOutput) {
  const rowOf = (event) => (event.target instanceof Element ? event.target.closest("[data-output-line]") : null);
  outputBox.addEventListener("click", (event) => {
    const row = rowOf(event);
    if (!row || !view.timeline || !linkOutput()) return;
    flashRow(outputBox, row);
    view.timeline.flashOutput(Number(row.dataset.index));
  });
  outputBox.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" && event.key !== " ") return;
    const row = rowOf(event);
    if (!row || !view.timeline || !linkOutput()) return;
    event.preventDefault();
    row.click();
  });
}
