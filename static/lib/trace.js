// What both pages read out of a run's trace besides its timeline: task
// names by id and the events worth a note.

import { asArray, num, str } from "./values.js";

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
