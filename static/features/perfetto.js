// Export a run's trace in the Chrome trace-event format, which Perfetto
// (https://ui.perfetto.dev) and chrome://tracing open: one track per task,
// its steps as slices, its waits as slices named by what it awaited, a URL
// run's request phases as slices, output and events as instants; one track
// per executor thread (or pool worker), its jobs as slices named by their
// function; and one track per program the run started.
// Times in the format are microseconds.
//
// Format: https://docs.google.com/document/d/1CvAClvFfyA5R-PhYUmn5OOQtYMH4h6I0nSsKchNAySU

import { download } from "../lib/download.js";
import { asArray, isMissing, str } from "../lib/values.js";
import { connectionEvents, requestEvents } from "./perfetto-network.js";
import { WORKER_PREFIX, commandLine, exitWords } from "../timeline/processes.js";

const PID = 1;
const THREADS_PID = 2; // the executor threads, a process of their own in the viewer
const CHILDREN_PID = 3; // the programs the run started, one track each
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
  const threads = new Map();
  for (const job of asArray(trace.jobs)) {
    if (!job || typeof job !== "object") continue;
    const thread = str(job.thread) || "thread";
    if (!threads.has(thread)) {
      threads.set(thread, threads.size + 1);
      events.push({ ph: "M", pid: THREADS_PID, tid: threads.size, name: "thread_name", args: { name: thread.startsWith(WORKER_PREFIX) ? thread : `thread ${thread}` } });
    }
    events.push({
      ph: "X", pid: THREADS_PID, tid: threads.get(thread), ts: us(job.start), dur: us(job.end - job.start),
      name: `${str(job.fn)}()`, cat: "job",
      args: { task: job.task, line: job.line, error: job.error, cut_off: job.cut_off === true },
    });
  }
  if (threads.size) events.push({ ph: "M", pid: THREADS_PID, tid: 0, name: "process_name", args: { name: "executor threads" } });
  for (const event of connectionEvents(trace, us)) events.push(event);
  for (const event of requestEvents(trace, us, PID)) events.push(event);
  childEvents(trace, events);
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

/** The programs the run started (trace.children): a track each, its run one slice. */
function childEvents(trace, events) {
  let tid = 0;
  for (const child of asArray(trace.children)) {
    if (!child || typeof child !== "object") continue;
    tid += 1;
    const end = child.end === null || child.end === undefined ? trace.duration : child.end;
    events.push({ ph: "M", pid: CHILDREN_PID, tid, name: "thread_name", args: { name: `pid ${str(child.pid)}` } });
    events.push({
      ph: "X", pid: CHILDREN_PID, tid, ts: us(child.start), dur: us(end - child.start), name: commandLine(child),
      cat: "process", args: { task: child.task, line: child.line, how: exitWords(child), cut_off: child.cut_off === true },
    });
  }
  if (tid) events.push({ ph: "M", pid: CHILDREN_PID, tid: 0, name: "process_name", args: { name: "programs the run started" } });
}
