// Drawing a timeline's current view: the axis with its ticks, then only the
// lanes in view (plus a margin; the rest are a spacer), so a trace of 20,000
// tasks scrolls as quickly as one of 20, then the replay cursor, which moves
// alone (placeCursor) when only it changes.

import { emptyNote, svgElement as svg } from "../lib/dom.js";
import { formatDuration, plural } from "../lib/format.js";
import { num, str } from "../lib/values.js";
import { axisUnit, ticksFor, timeDecimals } from "./axis.js";
import { AXIS_H, buildFrame, layout, visibleRows } from "./frame.js";
import { drawLane } from "./lane.js";

const OVERSCAN = 8;
export const MIN_SPAN = 1e-7;

/** Draw state's view of its model into container (the frame is built if it is not there). */
export function draw(container, state) {
  // Measured before anything is drawn: a measure after a change lays out the page.
  state.width = container.clientWidth;
  if (!state.frame || state.frame.scroll.parentNode !== container) state.frame = buildFrame(container, state);
  state.rows = visibleRows(state);
  const geo = layout(state, state.width);
  state.geo = geo;
  state.band = null;
  state.cursorMarks = null;
  if (state.model.lanes.length === 0) {
    drawNothing(state.frame);
    return;
  }
  const scale = timeScale(state.view, geo);
  state.scale = scale;
  const { range, canvas } = state.frame;
  range.textContent = `showing ${formatDuration(Math.max(0, scale.t0))} \u2013 ${formatDuration(scale.t1)}`;
  range.dataset.unit = axisUnit(scale.span).name;
  canvas.style.height = `${AXIS_H + state.rows.length * geo.laneH + 8}px`;
  canvas.style.width = `${geo.width}px`;

  const ticks = ticksFor(scale.t0, scale.t1, geo.plotW);
  drawAxis(state, geo, scale, ticks);
  const band = drawBand(state, geo, scale, ticks);
  const view = { first: band.first, model: state.model, collapsed: state.collapsed, flashed: state.flashed, geo, scale };
  for (let row = band.first; row < band.last; row++) drawLane(band.root, state.rows[row], row, view);
  if (state.model.cutAt !== null) drawCut(band, geo, scale, state.model.cutAt);
  state.band = band;
  placeCursor(state);
}

function drawNothing({ lanes, axis, canvas, scroll }) {
  lanes.replaceChildren();
  axis.replaceChildren();
  canvas.style.height = "0px";
  let empty = scroll.querySelector(".empty");
  if (!empty) empty = scroll.appendChild(emptyNote(""));
  empty.textContent = "Nothing to draw: the run created no tasks and printed nothing.";
}

/** Times to pixels and to text, for the view {t0, t1} at these sizes. */
function timeScale({ t0, t1 }, { x0, plotW }) {
  const span = Math.max(MIN_SPAN, t1 - t0);
  const decimals = timeDecimals(span);
  return {
    t0, t1, span,
    x: (t) => x0 + ((num(t, 0) - t0) / span) * plotW,
    visible: (a, b) => num(b, a) >= t0 && num(a, 0) <= t1,
    fmt: (t) => `${num(t, 0).toFixed(decimals)} s`,
    range: (a, b) => `${num(a, 0).toFixed(decimals)}\u2013${num(b, 0).toFixed(decimals)} s`,
  };
}

/** The axis, sticky at the top of the scrolling area: its title and ticks (placeCursor adds the replay cursor's head). */
function drawAxis(state, { width, x0, x1 }, { x }, ticks) {
  const { axis } = state.frame;
  axis.replaceChildren();
  axis.setAttribute("width", String(width));
  axis.setAttribute("height", String(AXIS_H));
  axis.setAttribute("viewBox", `0 0 ${width} ${AXIS_H}`);
  const title = svg("text", { class: "tl-axis-title", x: 8, y: AXIS_H - 9 }, axis);
  title.textContent = str(state.opts.laneTitle) || "task";
  svg("line", { class: "tl-axis-line", x1: x0, x2: x1, y1: AXIS_H - 0.5, y2: AXIS_H - 0.5 }, axis);
  for (const tick of ticks) {
    const tx = x(tick.t);
    svg("line", { class: "tl-tick", x1: tx, x2: tx, y1: AXIS_H - 5, y2: AXIS_H }, axis);
    const anchor = tx < x0 + 20 ? "start" : tx > x1 - 20 ? "end" : "middle";
    const label = svg("text", { class: "tl-tick-label", x: tx, y: AXIS_H - 9, "text-anchor": anchor }, axis);
    label.textContent = tick.label;
  }
  const { cutAt } = state.model;
  if (cutAt !== null && x(cutAt) >= x0 && x(cutAt) <= x1) {
    const cx = x(cutAt);
    svg("line", { class: "tl-cut", x1: cx, x2: cx, y1: 0, y2: AXIS_H }, axis);
    const room = x1 - cx > 110;
    // Over the tick labels it may cover: the cut says more about what is drawn.
    const labelW = 80;
    svg("rect", { class: "tl-cut-label-bg", x: room ? cx + 1 : cx - labelW - 1, y: 0, width: labelW, height: 12 }, axis);
    const label = svg("text", { class: "tl-cut-label", x: room ? cx + 4 : cx - 4, y: 9, "text-anchor": room ? "start" : "end" }, axis);
    label.textContent = "trace cut here";
  }
}

/**
 * Ready the lanes SVG for the rows in view (plus OVERSCAN): size it, place it
 * at their offset, add the patterns, the plot's clip and the grid. Returns
 * {root, first, last, height}: the SVG and the rows [first, last) to draw.
 */
function drawBand(state, { width, laneH, x0, plotW }, { x }, ticks) {
  const root = state.frame.lanes;
  const [first, last] = rowsInView(state);
  state.drawnRows = [first, last];
  const height = Math.max(1, (last - first) * laneH + 8);
  root.replaceChildren();
  root.setAttribute("width", String(width));
  root.setAttribute("height", String(height));
  root.setAttribute("viewBox", `0 0 ${width} ${height}`);
  root.style.top = `${AXIS_H + first * laneH}px`;
  const { cutAt } = state.model;
  const cutWords = cutAt === null ? "" : `; the trace was cut at ${formatDuration(cutAt)}, and the steps and waits after it are not drawn`;
  root.setAttribute("aria-label", `Timeline of ${plural(state.model.lanes.length, "lane")} over ${formatDuration(state.model.domain)}${cutWords}`);

  const defs = svg("defs", null, root);
  for (const [id, cls] of [["tl-dash", "tl-dash"], ["tl-dash-hover", "tl-dash tl-dash-hover"]]) {
    const pattern = svg("pattern", { id, width: 7, height: 4, patternUnits: "userSpaceOnUse" }, defs);
    svg("rect", { class: cls, x: 0, y: 0, width: 4, height: 4 }, pattern);
  }
  const hatch = svg("pattern", { id: "tl-hatch", width: 6, height: 6, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" }, defs);
  svg("rect", { class: "tl-hatch-line", x: 0, y: 0, width: 2, height: 6 }, hatch);
  const clip = svg("clipPath", { id: "tl-plot-clip" }, defs);
  svg("rect", { x: x0, y: 0, width: plotW, height }, clip);

  const grid = svg("g", { class: "tl-grid", "aria-hidden": "true" }, root);
  for (const tick of ticks) {
    const tx = x(tick.t);
    svg("line", { x1: tx, x2: tx, y1: 0, y2: height }, grid);
  }
  return { root, first, last, height };
}

/** The rows [first, last) scrolled into view, with OVERSCAN more on each side. */
export function rowsInView(state) {
  const { scroll } = state.frame;
  const { laneH } = state.geo;
  const viewTop = Math.max(0, scroll.scrollTop - AXIS_H);
  const first = Math.max(0, Math.floor(viewTop / laneH) - OVERSCAN);
  const last = Math.min(state.rows.length, Math.ceil((viewTop + (scroll.clientHeight || 400)) / laneH) + OVERSCAN);
  return [first, last];
}

/** A cut trace: past the cut, the steps and waits are not all there; a line marks it and the rest is greyed. */
function drawCut({ root, height }, { x0, x1 }, { x }, cutAt) {
  const cx = x(cutAt);
  if (cx > x1) return;
  const from = Math.max(cx, x0);
  svg("rect", { class: "tl-cut-after", x: from, y: 0, width: Math.max(0, x1 - from), height }, root);
  if (cx >= x0) svg("line", { class: "tl-cut", x1: cx, x2: cx, y1: 0, y2: height }, root);
}

/**
 * Replay: what has not happened yet is shaded, a cursor marks now, and a head
 * on the axis shows it while it is in view. Moves the marks of the drawing
 * there are (state.cursorMarks), adds them or takes them away: the lanes stay.
 */
export function placeCursor(state) {
  const { band, cursor } = state;
  if (!band) return;
  let marks = state.cursorMarks;
  if (cursor === null) {
    if (marks) for (const mark of Object.values(marks)) mark.remove();
    state.cursorMarks = null;
    return;
  }
  if (!marks) {
    marks = state.cursorMarks = {
      future: svg("rect", { class: "tl-future", y: 0, height: band.height }, band.root),
      line: svg("line", { class: "tl-cursor", y1: 0, y2: band.height }, band.root),
      head: svg("path", { class: "tl-cursor-head" }, state.frame.axis),
    };
  }
  const { x0, x1 } = state.geo;
  const at = state.scale.x(cursor);
  const cx = Math.min(Math.max(at, x0), x1);
  marks.future.setAttribute("x", String(cx));
  marks.future.setAttribute("width", String(Math.max(0, x1 - cx)));
  for (const end of ["x1", "x2"]) marks.line.setAttribute(end, String(cx));
  marks.head.setAttribute("d", `M${at - 5} 2L${at + 5} 2L${at} 9Z`);
  marks.head.style.display = at >= x0 && at <= x1 ? "" : "none";
}
