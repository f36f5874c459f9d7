// The network of a run for the Perfetto export (perfetto.js): a process
// "network connections" with one track per connection, named by its
// host:port and the task that opened it, the connection a slice with its
// bytes each way and its error, and each of its phases a slice inside; and
// in URL mode each request's phases, slices on its task's track.

import { connectionsOf, hostPort } from "../lib/connections.js";
import { taskNames } from "../lib/trace.js";
import { asArray, num, str } from "../lib/values.js";
import { PHASE_LABEL } from "../timeline/model.js";

const NETWORK_PID = 3;

/** The trace-event events of trace's connections (us(seconds) writes a time); none when it has none. */
export function connectionEvents(trace, us) {
  const connections = connectionsOf(trace);
  if (!connections.length) return [];
  const names = taskNames(trace);
  const events = [{ ph: "M", pid: NETWORK_PID, tid: 0, name: "process_name", args: { name: "network connections" } }];
  connections.forEach((c, index) => {
    const tid = index + 1;
    const who = c.task === null ? "no task" : names.get(c.task) || `task ${String(c.task)}`;
    events.push({ ph: "M", pid: NETWORK_PID, tid, name: "thread_name", args: { name: `${hostPort(c)} \u00b7 ${who}` } });
    events.push({ ph: "M", pid: NETWORK_PID, tid, name: "thread_sort_index", args: { sort_index: tid } });
    events.push({
      ph: "X", pid: NETWORK_PID, tid, ts: us(c.start), dur: us(c.end - c.start),
      name: c.error ? `${hostPort(c)} (failed)` : hostPort(c), cat: "connection",
      args: { task: c.task, line: c.line, sent: c.sent, received: c.received, error: c.error || null, cut_off: c.cutOff },
    });
    for (const p of c.phases) {
      events.push({
        ph: "X", pid: NETWORK_PID, tid, ts: us(p.start), dur: us(p.end - p.start),
        name: PHASE_LABEL.get(p.name) || p.name, cat: "phase",
      });
    }
  });
  return events;
}

/** The trace-event events of a URL run's requests (tasks with url and phases): each phase a slice on its task's track (pid). */
export function requestEvents(trace, us, pid) {
  const events = [];
  for (const task of asArray(trace.tasks)) {
    if (!task || typeof task.url !== "string") continue;
    const http = task.http && typeof task.http === "object" ? task.http : {};
    const args = { url: task.url, status: http.status ?? null, bytes: num(http.bytes, 0), error: http.error ? str(http.error) : null };
    for (const p of asArray(task.phases)) {
      if (!p || !PHASE_LABEL.has(p.name)) continue;
      events.push({
        ph: "X", pid, tid: Number(task.id), ts: us(p.start), dur: us(num(p.end, 0) - num(p.start, 0)),
        name: PHASE_LABEL.get(p.name), cat: "phase", args,
      });
    }
  }
  return events;
}
