// The parts of a drawn timeline that outlive one drawing: the toolbar (zoom
// buttons, the range shown), the scrolling area with its axis and lanes
// SVGs, and the tooltip; and the sizes a drawing uses at the current width.

import { element, svgElement } from "../lib/dom.js";

export const AXIS_H = 26;
export const ZOOM_STEP = 1.6;

/** Build the frame in container (replacing what was there); its buttons act on state.api. */
export function buildFrame(container, state) {
  container.replaceChildren();
  container.classList.add("tl-drawn");
  const toolbar = element("div", { class: "tl-toolbar", role: "toolbar", "aria-label": "Timeline view" });
  container.append(toolbar);
  const button = (label, title, action, testid) => {
    const b = element("button", { class: "tl-button", type: "button", title, "aria-label": title, "data-testid": testid, text: label });
    b.addEventListener("click", action);
    toolbar.append(b);
  };
  button("\u2212", "Zoom out (\u2212)", () => state.api.zoom(1 / ZOOM_STEP), "zoom-out");
  button("+", "Zoom in (+)", () => state.api.zoom(ZOOM_STEP), "zoom-in");
  button("Fit", "Fit the whole run (0)", () => state.api.fit(), "zoom-fit");
  const range = element("span", { class: "tl-range", "data-testid": "timeline-range", "aria-live": "polite" });
  const hint = element("span", { class: "tl-hint", text: "Ctrl+wheel or +/\u2212 zooms, drag or \u2190\u2192 pans" });
  toolbar.append(range, hint);

  const scroll = element("div", {
    class: "tl-scroll", tabindex: "0",
    "aria-label": "Timeline drawing: use + and \u2212 to zoom, arrow keys to pan, 0 to fit; the task table below lists the same tasks",
  });
  const canvas = element("div", { class: "tl-canvas" });
  scroll.append(canvas);
  const axis = svgElement("svg", { class: "tl-axis", "aria-hidden": "true" }, canvas);
  const lanes = svgElement("svg", { class: "tl-lanes", role: "group" }, canvas);
  const tooltip = element("div", { class: "tl-tooltip", role: "tooltip" });
  tooltip.hidden = true;
  container.append(scroll, tooltip);
  return { toolbar, range, scroll, canvas, axis, lanes, tooltip };
}

/** The sizes of a drawing at the container's width: lane height, label width, plot edges. */
export function layout(state, containerWidth) {
  const { model } = state;
  const width = Math.max(280, containerWidth || 600);
  const count = state.rows.length;
  const compact = model.lanes.length > 24 || width < 520;
  const laneH = model.lanes.length <= 8 && !compact ? 44 : compact ? 24 : 34;
  const labelW = Math.round(Math.min(220, Math.max(96, width * 0.28)));
  const x0 = labelW + 10;
  const x1 = width - 14;
  return { width, count, compact, laneH, barH: compact ? 10 : 14, labelW, x0, x1, plotW: Math.max(40, x1 - x0) };
}

/** The lanes shown: all but those under a folded task (the lanes are in tree order, so they follow it). */
export function visibleRows(state) {
  const rows = [];
  let foldedDepth = Infinity;
  for (const lane of state.model.lanes) {
    if (lane.depth > foldedDepth) continue;
    foldedDepth = state.collapsed.has(lane) ? lane.depth : Infinity;
    rows.push(lane);
  }
  return rows;
}
