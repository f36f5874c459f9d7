// Timeline of one trace: one lane per task, drawn as SVG.
//
// renderTimeline(container, trace, {onSelectLine}) draws the trace into
// container (replacing what was there), keeps it fitted to the container's
// width and marks the drawing with the User Timing API exactly once per
// trace: performance.measure("timeline-render", "timeline-render-start").
// Redraws caused by a resize are not measured again.
//
// Everything that comes from the run (task names, coroutine names, wait
// targets, reasons, output) is inserted as text nodes, never as markup.

const SVG_NS = "http://www.w3.org/2000/svg";
const AXIS_H = 26;

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

/** Decimals that make neighbouring times distinct for a trace this long. */
function timeDecimals(domain) {
  if (domain >= 10) return 3;
  if (domain >= 0.1) return 4;
  const d = Math.floor(-Math.log10(domain)) + 4;
  return Math.min(7, Number.isFinite(d) ? d : 4);
}

/** The smallest 1-2-5 step whose ticks are at least minGap pixels apart. */
function niceStep(domain, plotWidth, minGap) {
  let step = Math.pow(10, Math.floor(Math.log10(domain)) - 3);
  for (let i = 0; i < 40; i++) {
    for (const m of [1, 2, 5]) {
      if ((plotWidth * step * m) / domain >= minGap) return step * m;
    }
    step *= 10;
  }
  return domain;
}

function axisUnit(domain) {
  if (domain >= 1) return { scale: 1, name: "s" };
  if (domain >= 1e-3) return { scale: 1e3, name: "ms" };
  return { scale: 1e6, name: "\u00b5s" };
}

function ticksFor(domain, plotWidth) {
  const step = niceStep(domain, plotWidth, 64);
  const unit = axisUnit(domain);
  const decimals = Math.max(0, -Math.floor(Math.log10(step * unit.scale) + 1e-9));
  const ticks = [];
  for (let i = 0; i * step <= domain * (1 + 1e-9); i++) {
    const t = i * step;
    const value = Number((t * unit.scale).toFixed(decimals));
    ticks.push({ t, label: `${value} ${unit.name}` });
  }
  return ticks;
}

// ------------------------------------------------------------------ model

function buildModel(trace) {
  const tasks = Array.isArray(trace.tasks) ? trace.tasks.filter((t) => t && typeof t === "object") : [];
  const ordered = tasks
    .map((task, index) => ({ task, index }))
    .sort(
      (a, b) =>
        num(a.task.created, 0) - num(b.task.created, 0) ||
        num(a.task.id, 0) - num(b.task.id, 0) ||
        a.index - b.index,
    )
    .map((x) => x.task);

  const lanes = [];
  const byId = new Map();
  const names = new Map();
  for (const task of ordered) {
    const lane = { task, id: task.id, name: str(task.name) || `task ${str(task.id)}`, coro: str(task.coro), slices: [], waits: [], outputs: [] };
    lanes.push(lane);
    if (!byId.has(task.id)) byId.set(task.id, lane);
    names.set(task.id, lane.name);
  }
  let noTask = null;
  const laneFor = (id) => {
    if (id !== null && id !== undefined && byId.has(id)) return byId.get(id);
    if (!noTask) noTask = { task: null, id: null, name: "(no task)", coro: "top level, callbacks", slices: [], waits: [], outputs: [] };
    return noTask;
  };

  let end = num(trace.duration, 0);
  const grow = (t) => {
    const v = num(t, 0);
    if (v > end) end = v;
  };
  for (const task of ordered) {
    grow(task.created);
    grow(task.ended);
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
  for (const o of Array.isArray(trace.output) ? trace.output : []) {
    if (!o || typeof o !== "object") continue;
    laneFor(o.task).outputs.push(o);
    grow(o.t);
  }
  if (noTask) lanes.push(noTask);

  for (const lane of lanes) {
    const phases = lane.task && Array.isArray(lane.task.phases) ? lane.task.phases : [];
    lane.phases = phases.filter((p) => p && typeof p === "object" && PHASE_NAMES.includes(p.name));
    for (const p of lane.phases) grow(p.end);
  }

  const duration = num(trace.duration, end);
  const error = trace.error && typeof trace.error === "object" ? trace.error : null;
  return { lanes, names, domain: end > 0 ? end : 1e-3, duration, error };
}

// --------------------------------------------------------------- drawing

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
  return lines;
}

/** A byte count for people: "512 B", "12.3 KiB", "1.0 MiB". */
export function formatBytes(n) {
  n = num(n, 0);
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
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

/**
 * The waterfall of one URL-mode lane: one bar per phase of the request
 * (each phase its own colour), with a hit for the tooltip (name and times).
 */
function drawPhases(g, lane, geometry) {
  const { x, cy, barH, range, who, hits } = geometry;
  for (const p of lane.phases) {
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

function draw(container, state) {
  const { model, opts } = state;
  const previous = container.querySelector(".tl-scroll");
  const scrollTop = previous ? previous.scrollTop : 0;
  container.replaceChildren();
  container.classList.add("tl-drawn");

  const scroll = html("div", "tl-scroll", container);
  const tooltip = html("div", "tl-tooltip", container);
  tooltip.setAttribute("role", "tooltip");
  tooltip.hidden = true;

  if (model.lanes.length === 0) {
    const empty = html("p", "empty", scroll);
    empty.textContent = "Nothing to draw: the run created no tasks and printed nothing.";
    state.width = container.clientWidth;
    return;
  }

  const width = Math.max(280, scroll.clientWidth || container.clientWidth || 600);
  state.width = container.clientWidth;
  const count = model.lanes.length;
  const compact = count > 24;
  const laneH = count <= 8 ? 44 : compact ? 22 : 34;
  const barH = compact ? 10 : 14;
  const top0 = 4;
  const labelW = Math.round(Math.min(200, Math.max(96, width * 0.26)));
  const x0 = labelW + 10;
  const x1 = width - 14;
  const plotW = Math.max(40, x1 - x0);
  const domain = num(opts.domain, 0) > 0 ? Math.max(opts.domain, model.domain) : model.domain;
  const x = (t) => x0 + (Math.min(Math.max(num(t, 0), 0), domain) / domain) * plotW;
  const decimals = timeDecimals(domain);
  const fmt = (t) => `${num(t, 0).toFixed(decimals)} s`;
  const range = (a, b) => `${num(a, 0).toFixed(decimals)}\u2013${num(b, 0).toFixed(decimals)} s`;
  const ticks = ticksFor(domain, plotW);
  const lanesH = count * laneH + top0 * 2;

  // Axis: its own SVG, sticky at the top of the scrolling area.
  const axis = svg("svg", { class: "tl-axis", width, height: AXIS_H, viewBox: `0 0 ${width} ${AXIS_H}`, "aria-hidden": "true" }, scroll);
  const axisLabel = svg("text", { class: "tl-axis-title", x: 8, y: AXIS_H - 9 }, axis);
  axisLabel.textContent = str(opts.laneTitle) || "task";
  svg("line", { class: "tl-axis-line", x1: x0, x2: x1, y1: AXIS_H - 0.5, y2: AXIS_H - 0.5 }, axis);
  ticks.forEach((tick, i) => {
    const tx = x(tick.t);
    svg("line", { class: "tl-tick", x1: tx, x2: tx, y1: AXIS_H - 5, y2: AXIS_H }, axis);
    const anchor = i === 0 ? "start" : tx > x1 - 20 ? "end" : "middle";
    const label = svg("text", { class: "tl-tick-label", x: tx, y: AXIS_H - 9, "text-anchor": anchor }, axis);
    label.textContent = tick.label;
  });

  const root = svg("svg", {
    class: "tl-lanes",
    width,
    height: lanesH,
    viewBox: `0 0 ${width} ${lanesH}`,
    role: "group",
    "aria-label": `Timeline of ${count} lane${count === 1 ? "" : "s"} over ${formatDuration(domain)}`,
  }, scroll);

  // Dash patterns for waits (plain and hovered).
  const defs = svg("defs", null, root);
  for (const [id, cls] of [["tl-dash", "tl-dash"], ["tl-dash-hover", "tl-dash tl-dash-hover"]]) {
    const pattern = svg("pattern", { id, width: 7, height: 4, patternUnits: "userSpaceOnUse" }, defs);
    svg("rect", { class: cls, x: 0, y: 0, width: 4, height: 4 }, pattern);
  }

  // Grid lines behind everything.
  const grid = svg("g", { class: "tl-grid", "aria-hidden": "true" }, root);
  for (const tick of ticks) {
    const tx = x(tick.t);
    svg("line", { x1: tx, x2: tx, y1: 0, y2: lanesH }, grid);
  }

  // One element per drawn item, no per-item listeners: hovering and
  // clicking find the item under the pointer from its lane and x range
  // (lane.hits), so even thin waits and 1 px slices are easy to point at.
  const charW = compact ? 6.2 : 6.8;
  const labelChars = Math.floor((labelW - 14) / charW);
  const lineOf = (v) => (Number.isInteger(v) && v > 0 ? v : null);

  model.lanes.forEach((lane, i) => {
    const top = top0 + i * laneH;
    const cy = top + laneH / 2;
    const my = compact ? cy : cy - barH / 2 - 5;
    const hits = [];
    lane.hits = hits;
    lane.cy = cy;
    lane.my = my;
    const attrs = { class: "tl-lane" };
    if (lane.task) attrs["data-task-id"] = str(lane.id);
    else attrs["data-lane"] = "none";
    const g = svg("g", attrs, root);
    if (lane.task && lane.task.state) g.classList.add(`tl-state-${str(lane.task.state).replace(/[^a-z_]/gi, "")}`);
    svg("rect", { class: i % 2 ? "tl-lane-bg tl-odd" : "tl-lane-bg", x: 0, y: top, width, height: laneH }, g);

    // Label: task name and coroutine; focusable, Enter jumps to the line
    // that created the task.
    const isRequest = Boolean(lane.task && typeof lane.task.url === "string");
    if (isRequest) lane.coro = requestSummary(lane.task);
    const heading = lane.coro ? `${lane.name} \u00b7 ${lane.coro}` : lane.name;
    const label = svg("g", { class: "tl-label", tabindex: "0", "data-lane-index": i }, g);
    const taskLine = lane.task ? lineOf(lane.task.line) : null;
    if (taskLine) {
      label.setAttribute("role", "button");
    }
    label.setAttribute("aria-label", `${heading}. ${describeTask(lane, model, fmt).join(". ")}`);
    svg("rect", { class: "tl-label-hit", x: 0, y: top, width: labelW, height: laneH }, label);
    if (compact) {
      const t = svg("text", { class: "tl-name", x: 8, y: cy + 4 }, label);
      t.textContent = truncate(lane.name, labelChars);
      if (lane.coro && lane.name.length + 3 < labelChars) {
        const c = svg("tspan", { class: "tl-coro" }, t);
        c.textContent = " " + truncate(lane.coro, labelChars - lane.name.length - 1);
      }
    } else {
      const t = svg("text", { class: "tl-name", x: 8, y: cy - 3 }, label);
      t.textContent = truncate(lane.name, labelChars);
      const c = svg("text", { class: "tl-coro", x: 8, y: cy + 11 }, label);
      c.textContent = truncate(lane.coro, Math.floor((labelW - 14) / 6.1));
    }
    lane.labelTip = { el: label, line: taskLine, text: () => [heading, ...describeTask(lane, model, fmt)] };

    // Life line from creation to end (or to the end of the run).
    const task = lane.task;
    const ended = task ? task.ended : null;
    const open = ended === null || ended === undefined;
    if (task) {
      const created = num(task.created, 0);
      const lifeEnd = open ? domain : num(ended, domain);
      svg("line", {
        class: open ? "tl-life tl-life-open" : "tl-life",
        x1: x(created), x2: Math.max(x(lifeEnd), x(created) + 1), y1: cy, y2: cy,
      }, g);
    }
    const who = heading;
    if (lane.phases.length) drawPhases(g, lane, { x, cy, barH, range, who, hits });

    // Waits: dashed segments. Touching segments closer than a pixel share
    // one element, so dense traces stay cheap to draw.
    let lastWait = null;
    for (const w of lane.waits) {
      const a = x(w.start);
      const b = Math.max(x(w.end), a + 1);
      if (lastWait && a <= lastWait.b + 0.5 && b - a < 1) {
        lastWait.b = Math.max(lastWait.b, b);
        lastWait.el.setAttribute("width", String(lastWait.b - lastWait.a));
      } else {
        // A 2 px rect filled with a dash pattern (not a <line>, so that it
        // has a real box to point at, also for test drivers).
        lastWait = { a, b, el: svg("rect", { class: "tl-item tl-wait", x: a, y: cy - 1, width: b - a, height: 2 }, g) };
      }
      hits.push({
        kind: "wait", a, b, el: lastWait.el, line: lineOf(w.line),
        text: () => {
          let text = `waiting ${range(w.start, w.end)} (${formatDuration(num(w.end, 0) - num(w.start, 0))})`;
          if (str(w.on)) text += ` on ${str(w.on)}`;
          if (lineOf(w.line)) text += ` (line ${w.line})`;
          return [who, text];
        },
      });
    }

    // Slices: solid bars, blocking ones in the warning colour.
    const last = { run: null, block: null };
    for (const s of lane.slices) {
      const a = x(s.start);
      const b = Math.max(x(s.end), a + 2);
      const blocking = s.blocking === true;
      const key = blocking ? "block" : "run";
      const prev = last[key];
      let el;
      if (prev && a <= prev.b + 0.5 && x(s.end) - a < 1) {
        prev.b = Math.max(prev.b, b);
        prev.el.setAttribute("width", String(prev.b - prev.a));
        el = prev.el;
      } else {
        el = svg("rect", {
          class: blocking ? "tl-item tl-slice tl-blocking" : "tl-item tl-slice",
          x: a, y: cy - barH / 2, width: b - a, height: barH, rx: 2,
        }, g);
        last[key] = { a, b, el };
      }
      hits.push({
        kind: "slice", a, b, el, line: lineOf(s.line),
        text: () => {
          const lines = [who, `${blocking ? "blocking the loop" : "running"} ${range(s.start, s.end)} (${formatDuration(num(s.end, 0) - num(s.start, 0))})`];
          if (str(s.reason)) lines.push(str(s.reason));
          if (lineOf(s.line)) lines.push(`line ${s.line}`);
          return lines;
        },
      });
    }

    // Output markers (diamonds).
    const r = compact ? 3.5 : 4;
    for (const o of lane.outputs) {
      const mx = x(o.t);
      const el = svg("path", {
        class: o.stream === "stderr" ? "tl-item tl-print tl-stderr" : "tl-item tl-print",
        d: `M${mx} ${my - r}L${mx + r} ${my}L${mx} ${my + r}L${mx - r} ${my}Z`,
      }, g);
      hits.push({
        kind: "print", a: mx, b: mx, el, line: lineOf(o.line),
        text: () => {
          const text = str(o.text).replace(/\n$/, "");
          const shown = text.length > 300 ? text.slice(0, 299) + "\u2026" : text;
          return [who, `printed at ${num(o.t, 0).toFixed(3)} s${o.stream === "stderr" ? " (stderr)" : ""}: ${shown}`];
        },
      });
    }

    // End marks: red cross for an error, grey strike for a cancellation.
    if (task && !open) {
      const ex = x(ended);
      const st = str(task.state);
      if (st === "error") {
        const m = svg("g", { class: "tl-item tl-end tl-end-error" }, g);
        svg("circle", { class: "tl-end-bg", cx: ex, cy, r: 6 }, m);
        svg("path", { d: `M${ex - 3} ${cy - 3}L${ex + 3} ${cy + 3}M${ex + 3} ${cy - 3}L${ex - 3} ${cy + 3}` }, m);
        const err = task.error && typeof task.error === "object" ? task.error : null;
        // The task's own error rarely carries a line; the run's error does
        // when it is the same exception.
        const same = err && model.error && str(model.error.type) === str(err.type) ? lineOf(model.error.line) : null;
        hits.push({
          kind: "end", a: ex, b: ex, el: m, line: (err && lineOf(err.line)) || same,
          text: () => [who, `failed at ${fmt(ended)}`].concat(err ? [`${str(err.type)}: ${str(err.message)}`] : []),
        });
      } else if (st === "cancelled") {
        const m = svg("path", { class: "tl-item tl-end tl-end-cancelled", d: `M${ex} ${cy - 7}L${ex} ${cy + 7}M${ex - 4} ${cy + 5}L${ex + 4} ${cy - 5}` }, g);
        hits.push({ kind: "end", a: ex, b: ex, el: m, line: null, text: () => [who, `cancelled at ${fmt(ended)}`] });
      } else {
        svg("line", { class: "tl-end-done", x1: ex, x2: ex, y1: cy - 5, y2: cy + 5 }, g);
      }
    }
  });

  // ---- pointing: find the item under the pointer -------------------------
  const find = (clientX, clientY) => {
    const box = root.getBoundingClientRect();
    const px = clientX - box.left;
    const py = clientY - box.top;
    const index = Math.floor((py - top0) / laneH);
    const lane = model.lanes[index];
    if (!lane) return null;
    if (px < labelW) return lane.labelTip;
    let best = null;
    let bestScore = Infinity;
    for (const h of lane.hits) {
      const dist = px < h.a ? h.a - px : px > h.b ? px - h.b : 0;
      if (dist > 4) continue;
      let score = dist;
      if (h.kind === "print") score += Math.abs(py - lane.my) <= 6 ? -10 : 3;
      else if (h.kind === "end") score -= 5;
      else if (h.kind === "wait") score += 2;
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
  const select = (hit) => {
    if (hit && hit.line && typeof opts.onSelectLine === "function") opts.onSelectLine(hit.line);
  };

  scroll.addEventListener("pointermove", (event) => {
    const hit = find(event.clientX, event.clientY);
    if (hit) show(hit, event.clientX, event.clientY);
    else hide();
  });
  scroll.addEventListener("pointerleave", hide);
  scroll.addEventListener("scroll", hide, { passive: true });
  scroll.addEventListener("click", (event) => select(find(event.clientX, event.clientY)));
  const labelHit = (target) => {
    const node = target instanceof Element ? target.closest("[data-lane-index]") : null;
    return node ? model.lanes[Number(node.getAttribute("data-lane-index"))].labelTip : null;
  };
  scroll.addEventListener("focusin", (event) => {
    const hit = labelHit(event.target);
    if (!hit) return;
    const r = hit.el.getBoundingClientRect();
    show(hit, r.left + labelW - 8, r.top + r.height / 2);
  });
  scroll.addEventListener("focusout", hide);
  scroll.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" && event.key !== " ") return;
    const hit = labelHit(event.target);
    if (hit && hit.line) {
      event.preventDefault();
      select(hit);
    }
  });

  scroll.scrollTop = scrollTop;
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

/**
 * Draw trace into container. options.onSelectLine(line) is called when a
 * slice, wait, marker or label that carries a snippet line is clicked.
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
  draw(container, state);
  performance.measure("timeline-render", "timeline-render-start");
  observe(container, state);
  return { redraw: () => draw(container, state) };
}

/** Replace the timeline with a short message (no trace drawn). */
export function clearTimeline(container, message) {
  const state = states.get(container);
  if (state) state.model = null;
  container.classList.remove("tl-drawn");
  const p = document.createElement("p");
  p.className = "empty";
  p.textContent = message;
  container.replaceChildren(p);
}
