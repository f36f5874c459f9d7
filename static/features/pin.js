// "Pin to compare" on the main page: keep a run's timeline on screen, below
// the next run's and on the same time scale, zooming and panning together.
// This module draws the main timeline and the pinned one; pin(trace) pins a
// run of the page's own ("Run on two Pythons" pins the first of its runs).

import { formatDuration, plural } from "../lib/format.js";
import { asArray, num } from "../lib/values.js";
import { clearTimeline, renderTimeline } from "../timeline/index.js";
import { STATUS_TITLE } from "./status.js";

/** What the pinned card says of a run: its Python, length and tasks. */
function pinNote(trace, hint) {
  const python = typeof trace.python === "string" ? `Python ${trace.python} \u00b7 ` : "";
  const tasks = asArray(trace.tasks).length;
  const ended = STATUS_TITLE[trace.status] ? `${STATUS_TITLE[trace.status]} \u00b7 ` : "";
  return `${python}${ended}${formatDuration(num(trace.duration, 0))} \u00b7 ${plural(tasks, "task")} \u00b7 pinned at ${new Date().toLocaleTimeString()}${hint}`;
}

/**
 * The main page's timelines: draw(trace), clear(message), current() (the
 * controller of the main timeline, or null), pin(trace, hint). currentTrace() is the trace the
 * Pin button pins; onSelectLine and onSelectOutput go to the main timeline.
 */
export function pinnableTimelines({ box, card, pinnedBox, note, pinButton, unpinButton, currentTrace, onSelectLine, onSelectOutput }) {
  let timeline = null;
  let pinned = null; // {trace, view}: the pinned run and its timeline

  /** The run's timeline (live: of a run still going on), and the pinned run's on the same scale below it. */
  function draw(trace, { live = false } = {}) {
    const domain = pinned ? Math.max(num(trace.duration, 0), num(pinned.trace.duration, 0)) : undefined;
    timeline = renderTimeline(box, trace, {
      onSelectLine,
      onSelectOutput,
      domain,
      live,
      onViewChange: (view) => {
        if (pinned && pinned.view) pinned.view.setView(view, { silent: true });
      },
    });
    if (pinned) {
      card.hidden = false;
      pinned.view = renderTimeline(pinnedBox, pinned.trace, {
        domain,
        live,
        onViewChange: (view) => {
          if (timeline) timeline.setView(view, { silent: true });
        },
      });
    }
    return timeline;
  }

  /** Keep this run on screen; draw it now too unless the next run is on its way (draw: false). */
  function pin(trace, { hint = "", draw: drawNow = true } = {}) {
    pinned = { trace, view: null };
    card.dataset.python = typeof trace.python === "string" ? trace.python : "";
    note.textContent = pinNote(trace, hint);
    if (drawNow) draw(trace);
    card.scrollIntoView({ block: "nearest" });
  }

  pinButton.addEventListener("click", () => {
    const trace = currentTrace();
    if (trace) pin(trace, { hint: "; change the code and run again to compare" });
  });

  unpinButton.addEventListener("click", () => {
    pinned = null;
    card.hidden = true;
    clearTimeline(pinnedBox, "");
    const trace = currentTrace();
    if (trace) draw(trace);
  });

  return {
    draw,
    clear(message) {
      clearTimeline(box, message);
      timeline = null;
    },
    current: () => timeline,
    pin,
  };
}
