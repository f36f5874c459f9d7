// Drawing one lane of a timeline: its label (indented by depth, with a fold
// toggle for a task that created others), then in the plot its lifetime,
// request phases, scheduled stretches, waits, slices, printed lines and how
// it ended. Each item drawn leaves a "hit" on the lane (its extent, the
// element, a snippet line and its tooltip text), which interact.js uses.

import { formatDuration, shorten as truncate, shortenMiddle } from "../lib/format.js";
import { svgElement as svg } from "../lib/dom.js";
import { asObject, isMissing, lineOf, num, str } from "../lib/values.js";
import { STOPPED_WORDS } from "../lib/trace.js";
import { describeJob, describeTask, requestSummary } from "./describe.js";
import { PHASE_LABEL, countDescendants, scheduledOf } from "./model.js";
import { drawConnections } from "./netdraw.js";

const INDENT = 12;
const MAX_INDENT_LEVELS = 6;


/**
 * Draw lane as row `row` into root. view: {first (the first row drawn),
 * model, collapsed (the folded lanes), flashed (an output index), geo (the
 * sizes), scale (times to pixels and text)}.
 */
export function drawLane(root, lane, row, view) {
  const { laneH, barH, width, compact } = view.geo;
  const top = (row - view.first) * laneH + 4;
  const cy = top + laneH / 2;
  lane.hits = [];
  lane.cy = cy;
  lane.my = compact ? cy : cy - barH / 2 - 5;
  lane.row = row;
  const attrs = { class: "tl-lane" };
  if (lane.task) attrs["data-task-id"] = str(lane.id);
  else if (lane.child) attrs["data-child"] = str(lane.child.pid);
  else if (lane.thread !== null) attrs["data-thread"] = lane.thread;
  else if (lane.net) attrs[lane.net.task ? "data-network-of" : "data-lane"] = lane.net.task ? str(lane.net.task.id) : "network";
  else attrs["data-lane"] = "none";
  const g = svg("g", attrs, root);
  if (lane.task && lane.task.state) g.classList.add(`tl-state-${str(lane.task.state).replace(/[^a-z_]/gi, "")}`);
  svg("rect", { class: row % 2 ? "tl-lane-bg tl-odd" : "tl-lane-bg", x: 0, y: top, width, height: laneH }, g);

  const isRequest = Boolean(lane.task && typeof lane.task.url === "string");
  const coro = isRequest ? requestSummary(lane.task) : lane.coro;
  const heading = coro ? `${lane.name} \u00b7 ${coro}` : lane.name;
  drawLabel(g, lane, row, { top, cy, coro, heading }, view);

  const at = { plot: svg("g", { "clip-path": "url(#tl-plot-clip)" }, g), lane, hits: lane.hits, who: heading, cy, view };
  drawLife(at);
  if (lane.phases.length) drawPhases(at);
  drawScheduled(at);
  drawWaits(at);
  drawSlices(at);
  if (lane.jobs.length) drawJobs(at);
  if (lane.net) drawConnections(at);
  drawPrints(at);
  drawEnd(at);
}

/** The label: name and coroutine (or a request's answer), focusable, with its tooltip. */
function drawLabel(g, lane, row, { top, cy, coro, heading }, { model, collapsed: folded, geo, scale }) {
  const { laneH, labelW, compact } = geo;
  const charW = compact ? 6.2 : 6.8;
  const indent = Math.min(lane.depth, MAX_INDENT_LEVELS) * INDENT;
  const textX = 8 + indent + (lane.children.length ? 12 : 0);
  const labelChars = Math.floor((labelW - textX - 4) / charW);
  const label = svg("g", { class: "tl-label", tabindex: "0", "data-row": row }, g);
  label.setAttribute("role", "button");
  const collapsed = folded.has(lane);
  const described = describeTask(lane, model, scale.fmt);
  if (lane.children.length) label.setAttribute("aria-expanded", collapsed ? "false" : "true");
  const fold = lane.children.length ? `. ${collapsed ? "Collapsed" : "Expanded"}: press the left or right arrow to fold its tasks.` : "";
  label.setAttribute("aria-label", `${heading}. ${described.join(". ")}${fold}`);
  svg("rect", { class: "tl-label-hit", x: 0, y: top, width: labelW, height: laneH }, label);
  for (let d = 1; d <= Math.min(lane.depth, MAX_INDENT_LEVELS); d++) {
    svg("line", { class: "tl-tree-guide", x1: d * INDENT + 2, x2: d * INDENT + 2, y1: top, y2: top + laneH }, label);
  }
  if (lane.children.length) drawToggle(label, lane, row, { x: 8 + indent, cy, collapsed, labelW });
  // A URL is cut in its middle: its end tells the URLs of one site apart
  // (the whole URL is the first line of its tooltip).
  const name = lane.task && typeof lane.task.url === "string" ? shortenMiddle(lane.name, labelChars) : truncate(lane.name, labelChars);
  if (compact) {
    const t = svg("text", { class: "tl-name", x: textX, y: cy + 4 }, label);
    t.textContent = name;
    if (coro && lane.name.length + 3 < labelChars) {
      const c = svg("tspan", { class: "tl-coro" }, t);
      c.textContent = " " + truncate(coro, labelChars - lane.name.length - 1);
    }
  } else {
    const t = svg("text", { class: "tl-name", x: textX, y: cy - 3 }, label);
    t.textContent = name;
    const c = svg("text", { class: "tl-coro", x: textX, y: cy + 11 }, label);
    c.textContent = truncate(coro, Math.floor((labelW - textX - 4) / 6.1));
  }
  const taskLine = lane.task ? lineOf(lane.task.line) : null;
  lane.labelTip = { el: label, line: taskLine, lane, text: () => [heading, ...describeTask(lane, model, scale.fmt)] };
}

/** The fold toggle of a task that created others; folded, the count of tasks hidden. */
function drawToggle(label, lane, row, { x: tx, cy, collapsed, labelW }) {
  const toggle = svg("path", {
    class: "tl-toggle", "data-toggle": row,
    d: collapsed ? `M${tx} ${cy - 5}L${tx + 7} ${cy}L${tx} ${cy + 5}Z` : `M${tx - 1} ${cy - 3}L${tx + 8} ${cy - 3}L${tx + 3.5} ${cy + 4}Z`,
  }, label);
  toggle.setAttribute("aria-hidden", "true");
  if (collapsed) {
    const more = svg("text", { class: "tl-coro tl-hidden-count", x: labelW - 4, y: cy + 4, "text-anchor": "end" }, label);
    more.textContent = `+${countDescendants(lane)}`;
  }
}

/** The task's lifetime, from creation to its end (dashed while it never ended). */
function drawLife({ plot, lane, cy, view }) {
  const task = lane.task;
  if (!task) return;
  const { x, visible } = view.scale;
  const { x0, x1 } = view.geo;
  const open = isMissing(task.ended);
  const created = num(task.created, 0);
  const lifeEnd = open ? view.model.domain : num(task.ended, view.model.domain);
  if (!visible(created, lifeEnd)) return;
  svg("line", {
    class: open ? "tl-life tl-life-open" : "tl-life",
    x1: Math.max(x(created), x0 - 2), x2: Math.min(Math.max(x(lifeEnd), x(created) + 1), x1 + 2), y1: cy, y2: cy,
  }, plot);
}

/**
 * The waterfall of one URL-mode lane: one bar per phase of the request
 * (each phase its own colour), with a hit for the tooltip (name and times).
 */
function drawPhases({ plot, lane, hits, who, cy, view }) {
  const { x, visible, range } = view.scale;
  const { barH } = view.geo;
  for (const p of lane.phases) {
    if (!visible(p.start, p.end)) continue;
    const a = x(p.start);
    const b = Math.max(x(p.end), a + 1.5);
    const name = str(p.name);
    const el = svg("rect", {
      class: `tl-item tl-phase tl-phase-${name}`,
      x: a, y: cy - barH / 2, width: b - a, height: barH,
      "data-phase": name,
    }, plot);
    hits.push({
      kind: "phase", a, b, el, line: null,
      text: () => {
        const lines = [who, `${PHASE_LABEL.get(name) || name} ${range(p.start, p.end)} (${formatDuration(num(p.end, 0) - num(p.start, 0))})`];
        if (Number.isInteger(p.hop) && p.hop > 0) lines.push(`after redirect ${p.hop}`);
        return lines;
      },
    });
  }
}

/**
 * Segments as few elements as possible: those closer than a pixel merge
 * into one element, sized once its run of merges ends. Returns one
 * {item, a, b, el} per segment.
 */
function mergedRects(items, x, minWidth, make) {
  let last = null;
  const placed = [];
  const close = () => {
    if (last && last.grown) last.el.setAttribute("width", String(last.b - last.a));
  };
  for (const item of items) {
    const a = x(item.start);
    const b = Math.max(x(item.end), a + minWidth);
    if (last && a <= last.b + 0.5 && x(item.end) - a < 1) {
      last.b = Math.max(last.b, b);
      last.grown = true;
    } else {
      close();
      last = { a, b, el: make(a, b, item), grown: false };
    }
    placed.push({ item, a, b, el: last.el });
  }
  close();
  return placed;
}

/** Scheduled: ready to run, waiting for the loop (hatched, thin). */
function drawScheduled({ plot, lane, hits, who, cy, view }) {
  const { x, visible, range } = view.scale;
  const scheduled = scheduledOf(lane).filter((s) => visible(s.start, s.end));
  for (const placed of mergedRects(scheduled, x, 1, (a, b) =>
    svg("rect", { class: "tl-item tl-scheduled", x: a, y: cy - 3, width: b - a, height: 6 }, plot))) {
    const s = placed.item;
    hits.push({
      kind: "scheduled", a: placed.a, b: placed.b, el: placed.el, line: null,
      text: () => [who, `ready but not running ${range(s.start, s.end)} (${formatDuration(s.end - s.start)})`, "the loop was running other tasks"],
    });
  }
}

/** A label for a bar, inside it, where the plot has room for one. */
function barLabel(plot, placed, { className, y, minRoom }, text, { geo }) {
  const { x0, x1, compact } = geo;
  const room = Math.min(placed.b, x1) - Math.max(placed.a, x0);
  if (!text || room <= minRoom || compact) return;
  const t = svg("text", { class: className, x: Math.max(placed.a, x0) + 4, y }, plot);
  t.textContent = truncate(text, Math.floor((room - 8) / 6));
}

/** A bar whose right edge is torn (zig-zag): it did not end there, the run was stopped. */
function raggedBar(a, b, top, height) {
  const tooth = Math.min(5, (b - a) / 2);
  const q = height / 4;
  return `M${a} ${top}H${b}L${b - tooth} ${top + q}L${b} ${top + 2 * q}L${b - tooth} ${top + 3 * q}L${b} ${top + height}H${a}Z`;
}

/** The end of a wait the stop cut off: a zig-zag across the line. */
const raggedEnd = (b, cy) => `M${b} ${cy - 5}L${b - 3} ${cy - 2}L${b} ${cy + 1}L${b - 3} ${cy + 4}`;

/** Waits: dashed, labelled with what is awaited when there is room; a wait the stop cut off ends in a zig-zag. */
function drawWaits({ plot, lane, hits, who, cy, view }) {
  const { x, visible, range } = view.scale;
  const waits = lane.waits.filter((w) => visible(w.start, w.end));
  for (const placed of mergedRects(waits, x, 1, (a, b) =>
    svg("rect", { class: "tl-item tl-wait", x: a, y: cy - 1, width: b - a, height: 2 }, plot))) {
    const w = placed.item;
    const on = str(w.on);
    const cutOff = w.cut_off === true;
    const job = lane.jobOfWait ? lane.jobOfWait.get(w) : undefined;
    if (job) placed.el.dataset.thread = str(job.thread);
    if (cutOff) svg("path", { class: "tl-cut-off-end", d: raggedEnd(placed.b, cy) }, plot);
    barLabel(plot, placed, { className: "tl-wait-label", y: cy + 12, minRoom: 60 }, on, view);
    hits.push({
      kind: "wait", a: placed.a, b: placed.b, el: placed.el, line: lineOf(w.line),
      text: () => {
        const lines = [who, `waiting ${range(w.start, w.end)} (${formatDuration(num(w.end, 0) - num(w.start, 0))})`];
        if (cutOff) lines.push(STOPPED_WORDS.waiting);
        if (on) lines.push(`on ${on}${lineOf(w.line) ? ` at line ${w.line}` : ""}`);
        if (job) lines.push(job.program ? `the program ran as ${str(job.thread)}: see its lane below` : `the function ran in ${job.thread.startsWith("process ") ? "" : "thread "}${str(job.thread)}: see its lane below`);
        if (Array.isArray(w.chain) && w.chain.length > 1) lines.push(w.chain.map(str).join(" \u2192 "));
        return lines;
      },
    });
  }
}

/**
 * Slices: solid bars; blocking ones in the warning colour, with their
 * reason; one the stop cut off with a torn right edge, never merged.
 */
function drawSlices({ plot, lane, hits, who, cy, view }) {
  const { x, visible, range } = view.scale;
  const { barH } = view.geo;
  const slices = lane.slices.filter((s) => visible(s.start, s.end));
  const whole = slices.filter((s) => s.cut_off !== true);
  const running = whole.filter((s) => s.blocking !== true);
  const blocking = whole.filter((s) => s.blocking === true);
  const sliceHit = (placed, isBlocking) => {
    const s = placed.item;
    hits.push({
      kind: "slice", a: placed.a, b: placed.b, el: placed.el, line: lineOf(s.line),
      text: () => {
        const lines = [who, `${isBlocking ? "blocking the loop" : "running"} ${range(s.start, s.end)} (${formatDuration(num(s.end, 0) - num(s.start, 0))})`];
        if (s.cut_off === true) lines.push(STOPPED_WORDS.running);
        if (str(s.reason) && str(s.reason) !== STOPPED_WORDS.running) lines.push(str(s.reason));
        if (lineOf(s.line)) lines.push(`line ${s.line}`);
        return lines;
      },
    });
  };
  for (const placed of mergedRects(running, x, 2, (a, b) =>
    svg("rect", { class: "tl-item tl-slice", x: a, y: cy - barH / 2, width: b - a, height: barH, rx: 2 }, plot))) {
    sliceHit(placed, false);
  }
  for (const placed of mergedRects(blocking, x, 2, (a, b) => {
    const el = svg("g", { class: "tl-item tl-blocking" }, plot);
    svg("rect", { class: "tl-blocking-bar", x: a, y: cy - barH / 2, width: b - a, height: barH, rx: 2 }, el);
    return el;
  })) {
    sliceHit(placed, true);
    barLabel(plot, placed, { className: "tl-block-label", y: cy + barH / 2 + 11, minRoom: 70 }, str(placed.item.reason), view);
  }
  for (const s of slices.filter((item) => item.cut_off === true)) {
    const isBlocking = s.blocking === true;
    const a = x(s.start);
    const b = Math.max(x(s.end), a + 6);
    const el = svg("g", { class: `tl-item tl-cut-off${isBlocking ? " tl-blocking" : ""}`, "data-cut-off": "running" }, plot);
    svg("path", { class: isBlocking ? "tl-blocking-bar" : "tl-slice", d: raggedBar(a, b, cy - barH / 2, barH) }, el);
    const placed = { item: s, a, b, el };
    sliceHit(placed, isBlocking);
    if (isBlocking) barLabel(plot, placed, { className: "tl-block-label", y: cy + barH / 2 + 11, minRoom: 70 }, str(s.reason), view);
  }
}

/**
 * An executor thread's jobs: one bar each, labelled with its function where
 * there is room; a job that raised has the error colour, one the stop cut
 * off a torn end.
 */
function drawJobs({ plot, lane, hits, who, cy, view }) {
  const { x, visible, range } = view.scale;
  const { barH } = view.geo;
  for (const job of lane.jobs) {
    if (!visible(job.start, job.end)) continue;
    const a = x(job.start);
    const b = Math.max(x(job.end), a + 2);
    const cutOff = job.cut_off === true;
    const failed = !isMissing(job.error) && str(job.error) !== "";
    const attrs = { class: `tl-item tl-job${failed ? " tl-job-error" : ""}${cutOff ? " tl-cut-off" : ""}`, "data-fn": str(job.fn) };
    const el = cutOff
      ? svg("path", { ...attrs, d: raggedBar(a, b, cy - barH / 2, barH) }, plot)
      : svg("rect", { ...attrs, x: a, y: cy - barH / 2, width: b - a, height: barH, rx: 2 }, plot);
    barLabel(plot, { a, b }, { className: "tl-job-label", y: cy + barH / 2 + 11, minRoom: 40 }, job.program ? str(job.fn) : `${str(job.fn)}()`, view);
    hits.push({
      kind: "job", a, b, el, line: lineOf(job.line),
      text: () => {
        const lines = [who, describeJob(job, view.model.names), `${job.program ? "running" : "in the thread"} ${range(job.start, job.end)}`];
        if (failed && !job.program) lines.push(`raised ${str(job.error)}`);
        if (cutOff) lines.push(STOPPED_WORDS.running);
        return lines;
      },
    });
  }
}

/** Output markers (diamonds), one per printed line. */
function drawPrints({ plot, lane, hits, who, view }) {
  const { x, visible, fmt } = view.scale;
  const r = view.geo.compact ? 3.5 : 4;
  const my = lane.my;
  for (const { o, index } of lane.outputs) {
    if (!visible(o.t, o.t)) continue;
    const mx = x(o.t);
    const el = svg("path", {
      class: o.stream === "stderr" ? "tl-item tl-print tl-stderr" : "tl-item tl-print",
      d: `M${mx} ${my - r}L${mx + r} ${my}L${mx} ${my + r}L${mx - r} ${my}Z`,
      "data-output-index": index,
    }, plot);
    if (view.flashed === index) el.classList.add("tl-flash");
    hits.push({
      kind: "print", a: mx, b: mx, el, line: lineOf(o.line), output: index, t: o.t,
      text: () => {
        const text = str(o.text).replace(/\n$/, "");
        const shown = text.length > 300 ? text.slice(0, 299) + "\u2026" : text;
        return [who, `printed at ${fmt(o.t)}${o.stream === "stderr" ? " (stderr)" : ""}: ${shown}`];
      },
    });
  }
}

/** End marks: a red cross for an error, a grey strike for a cancellation, a tick otherwise. */
function drawEnd({ plot, lane, hits, who, cy, view }) {
  const task = lane.task;
  const { x, visible, fmt } = view.scale;
  if (!task || lane.stopped || isMissing(task.ended) || !visible(task.ended, task.ended)) return;
  const ended = task.ended;
  const ex = x(ended);
  const state = str(task.state);
  if (state === "error") {
    const m = svg("g", { class: "tl-item tl-end tl-end-error" }, plot);
    svg("circle", { class: "tl-end-bg", cx: ex, cy, r: 6 }, m);
    svg("path", { d: `M${ex - 3} ${cy - 3}L${ex + 3} ${cy + 3}M${ex + 3} ${cy - 3}L${ex - 3} ${cy + 3}` }, m);
    const err = asObject(task.error);
    const runError = view.model.error;
    const same = err && runError && str(runError.type) === str(err.type) ? lineOf(runError.line) : null;
    hits.push({
      kind: "end", a: ex, b: ex, el: m, line: (err && lineOf(err.line)) || same,
      text: () => [who, `failed at ${fmt(ended)}`].concat(err ? [`${str(err.type)}: ${str(err.message)}`] : []),
    });
  } else if (state === "cancelled") {
    const m = svg("path", { class: "tl-item tl-end tl-end-cancelled", d: `M${ex} ${cy - 7}L${ex} ${cy + 7}M${ex - 4} ${cy + 5}L${ex + 4} ${cy - 5}` }, plot);
    hits.push({ kind: "end", a: ex, b: ex, el: m, line: null, text: () => [who, `cancelled at ${fmt(ended)}`] });
  } else {
    svg("line", { class: "tl-end-done", x1: ex, x2: ex, y1: cy - 5, y2: cy + 5 }, plot);
  }
}
