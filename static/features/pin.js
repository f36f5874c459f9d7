// "Pin to compare" on the main page: keep a run's timeline on screen, below
// the next run's and on the same time scale, zooming and panning together.
// This module draws the main timeline and the pinned one.

import { formatDuration, plural } from "../lib/format.js";
import { asArray, num } from "../lib/values.js";
import { clearTimeline, renderTimeline } from "../timeline/index.js";

/**
 * The main page's timelines: draw(trace), clear(message), current() (the
 * controller of the main timeline, or null). currentTrace() is the trace the
 * Pin button pins; onSelectLine and onSelectOutput go to the main timeline.
 */
export function pinnableTimelines({ box, card, pinnedBox, note, pinButton, unpinButton, currentTrace, onSelectLine, onSelectOutput }) {
  let timeline = null;
  let pinned = null; // {trace, view}: the pinned run and its timeline

  /** The run's timeline, and the pinned run's on the same scale below it. */
  function draw(trace) {
    const domain = pinned ? Math.max(num(trace.duration, 0), num(pinned.trace.duration, 0)) : undefined;
    timeline = renderTimeline(box, trace, {
      onSelectLine,
      onSelectOutput,
      domain,
      onViewChange: (view) => {
        if (pinned && pinned.view) pinned.view.setView(view, { silent: true });
      },
    });
    if (pinned) {
      card.hidden = false;
      pinned.view = renderTimeline(pinnedBox, pinned.trace, {
        domain,
        onViewChange: (view) => {
          if (timeline) timeline.setView(view, { silent: true });
        },
      });
    }
    return timeline;
  }

  pinButton.addEventListener("click", () => {
    const trace = currentTrace();
    if (!trace) return;
    pinned = { trace, view: null };
    const tasks = asArray(trace.tasks).length;
    note.textContent = `${formatDuration(num(trace.duration, 0))} · ${plural(tasks, "task")} · pinned at ${new Date().toLocaleTimeString()}; change the code and run again to compare`;
    draw(trace);
    card.scrollIntoView({ block: "nearest" });
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
  };
}
