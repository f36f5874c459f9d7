// Share, Download .py and Embed on the main page, and opening a shared
// snippet (/s/<id>, whose page carries it as JSON in #snippet-data).
//
// Share saves the snippet (POST /api/snippets) and shows its short link.
// Embed saves it too and offers two things to paste into a tutorial: an
// iframe, and the one script tag (static/embed.js) with a <pre> block.
// Snippet text only ever goes into form fields' values, never into markup.

const str = (v) => (v === null || v === undefined ? "" : String(v));

function el(name, attrs = {}, children = []) {
  const node = document.createElement(name);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

const escapeHtml = (text) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

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

function copyRow(field, testid) {
  const button = el("button", { type: "button", class: "btn-small", "data-testid": testid, text: "Copy" });
  button.addEventListener("click", () => copyText(field, button));
  return el("div", { class: "share-row" }, [field, button]);
}

function dialog(testid, title, body) {
  const close = el("button", { type: "button", class: "btn-small", "data-testid": `${testid}-close`, text: "Close" });
  const node = el("dialog", { class: "share-dialog", "data-testid": testid, "aria-label": title }, [
    el("div", { class: "share-dialog-head" }, [el("h2", { text: title }), close]),
    ...body,
  ]);
  close.addEventListener("click", () => node.close());
  node.addEventListener("click", (event) => {
    if (event.target === node) node.close(); // a click on the backdrop
  });
  document.body.append(node);
  return node;
}

/**
 * deps from app.js: editor, getMode(), setMode(mode, opts), urlMode,
 * clockSelect, showExampleFor(code), postJSON(path, payload).
 */
export function initShare(deps) {
  const $ = (selector) => document.querySelector(selector);
  const actions = $(".share-actions");
  const shareButton = $('[data-testid="share"]');
  const downloadButton = $('[data-testid="download"]');
  const embedButton = $('[data-testid="embed"]');
  const urlList = $('[data-testid="url-list"]');
  const strategySelect = $('[data-testid="strategy"]');
  const limitInput = $('[data-testid="limit"]');
  const embedScript = actions ? actions.dataset.embedScript : "";

  // ------------------------------------------------------------- saving

  function currentSnippet() {
    if (deps.getMode() === "urls") {
      const urls = urlList.value.split(/\r?\n/).map((line) => line.trim()).filter(Boolean);
      const body = { mode: "urls", urls, strategy: strategySelect.value };
      const limit = Math.round(Number(limitInput.value));
      if (Number.isInteger(limit) && limit >= 1) body.limit = Math.min(limit, Number(limitInput.max) || limit);
      return body;
    }
    return { mode: "code", code: deps.editor.getValue(), clock: deps.clockSelect.value === "real" ? "real" : "virtual" };
  }

  /** Save what is on the page: {ok, id, url, snippet} or {ok: false, message}. */
  async function save() {
    const snippet = currentSnippet();
    const answer = await deps.postJSON("api/snippets", snippet);
    if (!answer.ok) return answer;
    const body = answer.body || {};
    return { ok: true, id: str(body.id), url: str(body.url), snippet };
  }

  // -------------------------------------------------------------- share

  const shareStatus = el("p", { class: "share-status", role: "status", "data-testid": "share-status" });
  const shareField = el("input", { type: "text", readonly: "", class: "share-field", "data-testid": "share-url",
    "aria-label": "Link to this snippet" });
  const shareDialog = dialog("share-dialog", "Share this snippet", [
    shareStatus,
    copyRow(shareField, "copy-share-url"),
    el("p", { class: "share-note", text: "Anyone with the link sees this snippet and can run it. The same snippet always gets the same link." }),
  ]);

  shareButton.addEventListener("click", async () => {
    shareField.value = "";
    shareStatus.textContent = "Saving\u2026";
    delete shareDialog.dataset.state;
    if (!shareDialog.open) shareDialog.showModal();
    const saved = await save();
    if (!saved.ok) {
      shareDialog.dataset.state = "error";
      shareStatus.textContent = saved.message;
      return;
    }
    shareDialog.dataset.state = "saved";
    shareStatus.textContent = saved.snippet.mode === "urls" ? "The URL list is saved. Its link:" : "The snippet is saved. Its link:";
    shareField.value = saved.url;
    shareField.select();
  });

  // ----------------------------------------------------------- download

  downloadButton.addEventListener("click", () => {
    const text = deps.getMode() === "urls" ? deps.urlMode.code.code : deps.editor.getValue();
    const blob = new Blob([text], { type: "text/x-python" });
    const url = URL.createObjectURL(blob);
    const link = el("a", { href: url, download: deps.getMode() === "urls" ? "fetch_urls.py" : "snippet.py" });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  });

  // -------------------------------------------------------------- embed

  const embedStatus = el("p", { class: "share-status", role: "status", "data-testid": "embed-status" });
  const autorunBox = el("input", { type: "checkbox", "data-testid": "embed-autorun" });
  const readOnlyBox = el("input", { type: "checkbox", "data-testid": "embed-read-only" });
  const iframeField = el("textarea", { readonly: "", rows: "3", class: "share-field", "data-testid": "embed-iframe",
    "aria-label": "iframe to paste into your page", spellcheck: "false" });
  const scriptField = el("textarea", { readonly: "", rows: "6", class: "share-field", "data-testid": "embed-script",
    "aria-label": "Script tag and code block to paste into your page", spellcheck: "false" });
  const embedDialog = dialog("embed-dialog", "Embed in your page", [
    embedStatus,
    el("div", { class: "share-options" }, [
      el("label", {}, [autorunBox, " Run when the page opens"]),
      el("label", {}, [readOnlyBox, " Read-only"]),
    ]),
    el("h3", { text: "An iframe" }),
    copyRow(iframeField, "copy-embed-iframe"),
    el("h3", { text: "Or one script tag for every code block" }),
    el("p", { class: "share-note", text: "Add the script once; each <pre data-asyncio-playground> block on the page becomes a runnable snippet. Options: data-clock, data-autorun, data-read-only, data-height." }),
    copyRow(scriptField, "copy-embed-script"),
  ]);
  let embedded = null;

  function updateEmbedFields() {
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
    if (autorunBox.checked) attrs.push("data-autorun");
    if (readOnlyBox.checked) attrs.push("data-read-only");
    scriptField.value = `<script src="${escapeHtml(embedScript)}" async></script>\n` +
      `<pre data-asyncio-playground ${attrs.join(" ")}>\n${escapeHtml(embedded.snippet.code)}</pre>`;
  }
  autorunBox.addEventListener("change", updateEmbedFields);
  readOnlyBox.addEventListener("change", updateEmbedFields);

  embedButton.addEventListener("click", async () => {
    embedded = null;
    iframeField.value = "";
    scriptField.value = "";
    delete embedDialog.dataset.state;
    if (!embedDialog.open) embedDialog.showModal();
    if (deps.getMode() === "urls") {
      embedDialog.dataset.state = "error";
      embedStatus.textContent = "Embeds run code. Switch to code mode (Open in code mode gives the code of this URL list), or use Share for a link to the list.";
      return;
    }
    embedStatus.textContent = "Saving\u2026";
    const saved = await save();
    if (!saved.ok) {
      embedDialog.dataset.state = "error";
      embedStatus.textContent = saved.message;
      return;
    }
    embedded = saved;
    embedDialog.dataset.state = "saved";
    embedStatus.textContent = "Paste one of these into your page.";
    updateEmbedFields();
  });

  // ------------------------------------------------------ shared snippet

  /** Open the snippet of a /s/<id> page, if this is one; true if it was. */
  function loadShared() {
    const node = document.getElementById("snippet-data");
    if (!node) return false;
    let data = null;
    try {
      data = JSON.parse(node.textContent || "null");
    } catch {
      return false;
    }
    if (!data || typeof data !== "object") return false;
    if (data.mode === "urls" && Array.isArray(data.urls)) {
      const params = new URLSearchParams({ urls: data.urls.map(str).join("\n"), strategy: str(data.strategy) });
      if (Number.isInteger(data.limit)) params.set("limit", String(data.limit));
      deps.urlMode.load(params);
      deps.setMode("urls");
      return true;
    }
    if (data.mode !== "code" || typeof data.code !== "string") return false;
    deps.editor.setValue(data.code);
    deps.editor.clearHistory();
    deps.clockSelect.value = data.clock === "real" ? "real" : "virtual";
    deps.showExampleFor(data.code);
    deps.editor.focus();
    return true;
  }

  return { loadShared, save };
}
