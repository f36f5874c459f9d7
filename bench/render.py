"""How fast the page draws big traces, and how much a first visit loads.

Starts the app under gunicorn, opens it in Debian's Chromium (Playwright),
and hands the page synthetic traces of a gather of N tasks (as the API would
answer them: tests/support/traces.py) as JSON text, parsed in the page before
anything is timed. For each size it renders the trace through
``window.playground.renderTrace``, the page's own path for a run's answer, and
prints the medians of: expanding the compact columnar form a real run arrives
in (``expandTrace``), ``performance.measure("timeline-render")`` (drawing the
timeline), the whole result (timeline, summary, task table, output), the
whole result until the browser has laid it out and painted it (the next
frame), until the loop view is ready to step (past 20,000 steps, its model is
built in a background task once the result is painted), unfolding
every lane, and a zoom. Then the loop view's Step
(static/features/loop-view.js): a trace of --steps steps (a gather of half
as many tasks) stepped through from its start, each step laid out before the
next (the median step and the 99th percentile), and the first 200 steps of each
size. Then the first-load weight: every response of a first visit, raw and
gzip-compressed.

    python3 bench/render.py [--sizes 2000 20000] [--rounds 5] [--steps 2000]
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import sys
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.browsing import BROWSER_ENV, LOOP_VIEW_OF_PAGE, chromium  # noqa: E402
from tests.support.servers import gunicorn_node  # noqa: E402
from tests.support.traces import columnar, hand_to_page, synthetic_trace  # noqa: E402

RENDER = """async (trace) => {
    const view = await loopViewOfPage();
    performance.clearMeasures("timeline-render");
    const started = performance.now();
    window.playground.renderTrace(trace, 0.5);
    const whole = performance.now() - started;
    const [measure] = performance.getEntriesByName("timeline-render");
    await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
    const painted = performance.now() - started;
    await view.ready;
    const stepping = performance.now() - started;
    const unfold = performance.now();
    window.playground.timeline().expandAll(true);
    const unfolded = performance.now() - unfold;
    const zoom = performance.now();
    window.playground.timeline().zoom(4);
    const zoomed = performance.now() - zoom;
    return [measure.duration, whole, painted, unfolded, zoomed, stepping];
}"""
# Step through the loop view: every step computed, drawn (the view, the editor's
# marks, the timeline's cursor, the output) and laid out before the next.
STEP = """async ([trace, most]) => {
    const view = await loopViewOfPage();
    window.playground.renderTrace(trace, 0.5);
    await view.ready;
    const next = document.querySelector('[data-testid="step-next"]');
    const times = [];
    while (times.length < most && !next.disabled) {
        const started = performance.now();
        next.click();
        view.settle();  // the editor's marks, the timeline's cursor, the output: what the next frame shows
        document.body.offsetHeight;
        times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    return [times[times.length >> 1], times[Math.floor(times.length * 0.99)], times.length];
}"""
EXPAND = """async (columns) => {
    const { expandTrace } = await import("/static/lib/api.js");
    const started = performance.now();
    expandTrace(columns);
    return performance.now() - started;
}"""


def timed(page: Page, script: str, name: str, value: Any, rounds: int) -> list[Any]:
    """script's figures for value (handed to the page as window[name]), once per round."""
    reader = hand_to_page(page, name, value)
    call = f"async () => {{ const loopViewOfPage = {LOOP_VIEW_OF_PAGE}; return ({script})({reader}); }}"
    timings = [page.evaluate(call) for _ in range(rounds)]
    page.evaluate("(name) => { delete window[name]; }", name)
    return timings


def print_steps(page: Page, trace: dict[str, Any], most: int, what: str) -> None:
    """The loop view's Step through trace, up to ``most`` steps: the median and the 99th percentile."""
    median, p99, taken = timed(page, STEP, "benchSteps", [trace, most], 1)[0]
    print(f"{what}: loop view, {taken} steps from the start, each drawn and laid out: median {median:5.2f} ms "
          f"a step, 99th percentile {p99:5.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=2000)
    args = parser.parse_args()
    with gunicorn_node(BROWSER_ENV) as (url, _), chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        loaded: list[tuple[str, bytes]] = []
        page.on("response", lambda response: loaded.append((response.url, response.body())))
        page.goto(url, wait_until="networkidle")
        first_load = list(loaded)
        for size in args.sizes:
            trace = synthetic_trace(size)
            timings = timed(page, RENDER, "benchTrace", trace, args.rounds)
            medians = (statistics.median(t[i] for t in timings) for i in range(6))
            draw, whole, painted, unfolded, zoomed, stepping = medians
            expand = statistics.median(timed(page, EXPAND, "benchColumns", columnar(trace), args.rounds))
            print(f"{size:>6} tasks (median of {args.rounds}): timeline drawn {draw:6.1f} ms; whole result "
                  f"(timeline, summary, table, output) {whole:6.1f} ms, painted {painted:6.1f} ms; loop view "
                  f"ready to step {stepping:6.1f} ms; unfold all {unfolded:6.1f} ms; zoom {zoomed:6.1f} ms; "
                  f"columnar form expanded {expand:6.1f} ms")
            print_steps(page, synthetic_trace(size), 200, f"{size:>6} tasks")
        print_steps(page, synthetic_trace(args.steps // 2), args.steps, f"{args.steps} steps")
    raw = sum(len(body) for _, body in first_load)
    packed = sum(len(gzip.compress(body, 6)) for _, body in first_load)
    print(f"first load: {len(first_load)} responses, {raw / 1024:.0f} KiB raw, {packed / 1024:.0f} KiB gzip-compressed")
    for name, body in sorted(first_load, key=lambda item: -len(item[1]))[:6]:
        print(f"  {len(body) / 1024:7.1f} KiB  {name.replace(url, '') or '/'}")


if __name__ == "__main__":
    main()
