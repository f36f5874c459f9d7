// What a timeline says about a lane in words: its label's second line, and
// the lines of its tooltip and of its screen-reader label.

import { formatBytes, formatDuration, plural } from "../lib/format.js";
import { asObject, isMissing, num, str } from "../lib/values.js";

/** The lines that describe a lane's task; fmt(t) writes a time. */
export function describeTask(lane, model, fmt) {
  const task = lane.task;
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
  if (isMissing(task.ended)) {
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
