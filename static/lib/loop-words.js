// The event loop, step by step, in a learner's words: why a task is ready,
// what a waiting task awaits and what will wake it, where a step resumed and
// suspended, and one sentence of what just happened and who runs next. The
// states come from steps.js; every text here is set as text, never markup.

import { formatDuration, formatMoment, plural } from "./format.js";
import { num, str, validLine } from "./values.js";

const QUOTED_CHARS = 40;
const NAMED_AT_MOST = 3;
// A timer that fires this much after it was due fired late (the loop was busy).
const LATE = 0.005;

/** A task's name, or "a task" for one the trace does not hold. */
export const nameOf = (task) => (task ? str(task.name) || `task ${str(task.id)}` : "a task");

/** "a, b and c", the first few of them and how many more. */
export function listed(parts) {
  const shown = parts.length > NAMED_AT_MOST + 1 ? [...parts.slice(0, NAMED_AT_MOST), `${parts.length - NAMED_AT_MOST} more`] : parts;
  return shown.length < 2 ? shown.join("") : `${shown.slice(0, -1).join(", ")} and ${shown[shown.length - 1]}`;
}

const at = (line) => (validLine(line) ? ` at line ${line}` : "");
const quoted = (text) => `\u201c${text.length > QUOTED_CHARS ? `${text.slice(0, QUOTED_CHARS)}\u2026` : text}\u201d`;

/** The short name of what a wait is on: "sleep(1)", "Event", "Queue", "Lock". */
function thing(on) {
  const text = str(on).replace(/ \((asyncio\.timeout|wait_for timeout) at [^)]*\)$/, "");
  const sleep = /^asyncio\.(sleep\(.*\))$/.exec(text);
  if (sleep) return sleep[1];
  const method = /^(\w+)\.\w+\(\)$/.exec(text);
  return method ? method[1] : text;
}

/** The await chain of a wait: "main → gather(3 tasks)", "say_hello → asyncio.sleep(1)". */
export function awaitChain(wait) {
  const chain = Array.isArray(wait.chain) ? wait.chain.map(str) : [];
  const on = str(wait.on);
  if (!on) return chain.join(" \u2192 ") || "something";
  return [...chain.slice(0, -1), on].join(" \u2192 ");
}

/** How a wait ended (or will end), with names: "its sleep(1) timer fired", "Task-3 set the Event at line 12". */
function wakeWords(wait, names, future) {
  const waker = names.get(wait.waker);
  const what = thing(wait.on);
  const where = at(wait.waker_line);
  const woken = {
    timer: () => (future ? `its ${what} timer, due at ${formatMoment(wait.due ?? wait.end)}`
      : `its ${what} timer fired${lateness(wait)}`),
    task: () => taskWake(what, waker || "another task", where, future),
    done: () => (future ? `${waker || "a task"} finishing` : `${waker || "a task"} finished${wait.on ? ` (it awaited ${wait.on})` : ""}`),
    cancel: () => (future ? `a cancellation${waker ? ` by ${waker}${where}` : ""}` : `it was cancelled${waker ? ` by ${waker}${where}` : ""}`),
    thread: () => (future ? "its thread's job finishing" : "its thread's job finished"),
    io: () => (future ? "I/O arriving" : "I/O arrived"),
    process: () => (future ? "its child process" : "its child process ended"),
    callback: () => (future ? `a callback${where}` : `a callback woke it${where}`),
  }[str(wait.wake)];
  if (woken) return woken();
  return future ? "nothing the trace tells of" : `its wait on ${str(wait.on) || "a future"} ended`;
}

// What a task's step did to the thing another task waited on.
const DONE_TO = { Event: "set", Lock: "released", Semaphore: "released", BoundedSemaphore: "released",
  Condition: "notified", Barrier: "filled" };

function taskWake(what, waker, where, future) {
  if (future) return `${waker}${where}`;
  const done = /Queue$/.test(what) ? "given an item" : DONE_TO[what];
  return done ? `the ${what} it waited on was ${done} by ${waker}${where}` : `${waker} woke it${where}`;
}

function lateness(wait) {
  const late = num(wait.end, 0) - num(wait.due, num(wait.end, 0));
  return late > LATE ? `, ${formatDuration(late)} late (the loop was busy)` : "";
}

/** Why a ready entry is in the queue: "create_task at line 9", "its sleep(1) timer fired", "it yielded". */
export function whyReady(entry, names) {
  const { cause } = entry;
  if (cause.kind === "created") {
    const task = cause.task || {};
    const parent = names.get(task.parent);
    return parent ? `created by ${parent}${at(task.line)}` : `asyncio.run() created it${at(task.line)}`;
  }
  if (cause.kind === "yielded") return `it yielded${at(cause.line)} (asyncio.sleep(0)) and went back in the queue`;
  return wakeWords(cause.wait, names, false);
}

/** What will end a wait, where the trace knows: "its sleep(1) timer, due at 1.000 s", "Task-3 at line 12". */
export function whoWakes(wait, names) {
  if (wait.cut_off === true) return "still waiting when the run was stopped";
  if (!wait.wake && num(wait.due, null) !== null) return `its timer, due at ${formatMoment(wait.due)}`;
  return wakeWords(wait, names, true);
}

/** Where the running step resumed: "line 5 (after asyncio.sleep(1))", or its first line. */
export function resumedWords(running) {
  if (running.first) return `starts ${str(running.task && running.task.coro) || "its coroutine"}()`;
  const wait = running.resumed;
  if (!wait) return `resumes${at(running.resumedFrom)} (after asyncio.sleep(0))`;
  return `resumes at line ${wait.line} (after ${str(wait.on) || "its await"})`;
}

/** Where the running step suspended, or how it ended. */
export function suspendedWords(running) {
  if (running.suspended) {
    const { line, on } = running.suspended;
    return `suspends${validLine(line) ? ` at line ${line}` : ""}: awaits ${str(on) || "a future"}`;
  }
  if (running.ended === "done") return "returns: the task is done";
  if (running.ended === "error") return `raises ${str(running.task.error && running.task.error.type) || "an exception"}${at(running.task.error && running.task.error.line)}`;
  if (running.ended === "cancelled") return "ends cancelled";
  if (running.slice.cut_off === true) return "was still running when the run was stopped";
  return `yields to the loop${at(running.yieldedAt)} (asyncio.sleep(0)) and stays ready`;
}

/** What the running step did, as clauses: printed, created, woke, blocked, how it ended. */
function didWhat(state, names) {
  const { running, model } = state;
  const { slice, task } = running;
  const did = [];
  const lines = state.printedNow.map((index) => str(model.trace.output[index].text));
  if (lines.length === 1) did.push(`printed ${quoted(lines[0])}`);
  else if (lines.length > 1) did.push(`printed ${plural(lines.length, "line")}`);
  const created = state.fresh.filter((entry) => entry.cause.kind === "created").map((entry) => nameOf(entry.task));
  if (created.length) did.push(`created ${listed(created)}`);
  const woke = state.fresh.filter((entry) => entry.cause.kind === "woken" && entry.cause.wait.waker === slice.task)
    .map((entry) => `${nameOf(entry.task)}${entry.cause.wait.wake === "cancel" ? " (cancelled it)" : ""}`);
  if (woke.length) did.push(`woke ${listed(woke)}`);
  if (slice.blocking) did.push(`held the loop for ${formatDuration(slice.end - slice.start)} (${str(slice.reason) || "blocking"})`);
  did.push(endWords(running, task));
  return did;
}

function endWords(running, task) {
  if (running.suspended) {
    const sleep = /^asyncio\.sleep\((.*)\)/.exec(str(running.suspended.on));
    if (sleep && sleep[1] !== "0") return `went to sleep for ${sleep[1]} s`;
    return `now waits on ${str(running.suspended.on) || "a future"}`;
  }
  if (running.ended === "done") return "finished";
  if (running.ended === "error") return `raised ${str(task.error && task.error.type) || "an exception"}`;
  if (running.ended === "cancelled") return "ended cancelled";
  return `yielded to the loop${at(running.yieldedAt)} (it stays ready)`;
}

/** Who runs next and why, or what the loop waits for. */
function nextWords(state, names) {
  const [first, second] = state.ready;
  if (first) {
    const who = nameOf(first.task);
    if (!second) return `${who} is next: it is the only task ready`;
    const why = first.readyAt < second.readyAt ? "it became ready before" : "it is ahead of";
    return `${who} is next because ${why} ${nameOf(second.task)}${state.ready.length > 2 ? ` (${plural(state.ready.length, "task")} ready)` : ""}`;
  }
  const timer = state.timers[0];
  if (timer) return `nothing is ready: the loop waits for the next timer, ${names.get(timer.task) || "a task"}'s ${thing(timer.on)} due at ${formatMoment(timer.due)}`;
  if (state.jobs.length) return "nothing is ready: the loop waits for a thread's job";
  if (state.waiting.length) return `nothing is ready: ${plural(state.waiting.length, "task")} wait${state.waiting.length === 1 ? "s" : ""} for something`;
  return "nothing is left to run";
}

/** The loop's own news at a loop position: which timers fired, which jobs ended, what I/O came. */
function loopWords(state, names) {
  const idle = state.gap > 0.001 ? `The loop waited ${formatDuration(state.gap)}. ` : "";
  const kinds = new Map();
  for (const entry of state.woken) {
    const wake = entry.cause.wait.wake;
    if (!kinds.has(wake)) kinds.set(wake, []);
    kinds.get(wake).push(entry);
  }
  const news = [...kinds].map(([wake, entries]) => {
    const who = listed(entries.map((entry) => nameOf(entry.task)));
    const late = wake === "timer" ? lateness(entries[0].cause.wait) : "";
    return { timer: `the timer${entries.length > 1 ? "s" : ""} of ${who} fired${late}`, thread: `the thread job of ${who} finished`,
      io: `I/O arrived for ${who}`, process: `the child process of ${who} ended`, callback: `a callback woke ${who}` }[wake];
  });
  return `${idle}${capital(listed(news))}; ${nextWords(state, names)}.`;
}

const capital = (text) => text.charAt(0).toUpperCase() + text.slice(1);

/** One sentence of what just happened at this state, and who runs next. */
export function sentence(state, names) {
  if (state.kind === "start") {
    const first = state.ready[0];
    return first ? `${whyReady(first, names).replace("asyncio.run() created it", `asyncio.run() created ${nameOf(first.task)}`)}; press Step to run its first step.` : "Nothing ran on the loop.";
  }
  if (state.kind === "loop") return loopWords(state, names);
  if (state.kind === "moment") {
    const doing = state.running ? `${nameOf(state.running.task)} is running` : "no task is running";
    return `At ${formatMoment(state.t)} ${doing}; ${plural(state.ready.length, "task")} ready, ${state.waiting.length} waiting.`;
  }
  return `${nameOf(state.running.task)} ${listed(didWhat(state, names))}; ${nextWords(state, names)}.`;
}
