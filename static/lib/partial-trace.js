// The trace of a run still going on, from its `trace` events (docs/live.md):
// each batch's tasks replace the ones with the same id (a task comes again
// when it ends, fails or is cancelled), its other lists are added to what
// came before, and `duration` says how far the run's clock has come. What
// it holds is drawn by the same code as a whole trace (status "running").
// What is open (a batch's `open`: the step holding the loop, the waits
// begun), which no list holds until it ends, is drawn up to `duration`.

import { asArray, asObject, num } from "./values.js";

// The lists a batch may add to (tasks are kept apart: they are replaced by id).
const LISTS = ["slices", "waits", "jobs", "connections", "children", "output", "events"];

export class PartialTrace {
  /** An empty trace of a run on this clock ("virtual" or "real"). */
  constructor(clock) {
    this.clock = clock === "real" ? "real" : "virtual";
    this.duration = 0;
    this.tasks = new Map();
    this.lists = Object.fromEntries(LISTS.map((name) => [name, []]));
    this.open = null;
    this.batches = 0;
  }

  /** Add a `trace` event's batch. */
  add(batch) {
    const data = asObject(batch) || {};
    this.duration = Math.max(this.duration, num(data.duration, 0));
    if (data.open !== undefined) this.open = asObject(data.open); // each replaces the last
    for (const task of asArray(data.tasks)) {
      if (task && typeof task === "object") this.tasks.set(task.id, task);
    }
    for (const name of LISTS) {
      const list = this.lists[name];
      for (const item of asArray(data[name])) list.push(item); // not push(...items): a batch may hold 100,000
    }
    this.batches++;
  }

  /** Whether any batch came. */
  get empty() {
    return this.batches === 0;
  }

  /**
   * What came so far as a trace with this status: new arrays each time,
   * since the page's readers keep what they worked out of a list (lib/values.js).
   */
  snapshot(status = "running") {
    const trace = { version: 1, status, clock: this.clock, duration: this.duration, tasks: [...this.tasks.values()] };
    for (const name of LISTS) trace[name] = this.lists[name].slice();
    // What is open ends, for now, where the run's clock is; torn there once the run is over.
    const until = { end: this.duration, ...(status === "running" ? {} : { cut_off: true }) };
    const open = this.open || {};
    for (const wait of asArray(open.waits)) {
      if (wait && typeof wait === "object") trace.waits.push({ ...wait, ...until });
    }
    if (asObject(open.running)) trace.slices.push({ ...open.running, ...until });
    return trace;
  }
}
