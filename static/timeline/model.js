// The model a timeline draws from a trace: one lane per task (and one for
// what ran outside any task), in tree order (each task under the task that
// created it), each with its slices, waits, output, request phases and
// "scheduled" stretches; and the time span the run covers.

import { asArray, asObject, isMissing, num, objectsIn, str } from "../lib/values.js";

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

function newLane(task, name, coro) {
  return {
    task, id: task ? task.id : null, name, coro,
    slices: [], waits: [], outputs: [], phases: [], scheduled: [], children: [], depth: 0, parentLane: null,
  };
}

const taskLane = (task) => newLane(task, str(task.name) || `task ${str(task.id)}`, str(task.coro));

const byStart = (a, b) => num(a.start, 0) - num(b.start, 0);

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

/**
 * Put each slice, wait and printed line in its task's lane (or in the
 * "(no task)" lane, made when first needed and returned). grow(t) is told
 * of every time seen, so the model knows where the run ends.
 */
function placeItems(trace, lanesById, grow) {
  let noTask = null;
  const laneFor = (id) => {
    if (!isMissing(id) && lanesById.has(id)) return lanesById.get(id);
    if (!noTask) noTask = newLane(null, "(no task)", "top level, callbacks");
    return noTask;
  };
  for (const s of asArray(trace.slices)) {
    if (!s || typeof s !== "object") continue;
    laneFor(s.task).slices.push(s);
    grow(s.end);
  }
  for (const w of asArray(trace.waits)) {
    if (!w || typeof w !== "object") continue;
    laneFor(w.task).waits.push(w);
    grow(w.end);
  }
  asArray(trace.output).forEach((o, index) => {
    if (!o || typeof o !== "object") return;
    laneFor(o.task).outputs.push({ o, index });
    grow(o.t);
  });
  return noTask;
}

/** The lanes in tree order: each task under the task that created it, with its depth. */
function treeOrder(lanes, lanesById) {
  const roots = [];
  for (const lane of lanes) {
    const parent = lane.task.parent;
    const parentLane = !isMissing(parent) && parent !== lane.id ? lanesById.get(parent) : null;
    if (parentLane) {
      lane.parentLane = parentLane;
      parentLane.children.push(lane);
    } else {
      roots.push(lane);
    }
  }
  const order = (a, b) => num(a.task.created, 0) - num(b.task.created, 0) || num(a.task.id, 0) - num(b.task.id, 0);
  roots.sort(order);
  const flat = [];
  const seen = new Set();
  const visit = (lane, depth) => {
    if (seen.has(lane)) return; // a cycle of parents from a hostile trace
    seen.add(lane);
    lane.depth = depth;
    flat.push(lane);
    lane.children.sort(order);
    for (const child of lane.children) visit(child, depth + 1);
  };
  for (const lane of roots) visit(lane, 0);
  for (const lane of lanes) if (!seen.has(lane)) visit(lane, 0);
  return flat;
}

/** The model of a trace: {lanes, names (task names by id), domain, duration, error}. */
export function buildModel(trace) {
  const lanes = objectsIn(trace.tasks).map(taskLane);
  const lanesById = new Map();
  const names = new Map();
  for (const lane of lanes) {
    if (!lanesById.has(lane.id)) lanesById.set(lane.id, lane);
    names.set(lane.id, lane.name);
  }

  let end = num(trace.duration, 0);
  const grow = (t) => {
    const v = num(t, 0);
    if (v > end) end = v;
  };
  for (const lane of lanes) {
    grow(lane.task.created);
    grow(lane.task.ended);
  }
  const noTask = placeItems(trace, lanesById, grow);
  const flat = treeOrder(lanes, lanesById);
  if (noTask) flat.push(noTask);

  for (const lane of flat) {
    lane.slices.sort(byStart);
    lane.waits.sort(byStart);
    const phases = lane.task ? asArray(lane.task.phases) : [];
    lane.phases = phases.filter((p) => p && typeof p === "object" && PHASE_NAMES.includes(p.name));
    for (const p of lane.phases) grow(p.end);
    lane.scheduled = scheduledSegments(lane);
  }

  const duration = num(trace.duration, end);
  const error = asObject(trace.error);
  return { lanes: flat, names, domain: end > 0 ? end : 1e-3, duration, error };
}

/** How many tasks a lane has below it, at any depth. */
export function countDescendants(lane) {
  let n = 0;
  const walk = (l) => {
    for (const c of l.children) {
      n++;
      walk(c);
    }
  };
  walk(lane);
  return n;
}
