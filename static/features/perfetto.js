// Export a run's trace in the Chrome trace-event format, which Perfetto
// (https://ui.perfetto.dev) and chrome://tracing open: one track per task,
// its steps as slices, its waits as slices named by what it awaited, output
// and events as instants. Times in the format are microseconds.
//
// Format: https://docs.google.com/document/d/1CvAClvFfyA5R-PhYUmn5OOQtYMH4h6I0nSsKchNAySU

import { download } from "../lib/download.js";
import { asArray, isMissing, str } from "../lib/values.js";

const PID = 1;
const LOOP_TID = 0; // steps of plain callbacks, and events of no task

const us = (seconds) => Math.round(Number(seconds) * 1e6 * 1000) / 1000;

export function toChromeTrace(trace) {
  const events = [];
  events.push({ ph: "M", pid: PID, tid: LOOP_TID, name: "process_name", args: { name: "asyncio playground run" } });
  events.push({ ph: "M", pid: PID, tid: LOOP_TID, name: "thread_name", args: { name: "event loop (callbacks)" } });
  const tasks = asArray(trace.tasks);
  tasks.forEach((task, index) => {
    const tid = Number(task.id);
    events.push({ ph: "M", pid: PID, tid, name: "thread_name", args: { name: `${str(task.name)} · ${str(task.coro)}` } });
    events.push({ ph: "M", pid: PID, tid, name: "thread_sort_index", args: { sort_index: index + 1 } });
  });
  const trackOf = (task) => (isMissing(task) ? LOOP_TID : Number(task));

  for (const slice of asArray(trace.slices)) {
    events.push({
      ph: "X", pid: PID, tid: trackOf(slice.task), ts: us(slice.start), dur: us(slice.end - slice.start),
      name: slice.blocking ? `blocking: ${str(slice.reason)}` : "running",
      cat: slice.blocking ? "blocking" : "step",
      args: slice.line ? { line: slice.line } : {},
    });
  }
  for (const wait of asArray(trace.waits)) {
    events.push({
      ph: "X", pid: PID, tid: trackOf(wait.task), ts: us(wait.start), dur: us(wait.end - wait.start),
      name: `await ${str(wait.on) || "…"}`, cat: "wait",
      args: { line: wait.line, chain: asArray(wait.chain).map(str).join(" -> ") },
    });
  }
  for (const line of asArray(trace.output)) {
    events.push({
      ph: "i", s: "t", pid: PID, tid: trackOf(line.task), ts: us(line.t),
      name: `${str(line.stream)}: ${str(line.text)}`, cat: "output",
    });
  }
  for (const event of asArray(trace.events)) {
    events.push({
      ph: "i", s: isMissing(event.task) ? "p" : "t", pid: PID, tid: trackOf(event.task),
      ts: us(event.t), name: `${str(event.kind)}: ${str(event.message)}`, cat: str(event.kind),
      args: event.line ? { line: event.line } : {},
    });
  }
  return {
    traceEvents: events,
    displayTimeUnit: "ms",
    metadata: { source: "asyncio playground", clock: str(trace.clock), status: str(trace.status), version: trace.version },
  };
}

export function downloadChromeTrace(trace, filename = "asyncio-trace.json") {
  download(new Blob([JSON.stringify(toChromeTrace(trace))], { type: "application/json" }), filename);
}
