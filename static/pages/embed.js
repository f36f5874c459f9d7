// The embed page (/embed/<id>, /embed#code=...): a compact playground made to
// sit in an iframe on someone else's page. Editor (read-only if asked), Run,
// status, timeline, output; it tells the parent page its height.
//
// Options, in the query or the fragment: code (fragment only), clock
// (virtual | real), python (an id: 3.14), autorun=1 (autorun=ask: when
// static/embed.js gives it its turn, features/embed-turns.js), readonly=1.
// Runs are watched live and can be stopped, as on the main page.
//
// (Not to be confused with static/embed.js, the script authors put on their
// own pages, which makes the iframes that load this page.)

import { autorunTurn } from "../features/embed-turns.js";
import { editorLines, pythonEditor } from "../features/editor.js";
import { liveRunner } from "../features/live-run.js";
import { resultView, singleTimeline } from "../features/result-view.js";
import { runControl } from "../features/run-control.js";
import { StatusBox } from "../features/status.js";
import { addressOptions, codeFragment, optionIsOn } from "../lib/address.js";
import { apiClient } from "../lib/api.js";
import { $, readPageData } from "../lib/dom.js";
import { defaultPython, readPythons, versionOf } from "../lib/pythons.js";
import { str } from "../lib/values.js";

const HEIGHT_MESSAGE = "asyncio-playground:height";

const main = $("#embed");
const editorHost = $('[data-testid="editor"]');
const root = main.dataset.root || "/";

// ------------------------------------------------------------ options

const snippet = (() => {
  const data = readPageData("snippet-data");
  return data && typeof data === "object" && !Array.isArray(data) ? data : null;
})();
const options = addressOptions();
const code = snippet ? str(snippet.code) : options.get("code") || "";
const clock = chosenClock();
const pythons = readPythons();
const python = chosenPython();
const readOnly = optionIsOn(options, "readonly", "read-only");
const autorun = optionIsOn(options, "autorun", "run");
const autorunAsks = options.get("autorun") === "ask";

/** The clock the options ask for, else the snippet's, else the virtual clock. */
function chosenClock() {
  const asked = options.get("clock");
  if (asked === "real" || asked === "virtual") return asked;
  return snippet && snippet.clock === "real" ? "real" : "virtual";
}

/** The Python the options ask for, else the snippet's, else the server's default. */
function chosenPython() {
  return options.get("python") || (snippet && typeof snippet.python === "string" ? snippet.python : defaultPython(pythons));
}

$('[data-testid="clock"]').textContent = `${clock} clock`;
const pythonLabel = $('[data-testid="python"]');
pythonLabel.textContent = python ? `Python ${versionOf(pythons, python)}` : "";
pythonLabel.dataset.python = python || "";

// -------------------------------------------------------------- parts

const api = apiClient(root);
const statusLine = new StatusBox($('[data-testid="status"]'));
const control = runControl({ button: $('[data-testid="run"]'), stopButton: $('[data-testid="stop"]'), statusLine, run: () => run() });
const editor = pythonEditor(editorHost, {
  run: () => control.run(),
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
const lines = editorLines(editor, { scrollMargin: 40 });
const view = resultView({
  statusLine,
  outputBox: $('[data-testid="output"]'),
  lines,
  timelines: singleTimeline($('[data-testid="timeline"]'), { onSelectLine: lines.select }),
  compact: true,
});

const live = liveRunner({ api, statusLine, control, drawLive: (trace) => view.showLive(trace) });
// The autorun's turn, while it is not over (a run by hand ends it: it is never held back).
let turn = null;

async function run() {
  if (turn) turn.over();
  turn = null;
  const text = python ? `Running on Python ${versionOf(pythons, python)}\u2026` : "Running\u2026";
  control.start(text);
  try {
    const answer = await live.watch(python ? { code: editor.getValue(), clock, python } : { code: editor.getValue(), clock }, text);
    if (!answer.ok) {
      view.showRequestError(answer.message, { state: answer.state });
      return;
    }
    const body = answer.body;
    if (!body || typeof body !== "object" || Array.isArray(body)) {
      view.showRequestError("The playground sent an answer this page cannot read.");
      return;
    }
    view.show(body);
  } finally {
    control.finish();
  }
}

/** Run once it is this embed's turn (at once, unless embed.js asked it to wait), unless the reader ran it first. */
function autorunInTurn() {
  const mine = autorunTurn(autorunAsks);
  turn = mine;
  if (autorunAsks) statusLine.set("idle", "This snippet runs by itself in a moment, after the ones before it on the page. Press Run to run it now.");
  mine.given.then(async () => {
    if (turn !== mine) return; // run by hand meanwhile: that ended the turn
    turn = null;
    try {
      await control.run();
    } finally {
      mine.over();
    }
  });
}

/** The link to the full playground carries the code as it is now. */
function updateOpenLink() {
  const edited = !snippet || editor.getValue() !== code;
  if (!edited) return;
  const target = new URL(root, location.origin);
  target.hash = codeFragment(editor.getValue(), clock, python);
  $('[data-testid="open-in-playground"]').setAttribute("href", target.href);
}
editor.on("changes", updateOpenLink);
updateOpenLink();

// ------------------------------------------------------- parent height

/** Tell the parent page our height whenever it changes. It is all the parent learns from us, so any origin may read it. */
function reportHeight() {
  let lastHeight = 0;
  const post = () => {
    if (window.parent === window) return;
    const height = Math.ceil(main.getBoundingClientRect().height);
    if (height === lastHeight) return;
    lastHeight = height;
    window.parent.postMessage({ type: HEIGHT_MESSAGE, height }, "*");
  };
  if (typeof ResizeObserver === "function") new ResizeObserver(post).observe(main);
  window.addEventListener("load", post);
  post();
}
reportHeight();

// --------------------------------------------------------------- start

if (snippet && snippet.mode !== "code") {
  // A URL list: embedding URL mode is not offered; the full page opens it.
  $('[data-testid="run"]').disabled = true;
  editorHost.hidden = true;
  statusLine.set("idle", "This snippet is a list of URLs: open it in the playground to fetch them.");
} else if (autorun && code.trim()) {
  autorunInTurn();
}

window.playgroundEmbed = { editor, run: control.run };
