// URL mode: a list of URLs, a strategy, Run; the server fetches them
// (POST /api/fetch) and the timeline draws every request's phases as a
// waterfall. Beside the list, the equivalent Python code, which one click
// opens in code mode. Compare runs a second strategy on the same list and
// shows both with the speed-up.
//
// Everything from a run (URLs, messages, content types) is inserted as text.

import { $, element } from "../../lib/dom.js";
import { withBusyRetries } from "../busy-retry.js";
import { formatDuration, plural } from "../../lib/format.js";
import { asArray, num, str } from "../../lib/values.js";
import { renderTimeline } from "../../timeline/index.js";
import { urlCode } from "./code.js";
import { compareCard } from "./compare.js";
import { urlExports } from "./exports.js";
import { urlForm } from "./form.js";

/**
 * Wire URL mode into the main page. options: api (the API client),
 * statusLine (StatusBox), showOutput(trace, names), requestError(message,
 * code, advice), running ({start(text), finish()}: the Run button's busy
 * state), openInCodeMode(code), python() (the id of the Python picked, which
 * the equivalent code names), setHash(fragment), timelineBox.
 */
export function initUrlMode({ api, statusLine, showOutput, requestError, running, openInCodeMode, python, setHash, timelineBox }) {
  const openButton = $('[data-testid="open-in-code"]');
  const form = urlForm({
    onChange: (what) => {
      if (what === "urls") code.forget();
      code.schedule();
    },
  });
  const code = urlCode({ host: $('[data-testid="url-code"]'), openButton, form, api, python });
  const compare = compareCard(form.label);
  const exports = urlExports((message) => statusLine.detail("advice", message));
  openButton.addEventListener("click", () => {
    if (code.runnable) openInCodeMode(code.runnable);
  });

  async function run() {
    const items = form.urls();
    if (!items.length) {
      requestError("Add at least one URL, one a line.", "no_urls", "Nothing was fetched.");
      return;
    }
    if (items.length > form.maxUrls) {
      requestError(`${items.length} URLs: the limit is ${form.maxUrls} a run.`, "too_many_urls", "Nothing was fetched.");
      return;
    }
    const first = form.strategy();
    const second = form.compareWith();
    setHash(form.fragment(items, first, second));
    const started = performance.now();
    const text = second
      ? `Fetching ${items.length} URLs with ${form.label(first)}, then ${form.label(second)}\u2026`
      : `Fetching ${plural(items.length, "URL")} with ${form.label(first)}\u2026`;
    running.start(text);
    try {
      const traces = [];
      // One after the other, so the two runs do not compete for the network.
      for (const name of second ? [first, second] : [first]) {
        const answer = await withBusyRetries(() => api.postJSON("api/fetch", { urls: items, strategy: name, limit: form.limit() }),
          { statusLine, resume: () => statusLine.running(text) });
        if (answer.cancelled) {
          requestError("You cancelled the fetch while the playground was busy: nothing was fetched.", null, "Press Run to try again.");
          return;
        }
        if (!answer.ok) {
          requestError(answer.message, answer.code, "Nothing was shown: the fetch did not happen.");
          return;
        }
        if (!answer.body || typeof answer.body !== "object" || !Array.isArray(answer.body.tasks)) {
          requestError("The server sent an answer the page cannot read.");
          return;
        }
        traces.push({ name, trace: answer.body });
      }
      show(traces, (performance.now() - started) / 1000);
    } finally {
      running.finish();
    }
  }

  /** Show the runs [a, b?] ({name, trace}): the status, output and waterfalls. */
  function show([a, b], clientSeconds) {
    const trace = a.trace;
    showStatus(a, b, clientSeconds);
    showOutput(trace, new Map(trace.tasks.filter((t) => t && typeof t === "object").map((t) => [t.id, `#${str(t.id)}`])));
    const domain = Math.max(num(trace.duration, 0), b ? num(b.trace.duration, 0) : 0);
    renderTimeline(timelineBox, trace, { laneTitle: "URL", domain: b ? domain : undefined });
    exports.show(trace);
    if (b) compare.show(a, b, domain);
    else compare.hide();
    code.measure(trace);
    code.schedule();
  }

  /** The status line of a URL run: totals, failures, the limit hit, bodies cut. */
  function showStatus(a, b, clientSeconds) {
    const trace = a.trace;
    const failed = trace.tasks.filter((task) => task && (task.error || (task.http && task.http.error)));
    const status = str(trace.status) === "timeout" ? "timeout" : failureStatus(failed.length, trace.tasks.length);
    let text = `${plural(trace.tasks.length, "URL")} \u00b7 ${form.label(a.name)} \u00b7 ${formatDuration(num(trace.duration, 0))}`;
    if (b) text += ` \u00b7 ${form.label(b.name)} \u00b7 ${formatDuration(num(b.trace.duration, 0))}`;
    if (failed.length) text = `${failureWords(failed.length, trace.tasks.length)} \u00b7 ${text}`;
    statusLine.set(status, text);
    statusLine.box.dataset.failed = String(failed.length);
    statusLine.showElapsed(`${num(clientSeconds, 0).toFixed(1)} s`);
    if (status === "timeout") {
      for (const e of asArray(trace.events)) {
        if (e && e.kind === "limit" && e.message) statusLine.detail("limit", str(e.message));
      }
    }
    if (failed.length) statusLine.append(failureList(failed));
    if (trace.tasks.some((task) => task && task.http && task.http.truncated)) {
      statusLine.detail("advice", "Some bodies were longer than the playground reads; only their start was downloaded.");
    }
  }

  return {
    run,
    /** Called when the page switches to URL mode (CodeMirror needs a refresh once visible). */
    shown() {
      code.refresh();
      code.update();
    },
    /** The page leaves URL mode's result (a code run, a mode change): no compare card, no URL run to export. */
    hideCompare() {
      compare.hide();
      exports.forget();
    },
    /** The Python picked changed: the code names it. */
    pythonChanged: () => code.schedule(),
    /** Fill the form from a fragment's parameters. */
    load(params) {
      form.load(params);
      code.forget();
    },
    /** What Share saves of URL mode. */
    snippet: form.snippet,
    get code() {
      return { code: code.text, runnable: code.runnable };
    },
  };
}

/** A URL run's status: "ok" when every request answered, "partial" when some failed, "error" when all did. */
function failureStatus(failed, total) {
  if (!failed) return "ok";
  return failed < total ? "partial" : "error";
}

/** How many requests failed, first in the status line: "5 of 6 requests failed". */
function failureWords(failed, total) {
  if (failed < total) return `${failed} of ${plural(total, "request")} failed`;
  return total === 1 ? "The request failed" : `All ${total} requests failed`;
}

/** The URLs that failed, each with why. */
function failureList(failed) {
  const list = element("ul", { class: "url-failures", "aria-label": "URLs that failed" });
  for (const task of failed) {
    const type = task.error && task.error.type ? `${str(task.error.type)}: ` : "";
    const why = ` \u2014 ${type}${str((task.http && task.http.error) || (task.error && task.error.message))}`;
    list.append(element("li", { "data-task-id": "" }, [
      element("span", { class: "url-failure-url", text: str(task.url) }),
      element("span", { text: why }),
    ]));
  }
  return list;
}
