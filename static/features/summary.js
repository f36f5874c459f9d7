// The summary of a run, in words: how long it took, how busy the loop was,
// what concurrency bought, and each blocking step with how to fix it.
//
// summarize(trace) is pure (tested through the page); renderSummary draws
// it into a container as text.

import { element, lineLink } from "../lib/dom.js";
import { formatDuration, formatSeconds, plural } from "../lib/format.js";
import { isMissing, num, objectsIn, str } from "../lib/values.js";

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
  const tasks = objectsIn(trace.tasks);
  const waits = objectsIn(trace.waits);
  const slices = objectsIn(trace.slices);
  const duration = num(trace.duration, 0);
  const parents = new Set(tasks.map((t) => t.parent).filter((p) => !isMissing(p)));
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
  } else if (objectsIn(trace.events).some((e) => e.kind === "blocking")) {
    concurrency = "Nothing overlapped: blocking steps held the loop, so the tasks ran one after another.";
  } else {
    concurrency = `${plural(tasks.length, "task")}, and none waited on anything.`;
  }

  const warnings = objectsIn(trace.events)
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
  const figures = element("dl", { class: "summary-figures" });
  const add = (term, value, testid) => {
    const dd = element("dd", { text: value });
    if (testid) dd.dataset.testid = testid;
    figures.append(element("div", {}, [element("dt", { text: term }), dd]));
  };
  add("Total", formatDuration(s.total), "summary-total");
  add("Busy on the loop", `${formatDuration(s.busy)} (${Math.round(s.loopShare * 100)}% of the run)`, "summary-busy");
  add("Tasks", String(s.tasks));
  add("Ready, waiting for the loop", formatDuration(s.scheduled));
  const words = element("p", { class: "summary-concurrency", "data-testid": "summary-concurrency", text: s.concurrency });
  container.replaceChildren(figures, words);
  if (s.warnings.length) container.append(warningList(s.warnings, onSelectLine));
  return s;
}

/** The blocking steps (the first ten), each with its fix and a link to its line. */
function warningList(warnings, onSelectLine) {
  const ul = element("ul", { class: "summary-warnings" });
  for (const w of warnings.slice(0, 10)) {
    const what = element("span", { text: `${formatSeconds(w.t)} \u00b7 ${w.message}${w.line ? ` (line ${w.line})` : ""}. ` });
    const li = element("li", { "data-testid": "summary-warning" }, [what, element("strong", { text: w.fix })]);
    if (w.line && typeof onSelectLine === "function") li.append(" ", lineLink(w.line, `show line ${w.line}`, onSelectLine));
    ul.append(li);
  }
  if (warnings.length > 10) ul.append(element("li", { text: `\u2026 and ${warnings.length - 10} more blocking steps` }));
  return ul;
}
