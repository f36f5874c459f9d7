// The playground page: editor, run, status, output, timeline.
// Everything that comes from a run is inserted as text, never as markup.

import { renderTimeline, clearTimeline, formatDuration } from "./timeline.js";
import { downloadChromeTrace } from "./perfetto.js";
import { downloadSvg, downloadPng } from "./picture.js";
import { initReplay } from "./replay.js";
import { renderSummary } from "./summary.js";
import { renderTaskTable } from "./tasktable.js";
import { initUrlMode } from "./urlmode.js";
import { initShare } from "./share.js";
import { postJSON as postAPI, postRun as postRunAPI } from "./api.js";
import { pythonEditor } from "./editor.js";
import { StatusBox, STATUS_TITLE, eventNotes, num, outputRow, str, taskNames, validLine } from "./status.js";

const $ = (selector) => document.querySelector(selector);

const editorHost = $('[data-testid="editor"]');
const runButton = $('[data-testid="run"]');
const statusBox = $('[data-testid="status"]');
const statusDetail = statusBox.querySelector(".status-detail");
const statusElapsed = statusBox.querySelector(".status-elapsed");
const outputBox = $('[data-testid="output"]');
const outputCount = $(".output-count");
const timelineBox = $('[data-testid="timeline"]');
const exampleSelect = $("#example-select");
const clockSelect = $("#clock-select");
const resultsPane = $(".pane-results");
const exportButton = $('[data-testid="export-perfetto"]');
const svgButton = $('[data-testid="export-svg"]');
const pngButton = $('[data-testid="export-png"]');
const pinButton = $('[data-testid="pin"]');
const pinnedCard = $('[data-testid="pinned"]');
const pinnedBox = $('[data-testid="timeline-pinned"]');
const pinnedNote = $('[data-testid="pinned-note"]');
const summaryCard = $('[data-testid="summary"]');
const summaryBody = $('[data-testid="summary-body"]');
const tasksCard = $('[data-testid="tasks"]');
const tasksBody = $('[data-testid="tasks-body"]');
let lastTrace = null;
let timeline = null;
let pinned = null;

for (const button of [exportButton, svgButton, pngButton]) {
  button.addEventListener("click", () => {
    if (!lastTrace) return;
    if (button === exportButton) downloadChromeTrace(lastTrace);
    else if (button === svgButton) downloadSvg(lastTrace);
    else downloadPng(lastTrace).catch((error) => addDetail("advice", String(error.message || error)));
  });
}

const replay = initReplay($('[data-testid="replay"]'), {
  onCursor: (t) => {
    if (timeline) timeline.setCursor(t);
    for (const row of outputBox.querySelectorAll("[data-output-line]")) {
      row.classList.toggle("is-future", t !== null && Number(row.dataset.t) > t);
    }
  },
});
const playgroundEl = $("#playground");
const modeButtons = document.querySelectorAll(".mode-switch [data-mode]");
const timelineTitle = $("#timeline-title");

function readExamples() {
  const node = document.getElementById("examples-data");
  if (!node) return [];
  try {
    const data = JSON.parse(node.textContent || "[]");
    return Array.isArray(data) ? data.filter((e) => e && typeof e.code === "string") : [];
  } catch {
    return [];
  }
}

const examples = readExamples();
const isMac = /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent || "");
if (isMac) {
  const kbd = runButton.querySelector(".btn-run-kbd");
  if (kbd) kbd.textContent = "\u2318\u2009\u21b5";
}

// ----------------------------------------------------------------- editor

const editor = pythonEditor(editorHost, {
  run: () => run(),
  value: examples.length ? examples[0].code : "",
  autoCloseBrackets: true,
  viewportMargin: 50,
  screenReaderLabel: "Python code",
  extraKeys: {
    // Esc then Tab leaves the editor instead of indenting (no keyboard trap).
    Esc: (cm) => (cm.listSelections().length > 1 ? cm.execCommand("singleSelection") : cm.getInputField().blur()),
  },
});

let errorLine = null;
let selectedLine = null;
let selectedTimer = 0;

function clearErrorLine() {
  if (errorLine) editor.removeLineClass(errorLine, "background", "cm-error-line");
  errorLine = null;
}

function markErrorLine(line) {
  clearErrorLine();
  if (!(line >= 1 && line <= editor.lineCount())) return;
  errorLine = editor.addLineClass(line - 1, "background", "cm-error-line");
}

/** Put the cursor on a snippet line (1-based), scroll to it and flash it. */
function selectLine(line) {
  line = Number(line);
  if (!(line >= 1 && line <= editor.lineCount())) return;
  if (selectedLine) editor.removeLineClass(selectedLine, "background", "cm-selected-line");
  clearTimeout(selectedTimer);
  selectedLine = editor.addLineClass(line - 1, "background", "cm-selected-line");
  const handle = selectedLine;
  selectedTimer = setTimeout(() => {
    editor.removeLineClass(handle, "background", "cm-selected-line");
    if (selectedLine === handle) selectedLine = null;
  }, 2500);
  editor.setCursor({ line: line - 1, ch: 0 });
  editor.scrollIntoView({ line: line - 1, ch: 0 }, 60);
  editor.focus();
}

// ------------------------------------------------------------------- URL

function parseFragment() {
  const hash = location.hash.replace(/^#/, "");
  if (!hash) return null;
  const params = new URLSearchParams(hash);
  if (!params.has("code")) return null;
  return { code: params.get("code") || "", clock: params.get("clock"), run: params.get("run") === "1" };
}

function shareFragment(code, clock) {
  // encodeURIComponent keeps spaces as %20 (URLSearchParams would write "+").
  return `#code=${encodeURIComponent(code)}&clock=${encodeURIComponent(clock)}`;
}

function setUrl(search, hash) {
  const url = `${location.pathname}${search}${hash}`;
  if (url !== `${location.pathname}${location.search}${location.hash}`) history.replaceState(null, "", url);
}

function loadExample(name, { updateUrl = true } = {}) {
  const ex = examples.find((e) => e.name === name);
  if (!ex) return false;
  editor.setValue(ex.code);
  editor.clearHistory();
  clearErrorLine();
  showExampleFor(ex.code);
  if (updateUrl) setUrl(`?example=${encodeURIComponent(ex.name)}`, "");
  return true;
}

/** Select the example whose code this is, or a "Your code" entry. */
function showExampleFor(code) {
  const same = examples.find((e) => e.code === code);
  let custom = exampleSelect.querySelector("option[data-custom]");
  if (same) {
    exampleSelect.value = same.name;
    if (custom) custom.remove();
    return;
  }
  if (!custom) {
    custom = document.createElement("option");
    custom.value = "";
    custom.dataset.custom = "";
    custom.disabled = true;
    custom.textContent = "Your code";
    exampleSelect.prepend(custom);
  }
  exampleSelect.value = "";
}

exampleSelect.addEventListener("change", () => {
  loadExample(exampleSelect.value);
  editor.focus();
});

// ---------------------------------------------------------------- status

const ADVICE = {
  timeout:
    "The run hit the wall-clock limit and was stopped. Look for a loop that never awaits, or a time.sleep() / CPU-heavy step that holds the loop (with the real clock, long asyncio.sleep() calls count too).",
  cpu_limit:
    "The run used up its CPU-time limit. Look for a busy loop or heavy computation; make the work smaller, or await between steps.",
  memory_limit:
    "The run went over the memory limit. Look for lists, strings or queues that grow without end.",
  output_limit:
    "The run printed more than the output limit, so it was stopped. Print less, for example not on every pass of a loop.",
  deadlock:
    "Every task is waiting for something that will never happen, so the loop stopped. Check that each Queue.get() has a put(), each Event.wait() a set(), and that locks are released.",
  crashed:
    "The interpreter running your code was killed (a crash or a signal). Try a smaller snippet; if it keeps happening, it may be a bug in the playground.",
};

const statusLine = new StatusBox(statusBox);
const setStatus = (state, text) => statusLine.set(state, text);
const addDetail = (className, text) => statusLine.detail(className, text);

function lineButton(line, text) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "line-link";
  button.dataset.line = String(line);
  button.textContent = text;
  button.addEventListener("click", () => selectLine(line));
  return button;
}


function deadlockDetail(trace) {
  const events = Array.isArray(trace.events) ? trace.events : [];
  const names = taskNames(trace);
  const messages = events.filter((e) => e && e.kind === "deadlock" && e.message).map((e) => str(e.message));
  if (messages.length) return messages.join(" ");
  // Fall back on the tasks that never ended and what they last waited on.
  const waits = Array.isArray(trace.waits) ? trace.waits : [];
  const stuck = [];
  for (const t of Array.isArray(trace.tasks) ? trace.tasks : []) {
    if (!t || (t.ended !== null && t.ended !== undefined)) continue;
    const last = waits.filter((w) => w && w.task === t.id).pop();
    const on = last && last.on ? ` (on ${str(last.on)}${validLine(last.line) ? `, line ${last.line}` : ""})` : "";
    stuck.push(`${names.get(t.id)}${on}`);
  }
  const fromEvents = events
    .filter((e) => e && e.task !== null && e.task !== undefined && /wait|deadlock|pending/i.test(str(e.kind)))
    .map((e) => names.get(e.task))
    .filter(Boolean);
  if (stuck.length) return `Waiting forever: ${stuck.join(", ")}.`;
  if (fromEvents.length) return `Waiting forever: ${[...new Set(fromEvents)].join(", ")}.`;
  return "";
}

function showTrace(trace, clientSeconds) {
  lastTrace = trace;
  for (const button of [exportButton, svgButton, pngButton]) button.disabled = false;
  const status = str(trace.status) || "error";
  const clock = trace.clock === "real" ? "real clock" : "virtual clock";
  const wall = num(trace.wall, clientSeconds);
  // A cached answer is the stored trace of an earlier run of the same code.
  const ran = trace.cached === true ? "an earlier identical run, reused" : `ran in ${num(wall, 0).toFixed(2)} s`;
  const timing = `${formatDuration(num(trace.duration, 0))} of loop time (${clock}) \u00b7 ${ran}`;
  statusBox.dataset.cached = String(trace.cached === true);
  const err = trace.error && typeof trace.error === "object" ? trace.error : null;
  const errLine = err && validLine(err.line) ? err.line : null;

  if (status === "ok") {
    setStatus("ok", `ok \u00b7 ${timing}`);
  } else if (status === "error" && err) {
    const where = errLine ? ` on line ${errLine}` : "";
    setStatus("error", `${str(err.type) || "Error"}${where}: ${str(err.message)}`);
  } else {
    setStatus(status, `${STATUS_TITLE[status] || status} \u00b7 ${timing}`);
  }

  // What to do next.
  if (status === "error") {
    if (err && /^(SyntaxError|IndentationError|TabError)$/.test(str(err.type))) {
      addDetail("advice", "Python could not parse the code. Check the highlighted line (and the one before it) for a typo, a missing bracket or colon, or wrong indentation.");
    } else if (err) {
      addDetail("advice", errLine ? "An exception was not caught. The failing line is highlighted in the editor; fix it and run again." : "An exception was not caught. Fix it and run again.");
    } else {
      addDetail("advice", "The run failed without an error report.");
    }
  } else if (ADVICE[status]) {
    const after = status === "timeout" && num(trace.wall, 0) > 0 ? ` (stopped after ${num(trace.wall, 0).toFixed(1)} s)` : "";
    addDetail("advice", ADVICE[status].replace("limit and was stopped.", `limit${after}.`));
    if (status === "deadlock") {
      const who = deadlockDetail(trace);
      if (who) addDetail("deadlock-tasks", who);
    }
  } else if (status !== "ok") {
    addDetail("advice", `The run ended with status \u201c${status}\u201d.`);
  }
  // The server's own word on limits and on the jail (also for an error that
  // a limit caused, such as a thread that could not start).
  if (status !== "ok") {
    for (const e of Array.isArray(trace.events) ? trace.events : []) {
      if (e && (e.kind === "limit" || e.kind === "sandbox") && e.message) addDetail("limit", str(e.message));
    }
  }

  // Traceback frames: each one jumps to its line.
  if (err) {
    if (errLine) {
      const p = addDetail("error-where", "");
      p.appendChild(lineButton(errLine, `Show line ${errLine} in the editor`));
    }
    const frames = Array.isArray(err.traceback) ? err.traceback.filter((f) => f && typeof f === "object") : [];
    if (frames.length) {
      const list = document.createElement("ol");
      list.className = "traceback";
      list.setAttribute("aria-label", "Traceback, most recent call last");
      for (const f of frames) {
        const li = document.createElement("li");
        const head = validLine(f.line) ? lineButton(f.line, `line ${f.line}`) : document.createElement("span");
        if (!validLine(f.line)) head.textContent = "line ?";
        li.appendChild(head);
        if (str(f.name)) {
          const name = document.createElement("span");
          name.className = "tb-name";
          name.textContent = ` in ${str(f.name)}`;
          li.appendChild(name);
        }
        if (str(f.text)) {
          const code = document.createElement("code");
          code.className = "tb-text";
          code.textContent = str(f.text);
          li.appendChild(code);
        }
        list.appendChild(li);
      }
      statusDetail.appendChild(list);
    }
  }
  if (errLine) markErrorLine(errLine);

  // Notes worth reading: blocking steps, warnings, lost exceptions and
  // coroutines, timeouts and who cancelled what.
  const names = taskNames(trace);
  const noteKinds = ["never_awaited", "never_retrieved", "destroyed_pending", "blocking", "warning", "exception",
    "timeout", "cancelled"];
  const notes = eventNotes(trace, noteKinds);
  if (notes.length) {
    const list = document.createElement("ul");
    list.className = "notes";
    for (const e of notes.slice(0, 5)) {
      const li = document.createElement("li");
      li.className = `note note-${e.kind}`;
      const who = names.has(e.task) ? `${names.get(e.task)}: ` : "";
      li.textContent = `${num(e.t, 0).toFixed(3)} s \u00b7 ${who}${str(e.message)} `;
      if (validLine(e.line)) li.appendChild(lineButton(e.line, `line ${e.line}`));
      list.appendChild(li);
    }
    if (notes.length > 5) {
      const li = document.createElement("li");
      li.className = "note";
      li.textContent = `\u2026 and ${notes.length - 5} more`;
      list.appendChild(li);
    }
    statusDetail.appendChild(list);
  }

  if (trace.truncated) {
    addDetail("truncated", "The trace was cut: the run produced more events, tasks or output than the playground records. What is shown is everything up to the cut.");
  }

  renderOutput(trace, names);
  drawTimelines(trace);
  summaryCard.hidden = false;
  renderSummary(summaryBody, trace, { onSelectLine: selectLine });
  tasksCard.hidden = false;
  renderTaskTable(tasksBody, trace, { onSelectLine: selectLine });
  replay.load(num(trace.duration, 0));
  pinButton.disabled = false;
}

/** The run's timeline, and the pinned run's on the same scale below it. */
function drawTimelines(trace) {
  const domain = pinned ? Math.max(num(trace.duration, 0), num(pinned.trace.duration, 0)) : undefined;
  timeline = renderTimeline(timelineBox, trace, {
    onSelectLine: selectLine,
    onSelectOutput: flashOutputRow,
    domain,
    onViewChange: (view) => {
      if (pinned && pinned.view) pinned.view.setView(view, { silent: true });
    },
  });
  if (pinned) {
    pinnedCard.hidden = false;
    pinned.view = renderTimeline(pinnedBox, pinned.trace, {
      domain,
      onViewChange: (view) => {
        if (timeline) timeline.setView(view, { silent: true });
      },
    });
  }
}

pinButton.addEventListener("click", () => {
  if (!lastTrace) return;
  pinned = { trace: lastTrace, view: null };
  const tasks = Array.isArray(lastTrace.tasks) ? lastTrace.tasks.length : 0;
  pinnedNote.textContent = `${formatDuration(num(lastTrace.duration, 0))} · ${tasks} task${tasks === 1 ? "" : "s"} · pinned at ${new Date().toLocaleTimeString()}; change the code and run again to compare`;
  drawTimelines(lastTrace);
  pinnedCard.scrollIntoView({ block: "nearest" });
});

$('[data-testid="unpin"]').addEventListener("click", () => {
  pinned = null;
  pinnedCard.hidden = true;
  clearTimeline(pinnedBox, "");
  if (lastTrace) drawTimelines(lastTrace);
});

/** Highlight the output line printed at this index, and bring it into view. */
function flashOutputRow(index) {
  const row = outputBox.querySelector(`[data-output-line][data-index="${Number(index)}"]`);
  if (!row) return;
  for (const other of outputBox.querySelectorAll(".is-flashed")) other.classList.remove("is-flashed");
  row.classList.add("is-flashed");
  row.scrollIntoView({ block: "nearest" });
}

outputBox.addEventListener("click", (event) => {
  const row = event.target instanceof Element ? event.target.closest("[data-output-line]") : null;
  if (!row || !timeline || mode !== "code") return;
  for (const other of outputBox.querySelectorAll(".is-flashed")) other.classList.remove("is-flashed");
  row.classList.add("is-flashed");
  timeline.flashOutput(Number(row.dataset.index));
});
outputBox.addEventListener("keydown", (event) => {
  if (event.key !== "Enter" && event.key !== " ") return;
  const row = event.target instanceof Element ? event.target.closest("[data-output-line]") : null;
  if (!row || !timeline || mode !== "code") return;
  event.preventDefault();
  row.click();
});

function renderOutput(trace, names) {
  const lines = (Array.isArray(trace.output) ? trace.output : []).filter((o) => o && typeof o === "object");
  outputBox.replaceChildren();
  outputCount.textContent = lines.length ? `${lines.length} line${lines.length === 1 ? "" : "s"}` : "";
  if (!lines.length) {
    const p = document.createElement("p");
    p.className = "empty";
    p.textContent = "No output yet";
    outputBox.appendChild(p);
    return;
  }
  const frag = document.createDocumentFragment();
  const all = Array.isArray(trace.output) ? trace.output : [];
  all.forEach((o, index) => {
    if (!o || typeof o !== "object") return;
    const row = outputRow(o, names);
    row.dataset.index = String(index);
    row.dataset.t = String(num(o.t, 0));
    row.tabIndex = 0;
    row.title = "Show where this was printed on the timeline";
    frag.appendChild(row);
  });
  outputBox.appendChild(frag);
}

function resetResults(message) {
  outputBox.replaceChildren();
  const p = document.createElement("p");
  p.className = "empty";
  p.textContent = "No output yet";
  outputBox.appendChild(p);
  outputCount.textContent = "";
  clearTimeline(timelineBox, message);
  timeline = null;
  lastTrace = null;
  replay.load(0);
  summaryCard.hidden = true;
  tasksCard.hidden = true;
  for (const button of [exportButton, svgButton, pngButton, pinButton]) button.disabled = true;
}

// ------------------------------------------------------------------- run

let running = null;

function run() {
  if (running) return running;
  if (mode === "urls") return runUrls();
  const code = editor.getValue();
  const clock = clockSelect.value === "real" ? "real" : "virtual";
  setUrl("", shareFragment(code, clock));
  clearErrorLine();
  const started = performance.now();
  startRunning("Running\u2026");
  running = (async () => {
    try {
      const answer = await postRunAPI(apiURL("api/run"), { code, clock });
      if (!answer.ok) {
        requestError(answer.message, answer.code);
        return;
      }
      const body = answer.body;
      if (!body || typeof body !== "object" || Array.isArray(body)) {
        requestError("The server sent an answer the page cannot read.");
        return;
      }
      if (urlMode) urlMode.hideCompare();
      showTrace(body, (performance.now() - started) / 1000);
    } finally {
      stopRunning();
      running = null;
    }
  })();
  return running;
}

function requestError(message, code, advice = "Nothing ran. Your code is still in the editor.") {
  setStatus("request-error", message);
  if (code) statusBox.dataset.errorCode = str(code);
  else delete statusBox.dataset.errorCode;
  addDetail("advice", advice);
  resetResults("No timeline: the run did not happen.");
  if (urlMode) urlMode.hideCompare();
}

/** The app's URL prefix ("" at the root, "/app" when mounted below it). */
function scriptRoot() {
  const link = document.querySelector("a.brand");
  const href = link ? link.getAttribute("href") || "/" : "/";
  return href.endsWith("/") ? href : `${href}/`;
}

// -------------------------------------------------------------- URL mode

let mode = "code";

/** POST JSON to the API: {ok, body} or {ok: false, message, code}. */
/** An API address, relative to the app's root. */
function apiURL(path) {
  return new URL(path, new URL(document.baseURI).origin + scriptRoot());
}

/** POST JSON to the API, relative to the app's root (see api.js). */
function postJSON(path, payload) {
  return postAPI(apiURL(path), payload);
}

function startRunning(text) {
  statusLine.running(text);
  runButton.disabled = true;
  runButton.setAttribute("aria-busy", "true");
  resultsPane.classList.add("is-stale");
}

function stopRunning() {
  statusLine.stopTicking();
  runButton.disabled = false;
  runButton.removeAttribute("aria-busy");
  resultsPane.classList.remove("is-stale");
}

function runUrls() {
  running = (async () => {
    try {
      await urlMode.run();
    } finally {
      running = null;
    }
  })();
  return running;
}

const IDLE_TEXT = {
  code: "Press Run (Ctrl+Enter) to see what the event loop does.",
  urls: "Press Run (Ctrl+Enter) to fetch the URLs and see every request's phases.",
};

/** Switch between code mode and URL mode. */
function setMode(next, { focus = true } = {}) {
  next = next === "urls" ? "urls" : "code";
  if (next === mode) return;
  mode = next;
  playgroundEl.dataset.mode = mode;
  for (const button of modeButtons) button.setAttribute("aria-pressed", String(button.dataset.mode === mode));
  timelineTitle.textContent = mode === "urls" ? "Waterfall" : "Timeline";
  urlMode.hideCompare();
  setStatus("idle", IDLE_TEXT[mode]);
  delete statusBox.dataset.failed;
  resetResults(mode === "urls" ? "Run the URLs to see one lane per request: queued, DNS, connect, TLS, sent, first byte, body." : "Run the code to see one lane per task: when it ran, what it waited on, what it printed.");
  if (mode === "urls") {
    urlMode.shown();
    if (focus) $('[data-testid="url-list"]').focus();
  } else {
    editor.refresh();
    if (focus) editor.focus();
  }
}

function openInCodeMode(code) {
  setMode("code", { focus: false });
  editor.setValue(code);
  editor.clearHistory();
  clearErrorLine();
  showExampleFor(code);
  setUrl("", shareFragment(code, clockSelect.value === "real" ? "real" : "virtual"));
  editor.focus();
}

const urlMode = initUrlMode({
  postJSON,
  setStatus,
  addDetail,
  renderOutput,
  requestError,
  startRunning,
  stopRunning,
  openInCodeMode,
  setUrl: (hash) => setUrl("", hash),
  statusBox,
  statusDetail,
  statusElapsed,
  timelineBox,
});

for (const button of modeButtons) {
  button.addEventListener("click", () => setMode(button.dataset.mode));
}

const share = initShare({ editor, getMode: () => mode, setMode, urlMode, clockSelect, showExampleFor, postJSON });

function urlFragment() {
  const hash = location.hash.replace(/^#/, "");
  if (!hash) return null;
  const params = new URLSearchParams(hash);
  return params.has("urls") ? params : null;
}

runButton.addEventListener("click", () => run());

document.addEventListener("keydown", (event) => {
  if (event.defaultPrevented || event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) return;
  event.preventDefault();
  run();
});

// ------------------------------------------------------------------ start

function start() {
  const fragment = parseFragment();
  const query = new URLSearchParams(location.search);
  const urls = urlFragment();
  if (!fragment && !urls && share.loadShared()) return; // /s/<id>; edits in the fragment win
  if (urls) {
    urlMode.load(urls);
    setMode("urls", { focus: urls.get("run") !== "1" });
    if (urls.get("run") === "1") run();
    return;
  }
  if (query.get("mode") === "urls") {
    setMode("urls");
    return;
  }
  if (fragment) {
    editor.setValue(fragment.code);
    editor.clearHistory();
    if (fragment.clock === "real" || fragment.clock === "virtual") clockSelect.value = fragment.clock;
    showExampleFor(fragment.code);
    if (fragment.run) run();
  } else if (query.has("example") && loadExample(query.get("example"), { updateUrl: false })) {
    // loaded
  } else if (examples.length) {
    exampleSelect.value = examples[0].name;
  }
  if (!fragment || !fragment.run) editor.focus();
}

window.addEventListener("hashchange", () => {
  const urls = urlFragment();
  if (urls) {
    urlMode.load(urls);
    setMode("urls");
    if (urls.get("run") === "1") run();
    return;
  }
  const fragment = parseFragment();
  if (!fragment) return;
  setMode("code", { focus: false });
  if (fragment.code === editor.getValue()) return;
  editor.setValue(fragment.code);
  showExampleFor(fragment.code);
  if (fragment.clock === "real" || fragment.clock === "virtual") clockSelect.value = fragment.clock;
  if (fragment.run) run();
});

window.playground = {
  editor, run, selectLine, renderTrace: showTrace, examples, setMode, urlMode,
  timeline: () => timeline,
};
start();
