// The embed page (/embed/<id>, /embed#code=...): a compact playground made to
// sit in an iframe on someone else's page. Editor (read-only if asked), Run,
// status, timeline, output; it tells the parent page its height.
//
// Options, in the query or the fragment: code (fragment only), clock
// (virtual | real), autorun=1, readonly=1.
//
// Everything that comes from a run is inserted as text, never as markup.

import { postRun } from "./api.js";
import { pythonEditor } from "./editor.js";
import { StatusBox, STATUS_TITLE, eventNotes, num, outputRow, str, taskNames, validLine } from "./status.js";
import { renderTimeline, clearTimeline, formatDuration } from "./timeline.js";

const HEIGHT_MESSAGE = "asyncio-playground:height";

const $ = (selector) => document.querySelector(selector);
const main = $("#embed");
const editorHost = $('[data-testid="editor"]');
const runButton = $('[data-testid="run"]');
const statusBox = $('[data-testid="status"]');
const statusDetail = statusBox.querySelector(".status-detail");
const timelineBox = $('[data-testid="timeline"]');
const outputBox = $('[data-testid="output"]');
const clockLabel = $('[data-testid="clock"]');
const openLink = $('[data-testid="open-in-playground"]');
const root = main.dataset.root || "/";


// ----------------------------------------------------------- options

function readSnippet() {
  const node = document.getElementById("snippet-data");
  if (!node) return null;
  try {
    const data = JSON.parse(node.textContent || "null");
    return data && typeof data === "object" && !Array.isArray(data) ? data : null;
  } catch {
    return null;
  }
}

/** Query then fragment parameters; the fragment wins. */
function readOptions() {
  const options = new URLSearchParams(location.search);
  const hash = new URLSearchParams(location.hash.replace(/^#/, ""));
  for (const [key, value] of hash) options.set(key, value);
  return options;
}

const flag = (options, ...names) =>
  names.some((name) => options.has(name) && !["0", "false", "no", "off"].includes(options.get(name).toLowerCase()));

const snippet = readSnippet();
const options = readOptions();
const code = snippet ? str(snippet.code) : options.get("code") || "";
let clock = snippet && snippet.clock === "real" ? "real" : "virtual";
if (options.get("clock") === "real" || options.get("clock") === "virtual") clock = options.get("clock");
const readOnly = flag(options, "readonly", "read-only");
const autorun = flag(options, "autorun", "run");

clockLabel.textContent = `${clock} clock`;

// ------------------------------------------------------------ editor

const editor = pythonEditor(editorHost, {
  run: () => run(),
  value: code,
  autoCloseBrackets: !readOnly,
  readOnly,
  viewportMargin: Infinity,
  screenReaderLabel: readOnly ? "Python code (read only)" : "Python code",
  extraKeys: {
    Esc: (cm) => cm.getInputField().blur(),
  },
});
if (readOnly) main.classList.add("is-read-only");

let errorLine = null;

function markErrorLine(line) {
  if (errorLine) editor.removeLineClass(errorLine, "background", "cm-error-line");
  errorLine = validLine(line) && line <= editor.lineCount() ? editor.addLineClass(line - 1, "background", "cm-error-line") : null;
}

function selectLine(line) {
  if (!(validLine(line) && line <= editor.lineCount())) return;
  editor.setCursor({ line: line - 1, ch: 0 });
  editor.scrollIntoView({ line: line - 1, ch: 0 }, 40);
  editor.focus();
}

/** The link to the full playground carries the code as it is now. */
function updateOpenLink() {
  const edited = !snippet || editor.getValue() !== code;
  if (!edited) return;
  const target = new URL(root, location.origin);
  target.hash = `code=${encodeURIComponent(editor.getValue())}&clock=${encodeURIComponent(clock)}`;
  openLink.setAttribute("href", target.href);
}
editor.on("changes", updateOpenLink);
updateOpenLink();

// ------------------------------------------------------------ status

// The embed has room for one more word on a deadlock.
const TITLES = { ...STATUS_TITLE, deadlock: "Deadlock: every task waits for something that never happens" };

// Events worth a line under the status, most telling first.
const NOTE_KINDS = ["deadlock", "limit", "never_awaited", "never_retrieved", "blocking", "exception", "warning"];
const MAX_NOTES = 3;

const statusLine = new StatusBox(statusBox);
const setStatus = (state, text) => statusLine.set(state, text);

function showNotes(trace, names) {
  for (const e of eventNotes(trace, NOTE_KINDS).slice(0, MAX_NOTES)) {
    const p = document.createElement("p");
    p.className = `note note-${e.kind}`;
    const who = names.has(e.task) ? `${names.get(e.task)}: ` : "";
    p.textContent = `${num(e.t, 0).toFixed(3)} s \u00b7 ${who}${str(e.message)}`;
    statusDetail.appendChild(p);
  }
  if (trace.truncated) {
    const p = document.createElement("p");
    p.className = "truncated";
    p.textContent = "The trace was cut: the run recorded more than the playground keeps.";
    statusDetail.appendChild(p);
  }
}

function showTrace(trace) {
  const status = str(trace.status) || "error";
  const err = trace.error && typeof trace.error === "object" ? trace.error : null;
  const timing = `${formatDuration(num(trace.duration, 0))} of loop time (${trace.clock === "real" ? "real" : "virtual"} clock)`;
  const cached = trace.cached === true ? " \u00b7 cached run" : "";
  if (status === "ok") {
    setStatus("ok", `ok \u00b7 ${timing}${cached}`);
  } else if (status === "error" && err) {
    const where = validLine(err.line) ? ` on line ${err.line}` : "";
    setStatus("error", `${str(err.type) || "Error"}${where}: ${str(err.message)}${cached}`);
  } else {
    setStatus(status, `${TITLES[status] || status} \u00b7 ${timing}${cached}`);
  }
  statusBox.dataset.cached = String(trace.cached === true);
  markErrorLine(err ? err.line : null);
  const names = taskNames(trace);
  showNotes(trace, names);
  renderOutput(trace, names);
  renderTimeline(timelineBox, trace, { onSelectLine: selectLine });
}

function renderOutput(trace, names) {
  const lines = (Array.isArray(trace.output) ? trace.output : []).filter((o) => o && typeof o === "object");
  outputBox.replaceChildren();
  for (const o of lines) {
    const row = outputRow(o, names);
    outputBox.appendChild(row);
  }
}

// --------------------------------------------------------------- run

let running = null;

function run() {
  if (running) return running;
  statusLine.running("Running\u2026");
  runButton.disabled = true;
  runButton.setAttribute("aria-busy", "true");
  running = (async () => {
    try {
      const answer = await postRun(new URL("api/run", new URL(root, location.origin)), { code: editor.getValue(), clock });
      if (!answer.ok) {
        failed(answer.message);
        return;
      }
      const body = answer.body;
      if (!body || typeof body !== "object" || Array.isArray(body)) {
        failed("The playground sent an answer this page cannot read.");
        return;
      }
      showTrace(body);
    } finally {
      statusLine.stopTicking();
      runButton.disabled = false;
      runButton.removeAttribute("aria-busy");
      running = null;
    }
  })();
  return running;
}

function failed(message) {
  setStatus("request-error", message);
  outputBox.replaceChildren();
  clearTimeline(timelineBox, "No timeline: the run did not happen.");
}

runButton.addEventListener("click", () => run());
document.addEventListener("keydown", (event) => {
  if (event.defaultPrevented || event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) return;
  event.preventDefault();
  run();
});

// ------------------------------------------------------ parent height

// The height is all the parent learns from us, so any origin may read it.
let lastHeight = 0;

function postHeight() {
  if (window.parent === window) return;
  const height = Math.ceil(main.getBoundingClientRect().height);
  if (height === lastHeight) return;
  lastHeight = height;
  window.parent.postMessage({ type: HEIGHT_MESSAGE, height }, "*");
}

if (typeof ResizeObserver === "function") new ResizeObserver(postHeight).observe(main);
window.addEventListener("load", postHeight);
postHeight();

// ------------------------------------------------------------- start

if (snippet && snippet.mode !== "code") {
  // A URL list: embedding URL mode is not offered; the full page opens it.
  runButton.disabled = true;
  editorHost.hidden = true;
  setStatus("idle", "This snippet is a list of URLs: open it in the playground to fetch them.");
} else if (autorun && code.trim()) {
  run();
}

window.playgroundEmbed = { editor, run };
