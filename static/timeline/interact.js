// What a reader does with a drawn timeline: hover for a tooltip, click to
// show a line in the editor or an output row, drag or wheel to pan and zoom,
// scroll through the lanes, and the keyboard (arrows, +, -, 0, Enter, fold
// and unfold a task's children).

import { element } from "../lib/dom.js";
import { AXIS_H, ZOOM_STEP } from "./frame.js";
import { draw, rowsInView } from "./draw.js";

/** Wire the reader's pointer, wheel, scroll and keys to the timeline drawn in container. */
export function attach(container, state) {
  const tooltip = tooltipFor(container, state);
  attachPointer(state, tooltip);
  attachWheel(state);
  attachScroll(container, state, tooltip);
  attachKeyboard(state, tooltip);
}

/** The hit under the pointer: the lane's label, or the item nearest it (markers first). */
function hitAt(state, clientX, clientY) {
  const { laneH, labelW, barH } = state.geo;
  const box = state.frame.lanes.getBoundingClientRect();
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
    if (h.kind === "print") score += Math.abs(py - lane.my) <= 6 ? -10 : 3;
    else if (h.kind === "end") score -= 5;
    else if (h.kind === "wait" || h.kind === "scheduled") score += 2;
    else if (Math.abs(py - lane.cy) > barH / 2 + 3) score += 1;
    if (score < bestScore) {
      bestScore = score;
      best = h;
    }
  }
  return best;
}

/** Clicking a hit: show its line in the editor, or its output row. */
function select(state, hit) {
  const { onSelectLine, onSelectOutput } = state.opts;
  if (hit && hit.line && typeof onSelectLine === "function") onSelectLine(hit.line);
  if (hit && hit.output !== undefined && typeof onSelectOutput === "function") onSelectOutput(hit.output);
}

/** The tooltip: show(hit, clientX, clientY) near the pointer, hide(). */
function tooltipFor(container, state) {
  const { scroll, tooltip } = state.frame;
  let current = null;
  const fill = (hit) => {
    const [title, ...lines] = hit.text();
    tooltip.replaceChildren(element("div", { class: "tl-tooltip-title", text: title }));
    for (const line of lines) tooltip.append(element("div", { class: "tl-tooltip-line", text: line }));
    if (hit.line) tooltip.append(element("div", { class: "tl-tooltip-hint", text: `click to show line ${hit.line} in the editor` }));
  };
  const show = (hit, clientX, clientY) => {
    if (current !== hit) {
      if (current && current.el) current.el.classList.remove("tl-hover");
      current = hit;
      if (hit.el) hit.el.classList.add("tl-hover");
      fill(hit);
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
  return { show, hide };
}

/** Hover shows the tooltip; drag pans; a press without a drag is a click. */
function attachPointer(state, tooltip) {
  const { scroll } = state.frame;
  let drag = null;
  let suppressClick = false;
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
        tooltip.hide();
      }
      if (drag.moved) {
        const dt = (-dx / state.geo.plotW) * (drag.view.t1 - drag.view.t0);
        state.api.setView({ t0: drag.view.t0 + dt, t1: drag.view.t1 + dt });
        return;
      }
    }
    const hit = hitAt(state, event.clientX, event.clientY);
    if (hit) tooltip.show(hit, event.clientX, event.clientY);
    else tooltip.hide();
  });
  const endDrag = (event) => {
    if (!drag || drag.id !== event.pointerId) return;
    const moved = drag.moved;
    drag = null;
    scroll.classList.remove("tl-dragging");
    if (moved) suppressClick = true;
  };
  scroll.addEventListener("pointerup", endDrag);
  scroll.addEventListener("pointercancel", endDrag);
  scroll.addEventListener("pointerleave", tooltip.hide);
  scroll.addEventListener("click", (event) => {
    if (suppressClick) {
      suppressClick = false;
      return;
    }
    const toggle = event.target instanceof Element ? event.target.closest("[data-toggle]") : null;
    if (toggle) {
      toggleRow(state, Number(toggle.getAttribute("data-toggle")));
      return;
    }
    const hit = hitAt(state, event.clientX, event.clientY);
    select(state, hit);
    pickTime(state, event.clientX, hit && Number.isFinite(hit.t) ? hit.t : null);
  });
}

/**
 * A click in the plot tells the moment under it to whoever asked
 * (controller.onPickTime): a print marker's own moment, so that what it
 * printed counts as printed by then.
 */
function pickTime(state, clientX, markerT) {
  if (typeof state.onPickTime !== "function" || !state.geo) return;
  if (markerT !== null) {
    state.onPickTime(markerT);
    return;
  }
  const { x0, plotW } = state.geo;
  const px = clientX - state.frame.lanes.getBoundingClientRect().left - x0;
  if (px < 0 || px > plotW) return;
  const t = state.view.t0 + (px / plotW) * (state.view.t1 - state.view.t0);
  state.onPickTime(Math.max(0, Math.min(state.fullDomain, t)));
}

/**
 * Wheel: with Ctrl (or a pinch) zooms around the pointer; sideways or with
 * Shift pans; otherwise scrolls the lanes as usual.
 */
function attachWheel(state) {
  state.frame.scroll.addEventListener("wheel", (event) => {
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
}

/** Scrolling the lanes draws the rows that come into view (once a frame). */
function attachScroll(container, state, tooltip) {
  const { scroll } = state.frame;
  let pending = 0;
  scroll.addEventListener("scroll", () => {
    tooltip.hide();
    cancelAnimationFrame(pending);
    pending = requestAnimationFrame(() => {
      if (!state.model || !state.geo) return;
      const [first, last] = rowsInView(state);
      if (first < state.drawnRows[0] || last > state.drawnRows[1]) draw(container, state);
    });
  }, { passive: true });
}

/** Focus on a label shows its tooltip; keys move between lanes, fold them, zoom and pan. */
function attachKeyboard(state, tooltip) {
  const { scroll } = state.frame;
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
    tooltip.show(hit, r.left + state.geo.labelW - 8, r.top + r.height / 2);
  });
  scroll.addEventListener("focusout", tooltip.hide);
  scroll.addEventListener("keydown", (event) => {
    const row = rowOf(event.target);
    if (row !== null && laneKey(state, row, event)) {
      event.preventDefault();
      return;
    }
    if (event.target !== scroll && row === null) return;
    if (viewKey(state, event.key, row === null)) event.preventDefault();
  });
}

/** A key on a lane's label: Enter shows its line or folds it, arrows fold and move. True if handled. */
function laneKey(state, row, event) {
  const lane = state.rows[row];
  if (event.key === "Enter" || event.key === " ") {
    if (lane.labelTip && lane.labelTip.line) select(state, lane.labelTip);
    else if (lane.children.length) toggleRow(state, row, true);
    return true;
  }
  if ((event.key === "ArrowLeft" && lane.children.length && !state.collapsed.has(lane)) ||
      (event.key === "ArrowRight" && lane.children.length && state.collapsed.has(lane))) {
    toggleRow(state, row, true);
    return true;
  }
  if (event.key === "ArrowDown" || event.key === "ArrowUp") {
    focusRow(state, row + (event.key === "ArrowDown" ? 1 : -1));
    return true;
  }
  return false;
}

/** A key that zooms (+, -), fits (0) or, off the labels, pans (arrows). True if handled. */
function viewKey(state, key, canPan) {
  const { api, view } = state;
  const span = view.t1 - view.t0;
  if (key === "+" || key === "=") api.zoom(ZOOM_STEP);
  else if (key === "-" || key === "_") api.zoom(1 / ZOOM_STEP);
  else if (key === "0") api.fit();
  else if (key === "ArrowRight" && canPan) api.setView({ t0: view.t0 + span / 8, t1: view.t1 + span / 8 });
  else if (key === "ArrowLeft" && canPan) api.setView({ t0: view.t0 - span / 8, t1: view.t1 - span / 8 });
  else return false;
  return true;
}

/** Fold or unfold the children of the task on this row. */
export function toggleRow(state, row, keepFocus = false) {
  const lane = state.rows[row];
  if (!lane || !lane.children.length) return;
  if (state.collapsed.has(lane)) state.collapsed.delete(lane);
  else state.collapsed.add(lane);
  state.api.redraw();
  if (keepFocus) focusRow(state, state.rows.indexOf(lane));
}

/** Move the focus to a row's label, scrolling it into view. */
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
