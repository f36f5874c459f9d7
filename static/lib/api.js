// Calls to the playground's JSON API, for the main page and the embed page.

import { asArray, asObject, str } from "./values.js";

/**
 * POST JSON to url. Resolves to {ok: true, body} or {ok: false, message,
 * code}: the server's own error message (with when to retry, for 429 and
 * 503), or what went wrong on the way.
 */
export async function postJSON(url, payload) {
  let response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(payload),
      credentials: "same-origin",
    });
  } catch {
    return { ok: false, message: "Could not reach the playground. Check your connection and try again." };
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) {
    const message = body && body.error && body.error.message ? str(body.error.message) : `The playground answered ${response.status} ${response.statusText}.`;
    const retry = response.headers.get("Retry-After");
    const hint = retry && (response.status === 429 || response.status === 503) ? ` Try again in ${retry} s.` : "";
    return { ok: false, message: message + hint, code: body && body.error && body.error.code };
  }
  return { ok: true, body };
}

// The lists of a trace that the compact form sends as columns; traces from
// before executor threads (jobs), network connections or child processes were told have none.
const TABLES = ["tasks", "slices", "waits", "jobs", "connections", "children", "output", "events"];
const OPTIONAL_TABLES = new Set(["jobs", "connections", "children"]);

/**
 * A trace in the compact columnar form (format: "columnar", see
 * docs/trace.md) as the contract-v1 trace it stands for: each table's
 * {field: [value per item]} back into [{field: value}], a null in a column
 * the answer lists as sparse left out, as v1 does. Anything else is returned
 * as it is; null when the columns cannot be read.
 */
export function expandTrace(data) {
  if (!data || typeof data !== "object" || data.format !== "columnar") return data;
  const trace = {};
  for (const [key, value] of Object.entries(data)) {
    if (key !== "format" && key !== "sparse") trace[key] = value;
  }
  const sparse = asObject(data.sparse) || {};
  for (const table of TABLES) {
    const columns = data[table] === undefined && OPTIONAL_TABLES.has(table) ? {} : data[table];
    if (!columns || typeof columns !== "object" || Array.isArray(columns)) return null;
    const names = Object.keys(columns);
    if (names.some((name) => !Array.isArray(columns[name]))) return null;
    const count = names.reduce((most, name) => Math.max(most, columns[name].length), 0);
    const omit = new Set(asArray(sparse[table]));
    const values = names.map((name) => columns[name]);
    const sparseField = names.map((name) => omit.has(name));
    // Each item starts as a copy of one with every field that is always
    // there: a large table expands a third faster than objects grown field
    // by field (JSON.parse makes an object with room for all its fields, and
    // a spread copies that shape).
    const shape = JSON.parse(JSON.stringify(Object.fromEntries(names.filter((name, field) => !sparseField[field]).map((name) => [name, null]))));
    const items = new Array(count);
    for (let index = 0; index < count; index++) {
      const item = { ...shape };
      for (let field = 0; field < names.length; field++) {
        const value = values[field][index] ?? null;
        if (value !== null || !sparseField[field]) item[names[field]] = value;
      }
      items[index] = item;
    }
    trace[table] = items;
  }
  return trace;
}

/**
 * POST a run to url (an /api/run address): asks for the compact trace, which
 * is half the size of v1 on large runs, and answers like postJSON with the
 * v1 trace, so nothing past this point knows the compact form exists.
 */
export async function postRun(url, payload) {
  const answer = await postJSON(url, { ...payload, format: "columnar" });
  if (!answer.ok || !answer.body || answer.body.format !== "columnar") return answer;
  const trace = expandTrace(answer.body);
  return trace ? { ok: true, body: trace } : { ok: false, message: "The playground sent an answer this page cannot read." };
}

/**
 * The API of the playground mounted at root ("/" or "/app/"): postJSON and
 * postRun with addresses relative to that root ("api/run").
 */
export function apiClient(root) {
  const base = new URL(root, location.origin);
  return {
    postJSON: (path, payload) => postJSON(new URL(path, base), payload),
    postRun: (path, payload) => postRun(new URL(path, base), payload),
  };
}
