// The Python editor of the main page and of the embed page (CodeMirror,
// vendored): Python mode, four-space indents, Ctrl/Cmd+Enter runs, Tab and
// Shift+Tab indent; each page adds its own options and keys. Code replaced
// as one change Ctrl/Cmd+Z takes back (replaceCode). And the lines a run
// points at: the failing line marked, a line shown on request.

import { validLine } from "../lib/values.js";

export function pythonEditor(host, { run, extraKeys = {}, ...options }) {
  return CodeMirror(host, {
    mode: "python",
    lineNumbers: true,
    indentUnit: 4,
    tabSize: 4,
    indentWithTabs: false,
    matchBrackets: true,
    ...options,
    extraKeys: {
      "Ctrl-Enter": () => run(),
      "Cmd-Enter": () => run(),
      Tab: (cm) => (cm.somethingSelected() ? cm.indentSelection("add") : cm.execCommand("insertSoftTab")),
      "Shift-Tab": (cm) => cm.indentSelection("subtract"),
      ...extraKeys,
    },
  });
}

/** The change's origin when the page, not the person, replaced the code (an example picked, Back). */
export const REPLACED = "replace-code";

/** Replace all the editor's code as one change that Ctrl/Cmd+Z undoes (setValue would drop the history). */
export function replaceCode(editor, code) {
  if (editor.getValue() === code) return;
  editor.operation(() => {
    editor.replaceRange(code, { line: editor.firstLine(), ch: 0 }, { line: editor.lastLine() }, REPLACED);
    editor.setCursor({ line: 0, ch: 0 });
    editor.scrollTo(0, 0);
  });
}

/**
 * The snippet lines a run points at, in editor: markError(line) marks the
 * failing line (null clears it), select(line) puts the cursor there and
 * scrolls to it, flashing the line for a moment if `flash`, and
 * markStep({resumed, suspended}) marks where a step of the loop view
 * resumed and where it suspended (each labelled in the line; null clears).
 */
export function editorLines(editor, { flash = false, scrollMargin = 60 } = {}) {
  const inEditor = (line) => validLine(line) && line <= editor.lineCount();
  let errorLine = null;
  let flashed = null;
  let flashTimer = 0;

  function clearError() {
    if (errorLine) editor.removeLineClass(errorLine, "background", "cm-error-line");
    errorLine = null;
  }

  function markError(line) {
    clearError();
    if (inEditor(line)) errorLine = editor.addLineClass(line - 1, "background", "cm-error-line");
  }

  function flashLine(line) {
    if (flashed) editor.removeLineClass(flashed, "background", "cm-selected-line");
    clearTimeout(flashTimer);
    const handle = editor.addLineClass(line - 1, "background", "cm-selected-line");
    flashed = handle;
    flashTimer = setTimeout(() => {
      editor.removeLineClass(handle, "background", "cm-selected-line");
      if (flashed === handle) flashed = null;
    }, 2500);
  }

  function select(line) {
    line = Number(line);
    if (!inEditor(line)) return;
    if (flash) flashLine(line);
    editor.setCursor({ line: line - 1, ch: 0 });
    editor.scrollIntoView({ line: line - 1, ch: 0 }, scrollMargin);
    editor.focus();
  }

  let stepMarks = [];
  let stepLines = "";
  function markStep({ resumed, suspended }) {
    const lines = `${resumed} ${suspended}`;
    if (lines === stepLines) return; // stepping on within the same lines costs the editor nothing
    stepLines = lines;
    editor.operation(() => {
      for (const [handle, where, name] of stepMarks) editor.removeLineClass(handle, where, name);
      stepMarks = [];
      const mark = (line, name) => {
        if (!inEditor(line)) return;
        for (const where of ["background", "text"]) stepMarks.push([editor.addLineClass(line - 1, where, name), where, name]);
      };
      mark(resumed, "cm-step-resumed");
      mark(suspended, "cm-step-suspended");
      const shown = inEditor(suspended) ? suspended : resumed;
      if (inEditor(shown)) editor.scrollIntoView({ line: shown - 1, ch: 0 }, scrollMargin);
    });
  }

  return { markError, clearError, select, markStep };
}
