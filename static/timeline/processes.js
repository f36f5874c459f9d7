// The run's processes on a timeline: one lane per program the run started
// (subprocess, asyncio.create_subprocess_exec/_shell; the trace's children),
// below the executor threads and the pools' worker processes, its life a bar
// from its start to when the run learned it ended, labelled with its command.

import { formatDuration } from "../lib/format.js";
import { isMissing, num, objectsIn, str } from "../lib/values.js";

// A pool's worker process, as its jobs name their lane (tracer/pools.py).
export const WORKER_PREFIX = "process ";

/** "$ sleep 0.5": how a program's lane and bar read. */
export function commandLine(child) {
  const argv = Array.isArray(child.argv) ? child.argv.map(str) : [];
  const shell = argv.length === 3 && argv[0] === "/bin/sh" && argv[1] === "-c";
  return `$ ${shell ? argv[2] : argv.join(" ")}`;
}

/** How a program ended, in words: "exit code 0", "ended by signal 9", or still running. */
export function exitWords(child) {
  if (child.cut_off === true) return "still running when the run was stopped";
  if (isMissing(child.returncode)) return "still running when the run ended (the playground ended it)";
  const code = num(child.returncode, 0);
  return code < 0 ? `ended by signal ${-code}` : `exit code ${code}`;
}

/**
 * The lanes of a trace's children, in the order they started: each a lane
 * with one bar (a job-like item marked `program`, so the lanes draw it as
 * they draw an executor's job), linked to the wait of the task that awaited
 * it. newLane(task, name, coro) makes a lane; linkToWait(lane, item) the link.
 */
export function childLanes(trace, { newLane, laneOf, linkToWait, grow, end }) {
  const lanes = [];
  const children = objectsIn(trace.children).slice().sort((a, b) => num(a.start, 0) - num(b.start, 0));
  for (const child of children) {
    const failed = !isMissing(child.returncode) && num(child.returncode, 0) !== 0;
    const item = {
      program: true, fn: commandLine(child), thread: `pid ${str(child.pid)}`, task: child.task, line: child.line,
      start: child.start, end: isMissing(child.end) ? end() : child.end, cut_off: child.cut_off,
      error: failed ? exitWords(child) : null, child,
    };
    grow(item.end);
    const lane = newLane(null, item.fn, `pid ${str(child.pid)}`);
    lane.thread = item.thread;
    lane.child = child;
    lane.jobs = [item];
    const taskLane = laneOf(child.task);
    if (taskLane) linkToWait(taskLane, item);
    lanes.push(lane);
  }
  return lanes;
}

/** What a program's lane says: what it is, how it ended, how long it ran. */
export function describeChild(lane) {
  const child = lane.child;
  const [item] = lane.jobs;
  return [
    `a program the run started (pid ${str(child.pid)}), beside the event loop`,
    `${exitWords(child)}, after ${formatDuration(num(item.end, 0) - num(item.start, 0))}`,
  ];
}
