// The network rows of a timeline's model: under each task that opened
// connections, a row of its own (one more for each connection it held open
// at the same time as another), and a "network" row at the bottom for the
// connections of no task. model.js calls addConnectionLanes; netdraw.js
// draws and describes the rows.

import { connectionsOf, hostPort } from "../lib/connections.js";
import { plural } from "../lib/format.js";

// Rows under one task at most: more connections open at once share the last row.
const MAX_ROWS_PER_TASK = 6;

/** The connections in rows where none overlaps another: [[connection, ...], ...]. */
function packed(connections) {
  const rows = [];
  const ends = [];
  for (const c of connections) {
    let row = ends.findIndex((end) => end <= c.start);
    if (row < 0 && rows.length < MAX_ROWS_PER_TASK) {
      row = rows.length;
      rows.push([]);
      ends.push(-Infinity);
    } else if (row < 0) {
      row = ends.indexOf(Math.min(...ends));
    }
    rows[row].push(c);
    ends[row] = Math.max(ends[row], c.end);
  }
  return rows;
}

/** A row's name: the one host:port it talked to, or how many connections it holds. */
function rowName(connections) {
  const first = hostPort(connections[0]);
  return connections.every((c) => hostPort(c) === first) ? first : plural(connections.length, "connection");
}

/**
 * The rows of connections, made with newLane(task, name, coro) (model.js's),
 * each marked lane.net = {task (its task's lane, or null), connections};
 * placed in flat (the lanes in tree order) right under the lane of the task
 * that opened them, one level deeper, and the rest at the end. A task's
 * lane that opened some gets lane.opened, their count. grow(t) is told of
 * every end. Nothing is done (or allocated) for a trace without connections.
 */
export function addConnectionLanes(flat, trace, laneOf, grow, newLane) {
  const connections = connectionsOf(trace);
  if (!connections.length) return;
  const byLane = new Map();
  const orphans = [];
  for (const c of connections) {
    grow(c.end);
    const lane = c.task === null ? undefined : laneOf(c.task);
    if (!lane || !lane.task) {
      orphans.push(c);
      continue;
    }
    if (!byLane.has(lane)) byLane.set(lane, []);
    byLane.get(lane).push(c);
  }
  const rowsOf = new Map();
  for (const [taskLane, own] of byLane) {
    taskLane.opened = own.length;
    rowsOf.set(taskLane, packed(own).map((row) => {
      const lane = newLane(null, `\u21b3 ${rowName(row)}`, `${plural(row.length, "connection")} of ${taskLane.name}`);
      lane.net = { task: taskLane, connections: row };
      lane.depth = taskLane.depth + 1;
      lane.parentLane = taskLane;
      return lane;
    }));
  }
  if (rowsOf.size) {
    const placed = [];
    for (const lane of flat) {
      placed.push(lane);
      const rows = rowsOf.get(lane);
      if (rows) for (const row of rows) placed.push(row);
    }
    for (let i = 0; i < placed.length; i++) flat[i] = placed[i];
  }
  for (const row of packed(orphans)) {
    const lane = newLane(null, "network", `${plural(row.length, "connection")} of no task`);
    lane.net = { task: null, connections: row };
    flat.push(lane);
  }
}
