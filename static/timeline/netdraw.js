// Drawing and telling a network row of a timeline (network.js makes them):
// each connection a thin line from open to close with its phases on it in
// URL mode's colours (DNS, connect, TLS, then waiting for the first byte and
// the body of each request), its host:port beside it, a red cross where a
// failed one ended, a torn end on one still open when the run was stopped;
// and the words of its tooltip and of the row's label.

import { formatBytes, formatDuration, plural, shorten as truncate } from "../lib/format.js";
import { hostPort } from "../lib/connections.js";
import { svgElement as svg } from "../lib/dom.js";
import { PHASE_LABEL } from "./model.js";

// Requests of one kept-alive connection its tooltip tells one by one.
const EXCHANGES_TOLD = 6;
// Connections a row's label tells one by one.
const CONNECTIONS_TOLD = 5;
const STILL_OPEN = "still open when the run was stopped";

const phaseWords = (p) => `${PHASE_LABEL.get(p.name) || p.name} ${formatDuration(p.end - p.start)}`;

/** Who opened a connection, and from which line: "opened by Task-2 at line 6". */
function openedBy(c, names) {
  const who = c.task === null ? "opened outside any task" : `opened by ${names.get(c.task) || `task ${String(c.task)}`}`;
  return c.line ? `${who} at line ${c.line}` : who;
}

/**
 * The phases of a connection in words: its setting up (DNS, connect, TLS)
 * on one line, then each request and answer it carried (waiting for the
 * first byte, then the body) on a line of its own.
 */
function phaseLines(c) {
  const setup = [];
  const exchanges = [];
  for (const p of c.phases) {
    if (p.name === "first_byte" || (p.name === "body" && !exchanges.length)) exchanges.push([p]);
    else if (p.name === "body") exchanges[exchanges.length - 1].push(p);
    else setup.push(p);
  }
  const lines = [];
  if (setup.length) lines.push(setup.map(phaseWords).join(" \u00b7 "));
  exchanges.slice(0, EXCHANGES_TOLD).forEach((phases, i) => {
    const words = phases.map(phaseWords).join(" \u00b7 ");
    lines.push(exchanges.length > 1 ? `request ${i + 1}: ${words}` : words);
  });
  if (exchanges.length > EXCHANGES_TOLD) lines.push(`\u2026 and ${plural(exchanges.length - EXCHANGES_TOLD, "more request")}`);
  if (!c.phases.length) lines.push("no phases recorded");
  return lines;
}

/** The lines of a connection's tooltip (after the row's title); range(a, b) writes a span of time. */
export function describeConnection(c, names, range) {
  const lines = [`${hostPort(c)} \u00b7 ${openedBy(c, names)}`, `open ${range(c.start, c.end)} (${formatDuration(c.end - c.start)})`];
  lines.push(...phaseLines(c));
  lines.push(`sent ${formatBytes(c.sent)} \u00b7 received ${formatBytes(c.received)}`);
  if (c.error) lines.push(`failed: ${c.error}`);
  if (c.cutOff) lines.push(STILL_OPEN);
  return lines;
}

/** What a network row's label says: whose connections they are, then each (the first few). */
export function describeNetworkLane(lane, names) {
  const { task, connections } = lane.net;
  const lines = [task ? `connections ${task.name} opened (its lane is above)` : "connections opened outside any task"];
  for (const c of connections.slice(0, CONNECTIONS_TOLD)) {
    let line = `${hostPort(c)}: open ${formatDuration(c.end - c.start)}, ${formatBytes(c.sent)} sent, ${formatBytes(c.received)} received`;
    if (!task && c.task !== null) line += ` (${openedBy(c, names)})`;
    if (c.error) line += `, failed: ${c.error}`;
    if (c.cutOff) line += `, ${STILL_OPEN}`;
    lines.push(line);
  }
  if (connections.length > CONNECTIONS_TOLD) lines.push(`\u2026 and ${plural(connections.length - CONNECTIONS_TOLD, "more connection")}`);
  return lines;
}


/**
 * Draw a network row's connections into at.plot (lane.js's drawing of one
 * lane), each leaving a hit with its tooltip and snippet line.
 */
export function drawConnections({ plot, lane, hits, who, cy, view }) {
  const { x, visible, range } = view.scale;
  const { barH, x0, x1, compact } = view.geo;
  const h = Math.max(6, Math.round(barH * 0.8));
  const { connections } = lane.net;
  connections.forEach((c, i) => {
    if (!visible(c.start, c.end)) return;
    const a = x(c.start);
    const b = Math.max(x(c.end), a + 2);
    const cls = `tl-item tl-conn${c.error ? " tl-conn-error" : ""}${c.cutOff ? " tl-conn-open" : ""}`;
    const g = svg("g", { class: cls, "data-conn": c.id, "data-host": c.host, "data-port": c.port }, plot);
    svg("line", { class: "tl-conn-span", x1: a, x2: b, y1: cy, y2: cy }, g);
    for (const p of c.phases) {
      if (!PHASE_LABEL.has(p.name) || !visible(p.start, p.end)) continue;
      const pa = x(p.start);
      svg("rect", {
        class: `tl-phase tl-phase-${p.name}`, "data-phase": p.name,
        x: pa, y: cy - h / 2, width: Math.max(x(p.end) - pa, 1.5), height: h,
      }, g);
    }
    if (c.cutOff) svg("path", { class: "tl-cut-off-end", d: `M${b} ${cy - 6}L${b - 3} ${cy - 2}L${b} ${cy + 2}L${b - 3} ${cy + 6}` }, g);
    if (c.error) {
      const mark = svg("g", { class: "tl-end-error tl-conn-failed" }, g);
      svg("circle", { class: "tl-end-bg", cx: b, cy, r: 5 }, mark);
      svg("path", { d: `M${b - 2.5} ${cy - 2.5}L${b + 2.5} ${cy + 2.5}M${b + 2.5} ${cy - 2.5}L${b - 2.5} ${cy + 2.5}` }, mark);
    }
    if (!compact) {
      // Its host:port under it, as far as the next connection of the row.
      const next = connections[i + 1];
      const left = Math.max(a, x0);
      const right = Math.min(next ? x(next.start) : x1, x1);
      const chars = Math.floor((right - left - 4) / 6);
      if (chars >= 4) {
        const label = svg("text", { class: "tl-conn-label", x: left + 2, y: cy + h / 2 + 11 }, plot);
        label.textContent = truncate(hostPort(c), chars);
      }
    }
    hits.push({
      kind: "connection", a, b: c.error ? b + 5 : b, el: g, line: c.line,
      text: () => [who, ...describeConnection(c, view.model.names, range)],
    });
  });
}
