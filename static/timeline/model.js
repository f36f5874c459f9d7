// The model a timeline draws from a trace: one lane per task (and one for
// what ran outside any task), in tree order (each task under the task that
// created it), each with its slices, waits, output, request phases,
// "scheduled" stretches and what it was doing if a limit stopped the run;
// below them one lane per executor thread (or pool worker process) with the
// jobs it ran, then one per program the run started (./processes.js); and the
// time span the run covers, and where a cut trace stops.

import { plural } from "../lib/format.js";
import { WORKER_PREFIX, childLanes } from "./processes.js";
import { stoppedTasks, traceCut } from "../lib/trace.js";
import { asArray, asObject, isMissing, num, objectsIn, str } from "../lib/values.js";
import { addConnectionLanes } from "./network.js";

// URL mode: the phases of a request, in order, and what people read for them.
// Each has its colour in css/timeline.css (.tl-phase-<name>) and
// css/cards.css (.key-phase-<name>).
export const PHASES = [
  ["queued", "queued"],
  ["dns", "DNS"],
  ["connect", "connect"],
  ["tls", "TLS"],
  ["sent", "request sent"],
  ["first_byte", "waiting for first byte"],
  ["body", "body"],
];
export const PHASE_NAMES = PHASES.map(([name]) => name);
export const PHASE_LABEL = new Map(PHASES);

// Most lanes of a big trace have no output, phases or children: they share
// this one empty list (frozen, so a push into it fails loudly) rather than
// each allocating its own.
const NONE = Object.freeze([]);

function newLane(task, name, coro) {
  return {
    task, id: task ? task.id : null, name, coro,
    slices: NONE, waits: NONE, outputs: NONE, phases: NONE, scheduled: null, children: NONE,
    depth: 0, parentLane: null, descendants: 0, stopped: null, thread: null, jobs: NONE, jobOfWait: null,
  };
}

const taskLane = (task) => newLane(task, str(task.name) || `task ${str(task.id)}`, str(task.coro));

const byStart = (a, b) => num(a.start, 0) - num(b.start, 0);

/** items sorted by start: as they are when they already are (the usual case), otherwise sorted. */
function sortedByStart(items) {
  for (let i = 1; i < items.length; i++) {
    if (byStart(items[i - 1], items[i]) > 0) return items.sort(byStart);
  }
  return items;
}

/**
 * When each step became ready to run: at creation (the first step), when
 * the wait before it ended (the task was woken), or when the step before it
 * ended (a task that only yielded). The time from there to the step's start
 * is "scheduled": ready, but the loop was busy with others.
 */
function scheduledSegments(lane) {
  const segments = [];
  const task = lane.task;
  if (!task || typeof task.url === "string") return segments;
  let ready = num(task.created, 0);
  let w = 0;
  for (const s of lane.slices) {
    const start = num(s.start, 0);
    while (w < lane.waits.length && num(lane.waits[w].end, 0) <= start + 1e-9) {
      ready = Math.max(ready, num(lane.waits[w].end, 0));
      w++;
    }
    if (start - ready > 0) segments.push({ start: ready, end: start });
    ready = num(s.end, start);
  }
  return segments;
}

/** A lane's scheduled stretches, worked out the first time they are drawn. */
export function scheduledOf(lane) {
  if (!lane.scheduled) lane.scheduled = scheduledSegments(lane);
  return lane.scheduled;
}

/**
 * Put each slice, wait and printed line in its task's lane (or in the
 * "(no task)" lane, made when first needed and returned). grow(t) is told
 * of every time seen, so the model knows where the run ends.
 */
function placeItems(trace, laneOf, grow) {
  let noTask = null;
  const laneFor = (id) => {
    const lane = laneOf(id);
    if (lane) return lane;
    if (!noTask) noTask = newLane(null, "(no task)", "top level, callbacks");
    return noTask;
  };
  for (const s of asArray(trace.slices)) {
    if (!s || typeof s !== "object") continue;
    const lane = laneFor(s.task);
    if (lane.slices === NONE) lane.slices = [s];
    else lane.slices.push(s);
    grow(s.end);
  }
  for (const w of asArray(trace.waits)) {
    if (!w || typeof w !== "object") continue;
    const lane = laneFor(w.task);
    if (lane.waits === NONE) lane.waits = [w];
    else lane.waits.push(w);
    grow(w.end);
  }
  asArray(trace.output).forEach((o, index) => {
    if (!o || typeof o !== "object") return;
    const lane = laneFor(o.task);
    if (lane.outputs === NONE) lane.outputs = [];
    lane.outputs.push({ o, index });
    grow(o.t);
  });
  return noTask;
}

const creationOrder = (a, b) => num(a.task.created, 0) - num(b.task.created, 0) || num(a.task.id, 0) - num(b.task.id, 0);

/** lanes in creation order: as they are when they already are (the usual case), otherwise sorted. */
function inCreationOrder(lanes) {
  for (let i = 1; i < lanes.length; i++) {
    if (creationOrder(lanes[i - 1], lanes[i]) > 0) return lanes.sort(creationOrder);
  }
  return lanes;
}

/**
 * The lanes in tree order: each task under the task that created it, with
 * its depth and its count of descendants. Walked with a stack of its own, so
 * a chain of 20,000 tasks each made by the one before is no deeper a call.
 */
function treeOrder(lanes, laneOf) {
  const roots = [];
  for (const lane of lanes) {
    const parent = lane.task.parent;
    const parentLane = parent !== lane.id ? laneOf(parent) : undefined;
    if (parentLane) {
      lane.parentLane = parentLane;
      if (parentLane.children === NONE) parentLane.children = [];
      parentLane.children.push(lane);
    } else {
      roots.push(lane);
    }
  }
  const flat = [];
  const seen = new Set();
  const visitFrom = (tops) => {
    const stack = tops.slice().reverse();
    for (const lane of stack) lane.depth = 0;
    while (stack.length) {
      const lane = stack.pop();
      if (seen.has(lane)) continue; // a cycle of parents from a hostile trace
      seen.add(lane);
      flat.push(lane);
      const children = inCreationOrder(lane.children);
      for (let i = children.length - 1; i >= 0; i--) {
        if (seen.has(children[i])) continue;
        children[i].depth = lane.depth + 1;
        stack.push(children[i]);
      }
    }
  };
  visitFrom(inCreationOrder(roots));
  // Lanes on a cycle of parents have no root: each starts a tree of its own.
  if (flat.length < lanes.length) {
    for (const lane of lanes) {
      if (seen.has(lane)) continue;
      lane.parentLane = null;
      visitFrom([lane]);
    }
  }
  for (let i = flat.length - 1; i >= 0; i--) {
    const parent = flat[i].parentLane;
    if (parent) parent.descendants += 1 + flat[i].descendants;
  }
  return flat;
}

/**
 * One lane per executor thread, in the order each first ran a job, with its
 * jobs (functions run by to_thread, run_in_executor, submit). A job run for a
 * task that awaits it also names its thread on that wait (wait.job), the
 * link between the task's lane and the thread's.
 */
function threadLanes(trace, laneOf, grow) {
  const byThread = new Map();
  for (const job of sortedByStart(objectsIn(trace.jobs).slice())) {
    const thread = str(job.thread) || "thread";
    let lane = byThread.get(thread);
    if (!lane) {
      lane = newLane(null, thread.startsWith(WORKER_PREFIX) ? thread : `thread ${thread}`, "");
      lane.thread = thread;
      lane.jobs = [];
      byThread.set(thread, lane);
    }
    lane.jobs.push(job);
    grow(job.end);
    const taskLane = laneOf(job.task);
    if (taskLane) linkToWait(taskLane, job);
  }
  for (const lane of byThread.values()) lane.coro = plural(lane.jobs.length, "job");
  return [...byThread.values()];
}

/** Mark the task's wait that this job ended (the one it overlaps most) as waiting on it. */
function linkToWait(taskLane, job) {
  let best = null;
  let most = 0;
  for (const w of taskLane.waits) {
    const overlap = Math.min(num(w.end, 0), num(job.end, 0)) - Math.max(num(w.start, 0), num(job.start, 0));
    if (overlap > most) {
      most = overlap;
      best = w;
    }
  }
  if (!best) return;
  if (!taskLane.jobOfWait) taskLane.jobOfWait = new Map();
  taskLane.jobOfWait.set(best, job);
}

/**
 * The lane of a task id (the first task with that id), or undefined. Ids
 * are small whole numbers in every trace the server makes, and an array
 * finds them several times faster than a Map, which serves any other id.
 */
function laneLookup(lanes) {
  const dense = lanes.every((lane) => Number.isInteger(lane.id) && lane.id >= 0 && lane.id < 8 * lanes.length + 1024);
  if (dense) {
    const byId = [];
    for (const lane of lanes) if (byId[lane.id] === undefined) byId[lane.id] = lane;
    return (id) => (Number.isInteger(id) && id >= 0 ? byId[id] : undefined);
  }
  const byId = new Map();
  for (const lane of lanes) if (!byId.has(lane.id)) byId.set(lane.id, lane);
  return (id) => (isMissing(id) ? undefined : byId.get(id));
}

/**
 * The model of a trace: {lanes, names (task names by id), domain, duration,
 * error, cutAt (the moment past which a cut trace no longer holds every
 * step and wait, or null)}.
 */
export function buildModel(trace) {
  const lanes = objectsIn(trace.tasks).map(taskLane);
  const names = new Map();
  for (const lane of lanes) names.set(lane.id, lane.name);
  const laneOf = laneLookup(lanes);

  let end = num(trace.duration, 0);
  const grow = (t) => {
    if (typeof t === "number" && t > end && Number.isFinite(t)) end = t;
  };
  for (const lane of lanes) {
    grow(lane.task.created);
    grow(lane.task.ended);
  }
  const noTask = placeItems(trace, laneOf, grow);
  const flat = treeOrder(lanes, laneOf);
  if (noTask) flat.push(noTask);

  for (const [id, doing] of stoppedTasks(trace)) {
    const lane = laneOf(id);
    if (lane) lane.stopped = doing;
  }
  for (const lane of flat) {
    if (lane.slices.length > 1) sortedByStart(lane.slices);
    if (lane.waits.length > 1) sortedByStart(lane.waits);
    if (lane.task && Array.isArray(lane.task.phases)) {
      lane.phases = lane.task.phases.filter((p) => p && typeof p === "object" && PHASE_NAMES.includes(p.name));
      for (const p of lane.phases) grow(p.end);
    }
  }
  addConnectionLanes(flat, trace, laneOf, grow, newLane);
  flat.push(...threadLanes(trace, laneOf, grow));
  flat.push(...childLanes(trace, { newLane, laneOf, linkToWait, grow, end: () => num(trace.duration, end) }));

  const duration = num(trace.duration, end);
  const error = asObject(trace.error);
  const cut = traceCut(trace);
  const cutAt = cut && cut.at !== null ? cut.at : null;
  return { lanes: flat, names, domain: end > 0 ? end : 1e-3, duration, error, cutAt };
}

/** How many tasks a lane has below it, at any depth. */
export const countDescendants = (lane) => lane.descendants;
