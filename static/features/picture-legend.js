// The legend of a run's picture (picture.js), drawn: a swatch for each
// mark the picture uses (as the page's legend draws them, css/cards.css)
// and its words, in rows that wrap at the picture's width. A URL run gets
// the request phases; a code run the marks of tasks, and the phases too
// when it used the network.

import { svgElement as el } from "../lib/dom.js";
import { PHASES } from "../timeline/model.js";

const ROW_H = 18;
const GAP = 16;
const CHAR_W = 6.2;

/** Each swatch: its words and how to draw it at (x, cy) with the palette c. */
const TASK_KEYS = [
  ["running", (g, x, cy, c) => el("rect", { x, y: cy - 4, width: 14, height: 8, rx: 2, fill: c.running }, g)],
  ["waiting", (g, x, cy, c) => el("line", { x1: x, x2: x + 14, y1: cy, y2: cy, stroke: c.waiting, "stroke-width": 2, "stroke-dasharray": "4 3" }, g)],
  ["ready, not yet running", (g, x, cy, c) => el("rect", { x, y: cy - 3, width: 14, height: 6, fill: c.scheduled, opacity: 0.6 }, g)],
  ["blocking the loop", (g, x, cy, c) => el("rect", { x, y: cy - 4, width: 14, height: 8, rx: 2, fill: c.blocking, stroke: c.blockingEdge }, g)],
  ["ran in a thread", (g, x, cy, c) => el("rect", { x, y: cy - 4, width: 14, height: 8, rx: 2, fill: c.thread }, g)],
  ["printed", (g, x, cy, c) => el("path", { d: `M${x + 7} ${cy - 5}L${x + 12} ${cy}L${x + 7} ${cy + 5}L${x + 2} ${cy}Z`, fill: c.printed }, g)],
  ["error", (g, x, cy, c) => el("circle", { cx: x + 7, cy, r: 5, fill: c.error }, g)],
  ["cancelled", (g, x, cy, c) => el("line", { x1: x + 4, x2: x + 10, y1: cy + 6, y2: cy - 6, stroke: c.cancelled, "stroke-width": 2 }, g)],
];

const phaseKey = (name) => (g, x, cy, c) => el("rect", { x, y: cy - 4, width: 14, height: 8, rx: 2, fill: c.phases.get(name) }, g);
const PHASE_KEYS = [
  ...PHASES.map(([name, words]) => [words, phaseKey(name)]),
  ["failed", TASK_KEYS[6][1]],
];

/** The swatches a picture of this run needs. */
export function legendKeys({ urls, network }) {
  if (urls) return PHASE_KEYS;
  return network ? [...TASK_KEYS, ...PHASE_KEYS.slice(0, -1)] : TASK_KEYS;
}

/** How tall the legend of these keys is at this width. */
export function legendHeight(keys, width) {
  return layout(keys, width).rows * ROW_H;
}

/** Where each key goes: [{key, x, row}], and how many rows. */
function layout(keys, width) {
  let x = 10;
  let row = 0;
  const placed = keys.map((key) => {
    const w = 20 + key[0].length * CHAR_W;
    if (x + w > width - 10 && x > 10) {
      x = 10;
      row += 1;
    }
    const at = { key, x, row };
    x += w + GAP;
    return at;
  });
  return { placed, rows: keys.length ? row + 1 : 0 };
}

/** Draw the legend of these keys into root, its first row's middle at top + ROW_H / 2, in palette c. */
export function drawLegend(root, keys, { top, width, c }) {
  const g = el("g", { class: "legend" }, root);
  for (const { key: [words, swatch], x, row } of layout(keys, width).placed) {
    const cy = top + row * ROW_H + ROW_H / 2;
    swatch(g, x, cy, c);
    const label = el("text", { x: x + 20, y: cy + 4, "font-size": 11, fill: c.text, "font-family": "system-ui, sans-serif" }, g);
    label.textContent = words;
  }
}
