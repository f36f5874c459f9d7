// Timeline of one trace: one lane per task, children under the task that
// created them, drawn as SVG.
//
// renderTimeline(container, trace, options) draws the trace into container
// (replacing what was there) and returns a controller:
//   { redraw(), fit(), zoom(factor, atTime?), setView({t0, t1}), view(),
//     setCursor(t | null), flashOutput(index), expandAll(open) }
// options: onSelectLine(line), domain (a shared time scale, for comparing
// runs), laneTitle, onViewChange({t0, t1}) (to keep another timeline on the
// same scale).
//
// Only the lanes in view are drawn (the rest are a spacer), so a trace of
// 20,000 tasks scrolls as quickly as one of 20. Each drawing of a new trace is
// marked with the User Timing API exactly once:
// performance.measure("timeline-render", "timeline-render-start").
//
// Everything that comes from the run (task names, coroutine names, wait
// targets, reasons, output) is inserted as text nodes, never as markup.

const SVG_NS = "http://www.w3.org/2000/svg";
const AXIS_H = 26;
const OVERSCAN = 8;
const INDENT = 12;
const MAX_INDENT_LEVELS = 6;
const MIN_SPAN = 1e-7;
const ZOOM_STEP = 1.6;

// URL mode: the phases of a request, in order, and what people read for them.
// Each has its colour in style.css (.tl-phase-<name>, .key-phase-<name>).
export const PHASES = [
  ["queued", "queued"],
  ["dns", "DNS"],
  ["connect", "connect"],
  ["tls", "TLS"],
  ["sent", "request sent"],
  ["first_byte", "waiting for first byte"],
  ["body", "body"],
];
const PHASE_NAMES = PHASES.map(([name]) => name);
const PHASE_LABEL = new Map(PHASES);

// ---------------------------------------------------------------- helpers

function num(v, fallback) {
  return typeof v === "number" && Number.isFinite(v) ? v : fallback;
}

function str(v) {
  return v === null || v === undefined ? "" : String(v);
}

function svg(name, attrs, parent) {
  const node = document.createElementNS(SVG_NS, name);
  if (attrs) {
    for (const key of Object.keys(attrs)) {
      const value = attrs[key];
      if (value !== null && value !== undefined) node.setAttribute(key, String(value));
    }
  }
  if (parent) parent.appendChild(node);
  return node;
}

function html(name, className, parent) {
  const node = document.createElement(name);
  if (className) node.className = className;
  if (parent) parent.appendChild(node);
  return node;
}

function truncate(text, maxChars) {
  if (maxChars < 2) return "";
  return text.length > maxChars ? text.slice(0, maxChars - 1) + "\u2026" : text;
}

const lineOf = (v) => (Number.isInteger(v) && v > 0 ? v : null);

/** A duration for people: "35 µs", "0.2 ms", "120 ms", "1.00 s". */
export function formatDuration(d) {
  d = num(d, 0);
  if (d <= 0) return "0 s";
  if (d < 1e-6) return "<1 \u00b5s";
  if (d < 1e-3) return `${Math.round(d * 1e6)} \u00b5s`;
  if (d < 1e-2) return `${(d * 1e3).toFixed(1)} ms`;
  if (d < 1) return `${Math.round(d * 1e3)} ms`;
  return `${d.toFixed(2)} s`;
}

/** A byte count for people: "512 B", "12.3 KiB", "1.0 MiB". */
export function formatBytes(n) {
  n = num(n, 0);
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** Decimals that make neighbouring times distinct at this zoom. */
function timeDecimals(span) {
  if (span >= 10) return 3;
  if (span >= 0.1) return 4;
  const d = Math.floor(-Math.log10(span)) + 4;
  return Math.min(9, Number.isFinite(d) ? d : 4);
}

/** The smallest 1-2-5 step whose ticks are at least minGap pixels apart. */
function niceStep(span, plotWidth, minGap) {
  let step = Math.pow(10, Math.floor(Math.log10(span)) - 3);
  for (let i = 0; i < 40; i++) {
    for (const m of [1, 2, 5]) {
      if ((plotWidth * step * m) / span >= minGap) return step * m;
    }
    step *= 10;
  }
  return span;
}

/** The unit the axis speaks in: seconds, milliseconds or microseconds. */
export function axisUnit(span) {
  if (span >= 1) return { scale: 1, name: "s" };
  if (span >= 1e-3) return { scale: 1e3, name: "ms" };
  return { scale: 1e6, name: "\u00b5s" };
}

function ticksFor(t0, t1, plotWidth) {
  const span = t1 - t0;
  const step = niceStep(span, plotWidth, 64);
  const unit = axisUnit(span);
  const decimals = Math.max(0, -Math.floor(Math.log10(step * unit.scale) + 1e-9));
  const ticks = [];
  const first = Math.ceil(t0 / step - 1e-9);
  for (let i = first; i * step <= t1 * (1 + 1e-12) + 1e-15 && ticks.length < 200; i++) {
    const t = i * step;
    const value = Number((t * unit.scale).toFixed(decimals));
    ticks.push({ t, label: `${value} ${unit.name}` });
  }
  return ticks;
}

// ------------------------------------------------------------------ model

function byStart(a, b) {
  return num(a.start, 0) - num(b.start, 0);
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

export function buildModel(trace) {
  const tasks = Array.isArray(trace.tasks) ? trace.tasks.filter((t) => t && typeof t === "object") : [];
  const lanesById = new Map();
  const names = new Map();
  const all = [];
  for (const task of tasks) {
    const lane = {
      task, id: task.id, name: str(task.name) || `task ${str(task.id)}`, coro: str(task.coro),
      slices: [], waits: [], outputs: [], phases: [], scheduled: [], children: [], depth: 0, parentLane: null,
    };
    all.push(lane);
    if (!lanesById.has(task.id)) lanesById.set(task.id, lane);
    names.set(task.id, lane.name);
  }
  let noTask = null;
  const laneFor = (id) => {
    if (id !== null && id !== undefined && lanesById.has(id)) return lanesById.get(id);
    if (!noTask) {
      noTask = {
        task: null, id: null, name: "(no task)", coro: "top level, callbacks",
        slices: [], waits: [], outputs: [], phases: [], scheduled: [], children: [], depth: 0, parentLane: null,
      };
    }
    return noTask;
  };

  let end = num(trace.duration, 0);
  const grow = (t) => {
    const v = num(t, 0);
    if (v > end) end = v;
  };
  for (const lane of all) {
    grow(lane.task.created);
    grow(lane.task.ended);
  }
  for (const s of Array.isArray(trace.slices) ? trace.slices : []) {
    if (!s || typeof s !== "object") continue;
    laneFor(s.task).slices.push(s);
    grow(s.end);
  }
  for (const w of Array.isArray(trace.waits) ? trace.waits : []) {
    if (!w || typeof w !== "object") continue;
    laneFor(w.task).waits.push(w);
    grow(w.end);
  }
  const outputs = Array.isArray(trace.output) ? trace.output : [];
  outputs.forEach((o, index) => {
    if (!o || typeof o !== "object") return;
    laneFor(o.task).outputs.push({ o, index });
    grow(o.t);
  });

  // The tree: each task under the task that created it.
  const roots = [];
  for (const lane of all) {
    const parent = lane.task.parent;
    const parentLane = parent !== null && parent !== undefined && parent !== lane.id ? lanesById.get(parent) : null;
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
  for (const lane of all) if (!seen.has(lane)) visit(lane, 0);
  if (noTask) flat.push(noTask);

  for (const lane of flat) {
    lane.slices.sort(byStart);
    lane.waits.sort(byStart);
    const phases = lane.task && Array.isArray(lane.task.phases) ? lane.task.phases : [];
    lane.phases = phases.filter((p) => p && typeof p === "object" && PHASE_NAMES.includes(p.name));
    for (const p of lane.phases) grow(p.end);
    lane.scheduled = scheduledSegments(lane);
  }

  const duration = num(trace.duration, end);
  const error = trace.error && typeof trace.error === "object" ? trace.error : null;
  return { lanes: flat, names, domain: end > 0 ? end : 1e-3, duration, error };
}

// ------------------------------------------------------------ descriptions

function describeTask(lane, model, fmt) {
  const task = lane.task;
  if (!task) return ["Prints and callbacks that ran outside any task."];
  if (typeof task.url === "string") return describeRequest(task, fmt);
  const lines = [];
  let created = `created at ${fmt(task.created)}`;
  if (task.line !== null && task.line !== undefined) created += ` (line ${str(task.line)})`;
  if (task.parent !== null && task.parent !== undefined && model.names.has(task.parent)) {
    created += ` by ${model.names.get(task.parent)}`;
  }
  lines.push(created);
  const state = str(task.state) || "pending";
  if (task.ended === null || task.ended === undefined) {
    lines.push(`${state}: never finished`);
  } else {
    lines.push(`${state} at ${fmt(task.ended)}`);
  }
  if (task.error && typeof task.error === "object") {
    lines.push(`${str(task.error.type)}: ${str(task.error.message)}`);
  }
  if (typeof task.busy === "number") {
    lines.push(`busy ${formatDuration(task.busy)} \u00b7 waiting ${formatDuration(task.waiting)} \u00b7 scheduled ${formatDuration(task.scheduled)} \u00b7 ${num(task.steps, 0)} steps`);
  }
  if (lane.children.length) lines.push(`${lane.children.length} task${lane.children.length === 1 ? "" : "s"} created`);
  return lines;
}

/** What a URL-mode task's label says: the URL, its answer or its failure. */
function describeRequest(task, fmt) {
  const http = task.http && typeof task.http === "object" ? task.http : {};
  const lines = [str(task.url)];
  if (http.status !== null && http.status !== undefined) {
    let answer = `HTTP ${str(http.status)}${str(http.reason) ? " " + str(http.reason) : ""}`;
    answer += ` \u00b7 ${formatBytes(http.bytes)}${http.truncated ? " (cut)" : ""}`;
    if (str(http.content_type)) answer += ` \u00b7 ${str(http.content_type)}`;
    lines.push(answer);
  }
  if (Array.isArray(http.redirects) && http.redirects.length) {
    lines.push(`${http.redirects.length} redirect${http.redirects.length === 1 ? "" : "s"} followed`);
  }
  if (str(http.address)) lines.push(`address ${str(http.address)}`);
  if (str(http.error)) lines.push(str(http.error));
  if (str(http.note)) lines.push(str(http.note));
  const ended = task.ended === null || task.ended === undefined ? "never finished" : fmt(task.ended);
  lines.push(`started ${fmt(task.created)}, ended ${ended}`);
  return lines;
}

/** The short second line of a URL-mode lane label. */
function requestSummary(task) {
  const http = task.http && typeof task.http === "object" ? task.http : {};
  if (task.error && typeof task.error === "object") return str(task.error.type) || "failed";
  if (http.status === null || http.status === undefined) return "";
  return `${str(http.status)} \u00b7 ${formatBytes(http.bytes)}${http.truncated ? " (cut)" : ""}`;
}

// --------------------------------------------------------------- drawing

/**
 * The waterfall of one URL-mode lane: one bar per phase of the request
 * (each phase its own colour), with a hit for the tooltip (name and times).
 */
function drawPhases(g, lane, geometry) {
  const { x, cy, barH, range, who, hits, visible } = geometry;
  for (const p of lane.phases) {
    if (!visible(p.start, p.end)) continue;
    const a = x(p.start);
    const b = Math.max(x(p.end), a + 1.5);
    const name = str(p.name);
    const el = svg("rect", {
      class: `tl-item tl-phase tl-phase-${name}`,
      x: a, y: cy - barH / 2, width: b - a, height: barH,
      "data-phase": name,
    }, g);
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

/** Segments as few elements as possible: those closer than a pixel merge. */
function mergedRects(items, x, minWidth, make) {
  let last = null;
  const placed = [];
  for (const item of items) {
    const a = x(item.start);
    const b = Math.max(x(item.end), a + minWidth);
    if (last && a <= last.b + 0.5 && x(item.end) - a < 1) {
      last.b = Math.max(last.b, b);
      last.el.setAttribute("width", String(last.b - last.a));
    } else {
      last = { a, b, el: make(a, b, item) };
    }
    placed.push({ item, a, b, el: last.el });
  }
  return placed;
}

function layout(state, container) {
  const { model } = state;
  const width = Math.max(280, container.clientWidth || 600);
  const count = state.rows.length;
  const compact = model.lanes.length > 24 || width < 520;
  const laneH = model.lanes.length <= 8 && !compact ? 44 : compact ? 24 : 34;
  const labelW = Math.round(Math.min(220, Math.max(96, width * 0.28)));
  const x0 = labelW + 10;
  const x1 = width - 14;
  return { width, count, compact, laneH, barH: compact ? 10 : 14, labelW, x0, x1, plotW: Math.max(40, x1 - x0) };
}

function visibleRows(state) {
  const rows = [];
  const walk = (lanes) => {
    for (const lane of lanes) rows.push(lane);
  };
  const hidden = (lane) => {
    for (let p = lane.parentLane; p; p = p.parentLane) if (state.collapsed.has(p)) return true;
    return false;
  };
  walk(state.model.lanes.filter((lane) => !hidden(lane)));
  return rows;
}

function buildFrame(container, state) {
  container.replaceChildren();
  container.classList.add("tl-drawn");
  const toolbar = html("div", "tl-toolbar", container);
  toolbar.setAttribute("role", "toolbar");
  toolbar.setAttribute("aria-label", "Timeline view");
  const button = (label, title, action, testid) => {
    const b = html("button", "tl-button", toolbar);
    b.type = "button";
    b.textContent = label;
    b.title = title;
    b.setAttribute("aria-label", title);
    if (testid) b.dataset.testid = testid;
    b.addEventListener("click", action);
    return b;
  };
  button("\u2212", "Zoom out (−)", () => state.api.zoom(1 / ZOOM_STEP), "zoom-out");
  button("+", "Zoom in (+)", () => state.api.zoom(ZOOM_STEP), "zoom-in");
  button("Fit", "Fit the whole run (0)", () => state.api.fit(), "zoom-fit");
  const range = html("span", "tl-range", toolbar);
  range.dataset.testid = "timeline-range";
  range.setAttribute("aria-live", "polite");
  const hint = html("span", "tl-hint", toolbar);
  hint.textContent = "Ctrl+wheel or +/− zooms, drag or \u2190\u2192 pans";

  const scroll = html("div", "tl-scroll", container);
  scroll.tabIndex = 0;
  scroll.setAttribute("aria-label", "Timeline drawing: use + and − to zoom, arrow keys to pan, 0 to fit; the task table below lists the same tasks");
  const canvas = html("div", "tl-canvas", scroll);
  const axis = svg("svg", { class: "tl-axis", "aria-hidden": "true" }, canvas);
  const lanes = svg("svg", { class: "tl-lanes", role: "group" }, canvas);
  const tooltip = html("div", "tl-tooltip", container);
  tooltip.setAttribute("role", "tooltip");
  tooltip.hidden = true;
  return { toolbar, range, scroll, canvas, axis, lanes, tooltip };
}

function draw(container, state) {
  const { model, opts } = state;
  if (!state.frame || state.frame.scroll.parentNode !== container) state.frame = buildFrame(container, state);
  const { scroll, canvas, axis, lanes: root, range: rangeLabel } = state.frame;
  state.rows = visibleRows(state);
  const geo = layout(state, container);
  state.geo = geo;
  state.width = container.clientWidth;
  const { width, laneH, barH, labelW, x0, x1, plotW, compact } = geo;
  const rows = state.rows;

  if (model.lanes.length === 0) {
    root.replaceChildren();
    axis.replaceChildren();
    canvas.style.height = "0px";
    let empty = scroll.querySelector(".empty");
    if (!empty) empty = html("p", "empty", scroll);
    empty.textContent = "Nothing to draw: the run created no tasks and printed nothing.";
    return;
  }

  const { t0, t1 } = state.view;
  const span = Math.max(MIN_SPAN, t1 - t0);
  const x = (t) => x0 + ((num(t, 0) - t0) / span) * plotW;
  const visible = (a, b) => num(b, a) >= t0 && num(a, 0) <= t1;
  const decimals = timeDecimals(span);
  const fmt = (t) => `${num(t, 0).toFixed(decimals)} s`;
  const range = (a, b) => `${num(a, 0).toFixed(decimals)}\u2013${num(b, 0).toFixed(decimals)} s`;
  rangeLabel.textContent = `showing ${formatDuration(Math.max(0, t0))} \u2013 ${formatDuration(t1)}`;
  rangeLabel.dataset.unit = axisUnit(span).name;

  const totalH = rows.length * laneH + 8;
  canvas.style.height = `${AXIS_H + totalH}px`;
  canvas.style.width = `${width}px`;

  // Axis (sticky at the top of the scrolling area).
  axis.replaceChildren();
  axis.setAttribute("width", String(width));
  axis.setAttribute("height", String(AXIS_H));
  axis.setAttribute("viewBox", `0 0 ${width} ${AXIS_H}`);
  const axisLabel = svg("text", { class: "tl-axis-title", x: 8, y: AXIS_H - 9 }, axis);
  axisLabel.textContent = str(opts.laneTitle) || "task";
  svg("line", { class: "tl-axis-line", x1: x0, x2: x1, y1: AXIS_H - 0.5, y2: AXIS_H - 0.5 }, axis);
  const ticks = ticksFor(t0, t1, plotW);
  ticks.forEach((tick) => {
    const tx = x(tick.t);
    svg("line", { class: "tl-tick", x1: tx, x2: tx, y1: AXIS_H - 5, y2: AXIS_H }, axis);
    const anchor = tx < x0 + 20 ? "start" : tx > x1 - 20 ? "end" : "middle";
    const label = svg("text", { class: "tl-tick-label", x: tx, y: AXIS_H - 9, "text-anchor": anchor }, axis);
    label.textContent = tick.label;
  });
  if (state.cursor !== null) {
    const cx = x(state.cursor);
    if (cx >= x0 && cx <= x1) svg("path", { class: "tl-cursor-head", d: `M${cx - 5} 2L${cx + 5} 2L${cx} 9Z` }, axis);
  }

  // Lanes: only the rows in view (plus a margin) are drawn.
  const viewTop = Math.max(0, scroll.scrollTop - AXIS_H);
  const viewH = scroll.clientHeight || 400;
  const first = Math.max(0, Math.floor(viewTop / laneH) - OVERSCAN);
  const last = Math.min(rows.length, Math.ceil((viewTop + viewH) / laneH) + OVERSCAN);
  state.drawnRows = [first, last];
  const bandTop = first * laneH;
  const bandH = Math.max(1, (last - first) * laneH + 8);
  root.replaceChildren();
  root.setAttribute("width", String(width));
  root.setAttribute("height", String(bandH));
  root.setAttribute("viewBox", `0 0 ${width} ${bandH}`);
  root.style.top = `${AXIS_H + bandTop}px`;
  root.setAttribute("aria-label", `Timeline of ${model.lanes.length} lane${model.lanes.length === 1 ? "" : "s"} over ${formatDuration(model.domain)}`);

  const defs = svg("defs", null, root);
  for (const [id, cls] of [["tl-dash", "tl-dash"], ["tl-dash-hover", "tl-dash tl-dash-hover"]]) {
    const pattern = svg("pattern", { id, width: 7, height: 4, patternUnits: "userSpaceOnUse" }, defs);
    svg("rect", { class: cls, x: 0, y: 0, width: 4, height: 4 }, pattern);
  }
  const hatch = svg("pattern", { id: "tl-hatch", width: 6, height: 6, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" }, defs);
  svg("rect", { class: "tl-hatch-line", x: 0, y: 0, width: 2, height: 6 }, hatch);

  const clip = svg("clipPath", { id: "tl-plot-clip" }, defs);
  svg("rect", { x: x0, y: 0, width: plotW, height: bandH }, clip);

  const grid = svg("g", { class: "tl-grid", "aria-hidden": "true" }, root);
  for (const tick of ticks) {
    const tx = x(tick.t);
    svg("line", { x1: tx, x2: tx, y1: 0, y2: bandH }, grid);
  }

  const charW = compact ? 6.2 : 6.8;
  for (let i = first; i < last; i++) {
    const lane = rows[i];
    const top = (i - first) * laneH + 4;
    const cy = top + laneH / 2;
    const my = compact ? cy : cy - barH / 2 - 5;
    const hits = [];
    lane.hits = hits;
    lane.cy = cy;
    lane.my = my;
    lane.row = i;
    const attrs = { class: "tl-lane" };
    if (lane.task) attrs["data-task-id"] = str(lane.id);
    else attrs["data-lane"] = "none";
    const g = svg("g", attrs, root);
    if (lane.task && lane.task.state) g.classList.add(`tl-state-${str(lane.task.state).replace(/[^a-z_]/gi, "")}`);
    svg("rect", { class: i % 2 ? "tl-lane-bg tl-odd" : "tl-lane-bg", x: 0, y: top, width, height: laneH }, g);

    // Label: indented by depth; a toggle when the task created others.
    const isRequest = Boolean(lane.task && typeof lane.task.url === "string");
    const coro = isRequest ? requestSummary(lane.task) : lane.coro;
    const heading = coro ? `${lane.name} \u00b7 ${coro}` : lane.name;
    const indent = Math.min(lane.depth, MAX_INDENT_LEVELS) * INDENT;
    const textX = 8 + indent + (lane.children.length ? 12 : 0);
    const labelChars = Math.floor((labelW - textX - 4) / charW);
    const label = svg("g", { class: "tl-label", tabindex: "0", "data-row": i }, g);
    const taskLine = lane.task ? lineOf(lane.task.line) : null;
    label.setAttribute("role", "button");
    const collapsed = state.collapsed.has(lane);
    if (lane.children.length) label.setAttribute("aria-expanded", collapsed ? "false" : "true");
    label.setAttribute("aria-label", `${heading}. ${describeTask(lane, model, fmt).join(". ")}${lane.children.length ? `. ${collapsed ? "Collapsed" : "Expanded"}: press the left or right arrow to fold its tasks.` : ""}`);
    svg("rect", { class: "tl-label-hit", x: 0, y: top, width: labelW, height: laneH }, label);
    for (let d = 1; d <= Math.min(lane.depth, MAX_INDENT_LEVELS); d++) {
      svg("line", { class: "tl-tree-guide", x1: d * INDENT + 2, x2: d * INDENT + 2, y1: top, y2: top + laneH }, label);
    }
    if (lane.children.length) {
      const tx = 8 + indent;
      const toggle = svg("path", {
        class: "tl-toggle", "data-toggle": i,
        d: collapsed ? `M${tx} ${cy - 5}L${tx + 7} ${cy}L${tx} ${cy + 5}Z` : `M${tx - 1} ${cy - 3}L${tx + 8} ${cy - 3}L${tx + 3.5} ${cy + 4}Z`,
      }, label);
      toggle.setAttribute("aria-hidden", "true");
      if (collapsed) {
        const more = svg("text", { class: "tl-coro tl-hidden-count", x: labelW - 4, y: cy + 4, "text-anchor": "end" }, label);
        more.textContent = `+${countHidden(lane)}`;
      }
    }
    if (compact) {
      const t = svg("text", { class: "tl-name", x: textX, y: cy + 4 }, label);
      t.textContent = truncate(lane.name, labelChars);
      if (coro && lane.name.length + 3 < labelChars) {
        const c = svg("tspan", { class: "tl-coro" }, t);
        c.textContent = " " + truncate(coro, labelChars - lane.name.length - 1);
      }
    } else {
      const t = svg("text", { class: "tl-name", x: textX, y: cy - 3 }, label);
      t.textContent = truncate(lane.name, labelChars);
      const c = svg("text", { class: "tl-coro", x: textX, y: cy + 11 }, label);
      c.textContent = truncate(coro, Math.floor((labelW - textX - 4) / 6.1));
    }
    lane.labelTip = { el: label, line: taskLine, lane, text: () => [heading, ...describeTask(lane, model, fmt)] };

    const plot = svg("g", { "clip-path": "url(#tl-plot-clip)" }, g);
    const task = lane.task;
    const ended = task ? task.ended : null;
    const open = ended === null || ended === undefined;
    if (task) {
      const created = num(task.created, 0);
      const lifeEnd = open ? model.domain : num(ended, model.domain);
      if (visible(created, lifeEnd)) {
        svg("line", {
          class: open ? "tl-life tl-life-open" : "tl-life",
          x1: Math.max(x(created), x0 - 2), x2: Math.min(Math.max(x(lifeEnd), x(created) + 1), x1 + 2), y1: cy, y2: cy,
        }, plot);
      }
    }
    const who = heading;
    if (lane.phases.length) drawPhases(plot, lane, { x, cy, barH, range, who, hits, visible });

    // Scheduled: ready to run, waiting for the loop (hatched, thin).
    const scheduled = lane.scheduled.filter((s) => visible(s.start, s.end));
    for (const placed of mergedRects(scheduled, x, 1, (a, b) =>
      svg("rect", { class: "tl-item tl-scheduled", x: a, y: cy - 3, width: b - a, height: 6 }, plot))) {
      const s = placed.item;
      hits.push({
        kind: "scheduled", a: placed.a, b: placed.b, el: placed.el, line: null,
        text: () => [who, `ready but not running ${range(s.start, s.end)} (${formatDuration(s.end - s.start)})`, "the loop was running other tasks"],
      });
    }

    // Waits: dashed, labelled with what is awaited when there is room.
    const waits = lane.waits.filter((w) => visible(w.start, w.end));
    for (const placed of mergedRects(waits, x, 1, (a, b) =>
      svg("rect", { class: "tl-item tl-wait", x: a, y: cy - 1, width: b - a, height: 2 }, plot))) {
      const w = placed.item;
      const on = str(w.on);
      const room = Math.min(placed.b, x1) - Math.max(placed.a, x0);
      if (on && room > 60 && !compact) {
        const t = svg("text", { class: "tl-wait-label", x: Math.max(placed.a, x0) + 4, y: cy + 12 }, plot);
        t.textContent = truncate(on, Math.floor((room - 8) / 6));
      }
      hits.push({
        kind: "wait", a: placed.a, b: placed.b, el: placed.el, line: lineOf(w.line),
        text: () => {
          const lines = [who, `waiting ${range(w.start, w.end)} (${formatDuration(num(w.end, 0) - num(w.start, 0))})`];
          if (on) lines.push(`on ${on}${lineOf(w.line) ? ` at line ${w.line}` : ""}`);
          if (Array.isArray(w.chain) && w.chain.length > 1) lines.push(w.chain.map(str).join(" \u2192 "));
          return lines;
        },
      });
    }

    // Slices: solid bars; blocking ones in the warning colour, with their reason.
    const slices = lane.slices.filter((s) => visible(s.start, s.end));
    const running = slices.filter((s) => s.blocking !== true);
    const blocking = slices.filter((s) => s.blocking === true);
    const sliceHit = (placed, isBlocking) => {
      const s = placed.item;
      hits.push({
        kind: "slice", a: placed.a, b: placed.b, el: placed.el, line: lineOf(s.line),
        text: () => {
          const lines = [who, `${isBlocking ? "blocking the loop" : "running"} ${range(s.start, s.end)} (${formatDuration(num(s.end, 0) - num(s.start, 0))})`];
          if (str(s.reason)) lines.push(str(s.reason));
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
      const reason = str(placed.item.reason);
      const room = Math.min(placed.b, x1) - Math.max(placed.a, x0);
      if (reason && room > 70 && !compact) {
        const t = svg("text", { class: "tl-block-label", x: Math.max(placed.a, x0) + 4, y: cy + barH / 2 + 11 }, plot);
        t.textContent = truncate(reason, Math.floor((room - 8) / 6));
      }
    }

    // Output markers (diamonds).
    const r = compact ? 3.5 : 4;
    for (const { o, index } of lane.outputs) {
      if (!visible(o.t, o.t)) continue;
      const mx = x(o.t);
      const el = svg("path", {
        class: o.stream === "stderr" ? "tl-item tl-print tl-stderr" : "tl-item tl-print",
        d: `M${mx} ${my - r}L${mx + r} ${my}L${mx} ${my + r}L${mx - r} ${my}Z`,
        "data-output-index": index,
      }, plot);
      if (state.flashed === index) el.classList.add("tl-flash");
      hits.push({
        kind: "print", a: mx, b: mx, el, line: lineOf(o.line), output: index,
        text: () => {
          const text = str(o.text).replace(/\n$/, "");
          const shown = text.length > 300 ? text.slice(0, 299) + "\u2026" : text;
          return [who, `printed at ${fmt(o.t)}${o.stream === "stderr" ? " (stderr)" : ""}: ${shown}`];
        },
      });
    }

    // End marks: a red cross for an error, a grey strike for a cancellation.
    if (task && !open && visible(ended, ended)) {
      const ex = x(ended);
      const st = str(task.state);
      if (st === "error") {
        const m = svg("g", { class: "tl-item tl-end tl-end-error" }, plot);
        svg("circle", { class: "tl-end-bg", cx: ex, cy, r: 6 }, m);
        svg("path", { d: `M${ex - 3} ${cy - 3}L${ex + 3} ${cy + 3}M${ex + 3} ${cy - 3}L${ex - 3} ${cy + 3}` }, m);
        const err = task.error && typeof task.error === "object" ? task.error : null;
        const same = err && model.error && str(model.error.type) === str(err.type) ? lineOf(model.error.line) : null;
        hits.push({
          kind: "end", a: ex, b: ex, el: m, line: (err && lineOf(err.line)) || same,
          text: () => [who, `failed at ${fmt(ended)}`].concat(err ? [`${str(err.type)}: ${str(err.message)}`] : []),
        });
      } else if (st === "cancelled") {
        const m = svg("path", { class: "tl-item tl-end tl-end-cancelled", d: `M${ex} ${cy - 7}L${ex} ${cy + 7}M${ex - 4} ${cy + 5}L${ex + 4} ${cy - 5}` }, plot);
        hits.push({ kind: "end", a: ex, b: ex, el: m, line: null, text: () => [who, `cancelled at ${fmt(ended)}`] });
      } else {
        svg("line", { class: "tl-end-done", x1: ex, x2: ex, y1: cy - 5, y2: cy + 5 }, plot);
      }
    }
  }

  // Replay: what has not happened yet is shaded, and a cursor marks now.
  if (state.cursor !== null) {
    const cx = Math.min(Math.max(x(state.cursor), x0), x1);
    svg("rect", { class: "tl-future", x: cx, y: 0, width: Math.max(0, x1 - cx), height: bandH }, root);
    svg("line", { class: "tl-cursor", x1: cx, x2: cx, y1: 0, y2: bandH }, root);
  }
}

function countHidden(lane) {
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

// ------------------------------------------------------------ interaction

function attach(container, state) {
  const { scroll, tooltip } = state.frame;
  const find = (clientX, clientY) => {
    const { laneH, labelW, barH } = state.geo;
    const lanesSvg = state.frame.lanes;
    const box = lanesSvg.getBoundingClientRect();
    const px = clientX - box.left;
    const py = clientY - box.top;
    const row = state.drawnRows[0] + Math.floor((py - 4) / laneH);
    const lane = state.rows[row];
    if (!lane || !lane.hits || lane.row !== row) return null;
    if (px < labelW) return lane.labelTip;
    let best = null;
    let bestScore = Infinity;
    for (const h of lane.hits) {
      const dist = px < h.a ? h.a - px : px > h.b ? px - h.b : 0;
      if (dist > 4) continue;
      let score = dist;
      if (h.kind === "print") score += Math.abs(py - (lane.my - (row - state.drawnRows[0]) * 0)) <= 6 ? -10 : 3;
      else if (h.kind === "end") score -= 5;
      else if (h.kind === "wait" || h.kind === "scheduled") score += 2;
      else if (Math.abs(py - lane.cy) > barH / 2 + 3) score += 1;
      if (score < bestScore) {
        bestScore = score;
        best = h;
      }
    }
    return best;
  };

  let current = null;
  const show = (hit, clientX, clientY) => {
    if (current !== hit) {
      if (current && current.el) current.el.classList.remove("tl-hover");
      current = hit;
      if (hit.el) hit.el.classList.add("tl-hover");
      const [title, ...lines] = hit.text();
      tooltip.replaceChildren();
      html("div", "tl-tooltip-title", tooltip).textContent = title;
      for (const line of lines) html("div", "tl-tooltip-line", tooltip).textContent = line;
      if (hit.line) html("div", "tl-tooltip-hint", tooltip).textContent = `click to show line ${hit.line} in the editor`;
      tooltip.hidden = false;
      scroll.classList.toggle("tl-pointing", Boolean(hit.line));
    }
    const box = container.getBoundingClientRect();
    const tw = tooltip.offsetWidth;
    const th = tooltip.offsetHeight;
    let left = clientX - box.left + 12;
    let top = clientY - box.top + 14;
    if (left + tw > box.width - 4) left = Math.max(4, clientX - box.left - tw - 12);
    if (top + th > box.height - 4 && clientY - box.top - th - 10 > 0) top = clientY - box.top - th - 10;
    tooltip.style.left = `${Math.round(left)}px`;
    tooltip.style.top = `${Math.round(top)}px`;
  };
  const hide = () => {
    if (current && current.el) current.el.classList.remove("tl-hover");
    current = null;
    tooltip.hidden = true;
    scroll.classList.remove("tl-pointing");
  };
  state.hideTooltip = hide;
  const select = (hit) => {
    if (hit && hit.line && typeof state.opts.onSelectLine === "function") state.opts.onSelectLine(hit.line);
    if (hit && hit.output !== undefined && typeof state.opts.onSelectOutput === "function") state.opts.onSelectOutput(hit.output);
  };

  // Drag to pan; a press without a drag is a click.
  let drag = null;
  scroll.addEventListener("pointerdown", (event) => {
    if (event.button !== 0 || !state.geo) return;
    const box = state.frame.lanes.getBoundingClientRect();
    if (event.clientX - box.left < state.geo.x0) return;
    drag = { x: event.clientX, view: { ...state.view }, moved: false, id: event.pointerId };
  });
  scroll.addEventListener("pointermove", (event) => {
    if (drag && drag.id === event.pointerId) {
      const dx = event.clientX - drag.x;
      if (!drag.moved && Math.abs(dx) > 3) {
        drag.moved = true;
        scroll.setPointerCapture(event.pointerId);
        scroll.classList.add("tl-dragging");
        hide();
      }
      if (drag.moved) {
        const dt = (-dx / state.geo.plotW) * (drag.view.t1 - drag.view.t0);
        state.api.setView({ t0: drag.view.t0 + dt, t1: drag.view.t1 + dt });
        return;
      }
    }
    const hit = find(event.clientX, event.clientY);
    if (hit) show(hit, event.clientX, event.clientY);
    else hide();
  });
  const endDrag = (event) => {
    if (!drag || drag.id !== event.pointerId) return;
    const moved = drag.moved;
    drag = null;
    scroll.classList.remove("tl-dragging");
    if (moved) state.suppressClick = true;
  };
  scroll.addEventListener("pointerup", endDrag);
  scroll.addEventListener("pointercancel", endDrag);
  scroll.addEventListener("pointerleave", hide);
  scroll.addEventListener("click", (event) => {
    if (state.suppressClick) {
      state.suppressClick = false;
      return;
    }
    const toggle = event.target instanceof Element ? event.target.closest("[data-toggle]") : null;
    if (toggle) {
      toggleRow(state, Number(toggle.getAttribute("data-toggle")));
      return;
    }
    select(find(event.clientX, event.clientY));
  });

  // Wheel: with Ctrl (or a pinch) zooms around the pointer; sideways or
  // with Shift pans; otherwise scrolls the lanes as usual.
  scroll.addEventListener("wheel", (event) => {
    if (!state.geo) return;
    const box = state.frame.lanes.getBoundingClientRect();
    const { x0, plotW } = state.geo;
    const at = state.view.t0 + ((event.clientX - box.left - x0) / plotW) * (state.view.t1 - state.view.t0);
    if (event.ctrlKey || event.metaKey) {
      event.preventDefault();
      state.api.zoom(Math.exp(-event.deltaY * 0.0025), at);
    } else if (event.shiftKey || Math.abs(event.deltaX) > Math.abs(event.deltaY)) {
      event.preventDefault();
      const delta = event.shiftKey && !event.deltaX ? event.deltaY : event.deltaX;
      const dt = (delta / plotW) * (state.view.t1 - state.view.t0);
      state.api.setView({ t0: state.view.t0 + dt, t1: state.view.t1 + dt });
    }
  }, { passive: false });

  let pending = 0;
  scroll.addEventListener("scroll", () => {
    hide();
    cancelAnimationFrame(pending);
    pending = requestAnimationFrame(() => {
      if (!state.model || !state.geo) return;
      const { laneH } = state.geo;
      const viewTop = Math.max(0, scroll.scrollTop - AXIS_H);
      const first = Math.max(0, Math.floor(viewTop / laneH) - OVERSCAN);
      const last = Math.min(state.rows.length, Math.ceil((viewTop + (scroll.clientHeight || 400)) / laneH) + OVERSCAN);
      if (first < state.drawnRows[0] || last > state.drawnRows[1]) draw(container, state);
    });
  }, { passive: true });

  const rowOf = (target) => {
    const node = target instanceof Element ? target.closest("[data-row]") : null;
    return node ? Number(node.getAttribute("data-row")) : null;
  };
  scroll.addEventListener("focusin", (event) => {
    const row = rowOf(event.target);
    if (row === null) return;
    const hit = state.rows[row] && state.rows[row].labelTip;
    if (!hit) return;
    const r = hit.el.getBoundingClientRect();
    show(hit, r.left + state.geo.labelW - 8, r.top + r.height / 2);
  });
  scroll.addEventListener("focusout", hide);
  scroll.addEventListener("keydown", (event) => {
    const row = rowOf(event.target);
    if (row !== null) {
      const lane = state.rows[row];
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        if (lane.labelTip && lane.labelTip.line) select(lane.labelTip);
        else if (lane.children.length) toggleRow(state, row, true);
        return;
      }
      if ((event.key === "ArrowLeft" && lane.children.length && !state.collapsed.has(lane)) ||
          (event.key === "ArrowRight" && lane.children.length && state.collapsed.has(lane))) {
        event.preventDefault();
        toggleRow(state, row, true);
        return;
      }
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        focusRow(state, row + (event.key === "ArrowDown" ? 1 : -1));
        return;
      }
    }
    if (event.target !== scroll && row === null) return;
    const span = state.view.t1 - state.view.t0;
    if (event.key === "+" || event.key === "=") state.api.zoom(ZOOM_STEP);
    else if (event.key === "-" || event.key === "_") state.api.zoom(1 / ZOOM_STEP);
    else if (event.key === "0") state.api.fit();
    else if (event.key === "ArrowRight" && row === null) state.api.setView({ t0: state.view.t0 + span / 8, t1: state.view.t1 + span / 8 });
    else if (event.key === "ArrowLeft" && row === null) state.api.setView({ t0: state.view.t0 - span / 8, t1: state.view.t1 - span / 8 });
    else return;
    event.preventDefault();
  });
}

function toggleRow(state, row, keepFocus = false) {
  const lane = state.rows[row];
  if (!lane || !lane.children.length) return;
  if (state.collapsed.has(lane)) state.collapsed.delete(lane);
  else state.collapsed.add(lane);
  state.api.redraw();
  if (keepFocus) focusRow(state, state.rows.indexOf(lane));
}

function focusRow(state, row) {
  if (row < 0 || row >= state.rows.length) return;
  const { scroll } = state.frame;
  const { laneH } = state.geo;
  const top = AXIS_H + row * laneH;
  if (top < scroll.scrollTop + AXIS_H || top + laneH > scroll.scrollTop + scroll.clientHeight) {
    scroll.scrollTop = Math.max(0, top - AXIS_H - laneH);
    state.api.redraw();
  }
  const label = state.frame.lanes.querySelector(`[data-row="${row}"]`);
  if (label) label.focus();
}

function observe(container, state) {
  if (state.observer || typeof ResizeObserver !== "function") return;
  let pending = 0;
  state.observer = new ResizeObserver(() => {
    if (!state.model || container.clientWidth === state.width) return;
    cancelAnimationFrame(pending);
    pending = requestAnimationFrame(() => {
      if (state.model && container.clientWidth !== state.width) draw(container, state);
    });
  });
  state.observer.observe(container);
}

// ---------------------------------------------------------------- public

const states = new WeakMap();

function controller(container, state) {
  const clampView = ({ t0, t1 }) => {
    const domain = state.fullDomain;
    let span = Math.min(Math.max(t1 - t0, Math.max(MIN_SPAN, domain * 1e-7)), domain * 1.05);
    let a = Math.max(-domain * 0.02, Math.min(t0, domain * 1.02 - span));
    if (!Number.isFinite(a)) a = 0;
    if (!Number.isFinite(span) || span <= 0) span = domain;
    return { t0: a, t1: a + span };
  };
  const api = {
    redraw: () => draw(container, state),
    view: () => ({ ...state.view }),
    setView: (view, { silent = false } = {}) => {
      state.view = clampView(view);
      draw(container, state);
      if (!silent && typeof state.opts.onViewChange === "function") state.opts.onViewChange({ ...state.view });
    },
    fit: () => api.setView({ t0: 0, t1: state.fullDomain }),
    zoom: (factor, at) => {
      const { t0, t1 } = state.view;
      const centre = at === undefined || !Number.isFinite(at) ? (t0 + t1) / 2 : at;
      const span = (t1 - t0) / factor;
      const ratio = (centre - t0) / (t1 - t0);
      api.setView({ t0: centre - ratio * span, t1: centre - ratio * span + span });
    },
    setCursor: (t) => {
      state.cursor = t === null || t === undefined ? null : num(t, null);
      draw(container, state);
    },
    flashOutput: (index) => {
      state.flashed = index;
      const lane = state.model.lanes.find((l) => l.outputs.some((o) => o.index === index));
      if (!lane) return;
      for (let p = lane.parentLane; p; p = p.parentLane) state.collapsed.delete(p);
      state.rows = visibleRows(state);
      const out = lane.outputs.find((o) => o.index === index).o;
      const t = num(out.t, 0);
      if (t < state.view.t0 || t > state.view.t1) {
        const span = state.view.t1 - state.view.t0;
        state.view = clampView({ t0: t - span / 2, t1: t + span / 2 });
      }
      const row = state.rows.indexOf(lane);
      const { scroll } = state.frame;
      const laneH = state.geo ? state.geo.laneH : 34;
      const top = row * laneH;
      if (top < scroll.scrollTop || top > scroll.scrollTop + scroll.clientHeight - AXIS_H - laneH) {
        scroll.scrollTop = Math.max(0, top - laneH);
      }
      draw(container, state);
    },
    expandAll: (open) => {
      state.collapsed = new Set(open ? [] : state.model.lanes.filter((l) => l.children.length));
      draw(container, state);
    },
  };
  return api;
}

/**
 * Draw trace into container. options.onSelectLine(line) is called when a
 * slice, wait, marker or label that carries a snippet line is clicked, and
 * options.onSelectOutput(index) when an output marker is.
 */
export function renderTimeline(container, trace, options = {}) {
  let state = states.get(container);
  if (!state) {
    state = {};
    states.set(container, state);
  }
  performance.clearMarks("timeline-render-start");
  performance.mark("timeline-render-start");
  state.opts = options;
  state.model = buildModel(trace && typeof trace === "object" ? trace : {});
  state.fullDomain = num(options.domain, 0) > 0 ? Math.max(options.domain, state.model.domain) : state.model.domain;
  state.view = { t0: 0, t1: state.fullDomain };
  state.cursor = null;
  state.flashed = null;
  // Big trees start folded below the first level, so the first screen
  // shows the shape of the run rather than thousands of leaves.
  state.collapsed = new Set(state.model.lanes.length > 200 ? state.model.lanes.filter((l) => l.children.length > 50) : []);
  state.frame = null;
  state.api = controller(container, state);
  draw(container, state);
  attach(container, state);
  performance.measure("timeline-render", "timeline-render-start");
  observe(container, state);
  return state.api;
}

/** Replace the timeline with a short message (no trace drawn). */
export function clearTimeline(container, message) {
  const state = states.get(container);
  if (state) {
    state.model = null;
    state.frame = null;
  }
  container.classList.remove("tl-drawn");
  const p = document.createElement("p");
  p.className = "empty";
  p.textContent = message;
  container.replaceChildren(p);
}
