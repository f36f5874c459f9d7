// Numbers as people read them: durations, byte counts, times and counts of
// things.

import { num } from "./values.js";

/** A duration for people: "35 µs", "0.2 ms", "120 ms", "1.00 s". */
export function formatDuration(d) {
  d = num(d, 0);
  if (d <= 0) return "0 s";
  if (d < 1e-6) return "<1 \u00b5s";
  if (d < 1e-3) return `${Math.round(d * 1e6)} \u00b5s`;
  if (d < 1e-2) return `${(d * 1e3).toFixed(1)} ms`;
  if (d < 1) return `${Math.round(d * 1e3)} ms`;
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

/** A count as people read it: "12,345". */
export const formatCount = (count) => (Number.isFinite(count) ? count.toLocaleString("en-US") : String(count));

/** "1 task", "3 tasks", "12,345 tasks". */
export const plural = (count, word) => `${formatCount(count)} ${word}${count === 1 ? "" : "s"}`;
