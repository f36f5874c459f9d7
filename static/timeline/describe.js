// What a timeline says about a lane in words: its label's second line, and
// the lines of its tooltip and of its screen-reader label.

import { formatBytes, formatDuration, plural } from "../lib/format.js";
import { STOPPED_WORDS } from "../lib/trace.js";
import { asObject, isMissing, num, str } from "../lib/values.js";
import { describeNetworkLane } from "./netdraw.js";
import { WORKER_PREFIX, describeChild, exitWords } from "./processes.js";

// The file the snippet runs as (playground/tracer/protocol.py: SNIPPET_FILENAME).
const SNIPPET_FILE = "main.py";

/** The lines that describe a lane's task (or thread); fmt(t) writes a time. */
export function describeTask(lane, model, fmt) {
  const task = lane.task;
  if (lane.child) return describeChild(lane);
  if (lane.thread !== null) return describeThread(lane, model.names);
  if (lane.net) return describeNetworkLane(lane, model.names);
  if (!task) return ["Prints and callbacks that ran outside any task."];
  if (typeof task.url === "string") return describeRequest(task, fmt);
  const lines = [];
  let created = `created at ${fmt(task.created)}`;
  if (!isMissing(task.line)) created += ` (line ${str(task.line)})`;
  if (!isMissing(task.parent) && model.names.has(task.parent)) {
    created += ` by ${model.names.get(task.parent)}`;
  }
  lines.push(created);
  const state = str(task.state) || "pending";
  if (lane.stopped) {
    lines.push(STOPPED_WORDS[lane.stopped]);
  } else if (isMissing(task.ended)) {
    lines.push(`${state}: never finished`);
  } else {
    lines.push(`${state} at ${fmt(task.ended)}`);
  }
  if (task.error && typeof task.error === "object") {
    lines.push(`${str(task.error.type)}: ${str(task.error.message)}`);
  }
  if (typeof task.busy === "number") {
    lines.push(`busy ${formatDuration(task.busy)} \u00b7 waiting ${formatDuration(task.waiting)} \u00b7 scheduled ${formatDuration(task.scheduled)} \u00b7 ${num(task.steps, 0)} steps`);
  }
  if (lane.children.length) lines.push(`${plural(lane.children.length, "task")} created`);
  if (lane.opened) lines.push(`opened ${plural(lane.opened, "network connection")}: see the rows under it`);
  return lines;
}

/** What a URL-mode task's label says: the URL, its answer or its failure. */
function describeRequest(task, fmt) {
  const http = asObject(task.http) || {};
  const lines = [str(task.url)];
  if (!isMissing(http.status)) {
    let answer = `HTTP ${str(http.status)}${str(http.reason) ? " " + str(http.reason) : ""}`;
    answer += ` \u00b7 ${formatBytes(http.bytes)}${http.truncated ? " (cut)" : ""}`;
    if (str(http.content_type)) answer += ` \u00b7 ${str(http.content_type)}`;
    lines.push(answer);
  }
  if (Array.isArray(http.redirects) && http.redirects.length) {
    lines.push(`${plural(http.redirects.length, "redirect")} followed`);
  }
  if (str(http.address)) lines.push(`address ${str(http.address)}`);
  if (str(http.error)) lines.push(str(http.error));
  if (str(http.note)) lines.push(str(http.note));
  const ended = isMissing(task.ended) ? "never finished" : fmt(task.ended);
  lines.push(`started ${fmt(task.created)}, ended ${ended}`);
  return lines;
}

/** The short second line of a URL-mode lane label. */
export function requestSummary(task) {
  const http = asObject(task.http) || {};
  if (task.error && typeof task.error === "object") return str(task.error.type) || "failed";
  if (isMissing(http.status)) return "";
  return `${str(http.status)} \u00b7 ${formatBytes(http.bytes)}${http.truncated ? " (cut)" : ""}`;
}

// Jobs a thread's label tells one by one (its tooltip, and what a screen reader reads).
const JOBS_TOLD = 5;

/** What an executor thread's lane says: what it is, how long it worked, and its first jobs. */
function describeThread(lane, names) {
  const busy = lane.jobs.reduce((sum, job) => sum + Math.max(0, num(job.end, 0) - num(job.start, 0)), 0);
  const what = lane.thread.startsWith(WORKER_PREFIX) ? "a worker process of a process pool" : "a thread of an executor";
  const lines = [`${what}: it ran ${plural(lane.jobs.length, "function")} (to_thread, run_in_executor or submit) for ${formatDuration(busy)} in all, beside the event loop`];
  for (const job of lane.jobs.slice(0, JOBS_TOLD)) lines.push(describeJob(job, names));
  if (lane.jobs.length > JOBS_TOLD) lines.push(`\u2026 and ${plural(lane.jobs.length - JOBS_TOLD, "more job")}`);
  return lines;
}

/** "ran blocking_io() for Task-2, from main.py line 7, 2.00 s": a job in a learner's words; names: task names by id. */
export function describeJob(job, names) {
  if (job.program) return `${str(job.fn)}: ${exitWords(job.child)}`;
  const parts = [`ran ${str(job.fn) || "a function"}()`];
  if (!isMissing(job.task)) parts.push(` for ${names.get(job.task) || `task ${str(job.task)}`}`);
  if (Number.isInteger(job.line) && job.line > 0) parts.push(`, from ${SNIPPET_FILE} line ${job.line}`);
  parts.push(`, ${formatDuration(num(job.end, 0) - num(job.start, 0))}`);
  return parts.join("");
}
