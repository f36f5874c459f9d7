// A picture of a run's timeline to keep or share: a standalone SVG file
// (colours written into it, so it looks the same anywhere) or a PNG made
// from that SVG. It draws what the page shows of the run: the time window
// zoomed to and the lanes not folded away (up to MAX_LANES), on an axis of
// 1-2-5 ticks, with its legend drawn (picture-legend.js).

import { svgElement as el } from "../lib/dom.js";
import { download } from "../lib/download.js";
import { formatDuration, shorten, shortenMiddle } from "../lib/format.js";
import { asObject, isMissing, num, str } from "../lib/values.js";
import { ticksFor } from "../timeline/axis.js";
import { shownView } from "../timeline/index.js";
import { PHASE_NAMES, buildModel, scheduledOf } from "../timeline/model.js";
import { hostPort } from "../lib/connections.js";
import { drawLegend, legendHeight, legendKeys } from "./picture-legend.js";

const SVG_NS = "http://www.w3.org/2000/svg";
const MAX_LANES = 400;
const LANE_H = 26;
const TITLE_H = 26;
const AXIS_H = 22;
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
    phases: new Map(PHASE_NAMES.map((name) => [name, get(`--c-${name}`, "#1c7ed6")])),
  };
}

function text(parent, attrs, content) {
  const node = el("text", { "font-family": "system-ui, sans-serif", ...attrs }, parent);
  node.textContent = content;
  return node;
}

/**
 * What the picture of trace draws: what a timeline on the page shows of it
 * (its window and unfolded lanes), else the whole run and every lane.
 */
function pictureView(trace) {
  const shown = shownView(trace);
  if (shown) return { ...shown, zoomed: shown.t0 > 0 || shown.t1 < shown.model.domain };
  const model = buildModel(asObject(trace) || {});
  return { model, t0: 0, t1: model.domain, rows: model.lanes, zoomed: false };
}

/** The timeline of trace as a standalone SVG element: the view the page shows of it. */
export function timelineSvg(trace, title = "asyncio playground") {
  const { model, t0, t1, rows, zoomed } = pictureView(trace);
  const c = palette();
  const lanes = rows.slice(0, MAX_LANES);
  const cut = rows.length - lanes.length;
  const urls = model.lanes.some((lane) => lane.task && typeof lane.task.url === "string");
  const keys = legendKeys({ urls, network: model.lanes.some((lane) => lane.net) });
  const plotTop = TITLE_H + AXIS_H;
  const bottom = plotTop + lanes.length * LANE_H;
  const height = bottom + 10 + legendHeight(keys, WIDTH) + (cut ? 18 : 0) + 6;
  const root = el("svg", { xmlns: SVG_NS, width: WIDTH, height, viewBox: `0 0 ${WIDTH} ${height}` });
  el("rect", { x: 0, y: 0, width: WIDTH, height, fill: c.bg }, root);
  const x0 = LABEL_W + 10;
  const x1 = WIDTH - 16;
  const span = Math.max(t1 - t0, 1e-9);
  const x = (t) => x0 + ((num(t, 0) - t0) / span) * (x1 - x0);
  const shownSpan = zoomed ? ` \u00b7 showing ${formatDuration(Math.max(0, t0))} \u2013 ${formatDuration(t1)}` : "";
  text(root, { x: 10, y: 18, "font-size": 13, "font-weight": 700, fill: c.text },
    `${title} \u00b7 ${formatDuration(model.duration)} \u00b7 ${rows.length} lanes${shownSpan}`);
  drawAxis(root, { t0, t1, x, x0, x1, c, top: plotTop, bottom });
  const clip = el("clipPath", { id: "plot" }, el("defs", {}, root));
  el("rect", { x: x0 - 6, y: plotTop - 14, width: x1 - x0 + 12, height: bottom - plotTop + 14 }, clip);
  lanes.forEach((lane, i) => drawLane(root, lane, plotTop + i * LANE_H, { odd: i % 2, domain: model.domain, x, c }));
  if (model.cutAt !== null && model.cutAt >= t0 && model.cutAt <= t1) {
    const cx = x(model.cutAt);
    el("line", { x1: cx, x2: cx, y1: plotTop - 14, y2: bottom, stroke: c.blockingEdge, "stroke-dasharray": "5 3", "stroke-width": 1.5 }, root);
    text(root, { x: cx - 4, y: plotTop - 16, "font-size": 10, "text-anchor": "end", fill: c.blockingEdge }, "trace cut here");
  }
  drawLegend(root, keys, { top: bottom + 10, width: WIDTH, c });
  if (cut) text(root, { x: 10, y: height - 10, "font-size": 10, fill: c.muted }, `\u2026 and ${cut} more lanes not drawn`);
  return root;
}

/** The axis of the window [t0, t1]: a grid line and a time at each 1-2-5 tick (0.1, 0.2, 0.5 s...). */
function drawAxis(root, { t0, t1, x, x0, x1, c, top, bottom }) {
  for (const tick of ticksFor(t0, t1, x1 - x0)) {
    const tx = x(tick.t);
    el("line", { x1: tx, x2: tx, y1: top, y2: bottom, stroke: c.grid }, root);
    const anchor = tx - x0 < 20 ? "start" : x1 - tx < 20 ? "end" : "middle";
    text(root, { x: tx, y: top - 6, "font-size": 10, fill: c.muted, "text-anchor": anchor }, tick.label);
  }
}

/** One lane at top: its label, lifetime, scheduled stretches, waits, phases, slices, output and end. */
function drawLane(picture, lane, top, { odd, domain, x, c }) {
  const cy = top + LANE_H / 2;
  if (odd) el("rect", { x: 0, y: top, width: WIDTH, height: LANE_H, fill: c.odd }, picture);
  const indent = Math.min(lane.depth, 6) * 10;
  const isRequest = Boolean(lane.task && typeof lane.task.url === "string");
  const name = (isRequest ? shortenMiddle : shorten)(str(lane.name), 28 - Math.min(lane.depth, 6));
  const label = text(picture, { x: 8 + indent, y: cy + 4, "font-size": 11, "font-weight": 600, fill: c.text }, name);
  const coro = isRequest ? "" : lane.coro;
  if (coro && name.length < 24) {
    const span = el("tspan", { "font-weight": 400, fill: c.muted, "font-family": "ui-monospace, monospace" }, label);
    span.textContent = ` ${shorten(coro, 28 - name.length)}`;
  }
  // What is drawn in time is clipped to the window shown.
  const root = el("g", { "clip-path": "url(#plot)" }, picture);
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
    el("rect", { x: x(p.start), y: cy - 6, width: Math.max(1.5, x(p.end) - x(p.start)), height: 12, fill: c.phases.get(p.name) || c.running }, root);
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

/** A network row's connections: a line each, its phases in their colours, its host:port, a red dot where one failed. */
function drawConnections(root, lane, cy, { x, c }) {
  for (const conn of lane.net.connections) {
    const a = x(conn.start);
    const b = Math.max(x(conn.end), a + 1);
    el("line", { x1: a, x2: b, y1: cy, y2: cy, stroke: conn.error ? c.error : c.waiting, "stroke-width": 1.5 }, root);
    for (const p of conn.phases) {
      if (!c.phases.has(p.name)) continue;
      el("rect", { x: x(p.start), y: cy - 5, width: Math.max(1.5, x(p.end) - x(p.start)), height: 10, fill: c.phases.get(p.name) }, root);
    }
    if (conn.error) el("circle", { cx: b, cy, r: 4, fill: c.error }, root);
    text(root, { x: a + 2, y: cy + 12, "font-size": 9, fill: conn.error ? c.error : c.muted }, shorten(hostPort(conn), 40));
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
