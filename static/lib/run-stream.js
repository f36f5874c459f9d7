// A run watched as it goes on (docs/live.md): POST /api/run with Accept:
// text/event-stream, its events read as they come (lib/sse.js) and handed
// to the caller (queued, started, trace), and its last word (done, error,
// or the stream ending without either) as one answer. A server that answers
// plain JSON, or refuses with a JSON error, is answered as postRun does.

import { errorAnswer, jsonRequest, runAnswer, unreachable } from "./api.js";
import { readEventStream } from "./sse.js";
import { asObject, num, str } from "./values.js";

/**
 * POST a run to url and watch it. handlers: onQueued({position,
 * waitSeconds}), onStarted(runId), onTrace(batch), each called as its event
 * comes; signal aborts the request. Resolves to postRun's answers ({ok:
 * true, body} with the final v1 trace; {ok: false, message, code, status,
 * retryAfter}), or {ok: false, cut: true} when the stream ended (or broke)
 * before its last event, or {ok: false, aborted: true} once signal aborted.
 */
export async function streamRun(url, payload, { signal, onQueued = () => {}, onStarted = () => {}, onTrace = () => {} } = {}) {
  let response;
  try {
    response = await fetch(url, jsonRequest({ ...payload, format: "columnar" }, "text/event-stream", signal));
  } catch {
    return signal && signal.aborted ? { ok: false, aborted: true } : unreachable();
  }
  const type = response.headers.get("Content-Type") || "";
  if (!response.ok || !type.startsWith("text/event-stream")) return plainAnswer(response);
  let last = null;
  const handlers = {
    queued: (data) => onQueued({ position: num(data.position, 0), waitSeconds: num(data.wait_seconds, 0) }),
    started: (data) => onStarted(str(data.run)),
    trace: (data) => onTrace(data),
    done: (data) => (last = runAnswer(data)),
    error: (data) => (last = streamError(data)),
  };
  try {
    await readEventStream(response.body, (name, text) => {
      if (last || !Object.hasOwn(handlers, name)) return;
      let data;
      try {
        data = JSON.parse(text);
      } catch {
        return; // an event this page cannot read is skipped, as an unknown one is
      }
      if (data && typeof data === "object") handlers[name](data);
    });
  } catch {
    if (signal && signal.aborted) return last || { ok: false, aborted: true };
  }
  return last || { ok: false, cut: true };
}

/** The answer of a response that is not a stream: a plain run's JSON, or a refusal. */
async function plainAnswer(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) return errorAnswer(response, body);
  return body ? runAnswer(body) : { ok: false, message: "The playground sent an answer this page cannot read." };
}

/** An error event: the run could not be made, or was refused once queued (then with when to retry). */
function streamError(data) {
  const error = asObject(data.error) || {};
  const retry = num(error.retry_after, null);
  const code = str(error.code) || undefined;
  return {
    ok: false,
    message: str(error.message) || "The playground could not run the code.",
    code,
    // A refusal once queued, with when to retry, is the stream's 429 or 503: the code says which.
    status: retry === null ? null : code === "rate_limited" ? 429 : 503,
    retryAfter: retry,
  };
}
