// The result of a run as both pages show it: the status line and what it
// says under it, the failing line marked in the editor, the output rows and
// the timeline, and the event loop step by step (loop-view.js, where the
// page has its [data-testid="loop-view"]). The main page shows it in full
// (its run-advice.js under the status line, output rows that point at the
// timeline); the embed page compactly (a few notes, plain output rows).
// Everything from a run is inserted as text.

import { element, emptyNote } from "../lib/dom.js";
import { formatDuration, formatSeconds, plural } from "../lib/format.js";
import { lastAtOrBefore } from "../lib/steps.js";
import { cutSentence, eventNotes, stoppedWhere, taskNames, traceCut } from "../lib/trace.js";
import { asArray, asObject, isMissing, num, str, validLine } from "../lib/values.js";
import { clearTimeline, renderTimeline } from "../timeline/index.js";
import { loopView } from "./loop-view.js";
import { STATUS_TITLE } from "./status.js";

const NO_OUTPUT = "No output yet";
const PRINTED_NOTHING = { live: "Nothing printed yet.", done: "The run printed nothing." };
const NO_RUN = "No timeline: the run did not happen.";

// The embed has room for one more word on a deadlock.
const COMPACT_TITLES = { ...STATUS_TITLE, deadlock: "Deadlock: every task waits for something that never happens" };
// Events worth a line under the embed's status, most telling first.
const COMPACT_NOTE_KINDS = ["deadlock", "limit", "hint", "never_awaited", "never_retrieved", "blocking", "exception",
  "warning"];
const COMPACT_MAX_NOTES = 3;
// Output rows made at once: a run may print 30,000 short lines.
const OUTPUT_PAGE = 1000;

/** The timeline of a result view that draws one timeline in box. */
export function singleTimeline(box, options = {}) {
  let current = null;
  return {
    draw: (trace, { live = false } = {}) => (current = renderTimeline(box, trace, { ...options, live })),
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
 * ({draw(trace, {live}), clear(message), current()}), compact (the embed page),
 * explain(statusLine, trace, {status, err, errLine, names}) (what the full
 * view says under the status line: the main page's run-advice.js), and
 * linkOutput() (whether output rows may point at the timeline now).
 */
export function resultView({ statusLine, outputBox, outputCount = null, lines, timelines, compact = false,
  explain = showCompactNotes, linkOutput = () => true }) {
  let shownTrace = null;
  // The printed lines of the trace shown ({o, index}), how many have a row,
  // and the button that adds more; and the replay's moment (null: none).
  let output = noOutput();
  let replayAt = null;
  // The lines of output the loop view's step printed (indices), highlighted.
  let stepPrinted = new Set();
  let stepRows = new Set();

  /** Rows for up to `count` more printed lines, and a button for the rest. */
  function showMoreOutput(count) {
    const { printed, names } = output;
    const end = Math.min(printed.length, output.shown + count);
    const frag = document.createDocumentFragment();
    for (let i = output.shown; i < end; i++) {
      const { o, index } = printed[i];
      const row = outputRow(o, names);
      row.dataset.index = String(index);
      row.dataset.t = String(num(o.t, 0));
      output.rows.set(index, row);
      if (!compact) {
        row.tabIndex = 0;
        row.title = "Show where this was printed on the timeline";
      }
      if (replayAt !== null && num(o.t, 0) > replayAt) row.classList.add("is-future");
      if (stepPrinted.has(index)) {
        row.classList.add("is-step-output");
        stepRows.add(row);
      }
      frag.appendChild(row);
    }
    output.shown = end;
    output.inTime = null;
    if (output.more) output.more.remove();
    output.more = null;
    const hidden = printed.length - end;
    if (hidden > 0) {
      output.more = element("button", {
        type: "button", class: "btn-small output-more", "data-testid": "output-more",
        text: `Show ${Math.min(hidden, OUTPUT_PAGE)} more of ${hidden} lines not shown`,
      });
      output.more.addEventListener("click", () => showMoreOutput(OUTPUT_PAGE));
      frag.appendChild(output.more);
    }
    outputBox.appendChild(frag);
  }

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
      replayAt = null;
      const status = str(trace.status) || "error";
      const err = asObject(trace.error);
      const errLine = err && validLine(err.line) ? err.line : null;
      const names = taskNames(trace);
      // The timeline first: it measures the page, which costs little before
      // the rest of the result changes it.
      timelines.draw(trace);
      stepPrinted = new Set();
      if (loop) {
        loop.show(trace);
        const drawn = timelines.current();
        if (drawn && drawn.onPickTime) drawn.onPickTime((t) => loop.atTime(t));
      }
      statusLine.set(status, headline(trace, status, err, clientSeconds, compact));
      statusLine.box.dataset.cached = String(trace.cached === true);
      statusLine.box.dataset.python = typeof trace.python === "string" ? trace.python : "";
      explain(statusLine, trace, { status, err, errLine, names });
      lines.markError(errLine);
      view.showOutput(trace, names);
    },

    /** Show the trace of a run still going on: its timeline and output, the status line left to the run. */
    showLive(trace) {
      shownTrace = null; // nothing to pin or export until the run ends
      replayAt = null;
      timelines.draw(trace, { live: true });
      view.showOutput(trace, taskNames(trace), { live: true });
    },

    /** The output rows of a trace, each printed line's time, task and text (the first OUTPUT_PAGE of them); live: the run goes on. */
    showOutput(trace, names, { live = false } = {}) {
      const printed = [];
      asArray(trace.output).forEach((o, index) => {
        if (o && typeof o === "object") printed.push({ o, index });
      });
      outputBox.replaceChildren();
      if (outputCount) outputCount.textContent = printed.length ? plural(printed.length, "line") : "";
      output = { ...noOutput(), printed, names };
      stepRows = new Set();
      if (!printed.length && !compact) {
        outputBox.appendChild(emptyNote(live ? PRINTED_NOTHING.live : PRINTED_NOTHING.done));
        return;
      }
      sizeOutputColumns(outputBox, printed, names);
      showMoreOutput(OUTPUT_PAGE);
    },
    /** Back to no result: empty output, the timeline replaced by message. */
    clear(message) {
      output = noOutput();
      stepRows = new Set();
      outputBox.replaceChildren();
      if (!compact) outputBox.appendChild(emptyNote(NO_OUTPUT));
      if (outputCount) outputCount.textContent = "";
      timelines.clear(message);
      if (loop) loop.clear();
      shownTrace = null;
    },

    /**
     * The run did not happen: say why (the server's error code on the box),
     * and show no result. state is the status line's (the reader stopped it: "stopped").
     */
    showRequestError(message, { code = null, advice = null, state = "request-error" } = {}) {
      statusLine.set(state, message);
      if (code) statusLine.box.dataset.errorCode = str(code);
      else delete statusLine.box.dataset.errorCode;
      if (advice) statusLine.detail("advice", advice);
      view.clear(NO_RUN);
    },

    /** Replay: hide the output printed after t (null: show it all), and put the loop view there. */
    showOutputUntil(t) {
      outputUntil(t);
      if (loop) loop.atTime(t);
    },
    /** The loop view, or null on a page without one. */
    get loop() {
      return loop;
    },

    /** Highlight the output row printed at this index, and bring it into view. */
    flashOutputRow(index) {
      const position = output.printed.findIndex((p) => p.index === Number(index));
      if (position >= output.shown) showMoreOutput(position + 1 - output.shown);
      const row = outputBox.querySelector(`[data-output-line][data-index="${Number(index)}"]`);
      if (!row) return;
      flashRow(outputBox, row);
      row.scrollIntoView({ block: "nearest" });
    },
  };
  /**
   * Grey the output printed after t (null: none). The rows in the order of
   * their time are greyed from one on, so a new moment changes only the rows
   * between it and the last.
   */
  function outputUntil(t) {
    if (!output.inTime) output.inTime = rowsInTime(output.rows, replayAt);
    const { rows, times } = output.inTime;
    const past = countUpTo(times, t);
    const [from, to] = past < output.inTime.past ? [past, output.inTime.past] : [output.inTime.past, past];
    for (let i = from; i < to; i++) rows[i].classList.toggle("is-future", i >= past);
    output.inTime.past = past;
    replayAt = t;
  }
  /** Highlight the output rows of these indices (the loop view's step printed them), and only them. */
  function markStepOutput(indices) {
    stepPrinted = new Set(indices);
    const rows = new Set();
    for (const index of stepPrinted) if (output.rows.has(index)) rows.add(output.rows.get(index));
    for (const row of stepRows) if (!rows.has(row)) row.classList.remove("is-step-output");
    for (const row of rows) row.classList.add("is-step-output");
    stepRows = rows;
  }
  const loopRoot = document.querySelector('[data-testid="loop-view"]');
  const loop = loopRoot ? loopView(loopRoot, { lines, compact, timeline: () => timelines.current(),
    output: { until: outputUntil, mark: markStepOutput } }) : null;

  if (!compact) linkOutputToTimeline(outputBox, view, linkOutput);
  return view;
}

/**
 * No output rows: the printed lines, their names, how many have a row, the
 * button for more, the rows by index, and (made when needed) the rows in time order.
 */
function noOutput() {
  return { printed: [], names: new Map(), shown: 0, more: null, rows: new Map(), inTime: null };
}

/** The rows in the order of their time, their times, and how many of them are not after the moment at (null: all). */
function rowsInTime(byIndex, at) {
  const rows = [...byIndex.values()].sort((a, b) => Number(a.dataset.t) - Number(b.dataset.t));
  const times = Float64Array.from(rows, (row) => Number(row.dataset.t));
  return { rows, times, past: countUpTo(times, at) };
}

/** How many of the sorted times are at or before t (all for null or NaN: nothing is after it). */
const countUpTo = (times, t) => (t === null || Number.isNaN(t) ? times.length : lastAtOrBefore(times, t) + 1);

/** What the status line says of a run: how it ended, how long it took, and on which Python. */
function headline(trace, status, err, clientSeconds, compact) {
  return `${outcome(trace, status, err, clientSeconds, compact)}${typeof trace.python === "string" ? ` \u00b7 Python ${trace.python}` : ""}`;
}

function outcome(trace, status, err, clientSeconds, compact) {
  const clock = trace.clock === "real" ? "real clock" : "virtual clock";
  const loopTime = `${formatDuration(num(trace.duration, 0))} of loop time (${clock})`;
  // A cached answer is the stored trace of an earlier run of the same code:
  // said as a learner would put it, and without a time of its own.
  const cached = trace.cached === true;
  const wall = num(trace.wall, clientSeconds);
  const timing = compact || cached ? loopTime : `${loopTime} \u00b7 ran in ${num(wall, 0).toFixed(2)} s`;
  const suffix = cached ? ` \u00b7 ${compact ? "run a moment ago" : "the result of the same code run a moment ago"}` : "";
  const reached = `${formatDuration(num(trace.duration, 0))} (${clock})`;
  if (status === "stopped") return `Stopped by you at ${reached}`;
  if (status === "disconnected") return `Connection lost at ${reached}: the rest of the run never reached this page`;
  if (status === "ok") return `ok \u00b7 ${timing}${suffix}`;
  if (status === "error" && err) {
    const where = validLine(err.line) ? ` on line ${err.line}` : "";
    return `${str(err.type) || "Error"}${where}: ${str(err.message)}${suffix}`;
  }
  const titles = compact ? COMPACT_TITLES : STATUS_TITLE;
  return `${titles[status] || status} \u00b7 ${timing}${suffix}`;
}

/** The embed's few notes under the status line, where a limit stopped the code, and whether the trace was cut. */
function showCompactNotes(statusLine, trace, { names }) {
  for (const e of eventNotes(trace, COMPACT_NOTE_KINDS).slice(0, COMPACT_MAX_NOTES)) {
    const who = names.has(e.task) ? `${names.get(e.task)}: ` : "";
    statusLine.detail(`note note-${e.kind}`, `${formatSeconds(e.t)} \u00b7 ${who}${str(e.message)}`);
  }
  const where = stoppedWhere(trace);
  if (where) statusLine.detail("note note-stopped", where.text);
  const cut = traceCut(trace);
  if (cut) statusLine.detail("truncated", cutSentence(cut));
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

/**
 * The output's time and task columns as wide as their longest text (the
 * task's at most 16 characters), so every row, a grid of its own, lines up.
 */
function sizeOutputColumns(outputBox, printed, names) {
  let timeChars = 7;
  let taskChars = 3;
  for (const { o } of printed) {
    timeChars = Math.max(timeChars, formatSeconds(o.t).length);
    const task = isMissing(o.task) ? "" : names.get(o.task) || `task ${str(o.task)}`;
    taskChars = Math.max(taskChars, Math.min(16, task.length));
  }
  outputBox.style.setProperty("--out-time-chars", String(timeChars));
  outputBox.style.setProperty("--out-task-chars", String(taskChars));
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
