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

/** The objects of v (a list from a trace), leaving out anything else. */
export const objectsIn = (v) => asArray(v).filter((item) => item && typeof item === "object");

/** v if it is an object, otherwise null. */
export const asObject = (v) => (v && typeof v === "object" ? v : null);

/** Whether v is null or undefined (a task that never ended, a line with no task...). */
export const isMissing = (v) => v === null || v === undefined;
