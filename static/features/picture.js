// A picture of a run's timeline to keep or share: a standalone SVG file
// (colours written into it, so it looks the same anywhere) or a PNG made
// from that SVG. All lanes are drawn over the whole run, up to MAX_LANES.

import { svgElement as el } from "../lib/dom.js";
import { download } from "../lib/download.js";
import { formatDuration } from "../lib/format.js";
import { asObject, isMissing, num, str } from "../lib/values.js";
import { axisUnit } from "../timeline/axis.js";
import { PHASE_NAMES, buildModel, scheduledOf } from "../timeline/model.js";
import { hostPort } from "../lib/connections.js";

const SVG_NS = "http://www.w3.org/2000/svg";
const MAX_LANES = 400;
const LANE_H = 26;
const AXIS_H = 30;
const LABEL_W = 190;
const WIDTH = 1200;

function palette() {
  const css = getComputedStyle(document.documentElement);
  const get = (name, fallback) => css.getPropertyValue(name).trim() || fallback;
  return {
    bg: get("--panel", "#ffffff"), text: get("--text", "#18202e"), muted: get("--muted", "#566172"),
    grid: get("--grid", "#e9edf3"), life: get("--life", "#c3cad6"), running: get("--c-running", "#4f46e5"),
    waiting: get("--c-waiting", "#8a97ab"), blocking: get("--c-blocking", "#f59e0b"),
    blockingEdge: get("--c-blocking-edge", "#b45309"), printed: get("--c-printed", "#0d9488"),
    error: get("--c-error", "#dc2626"), cancelled: get("--c-cancelled", "#6b7280"),
    scheduled: get("--c-scheduled", "#a78bfa"), odd: get("--lane-odd", "#f8fafc"), thread: get("--c-thread", "#0e7490"),
  };
}

function text(parent, attrs, content) {
  const node = el("text", { "font-family": "system-ui, sans-serif", ...attrs }, parent);
  node.textContent = content;
  return node;
}

/** The timeline of trace as a standalone SVG element. */
export function timelineSvg(trace, title = "asyncio playground") {
  const model = buildModel(asObject(trace) || {});
  const c = palette();
  const lanes = model.lanes.slice(0, MAX_LANES);
  const cut = model.lanes.length - lanes.length;
  const height = AXIS_H + lanes.length * LANE_H + 34 + (cut ? 16 : 0);
  const root = el("svg", { xmlns: SVG_NS, width: WIDTH, height, viewBox: `0 0 ${WIDTH} ${height}` });
  el("rect", { x: 0, y: 0, width: WIDTH, height, fill: c.bg }, root);
  const x0 = LABEL_W + 10;
  const x1 = WIDTH - 16;
  const domain = model.domain;
  const x = (t) => x0 + (Math.min(Math.max(num(t, 0), 0), domain) / domain) * (x1 - x0);
  text(root, { x: 10, y: 18, "font-size": 13, "font-weight": 700, fill: c.text }, `${title} \u00b7 ${formatDuration(model.duration)} \u00b7 ${model.lanes.length} lanes`);
  drawAxis(root, { domain, x, c, bottom: AXIS_H + lanes.length * LANE_H });
  lanes.forEach((lane, i) => drawLane(root, lane, AXIS_H + i * LANE_H, { odd: i % 2, domain, x, c }));
  if (model.cutAt !== null) {
    const cx = x(model.cutAt);
    el("line", { x1: cx, x2: cx, y1: AXIS_H - 14, y2: AXIS_H + lanes.length * LANE_H, stroke: c.blockingEdge, "stroke-dasharray": "5 3", "stroke-width": 1.5 }, root);
    text(root, { x: cx - 4, y: AXIS_H - 16, "font-size": 10, "text-anchor": "end", fill: c.blockingEdge }, "trace cut here");
  }
  const foot = AXIS_H + lanes.length * LANE_H + 20;
  text(root, { x: 10, y: foot, "font-size": 10, fill: c.muted },
    "running \u25ac  waiting - - -  blocking (amber)  scheduled (violet)  in a thread (cyan)  printed \u25c6  error \u25cf  cancelled /");
  if (cut) text(root, { x: 10, y: foot + 16, "font-size": 10, fill: c.muted }, `\u2026 and ${cut} more lanes not drawn`);
  return root;
}

/** Eight steps of the run, each a grid line with its time. */
function drawAxis(root, { domain, x, c, bottom }) {
  const unit = axisUnit(domain);
  const steps = 8;
  for (let i = 0; i <= steps; i++) {
    const t = (domain * i) / steps;
    const tx = x(t);
    el("line", { x1: tx, x2: tx, y1: AXIS_H, y2: bottom, stroke: c.grid }, root);
    text(root, { x: tx, y: AXIS_H - 4, "font-size": 10, fill: c.muted, "text-anchor": i === 0 ? "start" : i === steps ? "end" : "middle" },
      `${Number((t * unit.scale).toPrecision(3))} ${unit.name}`);
  }
}

/** One lane at top: its label, lifetime, scheduled stretches, waits, phases, slices, output and end. */
function drawLane(root, lane, top, { odd, domain, x, c }) {
  const cy = top + LANE_H / 2;
  if (odd) el("rect", { x: 0, y: top, width: WIDTH, height: LANE_H, fill: c.odd }, root);
  const indent = Math.min(lane.depth, 6) * 10;
  const label = text(root, { x: 8 + indent, y: cy + 4, "font-size": 11, "font-weight": 600, fill: c.text }, str(lane.name).slice(0, 26));
  const coro = lane.task && typeof lane.task.url === "string" ? "" : lane.coro;
  if (coro) {
    const span = el("tspan", { "font-weight": 400, fill: c.muted, "font-family": "ui-monospace, monospace" }, label);
    span.textContent = ` ${coro.slice(0, Math.max(0, 28 - str(lane.name).length))}`;
  }
  const task = lane.task;
  if (task) {
    const ended = isMissing(task.ended) ? domain : num(task.ended, domain);
    el("line", { x1: x(task.created), x2: Math.max(x(ended), x(task.created) + 1), y1: cy, y2: cy, stroke: c.life, "stroke-width": 1.5 }, root);
  }
  for (const s of scheduledOf(lane)) {
    el("rect", { x: x(s.start), y: cy - 3, width: Math.max(1, x(s.end) - x(s.start)), height: 6, fill: c.scheduled, opacity: 0.45 }, root);
  }
  for (const w of lane.waits) {
    el("line", { x1: x(w.start), x2: Math.max(x(w.end), x(w.start) + 1), y1: cy, y2: cy, stroke: c.waiting, "stroke-width": 2, "stroke-dasharray": "4 3" }, root);
  }
  for (const p of lane.phases) {
    el("rect", { x: x(p.start), y: cy - 6, width: Math.max(1.5, x(p.end) - x(p.start)), height: 12, fill: c.running, opacity: 0.35 + 0.09 * PHASE_NAMES.indexOf(p.name) }, root);
  }
  for (const s of lane.slices) {
    const blocking = s.blocking === true;
    el("rect", {
      x: x(s.start), y: cy - 6, width: Math.max(2, x(s.end) - x(s.start)), height: 12, rx: 2,
      fill: blocking ? c.blocking : c.running, stroke: blocking ? c.blockingEdge : "none",
    }, root);
  }
  for (const job of lane.jobs) {
    el("rect", { x: x(job.start), y: cy - 6, width: Math.max(2, x(job.end) - x(job.start)), height: 12, rx: 2, fill: job.error ? c.error : c.thread }, root);
  }
  if (lane.net) drawConnections(root, lane, cy, { x, c });
  for (const { o } of lane.outputs) {
    const mx = x(o.t);
    el("path", { d: `M${mx} ${cy - 12}L${mx + 4} ${cy - 8}L${mx} ${cy - 4}L${mx - 4} ${cy - 8}Z`, fill: o.stream === "stderr" ? c.error : c.printed }, root);
  }
  if (task && !isMissing(task.ended)) {
    const ex = x(task.ended);
    if (task.state === "error") el("circle", { cx: ex, cy, r: 5, fill: c.error }, root);
    else if (task.state === "cancelled") el("line", { x1: ex - 3, x2: ex + 3, y1: cy + 6, y2: cy - 6, stroke: c.cancelled, "stroke-width": 2 }, root);
  }
}

/** The request phases' colours (css/base.css), read once per picture. */
function phaseColours() {
  const css = getComputedStyle(document.documentElement);
  return new Map(PHASE_NAMES.map((name) => [name, css.getPropertyValue(`--c-${name}`).trim() || "#1c7ed6"]));
}

/** A network row's connections: a line each, its phases in their colours, its host:port, a red dot where one failed. */
function drawConnections(root, lane, cy, { x, c }) {
  if (!c.phases) c.phases = phaseColours();
  for (const conn of lane.net.connections) {
    const a = x(conn.start);
    const b = Math.max(x(conn.end), a + 1);
    el("line", { x1: a, x2: b, y1: cy, y2: cy, stroke: conn.error ? c.error : c.waiting, "stroke-width": 1.5 }, root);
    for (const p of conn.phases) {
      if (!c.phases.has(p.name)) continue;
      el("rect", { x: x(p.start), y: cy - 5, width: Math.max(1.5, x(p.end) - x(p.start)), height: 10, fill: c.phases.get(p.name) }, root);
    }
    if (conn.error) el("circle", { cx: b, cy, r: 4, fill: c.error }, root);
    text(root, { x: a + 2, y: cy + 12, "font-size": 9, fill: conn.error ? c.error : c.muted }, hostPort(conn).slice(0, 40));
  }
}

export function svgText(trace) {
  return new XMLSerializer().serializeToString(timelineSvg(trace));
}

export function downloadSvg(trace, filename = "asyncio-timeline.svg") {
  download(new Blob([svgText(trace)], { type: "image/svg+xml" }), filename);
}

/** The same picture as a PNG, at twice the size for sharp screens. */
export function downloadPng(trace, filename = "asyncio-timeline.png") {
  const source = timelineSvg(trace);
  const width = Number(source.getAttribute("width"));
  const height = Number(source.getAttribute("height"));
  const url = URL.createObjectURL(new Blob([new XMLSerializer().serializeToString(source)], { type: "image/svg+xml" }));
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = () => {
      const canvas = document.createElement("canvas");
      canvas.width = width * 2;
      canvas.height = height * 2;
      const context = canvas.getContext("2d");
      context.scale(2, 2);
      context.drawImage(image, 0, 0);
      URL.revokeObjectURL(url);
      canvas.toBlob((blob) => {
        if (!blob) {
          reject(new Error("The browser could not make a PNG."));
          return;
        }
        download(blob, filename);
        resolve();
      }, "image/png");
    };
    image.onerror = () => {
      URL.revokeObjectURL(url);
      reject(new Error("The browser could not draw the picture."));
    };
    image.src = url;
  });
}
