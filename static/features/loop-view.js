// The event loop, step by step ([data-testid="loop-view"], both pages):
// what the loop holds at a moment of the run, which the timeline only shows
// the when of. Step (the step-next button, or → in the view) runs the next
// step of any task, Back (step-prev, ←) goes back, Home and End go to the
// start and the last step; clicking the timeline or moving the replay cursor
// puts the view at that moment. At each position: the running task, where it
// resumed and where it suspended (two highlights in the editor), the ready
// queue in the loop's order with why each is there, the waiting tasks with
// their await chains and who will wake them, the timers, pending thread jobs
// and child processes, what was printed so far, and one sentence of what
// just happened. The model is lib/steps.js, the words lib/loop-words.js.

import { element, keyedChildren, lineLink } from "../lib/dom.js";
import { formatMoment, plural } from "../lib/format.js";
import { awaitChain, nameOf, resumedWords, sentence, suspendedWords, whoWakes, whyReady } from "../lib/loop-words.js";
import { stepLines, stepModel } from "../lib/steps.js";
import { taskNames } from "../lib/trace.js";
import { objectsIn, str, validLine } from "../lib/values.js";

// Past this many steps, a trace's step model (about 1 to 1.5 ms per 1,000
// steps) is built in a background task once the rest of the result is
// painted, or at once when the reader clicks the timeline first.
const BUILT_AT_ONCE = 20_000;
// Entries a list shows at most (a 100,000-task gather has them all ready at once).
const LIST_AT_MOST = 40;
// Printed lines the view repeats, the latest.
const PRINTED_SHOWN = 6;
const KEYS_HELP = "Keys in this box: \u2192 or n, the next step; \u2190 or p, back; Home, the start; End, the last step.";

/** Load the view's styles once (a page without the view never loads them). */
function ensureStyles() {
  if (document.querySelector("link[data-loop-view-css]")) return;
  document.head.append(element("link", { rel: "stylesheet", href: new URL("../css/loop-view.css", import.meta.url).href,
    "data-loop-view-css": "" }));
}

/** The view's fixed parts inside root: head with the controls, the sentence, the sections. */
function build(root, compact) {
  const prev = element("button", { type: "button", class: "btn-small", "data-testid": "step-prev", text: "\u25c0 Back",
    title: "The step before (\u2190)", "aria-keyshortcuts": "ArrowLeft" });
  const next = element("button", { type: "button", class: "btn-small btn-step", "data-testid": "step-next",
    text: "Step \u25b6", title: "The next step of any task (\u2192)", "aria-keyshortcuts": "ArrowRight" });
  const where = element("span", { class: "loop-position", "data-testid": "loop-position" });
  const head = element("div", { class: "card-head" }, [
    element("h2", { text: "The event loop, step by step" }), element("div", { class: "loop-controls" }, [prev, next, where])]);
  const said = element("p", { class: "loop-sentence", "data-testid": "loop-sentence", "aria-live": "polite" });
  const part = (title, testid, listTag) => {
    const list = element(listTag, { class: "loop-list" });
    const box = element("section", { class: `loop-part loop-part-${testid}` }, [element("h3", { text: title }), list]);
    return { box, list };
  };
  const running = element("div", { class: "loop-running", "data-testid": "loop-running" });
  const ready = part("Ready queue, in the order the loop runs it", "ready", "ol");
  const waiting = part("Waiting", "waiting", "ul");
  const timers = part("Timers and pending work", "timers", "ol");
  timers.box.dataset.testid = "loop-timers";
  const printed = element("div", { class: "loop-printed", "data-testid": "loop-output" });
  const grid = element("div", { class: "loop-grid" }, [
    element("section", { class: "loop-part loop-part-running" }, [element("h3", { text: "Running" }), running]),
    ready.box, waiting.box, timers.box]);
  const parts = [head, said, grid];
  if (!compact) parts.push(element("section", { class: "loop-part loop-part-output" }, [element("h3", { text: "Printed so far" }), printed]));
  parts.push(element("p", { class: "loop-keys", text: KEYS_HELP }));
  root.replaceChildren(...parts);
  root.tabIndex = -1;
  return { prev, next, where, said, running, ready: ready.list, waiting: waiting.list, timers: timers.list, printed };
}

// A serial number for each object an entry's key is made of (a step, a wait, a model).
const serials = new WeakMap();
let lastSerial = 0;
function serial(object) {
  let number = serials.get(object);
  if (number === undefined) serials.set(object, (number = ++lastSerial));
  return number;
}

/**
 * Fill a list with entries made by make, at most LIST_AT_MOST, and say how
 * many more. keyOf(item) names what an entry shows: an entry shown at the
 * last step under the same key is kept as it is (a step changes a few).
 */
function fill(list, items, keyOf, make, empty) {
  const entries = items.slice(0, LIST_AT_MOST).map((item) => [keyOf(item), () => make(item)]);
  if (items.length > LIST_AT_MOST) {
    const more = `and ${plural(items.length - LIST_AT_MOST, "more")}`;
    entries.push([more, () => element("li", { class: "loop-more", text: more })]);
  }
  if (!items.length) entries.push([empty, () => element("li", { class: "loop-none", text: empty })]);
  keyedChildren(list, entries);
}

/** A line number that shows its line in the editor when clicked. */
const lineButton = (line, text, onSelectLine) => (validLine(line) ? lineLink(line, text, onSelectLine) : text);

/** Settles once the browser has painted what the page holds now, behind any task already due. */
function afterPaint() {
  return new Promise((resolve) => requestAnimationFrame(() => {
    if (globalThis.scheduler && typeof globalThis.scheduler.postTask === "function") {
      globalThis.scheduler.postTask(resolve, { priority: "background" });
    } else setTimeout(resolve, 0);
  }));
}

/** The view made last (the page has one): for benchmarks and tests. */
export let latestLoopView = null;

/**
 * The view in root (an element the page holds: [data-testid="loop-view"]).
 * lines: editorLines (markStep, select); timeline(): the drawn timeline's
 * controller or null; output: {until(t), mark(indices)} for the page's
 * output rows; compact: the embed page's.
 */
export function loopView(root, { lines, timeline, output, compact = false }) {
  ensureStyles();
  const parts = build(root, compact);
  root.classList.add("loop-view");
  if (compact) root.classList.add("is-compact");
  let model = null;
  let names = new Map();
  let position = 0;
  let engaged = false;
  // The trace whose model is still to be built, and the promise of it.
  let unbuilt = null;
  let ready = Promise.resolve();

  function render(state) {
    const total = model.positions.length;
    parts.where.textContent = state.position === null ? `at ${formatMoment(state.t)}`
      : `${state.position === 0 ? "start" : `step ${state.position} of ${total - 1}`} \u00b7 ${formatMoment(state.t)}`;
    parts.prev.disabled = state.position === 0 || (state.position === null && model.positionBefore(state.t) < 0);
    parts.next.disabled = state.position === total - 1 || (state.position === null && model.positionAfter(state.t) < 0);
    parts.said.textContent = sentence(state, names);
    showRunning(state);
    fill(parts.ready, state.ready, (entry) => `step ${serial(model.steps[entry.k])}`, (entry) => element("li", {
      "data-testid": "loop-ready", "data-task": String(entry.task && entry.task.id) }, [
      element("span", { class: "loop-name", text: `${nameOf(entry.task)} \u00b7 ${str(entry.task && entry.task.coro)}()` }),
      element("span", { class: "loop-why", text: whyReady(entry, names) })]), "none: the queue is empty");
    fill(parts.waiting, state.waiting, (wait) => `wait ${serial(wait)}`, (wait) => element("li", {
      "data-testid": "loop-waiting", "data-task": String(wait.task), "data-awaits": awaitChain(wait) }, [
      element("span", { class: "loop-name", text: `${names.get(wait.task) || "a task"}: ${awaitChain(wait)}` }),
      element("span", { class: "loop-why", text: `woken by ${whoWakes(wait, names)}` })]), "none");
    const pending = [...state.timers.map((wait) => ["timer", wait]), ...state.jobs.map((job) => ["job", job]),
      ...state.children.map((child) => ["child", child])];
    fill(parts.timers, pending, ([kind, what]) => `${kind} ${serial(what)}${kind === "timer" && what.due <= state.t ? " overdue" : ""}`,
      ([kind, what]) => pendingEntry(kind, what, state.t), "none");
    if (!compact) showPrinted(state);
    if (engaged) showElsewhere(state);
  }

  function showRunning(state) {
    const { running } = state;
    if (!running) {
      parts.running.dataset.task = "";
      parts.running.replaceChildren(element("span", { class: "loop-none", text: state.kind === "start"
        ? "Nothing yet: the loop has not taken its first step." : "No task: the loop is between steps." }));
      return;
    }
    parts.running.dataset.task = String(running.slice.task);
    const { resumed: resumedLine, suspended: suspendedLine } = stepLines(running);
    parts.running.replaceChildren(
      element("div", { class: "loop-name", text: `${nameOf(running.task)} \u00b7 ${str(running.task && running.task.coro)}()` }),
      element("div", { class: "loop-resumed", "data-testid": "loop-resumed" }, [
        element("span", { class: "loop-mark", text: "\u25b6 resumed" }), " ",
        lineButton(resumedLine, resumedWords(running), lines.select)]),
      element("div", { class: "loop-suspended", "data-testid": "loop-suspended" }, [
        element("span", { class: "loop-mark", text: "\u275a\u275a suspended" }), " ",
        lineButton(suspendedLine, suspendedWords(running), lines.select)]));
  }

  /** An entry of the timers and pending work: a timer (overdue at t or not), a thread's job, a child process. */
  function pendingEntry(kind, what, t) {
    if (kind === "job") return element("li", { "data-testid": "loop-pending", text: `thread ${str(what.thread)}: ${str(what.fn)}()` });
    if (kind === "child") {
      return element("li", { "data-testid": "loop-pending",
        text: `child process ${str(what.pid)}: ${(Array.isArray(what.argv) ? what.argv : []).map(str).join(" ")}` });
    }
    const overdue = what.due <= t;
    return element("li", { "data-testid": "loop-timer", "data-task": String(what.task), class: overdue ? "is-overdue" : "" }, [
      element("span", { class: "loop-due", text: `due ${formatMoment(what.due)}${overdue ? " (overdue)" : ""}` }),
      element("span", { class: "loop-name", text: `${names.get(what.task) || "a task"}: ${str(what.on)}` })]);
  }

  function showPrinted(state) {
    const now = new Set(state.printedNow);
    const entries = state.printed.slice(-PRINTED_SHOWN).map((index) => {
      const step = now.has(index) ? " is-step" : "";
      return [`${serial(model)} ${index}${step}`, () => element("div", { class: `loop-line${step}`, "data-index": String(index),
        text: str(model.trace.output[index].text) })];
    });
    if (!entries.length) entries.push(["nothing", () => element("span", { class: "loop-none", text: "nothing yet" })]);
    if (state.printed.length > PRINTED_SHOWN) {
      const before = `\u2026 ${plural(state.printed.length - PRINTED_SHOWN, "line")} before`;
      entries.unshift([before, () => element("div", { class: "loop-none", text: before })]);
    }
    keyedChildren(parts.printed, entries);
  }

  /**
   * The editor's two lines, the timeline's cursor and the page's output, at
   * this state: once a frame, for the latest state (a held key steps faster
   * than the page draws).
   */
  let elsewhere = null;
  function showElsewhere(state) {
    if (!elsewhere) requestAnimationFrame(settle);
    elsewhere = state;
  }
  function settle() {
    if (!elsewhere) return;
    const { running, t, printedNow } = elsewhere;
    elsewhere = null;
    lines.markStep(stepLines(running));
    const drawn = timeline();
    if (drawn) drawn.setCursor(t);
    if (output) {
      output.until(t);
      output.mark(printedNow);
    }
  }

  /** Build the model of the trace shown, if it is still to be built, and show its start. */
  function buildModel() {
    if (!unbuilt) return;
    const trace = unbuilt;
    unbuilt = null;
    model = stepModel(trace);
    names = taskNames(trace);
    position = 0;
    root.hidden = model.positions.length < 2;
    if (!root.hidden) render(model.stateAt(0));
  }

  function go(p) {
    buildModel();
    if (!model) return;
    position = Math.max(0, Math.min(model.positions.length - 1, p));
    engaged = true;
    render(model.stateAt(position));
  }

  function step(delta) {
    buildModel();
    if (!model) return;
    if (position === null) {
      const t = model.lastMoment;
      go(delta > 0 ? model.positionAfter(t) : Math.max(0, model.positionBefore(t)));
    } else go(position + delta);
  }

  parts.next.addEventListener("click", () => step(1));
  parts.prev.addEventListener("click", () => step(-1));
  root.addEventListener("keydown", (event) => {
    if (event.target instanceof Element && event.target.closest("input, select, textarea")) return;
    const keys = { ArrowRight: () => step(1), n: () => step(1), ArrowLeft: () => step(-1), p: () => step(-1),
      Home: () => go(0), End: () => go(model ? model.positions.length - 1 : 0) };
    const act = keys[event.key];
    if (!act || event.altKey || event.ctrlKey || event.metaKey) return;
    event.preventDefault();
    act();
  });

  latestLoopView = {
    /** A new run: its model, shown at the start (the page untouched until the reader steps); past BUILT_AT_ONCE steps, once the result is painted. */
    show(trace) {
      model = null;
      unbuilt = trace;
      engaged = false;
      lines.markStep({ resumed: null, suspended: null });
      if (objectsIn(trace.slices).length <= BUILT_AT_ONCE) {
        buildModel();
        ready = Promise.resolve();
        return;
      }
      root.hidden = true;
      ready = afterPaint().then(() => {
        if (unbuilt === trace) buildModel();
      });
    },
    /** No run shown. */
    clear() {
      model = null;
      unbuilt = null;
      engaged = false;
      root.hidden = true;
      lines.markStep({ resumed: null, suspended: null });
    },
    /** The view at moment t of the run (a click on the timeline, the replay cursor); null: leave it. */
    atTime(t) {
      if (t === null || t === undefined || !Number.isFinite(t)) return;
      buildModel();
      if (!model) return;
      position = null;
      model.lastMoment = t;
      engaged = true;
      render(model.stateAtTime(t));
    },
    /** Go to a position (0: the start), as Step and Back do. */
    go,
    /** Show now what the next frame would (the editor, the timeline, the output): for benchmarks. */
    settle,
    /** Settles once the model of the trace shown is built (at once for most runs). */
    get ready() {
      return ready;
    },
    get position() {
      return position;
    },
    get length() {
      return model ? model.positions.length : 0;
    },
  };
  return latestLoopView;
}
