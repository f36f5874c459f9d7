// The task table: every task of a run with its figures, as tokio-console
// lists them. It is also the screen-reader view of the timeline drawing:
// a real <table> with a caption, column headers and sortable columns.
//
// Large traces are shown a page of rows at a time, so 20,000 tasks do not
// build 180,000 cells at once.

import { connectionsPerTask } from "../lib/connections.js";
import { element, emptyNote } from "../lib/dom.js";
import { formatDuration, formatSeconds, plural } from "../lib/format.js";
import { STOPPED_WORDS, stoppedTasks } from "../lib/trace.js";
import { isMissing, num, objectsIn, str, validLine } from "../lib/values.js";

// Rows made at first (a few screens of the table's box), and at each "Show more".
const FIRST_ROWS = 200;
const MORE_ROWS = 2000;
// Orders names as localeCompare does, many times faster over 100,000 of them.
const collator = new Intl.Collator();

// Each column's value (to sort by) and text, of a task and of what a limit
// stopped it doing ("running", "waiting" or undefined: stoppedTasks).
const COLUMNS = [
  { key: "name", label: "Task", value: (t) => str(t.name), text: (t) => str(t.name) },
  { key: "coro", label: "Coroutine", value: (t) => str(t.coro), text: (t) => str(t.coro) },
  { key: "state", label: "State", value: (t, stopped) => stateText(t, stopped), text: (t, stopped) => stateText(t, stopped) },
  { key: "created", label: "Created", value: (t) => num(t.created, 0), text: (t) => formatSeconds(t.created), numeric: true },
  {
    key: "ended", label: "Ended", numeric: true,
    value: (t, stopped) => (stopped ? Infinity : num(t.ended, Infinity)),
    text: (t, stopped) => (stopped || isMissing(t.ended) ? "\u2014" : formatSeconds(t.ended)),
  },
  { key: "busy", label: "Busy", value: (t) => num(t.busy, 0), text: (t) => formatDuration(num(t.busy, 0)), numeric: true },
  { key: "waiting", label: "Waiting", value: (t) => num(t.waiting, 0), text: (t) => formatDuration(num(t.waiting, 0)), numeric: true },
  { key: "scheduled", label: "Scheduled", value: (t) => num(t.scheduled, 0), text: (t) => formatDuration(num(t.scheduled, 0)), numeric: true },
  { key: "steps", label: "Steps", value: (t) => num(t.steps, 0), text: (t) => String(num(t.steps, 0)), numeric: true },
];

/** The column of a run that used the network: how many connections each task opened (by id: perTask). */
function connectionsColumn(perTask) {
  const count = (t) => perTask.get(t.id) || 0;
  return { key: "connections", label: "Connections", value: count, text: (t) => String(count(t)), numeric: true };
}

/** A task's state as the table says it: a task a limit stopped mid-step or mid-wait did not finish. */
const stateText = (t, stopped) => (stopped ? `${stopped} when stopped` : str(t.state) || "pending");

export function renderTaskTable(container, trace, { onSelectLine } = {}) {
  const tasks = objectsIn(trace.tasks);
  const stopped = stoppedTasks(trace);
  const perTask = connectionsPerTask(trace);
  const columns = perTask.size ? [...COLUMNS, connectionsColumn(perTask)] : COLUMNS;
  if (!tasks.length) {
    container.replaceChildren(emptyNote("No tasks ran."));
    return;
  }
  const sort = { key: "created", descending: false, shown: FIRST_ROWS };
  const table = element("table", { class: "task-table", "data-testid": "task-table" }, [
    element("caption", { text: `${plural(tasks.length, "task")} of the run` }),
  ]);
  const note = element("p", {
    class: "table-note",
    text: "When each task was created and ended, how long it ran on the loop (busy), waited, and stood ready while the loop ran others (scheduled)."
      + (perTask.size ? " Connections: the network connections it opened." : ""),
  });
  const headers = tableHead(table, columns, sort, () => fill());
  const body = element("tbody");
  table.append(body);
  const more = element("button", { type: "button", class: "btn-small table-more" });
  more.addEventListener("click", () => {
    sort.shown += MORE_ROWS;
    fill();
  });
  container.replaceChildren(note, element("div", { class: "table-scroll" }, [table]), more);

  function fill() {
    showSortOrder(headers, sort);
    const frag = document.createDocumentFragment();
    for (const t of sorted(tasks, columns, sort, stopped).slice(0, sort.shown)) frag.appendChild(taskRow(t, columns, stopped.get(t.id), onSelectLine));
    body.replaceChildren(frag);
    const hidden = tasks.length - Math.min(sort.shown, tasks.length);
    more.hidden = hidden <= 0;
    more.textContent = `Show ${Math.min(hidden, MORE_ROWS)} more of ${hidden} not shown`;
  }
  fill();
}

/** The header row: a sort button per column. Returns {key: {th, button}}. */
function tableHead(table, columns, sort, refill) {
  const headers = new Map();
  const row = element("tr");
  for (const column of columns) {
    const th = element("th", { scope: "col" });
    if (column.numeric) th.className = "num";
    const button = element("button", { type: "button", class: "sort", text: column.label, "data-sort": column.key });
    button.addEventListener("click", () => {
      sort.descending = sort.key === column.key ? !sort.descending : Boolean(column.numeric && column.key !== "created");
      sort.key = column.key;
      refill();
    });
    headers.set(column.key, { th, button });
    th.appendChild(button);
    row.appendChild(th);
  }
  table.append(element("thead", {}, [row]));
  return headers;
}

function showSortOrder(headers, sort) {
  for (const [key, { th, button }] of headers) {
    const active = key === sort.key;
    th.setAttribute("aria-sort", active ? (sort.descending ? "descending" : "ascending") : "none");
    button.dataset.direction = active ? (sort.descending ? "desc" : "asc") : "";
  }
}

/** The tasks in the sort's order (ties in the trace's order). */
function sorted(tasks, columns, sort, stopped) {
  const column = columns.find((c) => c.key === sort.key) || COLUMNS[3];
  const compare = (x, y) => {
    const order = typeof x === "string" ? collator.compare(x, y) : x - y;
    return sort.descending ? -order : order;
  };
  // The trace lists tasks as they were created: the first sort is there already.
  let inOrder = true;
  const value = (t) => column.value(t, stopped.get(t.id));
  for (let i = 1; i < tasks.length && inOrder; i++) inOrder = compare(value(tasks[i - 1]), value(tasks[i])) <= 0;
  if (inOrder) return tasks;
  return tasks
    .map((t, i) => ({ t, i }))
    .sort((a, b) => compare(value(a.t), value(b.t)) || a.i - b.i)
    .map(({ t }) => t);
}

/** A task's row (stopped: what a limit stopped it doing, if it did); its name links to the line that created it. */
function taskRow(t, columns, stopped, onSelectLine) {
  const tr = document.createElement("tr");
  tr.dataset.taskId = str(t.id);
  tr.className = stopped ? "state-stopped" : `state-${str(t.state).replace(/[^a-z_]/gi, "") || "pending"}`;
  columns.forEach((c, index) => {
    const cell = document.createElement(index === 0 ? "th" : "td");
    if (index === 0) cell.scope = "row";
    if (c.numeric) cell.className = "num";
    if (index === 0 && validLine(t.line) && typeof onSelectLine === "function") {
      const button = element("button", { type: "button", class: "line-link", text: c.text(t, stopped), title: `created at line ${t.line}: show it in the editor` });
      button.addEventListener("click", () => onSelectLine(t.line));
      cell.appendChild(button);
    } else {
      cell.textContent = c.text(t, stopped);
    }
    if (c.key === "state" && stopped) cell.title = `${STOPPED_WORDS[stopped]}: it did not finish`;
    else if (c.key === "state" && t.error && typeof t.error === "object") cell.title = `${str(t.error.type)}: ${str(t.error.message)}`;
    tr.appendChild(cell);
  });
  return tr;
}
