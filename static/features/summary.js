// The summary of a run, in words: how long it took, how busy the loop was,
// what concurrency bought, and each blocking step with how to fix it; of a
// cut trace, only what the part before the cut shows.
//
// summarize(trace) is pure (tested through the page); renderSummary draws
// it into a container as text.

import { element, lineLink } from "../lib/dom.js";
import { formatCount, formatDuration, formatMoment, formatSeconds, plural } from "../lib/format.js";
import { connectionTotals, connectionWords } from "../lib/connections.js";
import { cutSentence, stoppedTasks, traceCut } from "../lib/trace.js";
import { num, objectsIn, str } from "../lib/values.js";
import { buildModel, scheduledOf } from "../timeline/model.js";
import { concurrencySentence, cutConcurrencySentence, waitFacts } from "./concurrency.js";

/** How to fix a blocking step, from its reason. */
export function fixFor(reason) {
  const text = str(reason);
  if (text.startsWith("time.sleep")) {
    return "time.sleep blocks the loop; use await asyncio.sleep instead.";
  }
  if (text.startsWith("CPU-bound")) {
    return "CPU-bound work blocks the loop; move it to a thread (await asyncio.to_thread(f)) or a process pool, or split it and await asyncio.sleep(0) between the parts.";
  }
  return "A blocking call holds the loop; use its asyncio version or run it with await asyncio.to_thread(f).";
}

/** A moment as a whole number of microseconds (the trace's precision), to look times up by. */
const microseconds = (t) => Math.round(num(t, 0) * 1e6);

/** The reason of the blocking slice that ended when this blocking event was noted, by time. */
function blockingReasons(slices) {
  const byEnd = new Map();
  for (const s of slices) if (s.blocking === true) byEnd.set(microseconds(s.end), str(s.reason));
  return (t) => {
    const at = microseconds(t);
    return byEnd.get(at) ?? byEnd.get(at - 1) ?? byEnd.get(at + 1);
  };
}

/** The length of [start, end) before `until`. */
const before = (start, end, until) => Math.max(0, Math.min(num(end, 0), until) - num(start, 0));

/**
 * The time tasks stood ready while the loop ran others, before `until`:
 * the server's per-task figure for a whole trace, worked out from the steps
 * and waits kept for a cut one (the figure would count past the cut).
 */
function readyTime(trace, tasks, until) {
  if (until === Infinity) return tasks.reduce((sum, t) => sum + num(t.scheduled, 0), 0);
  let ready = 0;
  for (const lane of buildModel(trace).lanes) {
    for (const segment of scheduledOf(lane)) ready += before(segment.start, segment.end, until);
  }
  return ready;
}

/**
 * What the summary says of a trace. A cut trace (traceCut) holds every step
 * and wait only up to its cut: its figures are of that part, and it states
 * nothing the part left out could contradict.
 */
export function summarize(trace) {
  const tasks = objectsIn(trace.tasks);
  const waits = objectsIn(trace.waits);
  const slices = objectsIn(trace.slices);
  const events = objectsIn(trace.events);
  const duration = num(trace.duration, 0);
  const cut = traceCut(trace);
  const until = cut ? Math.min(cut.at ?? 0, duration) : Infinity;
  let busy = 0;
  if (tasks.length && !cut) for (const t of tasks) busy += num(t.busy, 0);
  else for (const s of slices) busy += before(s.start, s.end, until);
  const waitsSeen = waitFacts(tasks, waits, until);
  const blockingEvents = events.filter((e) => e.kind === "blocking");
  const span = cut ? until : duration;

  const reasonAt = blockingReasons(slices);
  const warnings = blockingEvents.map((e) => {
    const reason = reasonAt(e.t) ?? str(e.message);
    return { message: str(e.message), fix: fixFor(reason), line: Number.isInteger(e.line) ? e.line : null, t: num(e.t, 0) };
  });

  return {
    total: duration,
    cut,
    span,
    busy,
    loopShare: span > 0 ? Math.min(1, busy / span) : 0,
    waited: waitsSeen.waited,
    scheduled: readyTime(trace, tasks, until),
    overlap: waitsSeen.overlap,
    tasks: tasks.length,
    stopped: stoppedTasks(trace).size,
    concurrency: cut ? cutConcurrencySentence(tasks.length, waitsSeen, span)
      : concurrencySentence(tasks.length, waitsSeen, blockingEvents.length > 0),
    network: connectionTotals(trace),
    warnings,
  };
}

// What the Total says of a run that did not run to its end by itself.
const ENDED_EARLY = {
  stopped: "(you stopped the run here)",
  disconnected: "(the connection broke here: the rest of the run is not known)",
};

/** Draw the summary as text; lines with a snippet line become buttons. */
export function renderSummary(container, trace, { onSelectLine } = {}) {
  const s = summarize(trace);
  const figures = element("dl", { class: "summary-figures" });
  const add = (term, value, testid, note = "") => {
    const dd = element("dd", { text: value, "data-testid": testid });
    if (note) dd.append(" ", element("span", { class: "summary-note", text: note }));
    figures.append(element("div", {}, [element("dt", { text: term }), dd]));
  };
  const part = s.cut ? `the first ${formatMoment(s.span)}` : "the run";
  add("Total", formatDuration(s.total), "summary-total", ENDED_EARLY[trace.status] || "");
  if (typeof trace.python === "string") add("Python", trace.python, "summary-python");
  add("Busy on the loop", formatDuration(s.busy), "summary-busy", `(${Math.round(s.loopShare * 100)}% of ${part})`);
  const unfinished = s.stopped === s.tasks ? "none finished" : `${formatCount(s.stopped)} unfinished`;
  const stopped = s.stopped ? `${unfinished}: still running or waiting when the run was stopped` : "";
  add("Tasks", formatCount(s.tasks), "summary-tasks", [s.cut ? "in the picture" : "", stopped].filter(Boolean).join("; "));
  const summed = s.tasks > 1 ? `summed over ${plural(s.tasks, "task")}` : "";
  add("Ready, waiting for the loop", formatDuration(s.scheduled), "summary-ready", [summed, s.cut ? `in ${part}` : ""].filter(Boolean).join(", "));
  if (s.network.count) {
    const words = connectionWords(s.network);
    add("Network", words.count, "summary-network", `(${words.detail})`);
  }
  const words = element("p", { class: "summary-concurrency", "data-testid": "summary-concurrency", text: s.concurrency });
  container.replaceChildren(figures, words);
  if (s.cut) container.prepend(element("p", { class: "summary-cut", "data-testid": "summary-cut", text: cutSentence(s.cut) }));
  if (s.warnings.length) container.append(warningList(s.warnings, onSelectLine));
  return s;
}

/** The blocking steps (the first ten), each with its fix and a link to its line. */
function warningList(warnings, onSelectLine) {
  const ul = element("ul", { class: "summary-warnings" });
  for (const w of warnings.slice(0, 10)) {
    const what = element("span", { text: `${formatSeconds(w.t)} \u00b7 ${w.message}${w.line ? ` (line ${w.line})` : ""}. ` });
    const li = element("li", { "data-testid": "summary-warning" }, [what, element("strong", { text: w.fix })]);
    if (w.line && typeof onSelectLine === "function") li.append(" ", lineLink(w.line, `show line ${w.line}`, onSelectLine));
    ul.append(li);
  }
  if (warnings.length > 10) ul.append(element("li", { text: `\u2026 and ${warnings.length - 10} more blocking steps` }));
  return ul;
}
