// A run as both pages watch it (docs/live.md): the event stream asked for
// (lib/run-stream.js), the status line saying where the run waits for a
// place, the output and the timeline drawn as they grow (at most once an
// animation frame, less often when drawing takes long), Stop (the button
// and Ctrl/Cmd+., through run-control.js), and the retries when the
// playground is busy (busy-retry.js).

import { plural } from "../lib/format.js";
import { PartialTrace } from "../lib/partial-trace.js";
import { streamRun } from "../lib/run-stream.js";
import { withBusyRetries } from "./busy-retry.js";

// How long a stopped run's last word may take before the page stops
// listening and shows what it has (the server stops a run whose client went).
const STOP_GRACE_MS = 3000;
// A drawing that took this many times its cost is the soonest the next one
// comes: drawing a large run never takes more than a quarter of the time.
const DRAW_SPACING = 3;

/** Where a run waits for a place, in words: "Waiting for a free place: 2 runs ahead, about 1 s". */
export function queueText({ position, waitSeconds }) {
  const ahead = position > 0 ? `${plural(position, "run")} ahead` : "yours is next";
  const wait = waitSeconds >= 0.5 ? `, about ${Math.round(waitSeconds)} s` : waitSeconds > 0 ? ", less than a second" : "";
  return `Waiting for a free place: ${ahead}${wait}`;
}

/** Call paint() at the next animation frame after request(), once however many requests came, spaced by its cost. */
function framePainter(paint) {
  let frame = 0;
  let notBefore = 0;
  const go = (now) => {
    if (now < notBefore) {
      frame = requestAnimationFrame(go);
      return;
    }
    frame = 0;
    const started = performance.now();
    paint();
    const ended = performance.now();
    notBefore = ended + (ended - started) * DRAW_SPACING;
  };
  return {
    request() {
      if (!frame) frame = requestAnimationFrame(go);
    },
    cancel() {
      cancelAnimationFrame(frame);
      frame = 0;
    },
  };
}

/**
 * The live runs of a page. api is apiClient's (its url and postJSON),
 * control runControl's, drawLive(trace) draws the trace of a run still
 * going on. watch(payload, runningText) runs payload ({code, clock,
 * python}) and resolves to {ok: true, body} with the trace to show (the
 * final one, or what came before the run was stopped or the connection
 * lost: status "stopped" or "disconnected"), or {ok: false, message, code,
 * state} when nothing ran (state "stopped" when the reader stopped it).
 */
export function liveRunner({ api, statusLine, control, drawLive }) {
  async function watch(payload, runningText) {
    const abort = new AbortController();
    const partial = new PartialTrace(payload.clock);
    const painter = framePainter(() => drawLive(partial.snapshot()));
    const run = { id: null, stopping: false };
    control.offerStop(async () => {
      run.stopping = true;
      statusLine.say("Stopping\u2026");
      if (!run.id) {
        abort.abort();
        return;
      }
      await api.postJSON(`api/runs/${encodeURIComponent(run.id)}/stop`, {});
      setTimeout(() => abort.abort(), STOP_GRACE_MS);
    });
    const answer = await withBusyRetries(() => streamRun(api.url("api/run"), payload, {
      signal: abort.signal,
      onQueued: (queued) => run.stopping || statusLine.say(queueText(queued)),
      onStarted: (id) => {
        run.id = id;
        if (!run.stopping) statusLine.say(runningText);
      },
      onTrace: (batch) => {
        partial.add(batch);
        painter.request();
      },
    }), { statusLine, signal: abort.signal, resume: () => statusLine.running(runningText) });
    painter.cancel();
    return settle(answer, partial, run);
  }
  return { watch };
}

/** The answer a page shows for how the stream ended. */
function settle(answer, partial, run) {
  if (answer.ok || !(answer.aborted || answer.cancelled || answer.cut)) return answer;
  if (answer.cut && (run.id || !partial.empty)) return { ok: true, body: partial.snapshot("disconnected") };
  if (answer.cut) {
    return { ok: false, message: "The connection to the playground broke before the run started: nothing ran.", advice: "Press Run to try again." };
  }
  if (run.id) return { ok: true, body: partial.snapshot("stopped") };
  if (answer.cancelled && !run.stopping) {
    return { ok: false, state: "stopped", message: "You cancelled the run while the playground was busy: nothing ran.", advice: "Press Run to try again." };
  }
  return { ok: false, state: "stopped", message: "You stopped the run before it started: nothing ran.", advice: "Press Run to run it." };
}
