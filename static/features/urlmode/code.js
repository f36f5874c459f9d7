// URL mode's "Equivalent Python": the code that fetches the list with the
// chosen strategy (POST /api/fetch/code), read-only, kept up to date as the
// form changes; after a run it carries how long each URL took and what came
// back, so the code opened in code mode waits as long as the real requests.

import { asArray, num, str } from "../../lib/values.js";

/** The seconds each URL took in a URL-mode trace (its queueing left out), null where it never ended. */
function took(trace) {
  return trace.tasks.map((task) => {
    if (!task || typeof task !== "object" || typeof task.ended !== "number") return null;
    const phases = asArray(task.phases);
    const queued = phases.filter((p) => p && p.name === "queued").reduce((sum, p) => sum + num(p.end, 0) - num(p.start, 0), 0);
    return Math.max(0, Math.round((task.ended - num(task.created, 0) - queued) * 1000) / 1000);
  });
}

/** What came back for each URL of a trace: a status code, the failure's type, or null. */
function outcomes(trace) {
  return trace.tasks.map((task) => {
    if (!task || typeof task !== "object") return null;
    if (task.error && typeof task.error === "object") return str(task.error.type).slice(0, 40) || "failed";
    const status = task.http && typeof task.http === "object" ? task.http.status : null;
    return typeof status === "number" ? String(status) : null;
  });
}

/** The code pane in host; form is the urlForm, api the API client, openButton opens the code in code mode, python() the id of the Python the code is for. */
export function urlCode({ host, openButton, form, api, python }) {
  const editor = CodeMirror(host, {
    value: "",
    mode: "python",
    readOnly: true,
    lineNumbers: true,
    indentUnit: 4,
    viewportMargin: 50,
    screenReaderLabel: "Equivalent Python code (read only)",
  });
  let runnable = "";
  let measured = null; // {took, outcomes} of the last run, for as long as the list is the same
  let sequence = 0;
  let timer = 0;

  const showCode = (text, runnableText) => {
    runnable = runnableText;
    openButton.disabled = !runnable;
    editor.setValue(text);
  };

  async function update() {
    const seq = ++sequence;
    const items = form.urls();
    if (!items.length || items.length > form.maxUrls) {
      showCode(items.length ? `# Too many URLs: the limit is ${form.maxUrls}.\n` : "# Add URLs (one a line) to see the code that fetches them.\n", "");
      return;
    }
    const body = { urls: items, strategy: form.strategy(), limit: form.limit() };
    if (python()) body.python = python();
    if (measured && measured.took.length === items.length) body.took = measured.took;
    if (measured && measured.outcomes.length === items.length) body.outcomes = measured.outcomes;
    const answer = await api.postJSON("api/fetch/code", body);
    if (seq !== sequence) return; // a newer request is on its way
    if (!answer.ok) showCode(`# ${answer.message}\n`, "");
    else showCode(str(answer.body.code), str(answer.body.runnable));
  }

  return {
    update,
    /** Update the code shortly (edits come in bursts). */
    schedule() {
      clearTimeout(timer);
      timer = setTimeout(update, 200);
    },
    /** Remember how each URL of this run went, for the code. */
    measure(trace) {
      measured = { took: took(trace), outcomes: outcomes(trace) };
    },
    /** The list changed: the last run's times no longer apply. */
    forget() {
      measured = null;
    },
    /** CodeMirror measures itself once visible. */
    refresh: () => editor.refresh(),
    get text() {
      return editor.getValue();
    },
    get runnable() {
      return runnable;
    },
  };
}
