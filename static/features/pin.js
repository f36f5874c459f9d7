// "Pin to compare" on the main page: keep a run's timeline on screen, below
// the next run's and on the same time scale, zooming and panning together,
// and say how their durations compare ("1.40x as long", on which clock).
// This module draws the main timeline and the pinned one; pin(trace) pins a
// run of the page's own ("Run on two Pythons" pins the first of its runs).

import { element } from "../lib/dom.js";
import { formatDuration, plural } from "../lib/format.js";
import { asArray, num, str } from "../lib/values.js";
import { clearTimeline, renderTimeline } from "../timeline/index.js";
import { STATUS_TITLE } from "./status.js";

/** What the pinned card says of a run: its Python, length and tasks. */
function pinNote(trace, hint) {
  const python = typeof trace.python === "string" ? `Python ${trace.python} \u00b7 ` : "";
  const tasks = asArray(trace.tasks).length;
  const ended = STATUS_TITLE[trace.status] ? `${STATUS_TITLE[trace.status]} \u00b7 ` : "";
  return `${python}${ended}${formatDuration(num(trace.duration, 0))} \u00b7 ${plural(tasks, "task")} \u00b7 pinned at ${new Date().toLocaleTimeString()}${hint}`;
}

const clockWords = (trace) => (trace.clock === "real" ? "the real clock" : "the virtual clock");
// A run a limit stopped: its duration is only how long it ran until then.
const STOPPED = new Set(["timeout", "cpu_limit", "memory_limit", "output_limit", "stopped"]);

/**
 * How this run's duration compares with the pinned run's: {text, ratio}
 * (this run's duration over the pinned one's), null when either took no time.
 */
export function compareWords(trace, pinnedTrace) {
  const now = num(trace.duration, 0);
  const then = num(pinnedTrace.duration, 0);
  if (!(now > 0 && then > 0)) return null;
  const ratio = now / then;
  const faster = ratio < 1 ? ` (${(1 / ratio).toFixed(2)}\u00d7 faster)` : "";
  const clocks = trace.clock === pinnedTrace.clock
    ? `of loop time on ${clockWords(trace)}`
    : `of loop time, this run on ${clockWords(trace)} and the pinned one on ${clockWords(pinnedTrace)}`;
  let text = `This run took ${ratio.toFixed(2)}\u00d7 as long as the pinned one${faster}: ${formatDuration(now)} against ${formatDuration(then)} ${clocks}.`;
  const stopped = [[trace, "This run"], [pinnedTrace, "The pinned run"]].filter(([t]) => STOPPED.has(str(t.status)));
  for (const [, which] of stopped) text += ` ${which} was stopped at a limit, so its time is only how long it ran until then.`;
  return { text, ratio };
}

/**
 * The main page's timelines: draw(trace), clear(message), current() (the
 * controller of the main timeline, or null), pin(trace, hint). currentTrace() is the trace the
 * Pin button pins; onSelectLine and onSelectOutput go to the main timeline.
 */
export function pinnableTimelines({ box, card, pinnedBox, note, pinButton, unpinButton, currentTrace, onSelectLine, onSelectOutput }) {
  let timeline = null;
  let pinned = null; // {trace, view}: the pinned run and its timeline
  const figure = element("p", { class: "pinned-ratio", "data-testid": "pinned-ratio", "aria-live": "polite" });
  figure.hidden = true;
  card.querySelector(".card-head").after(figure);

  /** Say how this run compares with the pinned one (nothing when it is the pinned run itself). */
  function compare(trace) {
    const words = pinned && trace !== pinned.trace ? compareWords(trace, pinned.trace) : null;
    figure.hidden = !words;
    figure.textContent = words ? words.text : "";
    if (words) figure.dataset.ratio = words.ratio.toFixed(3);
    else delete figure.dataset.ratio;
  }

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
    compare(trace);
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
