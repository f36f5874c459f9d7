// Numbers as people read them: durations, byte counts, times and counts of
// things.

import { num } from "./values.js";

/** A duration for people: "35 µs", "0.2 ms", "120 ms", "1.00 s". */
export function formatDuration(d) {
  d = num(d, 0);
  if (d <= 0) return "0 s";
  // Each bound is where the shorter unit would round up to the next ("1000 ms" for 0.9996 s).
  if (d < 0.5e-6) return "<1 \u00b5s";
  if (d < 0.9995e-3) return `${Math.round(d * 1e6)} \u00b5s`;
  if (d < 1e-2) return `${(d * 1e3).toFixed(1)} ms`;
  if (d < 0.9995) return `${Math.round(d * 1e3)} ms`;
  return `${d.toFixed(2)} s`;
}

/** A byte count for people: "512 B", "12.3 KiB", "1.0 MiB". */
export function formatBytes(n) {
  n = num(n, 0);
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** A moment of the run to the millisecond: "0.250 s". */
export const formatSeconds = (t) => `${num(t, 0).toFixed(3)} s`;

/** A moment of the run as formatSeconds, or as a duration ("35 µs") in its first 10 ms, which milliseconds would not tell apart. */
export const formatMoment = (t) => (num(t, 0) > 0 && num(t, 0) < 0.01 ? formatDuration(t) : formatSeconds(t));

// One formatter for every count: Chromium's toLocaleString makes one at each call (0.1 ms; a step of the loop view says several counts).
const COUNT_FORMAT = new Intl.NumberFormat("en-US");

/** A count as people read it: "12,345". */
export const formatCount = (count) => (Number.isFinite(count) ? COUNT_FORMAT.format(count) : String(count));

/** "1 task", "3 tasks", "12,345 tasks". */
export const plural = (count, word) => `${formatCount(count)} ${word}${count === 1 ? "" : "s"}`;

/** text cut to at most maxChars characters at its end, an ellipsis marking the cut ("" below 2). */
export function shorten(text, maxChars) {
  if (maxChars < 2) return "";
  return text.length > maxChars ? `${text.slice(0, maxChars - 1)}\u2026` : text;
}

/**
 * text cut to at most maxChars characters in its middle, keeping its start
 * and, longer, its end: what tells URLs of one site apart
 * ("127.0.0.1:8123/d…/0.5?i=0", "…/0.5?i=1").
 */
export function shortenMiddle(text, maxChars) {
  if (maxChars < 2) return "";
  if (text.length <= maxChars) return text;
  const tail = Math.ceil((maxChars - 1) * 0.6);
  return `${text.slice(0, maxChars - 1 - tail)}\u2026${text.slice(text.length - tail)}`;
}
