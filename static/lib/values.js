// Reading values out of a trace or an API answer, which may hold anything:
// each helper returns a value of the type asked for, or a fallback.

/** v as a string; "" for null and undefined. */
export const str = (v) => (v === null || v === undefined ? "" : String(v));

/** v if it is a finite number, otherwise fallback. */
export const num = (v, fallback) => (typeof v === "number" && Number.isFinite(v) ? v : fallback);

/** Whether v is a line number of the snippet (a positive integer). */
export const validLine = (v) => Number.isInteger(v) && v > 0;

/** v if it is a line number of the snippet, otherwise null. */
export const lineOf = (v) => (validLine(v) ? v : null);

/** v if it is an array, otherwise []. */
export const asArray = (v) => (Array.isArray(v) ? v : []);

// The lists of a trace are read by the timeline, the summary, the table...
// and never changed: each is filtered once.
const objectsOf = new WeakMap();

/** The objects of v (a list from a trace), leaving out anything else. Not to be changed: it may be shared. */
export function objectsIn(v) {
  if (!Array.isArray(v)) return [];
  let objects = objectsOf.get(v);
  if (!objects) {
    objects = v.every((item) => item && typeof item === "object") ? v : v.filter((item) => item && typeof item === "object");
    objectsOf.set(v, objects);
  }
  return objects;
}

/** v if it is an object, otherwise null. */
export const asObject = (v) => (v && typeof v === "object" ? v : null);

/** Whether v is null or undefined (a task that never ended, a line with no task...). */
export const isMissing = (v) => v === null || v === undefined;
