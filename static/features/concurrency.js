// What a run's concurrency bought, in words, read from its waits (the
// summary's sentence): each wait is sorted by what it was on (other tasks,
// a lock or queue shared with other tasks, or work of its own: a sleep, the
// network, a thread), and only waits of work count; advice to start work
// together is given only where the trace shows the same wait made again and
// again, one after another, by code that gathered nothing.

import { formatDuration, formatMoment, plural } from "../lib/format.js";
import { isMissing, num, str } from "../lib/values.js";

// A wait on other tasks (docs/trace.md, tracer/waits.py's labels): its time
// is theirs, and counting it would count the same time twice.
const ON_TASKS = /^(gather\(|asyncio\.wait\(|TaskGroup \(|as_completed\(\)|a cancelled task to finish|wait_for\()/;
// A wait on something other tasks hold or fill: it ends when they act.
const ON_OTHERS = /^(Lock|Semaphore|BoundedSemaphore|Event|Condition|Barrier|Queue|LifoQueue|PriorityQueue)\./;
// Work that could have been started together with more of the same.
const REPEATABLE = /^(asyncio\.sleep\(|to_thread\(|run_in_executor\(|DNS lookup|socket connect)/;

/**
 * Whether a wait's label names one of the tasks, as the tracer names a task
 * in a label: its name, or "coro() (Task-N)" for asyncio's default name.
 * Reads the tasks' names once, and makes no label of its own for each task.
 */
function taskLabels(tasks) {
  const byName = new Map();
  for (const task of tasks) {
    const name = str(task.name);
    const same = byName.get(name);
    if (same) same.push(task);
    else byName.set(name, [task]);
  }
  return (on) => {
    if (!on.startsWith("Task-") && byName.has(on)) return true;
    const open = on.lastIndexOf(" (");
    if (open < 0 || !on.endsWith(")") || !on.slice(0, open).endsWith("()")) return false;
    const name = on.slice(open + 2, -1);
    const coro = on.slice(0, open - 2);
    return name.startsWith("Task-") && (byName.get(name) || []).some((task) => str(task.coro) === coro);
  };
}

/**
 * What a wait on `on` is: its kind ("tasks": other tasks, "others": a lock,
 * event or queue, or "work"), whether it names a task (a wait on one task
 * rather than a group), and, for repeatable work, the call it makes
 * ("asyncio.sleep"), or null. Read once per label: a run's waits repeat a few.
 */
function labelReader(isTaskLabel) {
  const read = new Map();
  return (on) => {
    let known = read.get(on);
    if (!known) {
      const namesTask = isTaskLabel(on);
      const kind = ON_TASKS.test(on) || namesTask ? "tasks" : ON_OTHERS.test(on) ? "others" : "work";
      known = { kind, namesTask, repeatable: kind === "work" && REPEATABLE.test(on) ? on.split("(")[0] : null };
      read.set(on, known);
    }
    return known;
  };
}

/**
 * The most of these [start, end) intervals open at one moment (an end
 * before a start at the same time), and the length of their union, in one
 * sweep over the starts and the ends, each sorted.
 */
function sweep(starts, ends) {
  starts.sort();
  ends.sort();
  let open = 0;
  let most = 0;
  let union = 0;
  let since = 0;
  let e = 0;
  for (let i = 0; i < starts.length; i++) {
    while (e < ends.length && ends[e] <= starts[i]) {
      open--;
      if (open === 0) union += ends[e] - since;
      e++;
    }
    if (open === 0) since = starts[i];
    open++;
    most = Math.max(most, open);
  }
  if (e < ends.length) union += ends[ends.length - 1] - since;
  return { most, union };
}

/**
 * The facts the sentence is made of, from the waits before `until`: the
 * waits of work (count, summed, their union, the most at once), how many
 * waits were on other tasks or what they hold, whether the code waited on
 * groups of tasks, and whether the same repeatable wait
 * came again from one line while nothing else waited.
 */
export function waitFacts(tasks, waits, until) {
  const read = labelReader(taskLabels(tasks));
  const starts = new Float64Array(waits.length);
  const ends = new Float64Array(waits.length);
  let count = 0;
  const seen = new Set();
  let grouped = false;
  let others = 0;
  let repeated = false;
  let waited = 0;
  for (const w of waits) {
    const { kind, namesTask, repeatable } = read(str(w.on));
    if (kind === "tasks") grouped = grouped || !namesTask;
    if (kind !== "work") others++;
    const start = num(w.start, 0);
    const end = Math.min(num(w.end, 0), until);
    if (kind !== "work" || end <= start) continue;
    starts[count] = start;
    ends[count] = end;
    count++;
    waited += end - start;
    if (repeated || repeatable === null || isMissing(w.line)) continue;
    const key = `${w.line} ${repeatable}`;
    repeated = seen.has(key);
    seen.add(key);
  }
  const { most, union } = sweep(starts.subarray(0, count), ends.subarray(0, count));
  return {
    count,
    waited,
    union,
    overlap: most,
    grouped,
    others,
    repeated,
  };
}

/** What concurrency bought, in words, for a whole trace. */
export function concurrencySentence(tasks, facts, blocking) {
  const { count, waited, union, overlap, grouped, others, repeated } = facts;
  if (!tasks) return "No tasks ran.";
  if (overlap >= 2) return `${overlap} tasks overlapped: ${formatDuration(waited)} of waiting done in ${formatDuration(union)}.`;
  if (count >= 2) {
    const advice = repeated && !grouped
      ? " If they do not depend on each other, start them together (asyncio.gather or create_task) to overlap them."
      : "";
    return `The waits ran one after another: ${formatDuration(waited)} of waiting took ${formatDuration(waited)}.${advice}`;
  }
  if (count === 1) return `One wait (${formatDuration(waited)}), so there was nothing to overlap.`;
  if (blocking) return "Nothing overlapped: blocking steps held the loop, so the tasks ran one after another.";
  if (others) return "The tasks waited only on each other (for tasks, locks, events or queues), never on a sleep, the network or a thread.";
  return `${plural(tasks, "task")}, and none waited on anything.`;
}

/**
 * The same for a cut trace: only what its first part shows, which the rest
 * of the run cannot undo (tasks that waited at the same time did).
 */
export function cutConcurrencySentence(tasks, { overlap, waited, union }, span) {
  const first = `the first ${formatMoment(span)}`;
  if (overlap >= 2) {
    return `In ${first}, ${overlap} tasks waited at the same time: ${formatDuration(waited)} of waiting done in ${formatDuration(union)}. The picture stops there, so how much the whole run overlapped is not known.`;
  }
  if (!tasks) return `The picture stops at ${formatMoment(span)}, before any task of the run is in it.`;
  return `The picture stops at ${formatMoment(span)}, too early to tell how much the tasks overlapped.`;
}
