// The main page (/ and a shared snippet's /s/<id>): builds the editor, the
// result view and every feature, and ties them together: Run in code mode
// and in URL mode, the result cards, the address bar (#code=..., #urls=...,
// ?example=..., ?mode=urls), and window.playground, the handle the browser
// tests and bench/render.py use.

import { editorLines, pythonEditor } from "../features/editor.js";
import { exampleMenu, readExamples } from "../features/examples.js";
import { modeSwitch } from "../features/mode-switch.js";
import { downloadChromeTrace } from "../features/perfetto.js";
import { downloadPng, downloadSvg } from "../features/picture.js";
import { pinnableTimelines } from "../features/pin.js";
import { initReplay } from "../features/replay.js";
import { resultView } from "../features/result-view.js";
import { showRunAdvice } from "../features/run-advice.js";
import { runControl } from "../features/run-control.js";
import { initShare, readSharedSnippet } from "../features/share.js";
import { StatusBox } from "../features/status.js";
import { renderSummary } from "../features/summary.js";
import { renderTaskTable } from "../features/tasktable.js";
import { initUrlMode } from "../features/urlmode/index.js";
import { codeFragment, readCodeFragment, readUrlsFragment, replaceAddress } from "../lib/address.js";
import { apiClient } from "../lib/api.js";
import { $ } from "../lib/dom.js";
import { num, str } from "../lib/values.js";


const IDLE_TEXT = {
  code: "Press Run (Ctrl+Enter) to see what the event loop does.",
  urls: "Press Run (Ctrl+Enter) to fetch the URLs and see every request's phases.",
};
const EMPTY_TIMELINE = {
  code: "Run the code to see one lane per task: when it ran, what it waited on, what it printed.",
  urls: "Run the URLs to see one lane per request: queued, DNS, connect, TLS, sent, first byte, body.",
};

/** The app's URL prefix ("/" at the root, "/app/" when mounted below it). */
function scriptRoot() {
  const link = $("a.brand");
  const href = link ? link.getAttribute("href") || "/" : "/";
  return href.endsWith("/") ? href : `${href}/`;
}

// ------------------------------------------------------------ the parts

const examples = readExamples();
const clockSelect = $("#clock-select");
const api = apiClient(scriptRoot());
const statusLine = new StatusBox($('[data-testid="status"]'));
const runButton = $('[data-testid="run"]');
const control = runControl({ button: runButton, statusLine, staleArea: $(".pane-results"), run: () => run() });

const editor = pythonEditor($('[data-testid="editor"]'), {
  run: () => control.run(),
  value: examples.length ? examples[0].code : "",
  autoCloseBrackets: true,
  viewportMargin: 50,
  screenReaderLabel: "Python code",
  extraKeys: {
    // Esc then Tab leaves the editor instead of indenting (no keyboard trap).
    Esc: (cm) => (cm.listSelections().length > 1 ? cm.execCommand("singleSelection") : cm.getInputField().blur()),
  },
});
const lines = editorLines(editor, { flash: true, scrollMargin: 60 });
const menu = exampleMenu($("#example-select"), examples, {
  onPick: (name) => {
    loadExample(name);
    editor.focus();
  },
});
const modes = modeSwitch({
  playground: $("#playground"),
  buttons: document.querySelectorAll(".mode-switch [data-mode]"),
  timelineTitle: $("#timeline-title"),
  onChange: modeChanged,
});

const timelineBox = $('[data-testid="timeline"]');
const timelines = pinnableTimelines({
  box: timelineBox,
  card: $('[data-testid="pinned"]'),
  pinnedBox: $('[data-testid="timeline-pinned"]'),
  note: $('[data-testid="pinned-note"]'),
  pinButton: $('[data-testid="pin"]'),
  unpinButton: $('[data-testid="unpin"]'),
  currentTrace: () => view.trace,
  onSelectLine: lines.select,
  onSelectOutput: (index) => view.flashOutputRow(index),
});
const view = resultView({
  statusLine,
  outputBox: $('[data-testid="output"]'),
  outputCount: $(".output-count"),
  lines,
  timelines,
  explain: (status, trace, facts) => showRunAdvice(status, trace, facts, lines.select),
  linkOutput: () => modes.current === "code",
});
const replay = initReplay($('[data-testid="replay"]'), {
  onCursor: (t) => {
    if (view.timeline) view.timeline.setCursor(t);
    view.showOutputUntil(t);
  },
});
const cards = {
  summary: $('[data-testid="summary"]'),
  summaryBody: $('[data-testid="summary-body"]'),
  tasks: $('[data-testid="tasks"]'),
  tasksBody: $('[data-testid="tasks-body"]'),
  pin: $('[data-testid="pin"]'),
};
// The export buttons, and what each makes of the trace shown.
const exportButtons = new Map([
  [$('[data-testid="export-perfetto"]'), (trace) => downloadChromeTrace(trace)],
  [$('[data-testid="export-svg"]'), (trace) => downloadSvg(trace)],
  [$('[data-testid="export-png"]'), (trace) => downloadPng(trace).catch((error) => statusLine.detail("advice", String(error.message || error)))],
]);
for (const [button, save] of exportButtons) {
  button.addEventListener("click", () => {
    if (view.trace) save(view.trace);
  });
}

const urlMode = initUrlMode({
  api,
  statusLine,
  showOutput: view.showOutput,
  requestError,
  running: control,
  openInCodeMode,
  setHash: (hash) => replaceAddress("", hash),
  timelineBox,
});

initShare({
  api,
  isUrlMode: () => modes.current === "urls",
  currentSnippet: () => (modes.current === "urls" ? urlMode.snippet() : { mode: "code", code: editor.getValue(), clock: currentClock() }),
  downloadable: () => (modes.current === "urls"
    ? { text: urlMode.code.code, filename: "fetch_urls.py" }
    : { text: editor.getValue(), filename: "snippet.py" }),
});

// ------------------------------------------------------------ results

/** Show a run's trace: the result view, then the cards that only the main page has. */
function showTrace(trace, clientSeconds) {
  view.show(trace, clientSeconds);
  for (const button of exportButtons.keys()) button.disabled = false;
  cards.summary.hidden = false;
  renderSummary(cards.summaryBody, trace, { onSelectLine: lines.select });
  cards.tasks.hidden = false;
  renderTaskTable(cards.tasksBody, trace, { onSelectLine: lines.select });
  replay.load(num(trace.duration, 0));
  cards.pin.disabled = false;
}

/** The cards that only the main page has, back to showing no run. */
function resetCards() {
  replay.load(0);
  cards.summary.hidden = true;
  cards.tasks.hidden = true;
  for (const button of [...exportButtons.keys(), cards.pin]) button.disabled = true;
}

function resetResults(message) {
  view.clear(message);
  resetCards();
}

/** The run did not happen: say why and show no result. */
function requestError(message, code, advice = "Nothing ran. Your code is still in the editor.") {
  view.showRequestError(message, { code, advice });
  resetCards();
  urlMode.hideCompare();
}

// ---------------------------------------------------------------- runs

/** Run what the page shows: the code, or in URL mode the URL list. */
function run() {
  return modes.current === "urls" ? urlMode.run() : runCode();
}

async function runCode() {
  const code = editor.getValue();
  const clock = currentClock();
  replaceAddress("", codeFragment(code, clock));
  lines.clearError();
  const started = performance.now();
  control.start("Running\u2026");
  try {
    const answer = await api.postRun("api/run", { code, clock });
    if (!answer.ok) {
      requestError(answer.message, answer.code);
      return;
    }
    const body = answer.body;
    if (!body || typeof body !== "object" || Array.isArray(body)) {
      requestError("The server sent an answer the page cannot read.");
      return;
    }
    urlMode.hideCompare();
    showTrace(body, (performance.now() - started) / 1000);
  } finally {
    control.stop();
  }
}

// ----------------------------------------------------- code and modes

const currentClock = () => (clockSelect.value === "real" ? "real" : "virtual");

function setClock(clock) {
  if (clock === "real" || clock === "virtual") clockSelect.value = clock;
}

/** Put code in the editor (with a fresh undo history unless keepHistory) and show which example it is. */
function putCode(code, { keepHistory = false } = {}) {
  editor.setValue(code);
  if (!keepHistory) editor.clearHistory();
  lines.clearError();
  menu.showFor(code);
}

function loadExample(name, { updateUrl = true } = {}) {
  const example = menu.find(name);
  if (!example) return false;
  putCode(example.code);
  if (updateUrl) replaceAddress(`?example=${encodeURIComponent(example.name)}`, "");
  return true;
}

/** URL mode's "Open in code mode": its code, in code mode. */
function openInCodeMode(code) {
  modes.set("code", { focus: false });
  putCode(code);
  replaceAddress("", codeFragment(code, currentClock()));
  editor.focus();
}

/** After the mode switch changed mode: no result, the mode's idle status, its input focused. */
function modeChanged(mode, { focus }) {
  urlMode.hideCompare();
  statusLine.set("idle", IDLE_TEXT[mode]);
  delete statusLine.box.dataset.failed;
  resetResults(EMPTY_TIMELINE[mode]);
  if (mode === "urls") {
    urlMode.shown();
    if (focus) $('[data-testid="url-list"]').focus();
  } else {
    editor.refresh();
    if (focus) editor.focus();
  }
}

// ------------------------------------------------ what the address asks

/** URL mode with the list of a #urls=... fragment, run at once if it says run=1. */
function openUrls(params, { focus = true } = {}) {
  urlMode.load(params);
  modes.set("urls", { focus });
  if (params.get("run") === "1") control.run();
}

/** Open the snippet of a /s/<id> page, if this is one; true if it was. */
function openShared() {
  const data = readSharedSnippet();
  if (!data) return false;
  if (data.mode === "urls" && Array.isArray(data.urls)) {
    const params = new URLSearchParams({ urls: data.urls.map(str).join("\n"), strategy: str(data.strategy) });
    if (Number.isInteger(data.limit)) params.set("limit", String(data.limit));
    urlMode.load(params);
    modes.set("urls");
    return true;
  }
  if (data.mode !== "code" || typeof data.code !== "string") return false;
  putCode(data.code);
  clockSelect.value = data.clock === "real" ? "real" : "virtual";
  editor.focus();
  return true;
}

function start() {
  const fragment = readCodeFragment();
  const query = new URLSearchParams(location.search);
  const urls = readUrlsFragment();
  if (!fragment && !urls && openShared()) return; // /s/<id>; edits in the fragment win
  if (urls) {
    openUrls(urls, { focus: urls.get("run") !== "1" });
    return;
  }
  if (query.get("mode") === "urls") {
    modes.set("urls");
    return;
  }
  if (fragment) {
    putCode(fragment.code);
    setClock(fragment.clock);
    if (fragment.run) control.run();
  } else if (query.has("example") && loadExample(query.get("example"), { updateUrl: false })) {
    // loaded
  } else if (examples.length) {
    menu.select(examples[0].name);
  }
  if (!fragment || !fragment.run) editor.focus();
}

window.addEventListener("hashchange", () => {
  const urls = readUrlsFragment();
  if (urls) {
    openUrls(urls);
    return;
  }
  const fragment = readCodeFragment();
  if (!fragment) return;
  modes.set("code", { focus: false });
  if (fragment.code === editor.getValue()) return;
  putCode(fragment.code, { keepHistory: true });
  setClock(fragment.clock);
  if (fragment.run) control.run();
});

if (/Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent || "")) {
  const kbd = runButton.querySelector(".btn-run-kbd");
  if (kbd) kbd.textContent = "\u2318\u2009\u21b5";
}

window.playground = {
  editor, run: control.run, selectLine: lines.select, renderTrace: showTrace, examples, setMode: modes.set, urlMode,
  timeline: () => view.timeline,
};
start();
