// The task table: every task of a run with its figures, as tokio-console
// lists them. It is also the screen-reader view of the timeline drawing:
// a real <table> with a caption, column headers and sortable columns.
//
// Large traces are shown a page of rows at a time, so 20,000 tasks do not
// build 180,000 cells at once.

import { formatDuration } from "./timeline.js";

const PAGE = 500;
const num = (v, fallback) => (typeof v === "number" && Number.isFinite(v) ? v : fallback);
const str = (v) => (v === null || v === undefined ? "" : String(v));

const COLUMNS = [
  { key: "name", label: "Task", value: (t) => str(t.name), text: (t) => str(t.name) },
  { key: "coro", label: "Coroutine", value: (t) => str(t.coro), text: (t) => str(t.coro) },
  { key: "state", label: "State", value: (t) => str(t.state), text: (t) => str(t.state) || "pending" },
  { key: "created", label: "Created", value: (t) => num(t.created, 0), text: (t) => `${num(t.created, 0).toFixed(3)} s`, numeric: true },
  { key: "ended", label: "Ended", value: (t) => num(t.ended, Infinity), text: (t) => (t.ended === null || t.ended === undefined ? "\u2014" : `${num(t.ended, 0).toFixed(3)} s`), numeric: true },
  { key: "busy", label: "Busy", value: (t) => num(t.busy, 0), text: (t) => formatDuration(num(t.busy, 0)), numeric: true },
  { key: "waiting", label: "Waiting", value: (t) => num(t.waiting, 0), text: (t) => formatDuration(num(t.waiting, 0)), numeric: true },
  { key: "scheduled", label: "Scheduled", value: (t) => num(t.scheduled, 0), text: (t) => formatDuration(num(t.scheduled, 0)), numeric: true },
  { key: "steps", label: "Steps", value: (t) => num(t.steps, 0), text: (t) => String(num(t.steps, 0)), numeric: true },
];

export function renderTaskTable(container, trace, { onSelectLine } = {}) {
  const tasks = (Array.isArray(trace.tasks) ? trace.tasks : []).filter((t) => t && typeof t === "object");
  const state = { key: "created", descending: false, shown: PAGE };
  container.replaceChildren();
  if (!tasks.length) {
    const p = document.createElement("p");
    p.className = "empty";
    p.textContent = "No tasks ran.";
    container.appendChild(p);
    return;
  }
  const wrap = document.createElement("div");
  wrap.className = "table-scroll";
  const table = document.createElement("table");
  table.className = "task-table";
  table.dataset.testid = "task-table";
  const caption = document.createElement("caption");
  caption.textContent = `${tasks.length} task${tasks.length === 1 ? "" : "s"} of the run`;
  table.appendChild(caption);
  const note = document.createElement("p");
  note.className = "table-note";
  note.textContent = "When each task was created and ended, how long it ran on the loop (busy), waited, and stood ready while the loop ran others (scheduled).";
  container.appendChild(note);
  const head = document.createElement("thead");
  const headRow = document.createElement("tr");
  const buttons = new Map();
  for (const column of COLUMNS) {
    const th = document.createElement("th");
    th.scope = "col";
    if (column.numeric) th.className = "num";
    const button = document.createElement("button");
    button.type = "button";
    button.className = "sort";
    button.textContent = column.label;
    button.dataset.sort = column.key;
    button.addEventListener("click", () => {
      state.descending = state.key === column.key ? !state.descending : Boolean(column.numeric && column.key !== "created");
      state.key = column.key;
      fill();
    });
    buttons.set(column.key, { th, button });
    th.appendChild(button);
    headRow.appendChild(th);
  }
  head.appendChild(headRow);
  table.appendChild(head);
  const body = document.createElement("tbody");
  table.appendChild(body);
  wrap.appendChild(table);
  container.appendChild(wrap);
  const more = document.createElement("button");
  more.type = "button";
  more.className = "btn-small table-more";
  more.addEventListener("click", () => {
    state.shown += PAGE * 4;
    fill();
  });
  container.appendChild(more);

  function fill() {
    const column = COLUMNS.find((c) => c.key === state.key) || COLUMNS[3];
    const sorted = tasks
      .map((t, i) => ({ t, i }))
      .sort((a, b) => {
        const x = column.value(a.t);
        const y = column.value(b.t);
        const order = typeof x === "string" ? x.localeCompare(y) : x - y;
        return (state.descending ? -order : order) || a.i - b.i;
      });
    for (const [key, { th, button }] of buttons) {
      const sorted = key === state.key;
      th.setAttribute("aria-sort", sorted ? (state.descending ? "descending" : "ascending") : "none");
      button.dataset.direction = sorted ? (state.descending ? "desc" : "asc") : "";
    }
    const frag = document.createDocumentFragment();
    for (const { t } of sorted.slice(0, state.shown)) {
      const tr = document.createElement("tr");
      tr.dataset.taskId = str(t.id);
      tr.className = `state-${str(t.state).replace(/[^a-z_]/gi, "") || "pending"}`;
      COLUMNS.forEach((c, index) => {
        const cell = document.createElement(index === 0 ? "th" : "td");
        if (index === 0) cell.scope = "row";
        if (c.numeric) cell.className = "num";
        if (index === 0 && Number.isInteger(t.line) && t.line > 0 && typeof onSelectLine === "function") {
          const button = document.createElement("button");
          button.type = "button";
          button.className = "line-link";
          button.textContent = c.text(t);
          button.title = `created at line ${t.line}: show it in the editor`;
          button.addEventListener("click", () => onSelectLine(t.line));
          cell.appendChild(button);
        } else {
          cell.textContent = c.text(t);
        }
        if (c.key === "state" && t.error && typeof t.error === "object") {
          cell.title = `${str(t.error.type)}: ${str(t.error.message)}`;
        }
        tr.appendChild(cell);
      });
      frag.appendChild(tr);
    }
    body.replaceChildren(frag);
    const hidden = tasks.length - Math.min(state.shown, tasks.length);
    more.hidden = hidden <= 0;
    more.textContent = `Show ${Math.min(hidden, PAGE * 4)} more of ${hidden} not shown`;
  }
  fill();
}
