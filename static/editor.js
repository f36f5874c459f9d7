// The Python editor of the playground page and of the embed page
// (CodeMirror, vendored): Python mode, four-space indents, Ctrl/Cmd+Enter
// runs, Tab and Shift+Tab indent. Each page adds its own options and keys.

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
