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
  const d = Math.ceil(-Math.log10(domain)) + 4;
  return Math.min(7, Math.max(3, Number.isFinite(d) ? d : 4));
}

function niceStep(raw) {
  const pow = Math.pow(10, Math.floor(Math.log10(raw)));
  const f = raw / pow;
  const m = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
  return m * pow;
}

function axisUnit(domain) {
  if (domain >= 1) return { scale: 1, name: "s" };
  if (domain >= 1e-3) return { scale: 1e3, name: "ms" };
  return { scale: 1e6, name: "\u00b5s" };
}

function ticksFor(domain, plotWidth) {
  const target = Math.max(2, Math.min(10, Math.floor(plotWidth / 80)));
  const step = niceStep(domain / target);
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

  const duration = num(trace.duration, end);
  return { lanes, names, domain: end > 0 ? end : 1e-3, duration };
}

// --------------------------------------------------------------- drawing

function describeTask(lane, model, fmt) {
  const task = lane.task;
  if (!task) return ["Prints and callbacks that ran outside any task."];
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
  const labelW = Math.round(Math.min(200, Math.max(96, width * 0.26)));
  const x0 = labelW + 10;
  const x1 = width - 14;
  const plotW = Math.max(40, x1 - x0);
  const domain = model.domain;
  const x = (t) => x0 + (Math.min(Math.max(num(t, 0), 0), domain) / domain) * plotW;
  const decimals = timeDecimals(domain);
  const fmt = (t) => `${num(t, 0).toFixed(decimals)} s`;
  const range = (a, b) => `${num(a, 0).toFixed(decimals)}\u2013${num(b, 0).toFixed(decimals)} s`;
  const ticks = ticksFor(domain, plotW);
  const lanesH = count * laneH + 8;

  // Axis: its own SVG, sticky at the top of the scrolling area.
  const axis = svg("svg", { class: "tl-axis", width, height: AXIS_H, viewBox: `0 0 ${width} ${AXIS_H}`, "aria-hidden": "true" }, scroll);
  const axisLabel = svg("text", { class: "tl-axis-title", x: 8, y: AXIS_H - 9 }, axis);
  axisLabel.textContent = "task";
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

  // Grid lines behind everything.
  const grid = svg("g", { class: "tl-grid", "aria-hidden": "true" }, root);
  for (const tick of ticks) {
    const tx = x(tick.t);
    svg("line", { x1: tx, x2: tx, y1: 0, y2: lanesH }, grid);
  }

  const tips = [];
  const tip = (node, title, lines, line) => {
    node.setAttribute("data-tip", String(tips.length));
    tips.push({ title, lines });
    if (line !== null && line !== undefined && Number.isFinite(Number(line)) && Number(line) > 0) {
      node.setAttribute("data-line", String(Number(line)));
      node.classList.add("tl-clickable");
    }
  };
  const charW = compact ? 6.2 : 6.8;
  const labelChars = Math.floor((labelW - 14) / charW);

  model.lanes.forEach((lane, i) => {
    const top = 4 + i * laneH;
    const cy = top + laneH / 2;
    const attrs = { class: "tl-lane" };
    if (lane.task) attrs["data-task-id"] = str(lane.id);
    else attrs["data-lane"] = "none";
    const g = svg("g", attrs, root);
    if (lane.task && lane.task.state) g.classList.add(`tl-state-${str(lane.task.state).replace(/[^a-z_]/gi, "")}`);
    svg("rect", { class: i % 2 ? "tl-lane-bg tl-odd" : "tl-lane-bg", x: 0, y: top, width, height: laneH }, g);

    // Label: task name and coroutine.
    const label = svg("g", { class: "tl-label", tabindex: "0", role: "button" }, g);
    svg("rect", { class: "tl-label-hit", x: 0, y: top, width: labelW, height: laneH }, label);
    const heading = lane.coro ? `${lane.name} \u00b7 ${lane.coro}` : lane.name;
    label.setAttribute("aria-label", `${heading}. ${describeTask(lane, model, fmt).join(". ")}`);
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
    tip(label, heading, describeTask(lane, model, fmt), lane.task ? lane.task.line : null);

    // Life line from creation to end (or to the end of the run).
    const task = lane.task;
    const created = task ? num(task.created, 0) : 0;
    const ended = task ? task.ended : null;
    const lifeEnd = ended === null || ended === undefined ? model.domain : num(ended, model.domain);
    if (task) {
      svg("line", {
        class: ended === null || ended === undefined ? "tl-life tl-life-open" : "tl-life",
        x1: x(created), x2: Math.max(x(lifeEnd), x(created) + 1), y1: cy, y2: cy,
      }, g);
    }

    const who = lane.coro && lane.task ? `${lane.name} \u00b7 ${lane.coro}` : lane.name;

    // Waits: dashed segments, with a taller invisible hit area.
    for (const w of lane.waits) {
      const a = x(w.start);
      const b = Math.max(x(w.end), a + 1);
      const wg = svg("g", { class: "tl-item tl-wait" }, g);
      svg("rect", { class: "tl-hit", x: a, y: cy - barH / 2 - 2, width: Math.max(b - a, 6), height: barH + 4 }, wg);
      svg("line", { class: "tl-wait-line", x1: a, x2: b, y1: cy, y2: cy }, wg);
      const on = str(w.on);
      let text = `waiting ${range(w.start, w.end)} (${formatDuration(num(w.end, 0) - num(w.start, 0))})`;
      if (on) text += ` on ${on}`;
      if (w.line !== null && w.line !== undefined) text += ` (line ${str(w.line)})`;
      tip(wg, who, [text], w.line);
    }

    // Slices: solid bars, blocking ones in the warning colour.
    for (const s of lane.slices) {
      const a = x(s.start);
      const b = Math.max(x(s.end), a + 2);
      const blocking = s.blocking === true;
      const rect = svg("rect", {
        class: blocking ? "tl-item tl-slice tl-blocking" : "tl-item tl-slice",
        x: a, y: cy - barH / 2, width: b - a, height: barH, rx: 2,
      }, g);
      const lines = [`${blocking ? "blocking the loop" : "running"} ${range(s.start, s.end)} (${formatDuration(num(s.end, 0) - num(s.start, 0))})`];
      if (str(s.reason)) lines.push(str(s.reason));
      if (s.line !== null && s.line !== undefined) lines.push(`line ${str(s.line)}`);
      tip(rect, who, lines, s.line);
    }

    // Output markers.
    const my = compact ? cy : cy - barH / 2 - 5;
    for (const o of lane.outputs) {
      const mx = x(o.t);
      const r = compact ? 3.5 : 4;
      const marker = svg("path", {
        class: o.stream === "stderr" ? "tl-item tl-print tl-stderr" : "tl-item tl-print",
        d: `M${mx} ${my - r}L${mx + r} ${my}L${mx} ${my + r}L${mx - r} ${my}Z`,
      }, g);
      const text = str(o.text).replace(/\n$/, "");
      const shown = text.length > 200 ? text.slice(0, 199) + "\u2026" : text;
      tip(marker, who, [`printed at ${num(o.t, 0).toFixed(3)} s${o.stream === "stderr" ? " (stderr)" : ""}: ${shown}`], o.line);
    }

    // End marks: red cross for an error, grey strike for a cancellation.
    if (task && ended !== null && ended !== undefined) {
      const ex = x(ended);
      const st = str(task.state);
      if (st === "error") {
        const m = svg("g", { class: "tl-item tl-end tl-end-error" }, g);
        svg("circle", { class: "tl-end-bg", cx: ex, cy, r: 6 }, m);
        svg("path", { d: `M${ex - 3} ${cy - 3}L${ex + 3} ${cy + 3}M${ex + 3} ${cy - 3}L${ex - 3} ${cy + 3}` }, m);
        const err = task.error && typeof task.error === "object" ? `${str(task.error.type)}: ${str(task.error.message)}` : "";
        tip(m, who, [`failed at ${fmt(ended)}`].concat(err ? [err] : []), task.error && task.error.line);
      } else if (st === "cancelled") {
        const m = svg("g", { class: "tl-item tl-end tl-end-cancelled" }, g);
        svg("rect", { class: "tl-hit", x: ex - 6, y: cy - 8, width: 12, height: 16 }, m);
        svg("path", { d: `M${ex} ${cy - 7}L${ex} ${cy + 7}M${ex - 4} ${cy + 5}L${ex + 4} ${cy - 5}` }, m);
        tip(m, who, [`cancelled at ${fmt(ended)}`], null);
      } else {
        svg("line", { class: "tl-end-done", x1: ex, x2: ex, y1: cy - 5, y2: cy + 5 }, g);
      }
    }
  });

  // Tooltips and clicks, by delegation.
  let current = null;
  const show = (node, clientX, clientY) => {
    const info = tips[Number(node.getAttribute("data-tip"))];
    if (!info) return;
    if (current !== node) {
      current = node;
      tooltip.replaceChildren();
      const head = html("div", "tl-tooltip-title", tooltip);
      head.textContent = info.title;
      for (const line of info.lines) html("div", "tl-tooltip-line", tooltip).textContent = line;
      if (node.hasAttribute("data-line")) html("div", "tl-tooltip-hint", tooltip).textContent = "click to show the line in the editor";
      tooltip.hidden = false;
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
    current = null;
    tooltip.hidden = true;
  };
  scroll.addEventListener("pointermove", (event) => {
    const node = event.target instanceof Element ? event.target.closest("[data-tip]") : null;
    if (node) show(node, event.clientX, event.clientY);
    else hide();
  });
  scroll.addEventListener("pointerleave", hide);
  scroll.addEventListener("scroll", hide, { passive: true });
  scroll.addEventListener("focusin", (event) => {
    const node = event.target instanceof Element ? event.target.closest("[data-tip]") : null;
    if (!node) return;
    const r = node.getBoundingClientRect();
    show(node, r.left + Math.min(r.width, labelW) - 8, r.top + r.height / 2);
  });
  scroll.addEventListener("focusout", hide);
  const select = (node) => {
    const line = Number(node.getAttribute("data-line"));
    if (line > 0 && typeof opts.onSelectLine === "function") opts.onSelectLine(line);
  };
  scroll.addEventListener("click", (event) => {
    const node = event.target instanceof Element ? event.target.closest("[data-line]") : null;
    if (node) select(node);
  });
  scroll.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" && event.key !== " ") return;
    const node = event.target instanceof Element ? event.target.closest("[data-line]") : null;
    if (node) {
      event.preventDefault();
      select(node);
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
