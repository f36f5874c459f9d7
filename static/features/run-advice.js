// What the main page says under a run's status line: what to do next (for
// an error, a limit or a deadlock), the server's word on limits and the
// jail, the traceback with a link to each frame's line, the events worth a
// note (blocking steps, lost exceptions, cancellations...), and whether the
// trace was cut. All of it as text.

import { element, lineLink } from "../lib/dom.js";
import { formatSeconds, plural } from "../lib/format.js";
import { cutSentence, eventNotes, stoppedWhere, traceCut } from "../lib/trace.js";
import { asArray, isMissing, num, str, validLine } from "../lib/values.js";

const ADVICE = {
  timeout:
    "The run hit the wall-clock limit and was stopped. Look for a loop that never awaits, or a time.sleep() / CPU-heavy step that holds the loop (with the real clock, long asyncio.sleep() calls count too).",
  cpu_limit:
    "The run used up its CPU-time limit. Look for a busy loop or heavy computation; make the work smaller, or await between steps.",
  memory_limit:
    "The run went over the memory limit. Look for lists, strings or queues that grow without end.",
  output_limit:
    "The run printed more than the output limit, so it was stopped. Print less, for example not on every pass of a loop.",
  deadlock:
    "Every task is waiting for something that will never happen, so the loop stopped. Check that each Queue.get() has a put(), each Event.wait() a set(), and that locks are released.",
  stopped:
    "You stopped the run: everything it did until then is shown, and what was still running or waiting has a torn end. Press Run to run it again.",
  disconnected:
    "The connection to the playground broke while the run went on: what it did until then is shown. Press Run to run it again.",
  crashed:
    "The interpreter running your code was killed (a crash or a signal). Try a smaller snippet; if it keeps happening, it may be a bug in the playground.",
};

// A hint says where the playground differs from a laptop, or which limit an
// error may come from: it comes first.
const NOTE_KINDS = ["hint", "never_awaited", "never_retrieved", "destroyed_pending", "blocking", "warning", "exception",
  "timeout", "cancelled"];
const MAX_NOTES = 5;

/**
 * Add everything the main page says under the status line of a run that
 * ended with `status`: err is the run's error (or null), errLine its line;
 * the links to lines call onSelectLine(line).
 */
export function showRunAdvice(statusLine, trace, { status, err, errLine, names }, onSelectLine) {
  const stopped = STOPPING_LIMITS.has(status) && limitWords(trace, "limit");
  if (stopped) showStopped(statusLine, trace, stopped, onSelectLine);
  else showWhatNext(statusLine, trace, status, err, errLine, names);
  // The server's own word on limits and on the sandbox (also for an error
  // that a limit caused, such as a thread that could not start).
  if (status !== "ok") {
    for (const e of asArray(trace.events)) {
      if (e && ((e.kind === "limit" && !stopped) || e.kind === "sandbox") && e.message) statusLine.detail("limit", str(e.message));
    }
  }
  if (err) showTraceback(statusLine, err, errLine, onSelectLine);
  showNotes(statusLine, trace, names, onSelectLine);
  const cut = traceCut(trace);
  if (cut) statusLine.detail("truncated", `The run recorded more than the playground keeps. ${cutSentence(cut)}`);
}

// The statuses of a run a limit stopped: the server's message on its limit
// says what happened and where to look, so it is said once, with where the
// code was when it was stopped.
const STOPPING_LIMITS = new Set(["timeout", "cpu_limit", "memory_limit", "output_limit"]);

/** The messages of the trace's events of this kind, joined; "" if none. */
function limitWords(trace, kind) {
  return asArray(trace.events).filter((e) => e && e.kind === kind && e.message).map((e) => str(e.message)).join(" ");
}

/** A run a limit stopped: the server's message once, where the code was, and a link to that line. */
function showStopped(statusLine, trace, message, onSelectLine) {
  const where = stoppedWhere(trace);
  const p = statusLine.detail("advice", where ? `${message} ${where.text}` : message);
  p.dataset.testid = "stopped-where";
  if (where && where.line) p.append(" ", lineLink(where.line, `Show line ${where.line} in the editor`, onSelectLine));
}

function showWhatNext(statusLine, trace, status, err, errLine, names) {
  const advise = (text) => statusLine.detail("advice", text);
  if (status === "error") {
    if (err && /^(SyntaxError|IndentationError|TabError)$/.test(str(err.type))) {
      advise("Python could not parse the code. Check the highlighted line (and the one before it) for a typo, a missing bracket or colon, or wrong indentation.");
    } else if (err) {
      advise(errLine ? "An exception was not caught. The failing line is highlighted in the editor; fix it and run again." : "An exception was not caught. Fix it and run again.");
    } else {
      advise("The run failed without an error report.");
    }
  } else if (ADVICE[status]) {
    const after = status === "timeout" && num(trace.wall, 0) > 0 ? ` (stopped after ${num(trace.wall, 0).toFixed(1)} s)` : "";
    advise(ADVICE[status].replace("limit and was stopped.", `limit${after}.`));
    if (status === "deadlock") {
      const who = deadlockDetail(trace, names);
      if (who) statusLine.detail("deadlock-tasks", who);
    }
  } else if (status !== "ok") {
    advise(`The run ended with status \u201c${status}\u201d.`);
  }
}

// Stuck tasks named under a deadlock's status: a gather of 100,000 can deadlock.
const MAX_STUCK = 10;

/** The first MAX_STUCK of these, joined, and how many more there are. */
function someOf(items, join, more) {
  const rest = items.length - MAX_STUCK;
  return items.slice(0, MAX_STUCK).join(join) + (rest > 0 ? more(rest) : "");
}

/** Who is stuck in a deadlock: the server's words, or the tasks that never ended and what they waited on. */
function deadlockDetail(trace, names) {
  const events = asArray(trace.events);
  const messages = events.filter((e) => e && e.kind === "deadlock" && e.message).map((e) => str(e.message));
  if (messages.length) return someOf(messages, " ", (rest) => ` \u2026 and ${plural(rest, "more task")} waiting forever.`);
  const lastWait = new Map();
  for (const w of asArray(trace.waits)) if (w) lastWait.set(w.task, w);
  const stuck = [];
  for (const t of asArray(trace.tasks)) {
    if (!t || !isMissing(t.ended)) continue;
    const last = lastWait.get(t.id);
    const on = last && last.on ? ` (on ${str(last.on)}${validLine(last.line) ? `, line ${last.line}` : ""})` : "";
    stuck.push(`${names.get(t.id)}${on}`);
  }
  const fromEvents = events
    .filter((e) => e && !isMissing(e.task) && /wait|deadlock|pending/i.test(str(e.kind)))
    .map((e) => names.get(e.task))
    .filter(Boolean);
  const more = (rest) => ` and ${plural(rest, "more task")}`;
  if (stuck.length) return `Waiting forever: ${someOf(stuck, ", ", more)}.`;
  if (fromEvents.length) return `Waiting forever: ${someOf([...new Set(fromEvents)], ", ", more)}.`;
  return "";
}

/** The failing line as a link, then the traceback: each frame's line a link. */
function showTraceback(statusLine, err, errLine, onSelectLine) {
  if (errLine) statusLine.detail("error-where", "").appendChild(lineLink(errLine, `Show line ${errLine} in the editor`, onSelectLine));
  const frames = asArray(err.traceback).filter((f) => f && typeof f === "object");
  if (!frames.length) return;
  const list = element("ol", { class: "traceback", "aria-label": "Traceback, most recent call last" });
  for (const f of frames) {
    const li = element("li");
    li.append(validLine(f.line) ? lineLink(f.line, `line ${f.line}`, onSelectLine) : element("span", { text: "line ?" }));
    if (str(f.name)) li.append(element("span", { class: "tb-name", text: ` in ${str(f.name)}` }));
    if (str(f.text)) li.append(element("code", { class: "tb-text", text: str(f.text) }));
    list.append(li);
  }
  statusLine.append(list);
}

/**
 * A note's message and the words of the link to its line, saying the line
 * once: "cancelled by Task-1 at line 13" links its own "line 13"; a
 * message naming its line elsewhere links "show it"; [message, null] without a line.
 */
function noteWords(message, line) {
  if (!validLine(line)) return [message, null];
  const named = `line ${line}`;
  if (message.endsWith(` at ${named}`)) return [message.slice(0, -named.length).trimEnd(), named];
  if (new RegExp(`\\b${named}\\b`).test(message)) return [message, "show it"];
  return [message, named];
}

/** The events worth reading: blocking steps, warnings, lost exceptions and coroutines, timeouts, cancellations. */
function showNotes(statusLine, trace, names, onSelectLine) {
  const notes = eventNotes(trace, NOTE_KINDS);
  if (!notes.length) return;
  const list = element("ul", { class: "notes" });
  for (const e of notes.slice(0, MAX_NOTES)) {
    const who = names.has(e.task) ? `${names.get(e.task)}: ` : "";
    const [message, link] = noteWords(str(e.message), e.line);
    const li = element("li", { class: `note note-${e.kind}`, text: `${formatSeconds(e.t)} \u00b7 ${who}${message} ` });
    if (link) li.append(lineLink(e.line, link, onSelectLine));
    list.append(li);
  }
  if (notes.length > MAX_NOTES) list.append(element("li", { class: "note", text: `\u2026 and ${notes.length - MAX_NOTES} more` }));
  statusLine.append(list);
}
