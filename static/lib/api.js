// Calls to the playground's JSON API, for the main page and the embed page.

import { asArray, asObject, str } from "./values.js";

/**
 * POST JSON to url. Resolves to {ok: true, body} or {ok: false, message,
 * code, status, retryAfter}: the server's own error message, its code, the
 * HTTP status, and the seconds its Retry-After asks to wait (null without
 * one), or what went wrong on the way (status 0). Saying when to retry is
 * the caller's: features/busy-retry.js does it in the page's words.
 */
export async function postJSON(url, payload) {
  let response;
  try {
    response = await fetch(url, jsonRequest(payload, "application/json"));
  } catch {
    return unreachable();
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  return response.ok ? { ok: true, body } : errorAnswer(response, body);
}

/** The fetch options of a POST of payload as JSON, accepting `accept`. */
export function jsonRequest(payload, accept, signal = undefined) {
  return {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: accept },
    body: JSON.stringify(payload),
    credentials: "same-origin",
    signal,
  };
}

/** The answer when the request never reached the playground. */
export function unreachable() {
  return { ok: false, status: 0, retryAfter: null, message: "Could not reach the playground. Check your connection and try again." };
}

/** The answer of a refused request: the server's error ({error: {code, message}}) in body, with its status and Retry-After. */
export function errorAnswer(response, body) {
  const error = body && typeof body === "object" ? asObject(body.error) : null;
  const message = error && error.message ? str(error.message) : `The playground answered ${response.status} ${response.statusText}.`;
  const retry = Number.parseFloat(response.headers.get("Retry-After") || "");
  return {
    ok: false, message, code: error ? error.code : undefined, status: response.status,
    retryAfter: Number.isFinite(retry) && retry >= 0 ? retry : null,
  };
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
  return answer.ok ? runAnswer(answer.body) : answer;
}

/** A run's answer from its body: the trace as v1 ({ok: true, body}), or why the page cannot read it. */
export function runAnswer(body) {
  if (!body || typeof body !== "object" || body.format !== "columnar") return { ok: true, body };
  const trace = expandTrace(body);
  return trace ? { ok: true, body: trace } : { ok: false, message: "The playground sent an answer this page cannot read." };
}

/**
 * The API of the playground mounted at root ("/" or "/app/"): postJSON and
 * postRun with addresses relative to that root ("api/run"), and url(path),
 * the address of one.
 */
export function apiClient(root) {
  const base = new URL(root, location.origin);
  return {
    url: (path) => new URL(path, base),
    postJSON: (path, payload) => postJSON(new URL(path, base), payload),
    postRun: (path, payload) => postRun(new URL(path, base), payload),
  };
}
