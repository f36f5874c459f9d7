// The event loop, step by step: the positions a learner steps through in a
// run's trace (before the first step, each step of a task, and the moments
// the loop itself woke tasks: timers, threads, I/O), and what the loop holds
// at each: the running task, the ready queue in the order the loop will run
// it (each entry with why it became ready), the waiting tasks with what they
// await and who will wake them, the timers, pending thread jobs and child
// processes, the output so far. Everything is derived from the trace
// (docs/trace.md: slices, waits and their wake, waker, waker_line and due,
// tasks' parent, line and created); words are in loop-words.js.

import { traceCut } from "./trace.js";
import { lineOf, num, objectsIn } from "./values.js";

// The wakes that are the loop's own doing (between steps), not a step's.
const EXTERNAL = new Set(["timer", "io", "thread", "process", "callback"]);
// How far back a waker's own step is looked for among the steps just before a wake.
const LOOK_BACK = 64;

/** The index of the last start <= t in a sorted array (strict: < t), or -1. */
export function lastAtOrBefore(starts, t, strict = false) {
  let lo = 0;
  let hi = starts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (strict ? starts[mid] < t : starts[mid] <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/**
 * items grouped by task, in their order within each (a counting sort):
 * order holds the items' indices, the task at place i owning
 * order[first[i]] to order[first[i + 1]] (its place in placeOf).
 */
function byTask(items, placeOf) {
  const first = new Int32Array(placeOf.size + 1);
  const places = Int32Array.from(items, (item) => placeOf.get(item.task));
  for (const place of places) first[place + 1]++;
  for (let i = 0; i < placeOf.size; i++) first[i + 1] += first[i];
  const filled = first.slice(0, placeOf.size);
  const order = new Int32Array(items.length);
  places.forEach((place, index) => { order[filled[place]++] = index; });
  return { first, order };
}

/** Each task's steps and waits, both as byTask's runs, each run in time order. */
function perTask(steps, waits, placeOf) {
  const own = byTask(steps, placeOf);
  const waited = byTask(waits, placeOf);
  const { first, order } = waited;
  for (let i = 0; i < placeOf.size; i++) {
    for (let j = first[i] + 1; j < first[i + 1]; j++) {
      if (waits[order[j - 1]].start > waits[order[j]].start) {
        order.subarray(first[i], first[i + 1]).sort((x, y) => waits[x].start - waits[y].start);
        break;
      }
    }
  }
  return { size: placeOf.size, own, waited };
}

/**
 * Pair each step with the wait it resumed from (before) and the wait it
 * suspended on (after), each the wait's index or -1, and say when and why
 * it became ready: created, woken from its wait, or yielded
 * (asyncio.sleep(0): no wait between; at the line the step before yielded
 * at, where the trace has it).
 */
function pairSteps(steps, waits, tasks, taskList) {
  const before = new Int32Array(steps.length).fill(-1);
  const after = new Int32Array(steps.length).fill(-1);
  const readyAt = new Float64Array(steps.length);
  const cause = new Array(steps.length);
  const { own, waited } = tasks;
  for (let i = 0; i < tasks.size; i++) {
    let p = waited.first[i];
    const lastWait = waited.first[i + 1];
    for (let j = own.first[i]; j < own.first[i + 1]; j++) {
      const k = own.order[j];
      const slice = steps[k];
      while (p < lastWait && waits[waited.order[p]].start < slice.start) p++;
      const nextK = j + 1 < own.first[i + 1] ? own.order[j + 1] : -1;
      if (p < lastWait && (nextK < 0 || waits[waited.order[p]].start <= steps[nextK].start)) {
        after[k] = waited.order[p];
        if (nextK >= 0) before[nextK] = waited.order[p];
        p++;
      }
      if (j === own.first[i]) {
        readyAt[k] = Math.min(num(taskList[i].created, slice.start), slice.start);
        cause[k] = { kind: "created", task: taskList[i] };
      } else if (before[k] >= 0) {
        const wait = waits[before[k]];
        readyAt[k] = Math.min(num(wait.end, slice.start), slice.start);
        cause[k] = { kind: "woken", wait };
      } else {
        const previous = own.order[j - 1];
        readyAt[k] = steps[previous].end;
        cause[k] = { kind: "yielded", previous, line: lineOf(steps[previous].yield_line) };
      }
    }
  }
  return { before, after, readyAt, cause };
}

/** The step (index) after which a step-caused readiness shows, or -1 (before the first step). */
function stepOfReadiness(steps, starts, r, cause, k) {
  if (cause.kind === "yielded") return cause.previous;
  const at = lastAtOrBefore(starts, r);
  const by = cause.kind === "created" ? cause.task && cause.task.parent
    : cause.wait && (cause.wait.wake === "task" || cause.wait.wake === "cancel") ? cause.wait.waker : null;
  if (by !== null && by !== undefined) {
    for (let i = Math.min(at, k - 1); i >= 0 && i > at - LOOK_BACK; i--) if (steps[i].task === by) return i;
  }
  return Math.min(cause.kind === "woken" ? lastAtOrBefore(starts, r, true) : at, k - 1);
}

/**
 * The positions: [{kind: "start"|"loop"|"step", k (the step, or the step a
 * loop position comes before), t (the moment its state is told at)}], and
 * for each step the position where it becomes ready (shown) and its own.
 */
function placeSteps(steps, starts, paired) {
  const { readyAt, cause } = paired;
  const external = new Array(steps.length).fill(-1); // for an external readiness: the step its loop position precedes
  const loopBefore = new Uint8Array(steps.length);
  steps.forEach((slice, k) => {
    const wait = cause[k].kind === "woken" ? cause[k].wait : null;
    if (wait && EXTERNAL.has(wait.wake)) {
      const m = Math.min(k, lastAtOrBefore(starts, readyAt[k], true) + 1);
      external[k] = m;
      loopBefore[m] = 1;
    }
  });
  const positions = [{ kind: "start", k: 0, t: steps.length ? steps[0].start : 0 }];
  const stepPosition = new Int32Array(steps.length);
  const loopPosition = new Int32Array(steps.length).fill(-1);
  steps.forEach((slice, k) => {
    if (loopBefore[k]) {
      loopPosition[k] = positions.length;
      positions.push({ kind: "loop", k, t: slice.start });
    }
    stepPosition[k] = positions.length;
    positions.push({ kind: "step", k, t: slice.end });
  });
  const shownAt = new Int32Array(steps.length);
  steps.forEach((slice, k) => {
    if (external[k] >= 0) shownAt[k] = loopPosition[external[k]];
    else {
      const after = stepOfReadiness(steps, starts, readyAt[k], cause[k], k);
      shownAt[k] = after < 0 ? 0 : stepPosition[after];
    }
  });
  return { positions, stepPosition, shownAt };
}

/**
 * Where each wait shows (by its index in waits): from the position of the
 * step it suspended, to the one where its task is ready again.
 */
function placeWaits(waits, paired, placed, times) {
  const begin = new Float64Array(waits.length).fill(NaN);
  const end = new Float64Array(waits.length).fill(NaN);
  paired.after.forEach((wait, k) => { if (wait >= 0) begin[wait] = placed.stepPosition[k]; });
  paired.before.forEach((wait, k) => { if (wait >= 0) end[wait] = placed.shownAt[k]; });
  waits.forEach((wait, i) => {
    if (Number.isNaN(begin[i])) begin[i] = positionAt(times, wait.start);
    if (Number.isNaN(end[i])) end[i] = wait.cut_off === true ? Infinity : positionAt(times, wait.end, true);
  });
  return { begin, end };
}

/** The last position told at or before t (strict: before), at least 0. */
function positionAt(times, t, strict = false) {
  return Math.max(0, lastAtOrBefore(times, t, strict) + (strict ? 1 : 0));
}

/** The steps in order of start: as given when they are (a tracer writes them so, and checking costs less than sorting), else a sorted copy. */
function inStartOrder(steps) {
  for (let k = 1; k < steps.length; k++) {
    if (!(steps[k - 1].start <= steps[k].start)) return steps.slice().sort((a, b) => a.start - b.start);
  }
  return steps;
}

/**
 * The step model of a trace: {positions, stateAt(p), stateAtTime(t),
 * positionAfter(t), positionBefore(t), names, byId}. A cut trace is stepped
 * up to its cut.
 */
export function stepModel(trace) {
  const tasks = objectsIn(trace.tasks);
  const byId = new Map(tasks.map((task) => [task.id, task]));
  // Each task's place among the tasks with a step or a wait (byId's task for its id).
  const placeOf = new Map();
  const taskList = [];
  const place = (item) => {
    if (!byId.has(item.task)) return false;
    if (!placeOf.has(item.task)) {
      placeOf.set(item.task, taskList.length);
      taskList.push(byId.get(item.task));
    }
    return true;
  };
  const cut = traceCut(trace);
  const until = cut && cut.at !== null ? cut.at : Infinity;
  const steps = inStartOrder(objectsIn(trace.slices).filter((s) => num(s.start, Infinity) <= until && place(s)));
  const waits = objectsIn(trace.waits).filter((w) => num(w.start, Infinity) <= until && place(w));
  const starts = new Float64Array(steps.length);
  steps.forEach((slice, k) => { starts[k] = slice.start; });
  const paired = pairSteps(steps, waits, perTask(steps, waits, placeOf), taskList);
  const placed = placeSteps(steps, starts, paired);
  const times = new Float64Array(placed.positions.length);
  placed.positions.forEach((position, p) => { times[p] = position.t; });
  const waitsAt = placeWaits(waits, paired, placed, times);
  const model = { trace, steps, waits, paired, placed, waitsAt, byId, starts, times, positions: placed.positions, cut };
  return {
    trace,
    positions: placed.positions,
    byId,
    steps,
    stateAt: (p) => stateAtPosition(model, p),
    stateAtTime: (t) => stateAtTime(model, t),
    /** The first position told after moment t, or -1. */
    positionAfter: (t) => {
      const at = lastAtOrBefore(times, t) + 1;
      return at < times.length ? at : -1;
    },
    /** The last position told before moment t, or -1. */
    positionBefore: (t) => lastAtOrBefore(times, t, true),
  };
}

/** What the loop holds after position p (an index of positions). */
function stateAtPosition(model, p) {
  const { steps, waits, paired, placed, waitsAt } = model;
  const position = placed.positions[p];
  const ready = [];
  for (let j = position.kind === "step" ? position.k + 1 : position.k; j < steps.length; j++) {
    if (placed.shownAt[j] <= p && placed.stepPosition[j] > p) ready.push(readyEntry(model, j));
  }
  const waiting = waits.filter((w, i) => waitsAt.begin[i] <= p && waitsAt.end[i] > p);
  const running = position.kind === "step" ? runningEntry(model, position.k) : null;
  const t = position.kind === "step" ? steps[position.k].end : position.kind === "loop" ? position.t : 0;
  const woken = position.kind === "loop"
    ? ready.filter((entry) => placed.shownAt[entry.k] === p) : [];
  const fresh = position.kind === "step"
    ? ready.filter((entry) => placed.shownAt[entry.k] === p && entry.k !== position.k) : [];
  return finish(model, { kind: position.kind, position: p, t, running, ready, waiting, woken, fresh,
    gap: position.kind === "loop" && position.k > 0 ? position.t - steps[position.k - 1].end : 0 });
}

/** What the loop holds at moment t (a click on the timeline, the replay's cursor). */
function stateAtTime(model, t) {
  const { steps, waits, paired, starts } = model;
  const at = lastAtOrBefore(starts, t);
  const running = at >= 0 && t < steps[at].end ? runningEntry(model, at) : null;
  const ready = [];
  for (let j = Math.max(0, at + (running ? 1 : 0)); j < steps.length; j++) {
    if (paired.readyAt[j] <= t && steps[j].start > t) ready.push(readyEntry(model, j));
  }
  const waiting = waits.filter((w) => w.start <= t && (w.end > t || w.cut_off === true));
  return finish(model, { kind: "moment", position: null, t, running, ready, waiting, woken: [], fresh: [], gap: 0 });
}

/**
 * A step as the running entry: its task, where it resumed and where it
 * suspended, and how: the waits before and after it, or, around a yield
 * (asyncio.sleep(0)), the line it yielded at (yieldedAt: this step's;
 * resumedFrom: its task's step before, which yielded).
 */
function runningEntry(model, k) {
  const { steps, waits, paired, byId } = model;
  const slice = steps[k];
  const task = byId.get(slice.task);
  const after = paired.after[k] >= 0 ? waits[paired.after[k]] : null;
  const ended = task && task.ended !== null && task.ended !== undefined && task.ended <= slice.end + 1e-6 && !after;
  const cause = paired.cause[k];
  return {
    k, slice, task,
    resumed: paired.before[k] >= 0 ? waits[paired.before[k]] : null,
    resumedFrom: cause.kind === "yielded" ? cause.line : null,
    first: cause.kind === "created",
    suspended: after && Math.abs(after.start - slice.end) < 1e-5 ? after : null,
    yieldedAt: lineOf(slice.yield_line),
    ended: ended ? task.state : null,
  };
}

/** The lines the running step resumed at and suspended at (null where not known). */
export function stepLines(running) {
  if (!running) return { resumed: null, suspended: null };
  return {
    resumed: running.resumed ? running.resumed.line : running.resumedFrom,
    suspended: running.suspended ? running.suspended.line : running.yieldedAt,
  };
}

/** A queued step as a ready entry: its task, when it became ready and why. */
function readyEntry(model, j) {
  return { k: j, task: model.byId.get(model.steps[j].task), readyAt: model.paired.readyAt[j], cause: model.paired.cause[j] };
}

/** The rest of a state: the timers, pending jobs and children, the output so far. */
function finish(model, state) {
  const { trace } = model;
  const t = state.t;
  state.timers = state.waiting.filter((w) => num(w.due, null) !== null).sort((a, b) => a.due - b.due);
  state.jobs = objectsIn(trace.jobs).filter((job) => job.start <= t && num(job.end, Infinity) > t);
  state.children = objectsIn(trace.children).filter((child) => child.start <= t && num(child.end, Infinity) > t);
  const output = objectsIn(trace.output);
  const slice = state.running && state.running.slice;
  state.printed = [];
  state.printedNow = [];
  output.forEach((line, index) => {
    if (num(line.t, Infinity) > t) return;
    state.printed.push(index);
    if (slice && line.task === slice.task && line.t >= slice.start) state.printedNow.push(index);
  });
  state.model = model;
  return state;
}
