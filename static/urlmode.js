// URL mode: a list of URLs, a strategy, Run; the server fetches them
// (POST /api/fetch) and the timeline draws every request's phases as a
// waterfall. Beside the list, the equivalent Python code (POST
// /api/fetch/code), which one click opens in code mode. Compare runs a
// second strategy on the same list and shows both with the speed-up.
//
// Everything from a run (URLs, messages, content types) is inserted as text.

import { renderTimeline, clearTimeline, formatDuration } from "./timeline.js";

const STRATEGY_NAMES = {
  sequential: "sequential",
  gather: "gather",
  semaphore: "Semaphore",
  as_completed: "as_completed",
  taskgroup: "TaskGroup",
};

const str = (v) => (v === null || v === undefined ? "" : String(v));
const num = (v, d) => (typeof v === "number" && Number.isFinite(v) ? v : d);

/**
 * Wire URL mode into the page. deps come from app.js: the shared status,
 * output and timeline helpers, and openInCodeMode(code).
 */
export function initUrlMode(deps) {
  const $ = (selector) => document.querySelector(selector);
  const list = $('[data-testid="url-list"]');
  const hint = $('[data-testid="url-hint"]');
  const strategySelect = $('[data-testid="strategy"]');
  const compareSelect = $('[data-testid="compare-strategy"]');
  const limitInput = $('[data-testid="limit"]');
  const limitField = limitInput.closest(".field");
  const codeHost = $('[data-testid="url-code"]');
  const openButton = $('[data-testid="open-in-code"]');
  const compareCard = $('[data-testid="compare"]');
  const compareSummary = $('[data-testid="compare-summary"]');
  const speedup = $('[data-testid="speedup"]');
  const secondTitle = $('[data-testid="compare-second-title"]');
  const compareBox = $('[data-testid="timeline-compare"]');
  const maxUrls = Number(list.dataset.maxUrls) || 20;
  const maxLimit = Number(limitInput.max) || 10;
  const hintText = hint.textContent;

  const code = CodeMirror(codeHost, {
    value: "",
    mode: "python",
    readOnly: true,
    lineNumbers: true,
    indentUnit: 4,
    viewportMargin: 50,
    screenReaderLabel: "Equivalent Python code (read only)",
  });
  let runnable = "";
  let lastTook = null; // seconds per URL of the last run, for the code-mode twin
  let lastOutcomes = null; // what came back for each URL: a status code or the failure's type
  let codeSeq = 0;
  let codeTimer = 0;

  // ------------------------------------------------------------ inputs

  function urls() {
    return list.value.split(/\r?\n/).map((line) => line.trim()).filter(Boolean);
  }

  function limit() {
    const n = Math.round(Number(limitInput.value));
    return Number.isFinite(n) ? Math.min(maxLimit, Math.max(1, n)) : 3;
  }

  function strategy() {
    return strategySelect.value in STRATEGY_NAMES ? strategySelect.value : "gather";
  }

  function label(name) {
    return name === "semaphore" ? `Semaphore(${limit()})` : STRATEGY_NAMES[name] || name;
  }

  function updateHint() {
    const count = urls().length;
    hint.classList.toggle("is-over", count > maxUrls);
    if (count > maxUrls) hint.textContent = `${count} URLs: the limit is ${maxUrls} a run. Remove ${count - maxUrls}.`;
    else if (count) hint.textContent = `${count} URL${count === 1 ? "" : "s"}. ${hintText}`;
    else hint.textContent = hintText;
  }

  function syncLimitField() {
    limitField.hidden = strategy() !== "semaphore" && compareSelect.value !== "semaphore";
  }

  // -------------------------------------------------------------- code

  function scheduleCode() {
    clearTimeout(codeTimer);
    codeTimer = setTimeout(updateCode, 200);
  }

  async function updateCode() {
    const seq = ++codeSeq;
    const items = urls();
    if (!items.length || items.length > maxUrls) {
      runnable = "";
      openButton.disabled = true;
      code.setValue(items.length ? `# Too many URLs: the limit is ${maxUrls}.\n` : "# Add URLs (one a line) to see the code that fetches them.\n");
      return;
    }
    const body = { urls: items, strategy: strategy(), limit: limit() };
    if (lastTook && lastTook.length === items.length) body.took = lastTook;
    if (lastOutcomes && lastOutcomes.length === items.length) body.outcomes = lastOutcomes;
    const answer = await deps.postJSON("api/fetch/code", body);
    if (seq !== codeSeq) return; // a newer request is on its way
    if (!answer.ok) {
      runnable = "";
      openButton.disabled = true;
      code.setValue(`# ${answer.message}\n`);
      return;
    }
    runnable = str(answer.body.runnable);
    openButton.disabled = !runnable;
    code.setValue(str(answer.body.code));
  }

  // --------------------------------------------------------------- run

  async function run() {
    const items = urls();
    if (!items.length) {
      deps.requestError("Add at least one URL, one a line.", "no_urls", "Nothing was fetched.");
      return;
    }
    if (items.length > maxUrls) {
      deps.requestError(`${items.length} URLs: the limit is ${maxUrls} a run.`, "too_many_urls", "Nothing was fetched.");
      return;
    }
    const first = strategy();
    const second = compareSelect.value in STRATEGY_NAMES ? compareSelect.value : "";
    const plan = second ? [first, second] : [first];
    deps.setUrl(fragment(items, first, second));
    const started = performance.now();
    deps.startRunning(second ? `Fetching ${items.length} URLs with ${label(first)}, then ${label(second)}\u2026` : `Fetching ${items.length} URL${items.length === 1 ? "" : "s"} with ${label(first)}\u2026`);
    try {
      const traces = [];
      // One after the other, so the two runs do not compete for the network.
      for (const name of plan) {
        const answer = await deps.postJSON("api/fetch", { urls: items, strategy: name, limit: limit() });
        if (!answer.ok) {
          deps.requestError(answer.message, answer.code, "Nothing was shown: the fetch did not happen.");
          return;
        }
        if (!answer.body || typeof answer.body !== "object" || !Array.isArray(answer.body.tasks)) {
          deps.requestError("The server sent an answer the page cannot read.");
          return;
        }
        traces.push({ name, trace: answer.body });
      }
      show(traces, (performance.now() - started) / 1000);
    } finally {
      deps.stopRunning();
    }
  }

  function fragment(items, first, second) {
    let hash = `#urls=${encodeURIComponent(items.join("\n"))}&strategy=${encodeURIComponent(first)}`;
    if (first === "semaphore" || second === "semaphore") hash += `&limit=${limit()}`;
    if (second) hash += `&compare=${encodeURIComponent(second)}`;
    return hash;
  }

  function took(trace) {
    return trace.tasks.map((task) => {
      if (!task || typeof task !== "object" || typeof task.ended !== "number") return null;
      const phases = Array.isArray(task.phases) ? task.phases : [];
      const queued = phases.filter((p) => p && p.name === "queued").reduce((sum, p) => sum + num(p.end, 0) - num(p.start, 0), 0);
      return Math.max(0, Math.round((task.ended - num(task.created, 0) - queued) * 1000) / 1000);
    });
  }

  function outcomes(trace) {
    return trace.tasks.map((task) => {
      if (!task || typeof task !== "object") return null;
      if (task.error && typeof task.error === "object") return str(task.error.type).slice(0, 40) || "failed";
      const status = task.http && typeof task.http === "object" ? task.http.status : null;
      return typeof status === "number" ? String(status) : null;
    });
  }

  function failures(trace) {
    return trace.tasks.filter((task) => task && (task.error || (task.http && task.http.error)));
  }

  // -------------------------------------------------------------- show

  function show(traces, clientSeconds) {
    const [a, b] = traces;
    const trace = a.trace;
    const failed = failures(trace);
    const duration = num(trace.duration, 0);
    const status = str(trace.status) === "timeout" ? "timeout" : "ok";
    let text = `${trace.tasks.length} URL${trace.tasks.length === 1 ? "" : "s"} \u00b7 ${label(a.name)} \u00b7 ${formatDuration(duration)}`;
    if (b) text += ` \u00b7 ${label(b.name)} \u00b7 ${formatDuration(num(b.trace.duration, 0))}`;
    if (failed.length) text += ` \u00b7 ${failed.length} failed`;
    deps.setStatus(status, text);
    deps.statusBox.dataset.failed = String(failed.length);
    deps.statusElapsed.textContent = `${num(clientSeconds, 0).toFixed(1)} s`;

    if (status === "timeout") {
      for (const e of Array.isArray(trace.events) ? trace.events : []) {
        if (e && e.kind === "limit" && e.message) deps.addDetail("limit", str(e.message));
      }
    }
    if (failed.length) {
      const listEl = document.createElement("ul");
      listEl.className = "url-failures";
      listEl.setAttribute("aria-label", "URLs that failed");
      for (const task of failed) {
        const li = document.createElement("li");
        li.dataset.taskId = "";
        const url = document.createElement("span");
        url.className = "url-failure-url";
        url.textContent = str(task.url);
        const why = document.createElement("span");
        const type = task.error && task.error.type ? `${str(task.error.type)}: ` : "";
        why.textContent = ` \u2014 ${type}${str((task.http && task.http.error) || (task.error && task.error.message))}`;
        li.append(url, why);
        listEl.appendChild(li);
      }
      deps.statusDetail.appendChild(listEl);
    }
    if (trace.tasks.some((task) => task && task.http && task.http.truncated)) {
      deps.addDetail("advice", "Some bodies were longer than the playground reads; only their start was downloaded.");
    }

    const names = new Map(trace.tasks.filter((t) => t && typeof t === "object").map((t) => [t.id, `#${str(t.id)}`]));
    deps.renderOutput(trace, names);
    const domain = Math.max(duration, b ? num(b.trace.duration, 0) : 0);
    renderTimeline(deps.timelineBox, trace, { laneTitle: "URL", domain: b ? domain : undefined });
    if (b) showCompare(a, b, domain);
    else hideCompare();

    lastTook = took(trace);
    lastOutcomes = outcomes(trace);
    scheduleCode();
  }

  function showCompare(a, b, domain) {
    compareCard.hidden = false;
    compareSummary.replaceChildren();
    const rows = [a, b].map((entry, i) => ({ ...entry, duration: num(entry.trace.duration, 0), row: i ? "b" : "a" }));
    const longest = Math.max(...rows.map((r) => r.duration), 1e-9);
    for (const r of rows) {
      const name = document.createElement("span");
      name.className = "compare-name";
      name.textContent = label(r.name);
      const track = document.createElement("span");
      track.className = `compare-bar-track compare-row-${r.row}`;
      const bar = document.createElement("span");
      bar.className = "compare-bar";
      bar.style.display = "block";
      bar.style.width = `${Math.max(1, (r.duration / longest) * 100).toFixed(1)}%`;
      track.appendChild(bar);
      const total = document.createElement("span");
      total.className = "compare-total";
      total.dataset.strategy = r.name;
      total.textContent = formatDuration(r.duration);
      compareSummary.append(name, track, total);
    }
    const [fast, slow] = rows[0].duration <= rows[1].duration ? rows : [rows[1], rows[0]];
    const ratio = fast.duration > 0 ? slow.duration / fast.duration : 1;
    speedup.dataset.ratio = ratio.toFixed(3);
    speedup.textContent = fast.name === slow.name
      ? `Both runs used ${label(fast.name)}: ${formatDuration(fast.duration)} and ${formatDuration(slow.duration)}.`
      : `${label(fast.name)} took ${formatDuration(fast.duration)}, ${label(slow.name)} ${formatDuration(slow.duration)}: ${ratio.toFixed(2)}\u00d7 speed-up.`;
    secondTitle.textContent = `Second run: ${label(b.name)} \u00b7 ${formatDuration(num(b.trace.duration, 0))} (same time scale as the timeline above)`;
    renderTimeline(compareBox, b.trace, { laneTitle: "URL", domain });
  }

  function hideCompare() {
    compareCard.hidden = true;
    compareSummary.replaceChildren();
    speedup.textContent = "";
    clearTimeline(compareBox, "");
  }

  // ------------------------------------------------------------ events

  list.addEventListener("input", () => {
    lastTook = null;
    lastOutcomes = null;
    updateHint();
    scheduleCode();
  });
  strategySelect.addEventListener("change", () => {
    syncLimitField();
    scheduleCode();
  });
  compareSelect.addEventListener("change", syncLimitField);
  limitInput.addEventListener("input", scheduleCode);
  limitInput.addEventListener("change", () => {
    limitInput.value = String(limit());
    scheduleCode();
  });
  openButton.addEventListener("click", () => {
    if (runnable) deps.openInCodeMode(runnable);
  });

  syncLimitField();
  updateHint();

  return {
    run,
    /** Called when the page switches to URL mode (CodeMirror needs a refresh once visible). */
    shown() {
      code.refresh();
      updateCode();
    },
    hideCompare,
    /** Fill the form from a fragment's parameters. */
    load(params) {
      if (params.has("urls")) list.value = params.get("urls") || "";
      const s = params.get("strategy");
      if (s && s in STRATEGY_NAMES) strategySelect.value = s;
      const c = params.get("compare");
      compareSelect.value = c && c in STRATEGY_NAMES ? c : "";
      const l = Number(params.get("limit"));
      if (Number.isInteger(l) && l >= 1) limitInput.value = String(Math.min(maxLimit, l));
      lastTook = null;
      lastOutcomes = null;
      syncLimitField();
      updateHint();
    },
    get code() {
      return { code: code.getValue(), runnable };
    },
  };
}
