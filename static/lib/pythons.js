// The Pythons a run can pick, as the server lists them (GET /api/pythons,
// which the server also puts in each page as #pythons-data): ids ("3.14"),
// their exact versions ("3.14.10"), which one is the default, and which one
// suits code that needs a Python at least this new.

import { readPageData } from "./dom.js";
import { asArray, str } from "./values.js";

/** The Pythons in the page: [{id, version, default}], oldest first. */
export function readPythons() {
  return asArray(readPageData("pythons-data"))
    .filter((p) => p && typeof p.id === "string" && typeof p.version === "string")
    .map((p) => ({ id: p.id, version: p.version, default: p.default === true }));
}

/** An id as numbers to compare ("3.14" -> [3, 14]); null when it is not one. */
function parts(id) {
  const match = /^(\d+)\.(\d+)$/.exec(str(id));
  return match ? [Number(match[1]), Number(match[2])] : null;
}

/** Whether the Python of this id is `needs` or newer (true when nothing is needed). */
export function satisfies(id, needs) {
  if (!needs) return true;
  const have = parts(id);
  const want = parts(needs);
  if (!have || !want) return false;
  return have[0] !== want[0] ? have[0] > want[0] : have[1] >= want[1];
}

/** Whether this looks like a Python's id ("3.14"). */
export const isPythonId = (id) => parts(id) !== null;

/** The default's id, or null. */
export const defaultPython = (pythons) => (pythons.find((p) => p.default) || pythons[0] || { id: null }).id;

/** The exact version of the Python of this id ("3.14.10"), or the id itself when unknown. */
export const versionOf = (pythons, id) => (pythons.find((p) => p.id === id) || { version: str(id) }).version;

/**
 * The Python for code that needs `needs` or newer: the default if it does,
 * else the oldest that does; null when none does.
 */
export function suitedPython(pythons, needs) {
  const fallback = defaultPython(pythons);
  if (satisfies(fallback, needs)) return fallback;
  const suited = pythons.find((p) => satisfies(p.id, needs));
  return suited ? suited.id : null;
}
