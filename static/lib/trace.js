// What both pages read out of a run's trace besides its timeline: task
// names by id, the events worth a note, where a cut trace stops, and which
// tasks a limit stopped mid-step or mid-wait.

import { formatMoment, plural } from "./format.js";
import { asArray, asObject, num, str } from "./values.js";

/** Task names by id, for lines that say which task did something. */
export function taskNames(trace) {
  const names = new Map();
  for (const t of asArray(trace.tasks)) {
    if (t && typeof t === "object") names.set(t.id, str(t.name) || `task ${str(t.id)}`);
  }
  return names;
}

/** The trace's events of these kinds, in that order of importance, then by time. */
export function eventNotes(trace, kinds) {
  return asArray(trace.events)
    .filter((e) => e && kinds.includes(e.kind) && e.message)
    .sort((a, b) => kinds.indexOf(a.kind) - kinds.indexOf(b.kind) || num(a.t, 0) - num(b.t, 0));
}

// What a cut trace leaves out (cut.dropped's kinds, docs/trace.md), in a
// learner's words, in the order they are told.
const DROPPED_WORDS = [["slices", "step"], ["waits", "wait"], ["tasks", "task"], ["ends", "task end"],
  ["events", "event"], ["output", "printed line"]];

/**
 * Where a cut trace stops: {at: the moment (s) past which it no longer
 * holds every step, wait and task, or null when it does not say; dropped:
 * [{kind, count, words}] of what it left out; outputWhole: whether every
 * printed line is in it}. null for a trace that was not cut.
 */
export function traceCut(trace) {
  if (trace.truncated !== true) return null;
  const cut = asObject(trace.cut) || {};
  const counts = asObject(cut.dropped) || {};
  const at = num(cut.at, null);
  const dropped = DROPPED_WORDS
    .filter(([kind]) => num(counts[kind], 0) > 0)
    .map(([kind, word]) => ({ kind, count: counts[kind], words: plural(counts[kind], word) }));
  return { at: at !== null && at >= 0 ? at : null, dropped, outputWhole: !dropped.some((d) => d.kind === "output") };
}

/** "a, b and c" */
const listed = (parts) => (parts.length < 2 ? parts.join("") : `${parts.slice(0, -1).join(", ")} and ${parts[parts.length - 1]}`);

/**
 * What a learner is told of a cut (traceCut's answer): where the picture
 * stops, what it leaves out, and what is still whole.
 */
export function cutSentence(cut) {
  const whole = cut.outputWhole ? "the printed output and how the run ended are complete" : "how the run ended is complete";
  if (cut.at === null) return `The trace was cut: it does not hold every step and wait of the run, so the picture is not the whole run; ${whole}.`;
  const where = `The picture stops at ${formatMoment(cut.at)}`;
  if (!cut.dropped.length) return `${where}: what came later is not drawn; ${whole}.`;
  const many = cut.dropped.length > 1 || cut.dropped[0].count > 1;
  const [first, ...rest] = cut.dropped.map((d) => d.words);
  const words = listed([first.replace(/^([\d,]+) /, "$1 later "), ...rest]);
  return `${where}: ${words} ${many ? "are" : "is"} not drawn; ${whole}.`;
}

/** What a task was doing when a limit stopped the run, by what its cut-off step or wait says. */
export const STOPPED_WORDS = {
  running: "still running when the run was stopped",
  waiting: "still waiting when the run was stopped",
};

/**
 * The tasks a limit stopped in the middle of a step or a wait (a slice or
 * wait marked cut_off: its end is the moment the run was stopped): a Map
 * of task id to "running" or "waiting". Such a task did not finish.
 */
export function stoppedTasks(trace) {
  const stopped = new Map();
  for (const [list, doing] of [[trace.slices, "running"], [trace.waits, "waiting"]]) {
    for (const item of asArray(list)) {
      if (item && item.cut_off === true && item.task !== null && item.task !== undefined) stopped.set(item.task, doing);
    }
  }
  return stopped;
}
