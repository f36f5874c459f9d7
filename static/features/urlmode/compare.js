// URL mode's Compare card: two runs of the same list with two strategies,
// a bar for each total, the speed-up, and the second run's waterfall on the
// same time scale as the first.

import { $, element } from "../../lib/dom.js";
import { formatDuration } from "../../lib/format.js";
import { num } from "../../lib/values.js";
import { clearTimeline, renderTimeline } from "../../timeline/index.js";

/** The card; label(strategy) is how people read a strategy. */
export function compareCard(label) {
  const card = $('[data-testid="compare"]');
  const summary = $('[data-testid="compare-summary"]');
  const speedup = $('[data-testid="speedup"]');
  const secondTitle = $('[data-testid="compare-second-title"]');
  const box = $('[data-testid="timeline-compare"]');

  /** One row of the summary: the strategy, its bar (longest = full width) and its total. */
  const row = (r, longest) => {
    const bar = element("span", { class: "compare-bar" });
    bar.style.display = "block";
    bar.style.width = `${Math.max(1, (r.duration / longest) * 100).toFixed(1)}%`;
    return [
      element("span", { class: "compare-name", text: label(r.name) }),
      element("span", { class: `compare-bar-track compare-row-${r.row}` }, [bar]),
      element("span", { class: "compare-total", "data-strategy": r.name, text: formatDuration(r.duration) }),
    ];
  };

  return {
    /** Show runs a and b ({name, trace}), drawn over domain seconds. */
    show(a, b, domain) {
      card.hidden = false;
      const rows = [a, b].map((entry, i) => ({ ...entry, duration: num(entry.trace.duration, 0), row: i ? "b" : "a" }));
      const longest = Math.max(...rows.map((r) => r.duration), 1e-9);
      summary.replaceChildren(...rows.flatMap((r) => row(r, longest)));
      const [fast, slow] = rows[0].duration <= rows[1].duration ? rows : [rows[1], rows[0]];
      const ratio = fast.duration > 0 ? slow.duration / fast.duration : 1;
      speedup.dataset.ratio = ratio.toFixed(3);
      speedup.textContent = fast.name === slow.name
        ? `Both runs used ${label(fast.name)}: ${formatDuration(fast.duration)} and ${formatDuration(slow.duration)}.`
        : `${label(fast.name)} took ${formatDuration(fast.duration)}, ${label(slow.name)} ${formatDuration(slow.duration)}: ${ratio.toFixed(2)}\u00d7 speed-up.`;
      secondTitle.textContent = `Second run: ${label(b.name)} \u00b7 ${formatDuration(num(b.trace.duration, 0))} (same time scale as the timeline above)`;
      renderTimeline(box, b.trace, { laneTitle: "URL", domain });
    },

    hide() {
      card.hidden = true;
      summary.replaceChildren();
      speedup.textContent = "";
      clearTimeline(box, "");
    },
  };
}
