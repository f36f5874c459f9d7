// The main page (/ and a shared snippet's /s/<id>): builds the editor, the
// result view and every feature, and ties them together: Run in code mode
// and in URL mode, the Python picker and "Run on two Pythons", the result
// cards, the address bar (#code=...&python=..., #urls=..., ?example=...,
// ?python=..., ?mode=urls), the work kept for the next visit and for Back
// (features/keep.js), and window.playground, the handle the browser tests
// and bench/render.py use.

import { clockPicker } from "../features/clock-picker.js";
import { editorLines, pythonEditor, replaceCode } from "../features/editor.js";
import { exampleMenu, readExamples } from "../features/examples.js";
import { entryWork, pageWork } from "../features/keep.js";
import { modeSwitch } from "../features/mode-switch.js";
import { downloadChromeTrace } from "../features/perfetto.js";
import { downloadPng, downloadSvg } from "../features/picture.js";
import { pinnableTimelines } from "../features/pin.js";
import { pythonPicker } from "../features/python-picker.js";
import { liveRunner } from "../features/live-run.js";
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
import { connectionsOf } from "../lib/connections.js";
import { $ } from "../lib/dom.js";
import { readPythons } from "../lib/pythons.js";
import { num, str } from "../lib/values.js";


const IDLE_TEXT = {
  code: "Press Run (Ctrl+Enter) to see what the event loop does; Stop (Ctrl+.) ends a run.",
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
const api = apiClient(scriptRoot());
const statusLine = new StatusBox($('[data-testid="status"]'));
const runButton = $('[data-testid="run"]');
const control = runControl({
  button: runButton, stopButton: $('[data-testid="stop"]'), statusLine, staleArea: $(".pane-results"), run: () => run(),
});

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
  resetButton: $('[data-testid="reset-example"]'),
  onPick: (name) => {
    work.pick(name);
    editor.focus();
  },
});
const python = pythonPicker({
  select: $("#python-select"),
  compareButton: $('[data-testid="run-two-pythons"]'),
  pythons: readPythons(),
  onChange: pythonChanged,
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
  python: () => python.value,
  setHash: (hash) => replaceAddress("", hash),
  timelineBox,
});

initShare({
  api,
  isUrlMode: () => modes.current === "urls",
  currentSnippet: () => (modes.current === "urls" ? urlMode.snippet()
    : { mode: "code", code: editor.getValue(), clock: currentClock(), python: python.value }),
  downloadable: () => (modes.current === "urls"
    ? { text: urlMode.code.code, filename: "fetch_urls.py" }
    : { script: { code: editor.getValue(), python: python.value }, filename: "snippet.py" }),
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
  // The request phases' legend, in code mode too when the run used the network.
  document.querySelector('[data-testid="phase-legend"]')?.toggleAttribute("data-network", connectionsOf(trace).length > 0);
  replay.load(num(trace.duration, 0));
  cards.pin.disabled = false;
}

/** The cards that only the main page has, back to showing no run. */
function resetCards() {
  replay.load(0);
  cards.summary.hidden = true;
  cards.tasks.hidden = true;
  document.querySelector('[data-testid="phase-legend"]')?.removeAttribute("data-network");
  for (const button of [...exportButtons.keys(), cards.pin]) button.disabled = true;
}

function resetResults(message) {
  view.clear(message);
  resetCards();
}

/** The run did not happen: say why and show no result (state: the status line's, "request-error" unless the reader stopped it). */
function requestError(message, code, advice = "Nothing ran. Your code is still in the editor.", state = undefined) {
  view.showRequestError(message, { code, advice, state });
  resetCards();
  urlMode.hideCompare();
}

// ---------------------------------------------------------------- runs

// A run drawn as it goes on: the first drawing of each run clears the last
// run's cards (they no longer fade: the new run is what the page shows).
let liveDrawn = false;
const live = liveRunner({
  api,
  statusLine,
  control,
  drawLive: (trace) => {
    if (!liveDrawn) {
      liveDrawn = true;
      control.fresh();
      resetCards();
      urlMode.hideCompare();
    }
    view.showLive(trace);
  },
});

/** Run what the page shows: the code, or in URL mode the URL list. */
function run() {
  return modes.current === "urls" ? urlMode.run() : runCode();
}

/** Run the code on a Python, watched live (runningText on the status line): its trace, or null once the status line says why there is none. */
async function runOn(code, clock, pythonId, runningText) {
  liveDrawn = false;
  const answer = await live.watch({ code, clock, python: pythonId }, runningText);
  if (!answer.ok) {
    requestError(answer.message, answer.code, answer.advice, answer.state);
    return null;
  }
  const body = answer.body;
  if (!body || typeof body !== "object" || Array.isArray(body)) {
    requestError("The server sent an answer the page cannot read.");
    return null;
  }
  return body;
}

/** Run the editor's code; address: the address bar shows the code run (not on opening a shared link, whose address is its own). */
async function runCode({ address = true } = {}) {
  const code = editor.getValue();
  const clock = currentClock();
  const picked = python.value;
  if (address) replaceAddress("", codeFragment(code, clock, picked));
  lines.clearError();
  const text = `Running on Python ${python.version()}\u2026`;
  control.start(text);
  try {
    await runAndShow(code, clock, picked, text);
  } finally {
    control.finish();
  }
}

/** Run on one Python and show its result, timed from the request to the answer. */
async function runAndShow(code, clock, picked, runningText) {
  const started = performance.now();
  const trace = await runOn(code, clock, picked, runningText);
  if (!trace) return;
  urlMode.hideCompare();
  showTrace(trace, (performance.now() - started) / 1000);
}

/** "Run on two Pythons": the code on the other Python, pinned, then on the picked one, above it on one scale. */
async function runOnTwoPythons() {
  const other = python.other();
  if (!other || modes.current !== "code") return;
  const code = editor.getValue();
  const clock = currentClock();
  const picked = python.value;
  replaceAddress("", codeFragment(code, clock, picked));
  lines.clearError();
  const text = `Running on Python ${python.version(other)}, then on Python ${python.version()}\u2026`;
  control.start(text);
  try {
    const first = await runOn(code, clock, other, text);
    if (!first) return;
    timelines.pin(first, { hint: `: the same code, pinned to compare with Python ${python.version()}`, draw: false });
    await runAndShow(code, clock, picked, text);
  } finally {
    control.finish();
  }
}
$('[data-testid="run-two-pythons"]').addEventListener("click", () => control.run(runOnTwoPythons));

// ----------------------------------------------------- code and modes

const clockPick = clockPicker({ select: $("#clock-select"), hint: $('[data-testid="clock-hint"]'), onChange: () => keeper.changed() });
const currentClock = clockPick.value;
const setClock = clockPick.set;

/** The reader picked a Python: the address keeps it with the code (a reload loses neither); URL mode's code names it. */
function pythonChanged(id) {
  if (modes.current === "urls") {
    urlMode.pythonChanged();
  } else {
    replaceAddress("", codeFragment(editor.getValue(), currentClock(), id));
  }
  keeper.changed();
}

/**
 * Put code in the editor and show which example it is: with a fresh undo
 * history, unless keepHistory, or undoable (one change Ctrl/Cmd+Z takes back).
 */
function putCode(code, { keepHistory = false, undoable = false } = {}) {
  if (undoable) {
    replaceCode(editor, code);
  } else {
    editor.setValue(code);
    if (!keepHistory) editor.clearHistory();
  }
  lines.clearError();
  menu.showFor(code);
}

/** Put an example in the editor (undoable: one change Ctrl/Cmd+Z takes back), picking a Python it runs on; false if there is none of that name. */
function loadExample(name, { undoable = false } = {}) {
  const example = menu.find(name);
  if (!example) return false;
  putCode(example.code, { undoable });
  if (example.python && !python.suit(example.python)) {
    statusLine.set("idle", `This example needs Python ${example.python} or newer, which this playground does not have: it will fail on Python ${python.version()}.`);
  }
  return true;
}

// The work kept for the next visit, a reload and Back (features/keep.js).
const work = pageWork({
  editor, menu, modes, python, urlMode, urlList: $('[data-testid="url-list"]'), clock: currentClock, setClock, putCode, loadExample,
});
const keeper = work.keeper;

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

/** Open the snippet of a /s/<id> page, if this is one: its mode ("code" or "urls"), or null. */
function openShared() {
  const data = readSharedSnippet();
  if (!data) return null;
  if (data.mode === "urls" && Array.isArray(data.urls)) {
    const params = new URLSearchParams({ urls: data.urls.map(str).join("\n"), strategy: str(data.strategy) });
    if (Number.isInteger(data.limit)) params.set("limit", String(data.limit));
    urlMode.load(params);
    modes.set("urls");
    return "urls";
  }
  if (data.mode !== "code" || typeof data.code !== "string") return null;
  putCode(data.code);
  setClock(data.clock === "real" ? "real" : "virtual");
  python.set(str(data.python));
  editor.focus();
  return "code";
}

function start() {
  if (work.reopen()) {
    if (modes.current === "code") editor.focus();
    return;
  }
  const fragment = readCodeFragment();
  const query = new URLSearchParams(location.search);
  const urls = readUrlsFragment();
  const shared = !fragment && !urls && openShared(); // /s/<id>; edits in the fragment win
  // ?python= picks the Python for whatever the page opens; #python= wins.
  if (query.has("python")) python.set(query.get("python"));
  // A shared snippet opens showing its run (a virtual-clock run made a moment ago comes back at once); a URL list is not fetched.
  if (shared === "code") control.run(() => runCode({ address: false }));
  if (shared) return;
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
    if (fragment.python) python.set(fragment.python);
    if (fragment.run) control.run();
  } else if ((query.has("example") && loadExample(query.get("example"))) || work.restore(statusLine)) {
    if (query.has("python")) python.set(query.get("python")); // the address's Python wins over the example's or the kept one
  } else if (examples.length) {
    menu.select(examples[0].name);
  }
  if ((!fragment || !fragment.run) && modes.current === "code") editor.focus();
}

window.addEventListener("hashchange", () => {
  if (entryWork()) return; // Back or Forward to an entry holding its work: popstate put it back
  const urls = readUrlsFragment();
  if (urls) {
    openUrls(urls);
    return;
  }
  const fragment = readCodeFragment();
  if (!fragment) return;
  modes.set("code", { focus: false });
  if (fragment.python) python.set(fragment.python);
  if (fragment.code === editor.getValue()) return;
  putCode(fragment.code, { keepHistory: true });
  setClock(fragment.clock);
  if (fragment.run) control.run();
});

window.playground = {
  editor, run: control.run, selectLine: lines.select, renderTrace: showTrace, examples, setMode: modes.set, urlMode, python,
  timeline: () => view.timeline,
};
start();
