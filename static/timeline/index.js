// Timeline of one trace: one lane per task, children under the task that
// created them, drawn as SVG (model.js reads the trace, draw.js and lane.js
// draw it, interact.js answers the reader).
//
// renderTimeline(container, trace, options) draws the trace into container
// (replacing what was there) and returns a controller:
//   { redraw(), fit(), zoom(factor, atTime?), setView({t0, t1}), view(),
//     setCursor(t | null), flashOutput(index), expandAll(open),
//     onPickTime(fn) (fn(t) on each click in the plot: the moment under it) }
// options: onSelectLine(line), onSelectOutput(index), domain (a shared time
// scale, for comparing runs), laneTitle, onViewChange({t0, t1}) (to keep
// another timeline on the same scale).
//
// Each drawing of a new trace is marked with the User Timing API exactly
// once: performance.measure("timeline-render", "timeline-render-start");
// not the drawings of a run still going on (options.live), whose trace is
// drawn again as it grows.
//
// Everything that comes from the run (task names, coroutine names, wait
// targets, reasons, output) is inserted as text nodes, never as markup.

import { emptyNote } from "../lib/dom.js";
import { asObject, isMissing, num } from "../lib/values.js";
import { MIN_SPAN, draw, placeCursor } from "./draw.js";
import { AXIS_H, visibleRows } from "./frame.js";
import { attach } from "./interact.js";
import { buildModel } from "./model.js";

// The state of the timeline drawn in each container, kept across redraws.
const states = new WeakMap();
// The state of the latest drawing of each trace (an object), for shownView.
const drawings = new WeakMap();

/**
 * What a timeline shows of this trace now, if one is drawn: {model, t0, t1,
 * rows (the lanes not folded away)}; null when no timeline shows it. The
 * picture of a run draws this.
 */
export function shownView(trace) {
  const state = trace && typeof trace === "object" ? drawings.get(trace) : undefined;
  if (!state || state.trace !== trace || !state.model || !state.frame) return null;
  return { model: state.model, t0: state.view.t0, t1: state.view.t1, rows: visibleRows(state) };
}

/** The view {t0, t1} made to fit the run: not narrower than MIN_SPAN, not far past either end. */
function clampView(state, { t0, t1 }) {
  const domain = state.fullDomain;
  let span = Math.min(Math.max(t1 - t0, Math.max(MIN_SPAN, domain * 1e-7)), domain * 1.05);
  let a = Math.max(-domain * 0.02, Math.min(t0, domain * 1.02 - span));
  if (!Number.isFinite(a)) a = 0;
  if (!Number.isFinite(span) || span <= 0) span = domain;
  return { t0: a, t1: a + span };
}

/** Bring the printed line `index` into view, its lane unfolded and scrolled to, and flash its marker. */
function flashOutput(container, state, index) {
  state.flashed = index;
  const lane = state.model.lanes.find((l) => l.outputs.some((o) => o.index === index));
  if (!lane) return;
  for (let p = lane.parentLane; p; p = p.parentLane) state.collapsed.delete(p);
  state.rows = visibleRows(state);
  const out = lane.outputs.find((o) => o.index === index).o;
  const t = num(out.t, 0);
  if (t < state.view.t0 || t > state.view.t1) {
    const span = state.view.t1 - state.view.t0;
    state.view = clampView(state, { t0: t - span / 2, t1: t + span / 2 });
  }
  const row = state.rows.indexOf(lane);
  const { scroll } = state.frame;
  const laneH = state.geo ? state.geo.laneH : 34;
  const top = row * laneH;
  if (top < scroll.scrollTop || top > scroll.scrollTop + scroll.clientHeight - AXIS_H - laneH) {
    scroll.scrollTop = Math.max(0, top - laneH);
  }
  draw(container, state);
}

function controller(container, state) {
  const api = {
    redraw: () => draw(container, state),
    view: () => ({ ...state.view }),
    setView: (view, { silent = false } = {}) => {
      state.view = clampView(state, view);
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
      state.cursor = isMissing(t) ? null : num(t, null);
      // The lanes as they are: only the cursor moves (a change of width redraws all, observe()).
      if (state.band && state.frame && state.frame.scroll.parentNode === container) placeCursor(state);
      else draw(container, state);
    },
    flashOutput: (index) => flashOutput(container, state, index),
    expandAll: (open) => {
      state.collapsed = new Set(open ? [] : state.model.lanes.filter((l) => l.children.length));
      draw(container, state);
    },
    onPickTime: (fn) => {
      state.onPickTime = fn;
    },
  };
  return api;
}

/** Redraw when the container's width changes (once a frame). */
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

/**
 * What the reader chose in the drawing of a run still going on (the range
 * shown, unless it was the whole run, which then grows with it; the folded
 * tasks; the scroll), kept when the grown run is drawn again; null when the
 * container's last drawing was not of a live run.
 */
function readerChoices(state) {
  if (!state.live || !state.model || !state.frame) return null;
  const whole = state.view.t0 <= 0 && state.view.t1 >= state.fullDomain;
  return {
    view: whole ? null : { ...state.view },
    folded: new Set([...state.collapsed].map((lane) => lane.id)),
    big: state.model.lanes.length > 200,
    scrollTop: state.frame.scroll.scrollTop,
  };
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
  const measured = !options.live;
  if (measured) {
    performance.clearMarks("timeline-render-start");
    performance.mark("timeline-render-start");
  }
  const kept = readerChoices(state);
  state.opts = options;
  state.live = Boolean(options.live);
  state.trace = trace;
  if (trace && typeof trace === "object") drawings.set(trace, state);
  state.model = buildModel(asObject(trace) || {});
  state.fullDomain = num(options.domain, 0) > 0 ? Math.max(options.domain, state.model.domain) : state.model.domain;
  state.view = kept && kept.view ? clampView(state, kept.view) : { t0: 0, t1: state.fullDomain };
  state.cursor = null;
  state.flashed = null;
  state.onPickTime = null;
  // Big trees start folded below the first level, so the first screen
  // shows the shape of the run rather than thousands of leaves.
  const big = state.model.lanes.length > 200;
  state.collapsed = new Set(kept && (kept.big || !big)
    ? state.model.lanes.filter((l) => kept.folded.has(l.id))
    : big ? state.model.lanes.filter((l) => l.children.length > 50) : []);
  state.frame = null;
  state.api = controller(container, state);
  draw(container, state);
  if (kept && kept.scrollTop > 0) {
    state.frame.scroll.scrollTop = kept.scrollTop;
    draw(container, state);
  }
  attach(container, state);
  if (measured) performance.measure("timeline-render", "timeline-render-start");
  observe(container, state);
  return state.api;
}

/** Replace the timeline with a short message (no trace drawn). */
export function clearTimeline(container, message) {
  const state = states.get(container);
  if (state) {
    state.model = null;
    state.frame = null;
    state.trace = null;
  }
  container.classList.remove("tl-drawn");
  container.replaceChildren(emptyNote(message));
}
