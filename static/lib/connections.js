// The network connections of a run's trace (code mode, docs/trace.md): read
// safely out of whatever the run sent, counted per task, and summed up in a
// learner's words for the summary.

import { formatBytes, plural } from "./format.js";
import { isMissing, lineOf, num, objectsIn, str } from "./values.js";

// Each list of connections is read once for every reader (timeline, summary, table, export).
const readOf = new WeakMap();

/** A phase {name, start, end} of a connection, or null when it cannot be placed in time. */
function readPhase(p, from, to) {
  if (!p || typeof p !== "object" || typeof p.name !== "string") return null;
  const start = num(p.start, null);
  if (start === null) return null;
  const end = Math.max(start, num(p.end, start));
  // Within the connection, so what is drawn and exported nests in it.
  return { name: p.name, start: Math.min(Math.max(start, from), to), end: Math.min(Math.max(end, from), to) };
}

/**
 * One connection as the page uses it: {id, task (a task id or null), host,
 * port (text), start, end, line (or null), phases [{name, start, end}] in
 * order, error (text, "" if none), sent, received (byte counts), cutOff}; or
 * null when it has no time to be drawn at.
 */
function readConnection(c) {
  const start = num(c.start, null);
  if (start === null) return null;
  const end = Math.max(start, num(c.end, start));
  const phases = [];
  if (Array.isArray(c.phases)) {
    for (const p of c.phases) {
      const phase = readPhase(p, start, end);
      if (phase) phases.push(phase);
    }
    phases.sort((a, b) => a.start - b.start);
  }
  return {
    id: isMissing(c.id) ? "" : str(c.id),
    task: isMissing(c.task) ? null : c.task,
    host: str(c.host),
    port: isMissing(c.port) ? "" : str(c.port),
    start, end,
    line: lineOf(c.line),
    phases,
    error: isMissing(c.error) || c.error === false ? "" : str(c.error),
    sent: Math.max(0, num(c.sent, 0)),
    received: Math.max(0, num(c.received, 0)),
    cutOff: c.cut_off === true,
  };
}

/** The connections of a trace, read (readConnection), in order of opening. Shared: not to be changed. */
export function connectionsOf(trace) {
  const list = trace && typeof trace === "object" ? trace.connections : undefined;
  if (!Array.isArray(list) || list.length === 0) return [];
  let read = readOf.get(list);
  if (!read) {
    read = [];
    for (const c of objectsIn(list)) {
      const connection = readConnection(c);
      if (connection) read.push(connection);
    }
    read.sort((a, b) => a.start - b.start);
    readOf.set(list, read);
  }
  return read;
}

/** "example.com:443" (an address with a colon in brackets, as in a URL). */
export function hostPort(c) {
  const host = c.host || "(unknown host)";
  const shown = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  return c.port ? `${shown}:${c.port}` : shown;
}

/** How many connections each task opened: a Map of task id to count. */
export function connectionsPerTask(trace) {
  const counts = new Map();
  for (const c of connectionsOf(trace)) {
    if (c.task !== null) counts.set(c.task, (counts.get(c.task) || 0) + 1);
  }
  return counts;
}

/** {count, failed, open (still open when the run was stopped), sent, received} of a trace's connections. */
export function connectionTotals(trace) {
  const totals = { count: 0, failed: 0, open: 0, sent: 0, received: 0 };
  for (const c of connectionsOf(trace)) {
    totals.count += 1;
    if (c.error) totals.failed += 1;
    if (c.cutOff) totals.open += 1;
    totals.sent += c.sent;
    totals.received += c.received;
  }
  return totals;
}

/** What the summary says of them: {count: "3 connections", detail: "12.0 KiB received, 1.2 KiB sent; 1 failed"}. */
export function connectionWords(totals) {
  const parts = [`${formatBytes(totals.received)} received, ${formatBytes(totals.sent)} sent`];
  if (totals.failed) parts.push(`${totals.failed} failed`);
  if (totals.open) parts.push(`${totals.open} still open when the run was stopped`);
  return { count: plural(totals.count, "connection"), detail: parts.join("; ") };
}
