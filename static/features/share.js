// Share, Download .py and Embed on the main page, and the snippet of a
// shared page (/s/<id>, whose page carries it as JSON in #snippet-data).
//
// Share saves the snippet (POST /api/snippets) and shows its short link.
// Embed saves it too and offers two things to paste into a tutorial: an
// iframe, and the one script tag (static/embed.js) with a <pre> block.
// Snippet text only ever goes into form fields' values, never into markup.

import { $, element, readPageData } from "../lib/dom.js";
import { download } from "../lib/download.js";
import { asObject, str } from "../lib/values.js";

const escapeHtml = (text) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** The snippet of a /s/<id> page: {mode: "code", code, clock} or {mode: "urls", urls, ...}; null elsewhere. */
export function readSharedSnippet() {
  const data = readPageData("snippet-data");
  return asObject(data);
}

async function copyText(field, button) {
  let done = false;
  try {
    await navigator.clipboard.writeText(field.value);
    done = true;
  } catch {
    field.focus();
    field.select();
    try {
      done = document.execCommand("copy");
    } catch {
      done = false;
    }
  }
  const label = button.dataset.label || button.textContent;
  button.dataset.label = label;
  button.textContent = done ? "Copied" : "Press Ctrl+C";
  setTimeout(() => {
    button.textContent = label;
  }, 1500);
}

/** A read-only field with its Copy button. */
function copyRow(field, testid) {
  const button = element("button", { type: "button", class: "btn-small", "data-testid": testid, text: "Copy" });
  button.addEventListener("click", () => copyText(field, button));
  return element("div", { class: "share-row" }, [field, button]);
}

/** A modal dialog with a title and a Close button; a click on the backdrop closes it too. */
function dialog(testid, title, body) {
  const close = element("button", { type: "button", class: "btn-small", "data-testid": `${testid}-close`, text: "Close" });
  const node = element("dialog", { class: "share-dialog", "data-testid": testid, "aria-label": title }, [
    element("div", { class: "share-dialog-head" }, [element("h2", { text: title }), close]),
    ...body,
  ]);
  close.addEventListener("click", () => node.close());
  node.addEventListener("click", (event) => {
    if (event.target === node) node.close(); // a click on the backdrop
  });
  document.body.append(node);
  return node;
}

/** Open a dialog afresh (no outcome shown yet). */
function reopen(node) {
  delete node.dataset.state;
  if (!node.open) node.showModal();
}

/** Save, and mark the dialog with the outcome: the saved snippet, or null once status says why not. */
async function saveInto(node, status, save) {
  const saved = await save();
  node.dataset.state = saved.ok ? "saved" : "error";
  if (!saved.ok) status.textContent = saved.message;
  return saved.ok ? saved : null;
}

/**
 * Wire the header's Share, Download .py and Embed buttons. options: api (the
 * API client), currentSnippet() (what Share saves), isUrlMode(), and
 * downloadable() (for Download .py: {text, filename}, or {script: {code,
 * python}, filename}, code the server makes a file of, its block naming
 * its Python: POST /api/script).
 */
export function initShare({ api, currentSnippet, isUrlMode, downloadable }) {
  const actions = $(".share-actions");

  /** Save what is on the page: {ok, id, url, snippet} or {ok: false, message}. */
  async function save() {
    const snippet = currentSnippet();
    const answer = await api.postJSON("api/snippets", snippet);
    if (!answer.ok) return answer;
    const body = answer.body || {};
    return { ok: true, id: str(body.id), url: str(body.url), snippet };
  }

  $('[data-testid="share"]').addEventListener("click", shareDialog(save));
  $('[data-testid="download"]').addEventListener("click", async () => {
    const { text, script, filename } = downloadable();
    let saved = text;
    if (script) {
      const answer = await api.postJSON("api/script", script);
      // Without the server, the code as it is: the file matters more than its block.
      saved = answer.ok && answer.body && typeof answer.body.script === "string" ? answer.body.script : script.code;
    }
    download(new Blob([saved], { type: "text/x-python" }), filename);
  });
  $('[data-testid="embed"]').addEventListener("click", embedDialog(save, isUrlMode, actions ? actions.dataset.embedScript : ""));
  return { save };
}

/** The Share dialog; returns what its button does: save, then show the link. */
function shareDialog(save) {
  const status = element("p", { class: "share-status", role: "status", "data-testid": "share-status" });
  const field = element("input", { type: "text", readonly: "", class: "share-field", "data-testid": "share-url",
    "aria-label": "Link to this snippet" });
  const node = dialog("share-dialog", "Share this snippet", [
    status,
    copyRow(field, "copy-share-url"),
    element("p", { class: "share-note", text: "Anyone with the link sees this snippet and can run it. The same snippet always gets the same link." }),
  ]);
  return async () => {
    field.value = "";
    status.textContent = "Saving\u2026";
    reopen(node);
    const saved = await saveInto(node, status, save);
    if (!saved) return;
    status.textContent = saved.snippet.mode === "urls" ? "The URL list is saved. Its link:" : "The snippet is saved. Its link:";
    field.value = saved.url;
    field.select();
  };
}

/** The Embed dialog; returns what its button does: save, then show the iframe and the script tag. */
function embedDialog(save, isUrlMode, embedScript) {
  const status = element("p", { class: "share-status", role: "status", "data-testid": "embed-status" });
  const autorunBox = element("input", { type: "checkbox", "data-testid": "embed-autorun" });
  const readOnlyBox = element("input", { type: "checkbox", "data-testid": "embed-read-only" });
  const iframeField = element("textarea", { readonly: "", rows: "3", class: "share-field", "data-testid": "embed-iframe",
    "aria-label": "iframe to paste into your page", spellcheck: "false" });
  const scriptField = element("textarea", { readonly: "", rows: "6", class: "share-field", "data-testid": "embed-script",
    "aria-label": "Script tag and code block to paste into your page", spellcheck: "false" });
  const node = dialog("embed-dialog", "Embed in your page", [
    status,
    element("div", { class: "share-options" }, [
      element("label", {}, [autorunBox, " Run when the page opens"]),
      element("label", {}, [readOnlyBox, " Read-only"]),
    ]),
    element("h3", { text: "An iframe" }),
    copyRow(iframeField, "copy-embed-iframe"),
    element("h3", { text: "Or one script tag for every code block" }),
    element("p", { class: "share-note", text: "Add the script once; each <pre data-asyncio-playground> block on the page becomes a runnable snippet. Options: data-clock, data-python, data-autorun, data-read-only, data-height." }),
    copyRow(scriptField, "copy-embed-script"),
  ]);
  let embedded = null; // the saved snippet the fields show

  function updateFields() {
    if (!embedded) return;
    const params = new URLSearchParams();
    if (autorunBox.checked) params.set("autorun", "1");
    if (readOnlyBox.checked) params.set("readonly", "1");
    // The share link is <root>/s/<id>; the embed is <root>/embed/<id>.
    const src = new URL(`embed/${embedded.id}`, new URL("..", embedded.url));
    src.search = params.toString();
    const lines = embedded.snippet.code.split("\n").length;
    const height = Math.min(900, Math.max(360, 300 + 19 * lines));
    iframeField.value = `<iframe src="${escapeHtml(src.href)}" title="asyncio playground snippet" width="100%" height="${height}" style="border:0" loading="lazy"></iframe>`;
    const attrs = [`data-clock="${embedded.snippet.clock}"`];
    if (embedded.snippet.python) attrs.push(`data-python="${escapeHtml(String(embedded.snippet.python))}"`);
    if (autorunBox.checked) attrs.push("data-autorun");
    if (readOnlyBox.checked) attrs.push("data-read-only");
    scriptField.value = `<script src="${escapeHtml(embedScript)}" async></script>\n` +
      `<pre data-asyncio-playground ${attrs.join(" ")}>\n${escapeHtml(embedded.snippet.code)}</pre>`;
  }
  autorunBox.addEventListener("change", updateFields);
  readOnlyBox.addEventListener("change", updateFields);

  return async () => {
    embedded = null;
    iframeField.value = "";
    scriptField.value = "";
    reopen(node);
    if (isUrlMode()) {
      node.dataset.state = "error";
      status.textContent = "Embeds run code. Switch to code mode (Open in code mode gives the code of this URL list), or use Share for a link to the list.";
      return;
    }
    status.textContent = "Saving\u2026";
    embedded = await saveInto(node, status, save);
    if (!embedded) return;
    status.textContent = "Paste one of these into your page.";
    updateFields();
  };
}
