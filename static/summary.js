// The summary of a run, in words: how long it took, how busy the loop was,
// what concurrency bought, and each blocking step with how to fix it.
//
// summarize(trace) is pure (tested through the page); renderSummary draws
// it into a container as text.

import { formatDuration } from "./timeline.js";

const num = (v, fallback) => (typeof v === "number" && Number.isFinite(v) ? v : fallback);
const str = (v) => (v === null || v === undefined ? "" : String(v));
const list = (v) => (Array.isArray(v) ? v.filter((x) => x && typeof x === "object") : []);

/** How to fix a blocking step, from its reason. */
export function fixFor(reason) {
  const text = str(reason);
  if (text.startsWith("time.sleep")) {
    return "time.sleep blocks the loop; use await asyncio.sleep instead.";
  }
  if (text.startsWith("CPU-bound")) {
    return "CPU-bound work blocks the loop; move it to a thread (await asyncio.to_thread(f)) or a process pool, or split it and await asyncio.sleep(0) between the parts.";
  }
  return "A blocking call holds the loop; use its asyncio version or run it with await asyncio.to_thread(f).";
}

/** The most tasks whose waits overlap at one moment, and when. */
function maxOverlap(intervals) {
  const points = [];
  for (const [a, b] of intervals) {
    if (b > a) points.push([a, 1], [b, -1]);
  }
  points.sort((p, q) => p[0] - q[0] || p[1] - q[1]);
  let current = 0;
  let best = 0;
  for (const [, delta] of points) {
    current += delta;
    if (current > best) best = current;
  }
  return best;
}

export function summarize(trace) {
  const tasks = list(trace.tasks);
  const waits = list(trace.waits);
  const slices = list(trace.slices);
  const duration = num(trace.duration, 0);
  const parents = new Set(tasks.map((t) => t.parent).filter((p) => p !== null && p !== undefined));
  // Tasks that do the work: a task that created others mostly waits for
  // them, and counting its wait would count the same time twice.
  const workers = tasks.filter((t) => !parents.has(t.id));
  const workerIds = new Set(workers.map((t) => t.id));
  const workWaits = waits.filter((w) => workerIds.has(w.task));
  const waited = workWaits.reduce((sum, w) => sum + Math.max(0, num(w.end, 0) - num(w.start, 0)), 0);
  const busy = tasks.length
    ? tasks.reduce((sum, t) => sum + num(t.busy, 0), 0)
    : slices.reduce((sum, s) => sum + Math.max(0, num(s.end, 0) - num(s.start, 0)), 0);
  const overlap = maxOverlap(workWaits.map((w) => [num(w.start, 0), num(w.end, 0)]));
  const scheduled = tasks.reduce((sum, t) => sum + num(t.scheduled, 0), 0);

  let concurrency;
  if (!tasks.length) {
    concurrency = "No tasks ran.";
  } else if (overlap >= 2 && waited > 0) {
    concurrency = `${overlap} tasks overlapped: ${formatDuration(waited)} of waiting done in ${formatDuration(duration)}.`;
  } else if (waited > 0) {
    concurrency = `The waits ran one after another: ${formatDuration(waited)} of waiting took ${formatDuration(waited)}. Start the tasks together (asyncio.gather or create_task) to overlap them.`;
  } else if (list(trace.events).some((e) => e.kind === "blocking")) {
    concurrency = "Nothing overlapped: blocking steps held the loop, so the tasks ran one after another.";
  } else {
    concurrency = `${tasks.length} task${tasks.length === 1 ? "" : "s"}, and none waited on anything.`;
  }

  const warnings = list(trace.events)
    .filter((e) => e.kind === "blocking")
    .map((e) => {
      const slice = slices.find((s) => s.blocking === true && Math.abs(num(s.end, 0) - num(e.t, 0)) < 1e-6);
      const reason = slice ? str(slice.reason) : str(e.message);
      return { message: str(e.message), fix: fixFor(reason), line: Number.isInteger(e.line) ? e.line : null, t: num(e.t, 0) };
    });

  return {
    total: duration,
    busy,
    loopShare: duration > 0 ? Math.min(1, busy / duration) : 0,
    waited,
    scheduled,
    overlap,
    tasks: tasks.length,
    concurrency,
    warnings,
  };
}

/** Draw the summary as text; lines with a snippet line become buttons. */
export function renderSummary(container, trace, { onSelectLine } = {}) {
  const s = summarize(trace);
  container.replaceChildren();
  const figures = document.createElement("dl");
  figures.className = "summary-figures";
  const add = (term, value, testid) => {
    const dt = document.createElement("dt");
    dt.textContent = term;
    const dd = document.createElement("dd");
    dd.textContent = value;
    if (testid) dd.dataset.testid = testid;
    const pair = document.createElement("div");
    pair.append(dt, dd);
    figures.append(pair);
  };
  add("Total", formatDuration(s.total), "summary-total");
  add("Busy on the loop", `${formatDuration(s.busy)} (${Math.round(s.loopShare * 100)}% of the run)`, "summary-busy");
  add("Tasks", String(s.tasks));
  add("Ready, waiting for the loop", formatDuration(s.scheduled));
  container.appendChild(figures);

  const words = document.createElement("p");
  words.className = "summary-concurrency";
  words.dataset.testid = "summary-concurrency";
  words.textContent = s.concurrency;
  container.appendChild(words);

  if (s.warnings.length) {
    const ul = document.createElement("ul");
    ul.className = "summary-warnings";
    for (const w of s.warnings.slice(0, 10)) {
      const li = document.createElement("li");
      li.dataset.testid = "summary-warning";
      const what = document.createElement("span");
      what.textContent = `${w.t.toFixed(3)} s \u00b7 ${w.message}${w.line ? ` (line ${w.line})` : ""}. `;
      const fix = document.createElement("strong");
      fix.textContent = w.fix;
      li.append(what, fix);
      if (w.line && typeof onSelectLine === "function") {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "line-link";
        button.textContent = `show line ${w.line}`;
        button.addEventListener("click", () => onSelectLine(w.line));
        li.append(" ", button);
      }
      ul.appendChild(li);
    }
    if (s.warnings.length > 10) {
      const li = document.createElement("li");
      li.textContent = `\u2026 and ${s.warnings.length - 10} more blocking steps`;
      ul.appendChild(li);
    }
    container.appendChild(ul);
  }
  return s;
}
