// What both pages read out of a run's trace besides its timeline: task
// names by id, the events worth a note, where a cut trace stops, and which
// tasks a limit stopped mid-step or mid-wait, and where the code was then.

import { formatMoment, plural } from "./format.js";
import { asArray, asObject, num, str, validLine } from "./values.js";

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

/** A task as the tracer names one in its messages: "main() (Task-1)", or its own name. */
function taskWords(task) {
  const name = str(task.name);
  return name.startsWith("Task-") || !name ? `${str(task.coro)}() (${name || "a task"})` : `${str(task.coro)}() (task \u201c${name}\u201d)`;
}

/**
 * Where the code was when a limit stopped the run, from the step and waits
 * still open then (cut_off, docs/trace.md): {text, line}, or null when the
 * trace does not say (a stop within a second of the step's start).
 */
export function stoppedWhere(trace) {
  const tasks = new Map();
  for (const t of asArray(trace.tasks)) if (t && typeof t === "object") tasks.set(t.id, t);
  const who = (id) => (tasks.has(id) ? taskWords(tasks.get(id)) : "a callback");
  const step = asArray(trace.slices).find((s) => s && s.cut_off === true);
  if (step) {
    const line = validLine(step.line) ? step.line : null;
    const at = line ? `running line ${line} in ${who(step.task)}` : `running a step of ${who(step.task)}`;
    return { text: `The code was ${at} when it was stopped.`, line };
  }
  const waits = asArray(trace.waits).filter((w) => w && w.cut_off === true && tasks.has(w.task));
  if (!waits.length) return null;
  const [first] = waits;
  const line = validLine(first.line) ? first.line : null;
  const more = waits.length > 1 ? ` (and ${plural(waits.length - 1, "more task")} waiting too)` : "";
  const on = str(first.on) ? ` on ${str(first.on)}` : "";
  return { text: `${who(first.task)} was waiting${on}${line ? ` at line ${line}` : ""} when it was stopped${more}.`, line };
}
