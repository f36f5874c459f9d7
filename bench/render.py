"""How fast the page draws big traces, and how much a first visit loads.

Starts the app under gunicorn, opens it in Debian's Chromium (Playwright),
and hands the page synthetic traces of a gather of N tasks (as the API would
answer them) through ``window.playground.renderTrace``. For each size it
prints the median of ``performance.measure("timeline-render")`` (drawing the
timeline) and of the whole result (timeline, summary, task table, output),
then the first-load weight: every response of a first visit, raw and
gzip-compressed.

    python3 bench/render.py [--sizes 2000 20000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.browsing import BROWSER_ENV, chromium  # noqa: E402
from tests.support.servers import gunicorn_node  # noqa: E402
from tests.support.traces import synthetic_trace  # noqa: E402

RENDER = """(trace) => {
    performance.clearMeasures("timeline-render");
    const started = performance.now();
    window.playground.renderTrace(trace, 0.5);
    const whole = performance.now() - started;
    const [measure] = performance.getEntriesByName("timeline-render");
    const unfold = performance.now();
    window.playground.timeline().expandAll(true);
    const expanded = performance.now() - unfold;
    const zoom = performance.now();
    window.playground.timeline().zoom(4);
    const zoomed = performance.now() - zoom;
    return [measure.duration, whole, expanded, zoomed];
}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with gunicorn_node(BROWSER_ENV) as (url, _), chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        loaded: list[tuple[str, bytes]] = []
        page.on("response", lambda response: loaded.append((response.url, response.body())))
        page.goto(url, wait_until="networkidle")
        first_load = list(loaded)
        for size in args.sizes:
            trace = synthetic_trace(size)
            timings = [page.evaluate(RENDER, trace) for _ in range(args.rounds)]
            draw, whole, expanded, zoomed = (statistics.median(t[i] for t in timings) for i in range(4))
            print(f"{size:>6} tasks (median of {args.rounds}): timeline drawn {draw:6.1f} ms; whole result "
                  f"(timeline, summary, table, output) {whole:6.1f} ms; unfold all {expanded:6.1f} ms; "
                  f"zoom {zoomed:6.1f} ms")
    raw = sum(len(body) for _, body in first_load)
    packed = sum(len(gzip.compress(body, 6)) for _, body in first_load)
    print(f"first load: {len(first_load)} responses, {raw / 1024:.0f} KiB raw, {packed / 1024:.0f} KiB gzip-compressed")
    for name, body in sorted(first_load, key=lambda item: -len(item[1]))[:6]:
        print(f"  {len(body) / 1024:7.1f} KiB  {name.replace(url, '') or '/'}")


if __name__ == "__main__":
    main()
