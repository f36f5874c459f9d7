// The person's work, kept so that nothing typed is lost: the editor's code,
// the mode, the URL list (with its strategy and N), the clock, the Python
// and the example the code came from. Kept in two places: the browser's
// storage (localStorage, written a moment after each change, read on the
// next visit to /) and the state of the history entry (so a reload, Back and
// Forward bring back the code each entry had). Storage that is missing,
// refused or full is passed over: the page works as before, without keeping.

import { str } from "../lib/values.js";
import { REPLACED } from "./editor.js";

const KEY = "asyncio-playground:work";
const DELAY_MS = 400;

/** The browser's storage, or null where it is missing or refused (a sandboxed frame, a privacy setting). */
function storage() {
  try {
    return window.localStorage || null;
  } catch {
    return null;
  }
}

/** Work read from storage or a history entry, checked: {mode, code, clock, python, urls, strategy, limit, example}, or null. */
export function checkedWork(data) {
  if (!data || typeof data !== "object" || typeof data.code !== "string") return null;
  return {
    mode: data.mode === "urls" ? "urls" : "code",
    code: data.code,
    clock: data.clock === "real" ? "real" : "virtual",
    python: str(data.python),
    urls: typeof data.urls === "string" ? data.urls : "",
    strategy: str(data.strategy),
    limit: Number.isInteger(data.limit) ? data.limit : null,
    example: str(data.example),
  };
}

/** The work kept in storage by an earlier visit, or null. */
export function storedWork() {
  const store = storage();
  if (!store) return null;
  try {
    return checkedWork(JSON.parse(store.getItem(KEY) || "null"));
  } catch {
    return null; // unreadable: as if nothing was kept
  }
}

/** The work this history entry had (a reload, Back or Forward), or null. */
export function entryWork(state = history.state) {
  return state && typeof state === "object" ? checkedWork(state.work) : null;
}

/** Keep work in the current history entry's state (its address unchanged). */
export function rememberInEntry(work) {
  try {
    history.replaceState({ ...(history.state || {}), work }, "", location.href);
  } catch {
    // A state the browser will not keep: Back still works, without the code.
  }
}

/** A new history entry at this address (path kept) holding work: Back returns to the entry before. */
export function pushEntry(search, hash, work) {
  history.pushState({ work }, "", `${location.pathname}${search}${hash}`);
}

/**
 * The keeper: changed() after each change the person makes (a debounced
 * write to storage and to the history entry); snapshot() is the work now.
 * Pending work is written at once when the page is hidden or closed.
 */
export function workKeeper(snapshot, { delay = DELAY_MS } = {}) {
  let timer = 0;

  function write() {
    timer = 0;
    const work = snapshot();
    rememberInEntry(work);
    const store = storage();
    if (!store) return;
    try {
      store.setItem(KEY, JSON.stringify(work));
    } catch {
      // Storage full or refused: what was kept before stays, the page goes on.
    }
  }

  function flush() {
    if (!timer) return;
    clearTimeout(timer);
    write();
  }
  window.addEventListener("pagehide", flush);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") flush();
  });

  return {
    changed() {
      clearTimeout(timer);
      timer = setTimeout(write, delay);
    },
    flush,
  };
}

/**
 * The main page's work: parts are its editor, example menu, mode switch,
 * Python picker, URL mode and URL list, clock() and setClock(clock), and
 * putCode(code, {undoable}) and loadExample(name, {undoable}). The person's changes (typing, undo, the URL
 * form, the mode switch) go to the keeper; a link or Back putting code in
 * does not. Back and Forward put back the work of the entry they reach.
 * Returns {current(), apply(work, {undoable}), pick(name), reopen(), restore(statusLine), keeper}.
 */
export function pageWork({ editor, menu, modes, python, urlMode, urlList, clock, setClock, putCode, loadExample }) {
  function current() {
    const urls = urlMode.snippet();
    return {
      mode: modes.current, code: editor.getValue(), clock: clock(), python: python.value,
      urls: urlList.value, strategy: urls.strategy, limit: urls.limit ?? null, example: menu.base(),
    };
  }

  function apply(work, { undoable = false } = {}) {
    menu.setBase(work.example);
    if (work.code !== editor.getValue()) putCode(work.code, { undoable });
    setClock(work.clock);
    if (work.python) python.set(work.python);
    const params = new URLSearchParams({ urls: work.urls, strategy: work.strategy });
    if (work.limit) params.set("limit", String(work.limit));
    urlMode.load(params);
    if (modes.current !== work.mode) modes.set(work.mode, { focus: false });
  }

  const keeper = workKeeper(current);
  editor.on("changes", (_cm, changes) => {
    menu.showFor(editor.getValue());
    if (changes.some((change) => change.origin !== "setValue" && change.origin !== REPLACED)) keeper.changed();
  });
  urlList.addEventListener("input", () => keeper.changed());
  for (const testid of ["strategy", "limit"]) document.querySelector(`[data-testid="${testid}"]`).addEventListener("change", () => keeper.changed());
  for (const button of document.querySelectorAll(".mode-switch [data-mode]")) button.addEventListener("click", () => keeper.changed());
  window.addEventListener("popstate", (event) => {
    const work = entryWork(event.state);
    if (work) apply(work, { undoable: true });
  });
  return {
    current,
    apply,
    keeper,

    /** The person picked an example (or "Reset to the example"): undoable, and Back returns to the code before. */
    pick(name) {
      if (!menu.find(name)) return;
      keeper.flush();
      rememberInEntry(current());
      loadExample(name, { undoable: true });
      pushEntry(`?example=${encodeURIComponent(name)}`, "", current());
    },

    /** A reload (or a tab brought back): this entry's own work, edits and all; false if it holds none. */
    reopen() {
      const work = entryWork();
      if (work) apply(work);
      return work !== null;
    },

    /** A fresh visit: the work the last one kept, said on the status line; false if none was kept. */
    restore(statusLine) {
      const work = storedWork();
      if (!work) return false;
      apply(work);
      if (work.mode === "code" && menu.find(menu.base())?.code !== work.code) {
        statusLine.set("idle", "Your code from your last visit is back (Reset to the example puts the example back).");
      }
      return true;
    },
  };
}
