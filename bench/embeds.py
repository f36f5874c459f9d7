"""The pages as a reader meets them, in Chromium (Playwright) against one
gunicorn node with no run cache (every run a real one) and no rate limits.

- A tutorial of 12 autorun embeds (static/embed.js), served from another
  loopback origin, loaded with an empty browser cache in a fresh context
  each round: seconds from the page's start until each embed has drawn its
  run's timeline (each frame's ``timeline-render`` measure, on the page's
  clock), their median and maximum, and the embeds that ended in anything
  but "ok". Once with a tall window (every embed near the view at first:
  only the two-at-a-time turns hold them back), once with a 900-pixel one;
  in both, the next embed is scrolled to as soon as one shows its run, as a
  reader reads (embeds autorun only near the view, and earlier ones grow as
  they show their runs, so even the tall window scrolls to the last ones).
- The first output of a live run: the snippet that prints at once and then
  sleeps 3 s on the real clock, run with the main page's Run button: seconds
  from the click until its first output line is in the page, beside the
  seconds until the whole run is shown (status "ok").

With ``--against REV``, the tutorial rounds alternate between a node of
this tree and one of ``REV`` (checked out beside it, tests/support/trees.py),
and the medians of both and their ratios are printed: side by side, as this
machine is shared and noisy.

Figures only, never pass/fail:

    python3 bench/embeds.py [--rounds 3] [--against REV]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import urllib.parse
from contextlib import ExitStack
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.browsing import BROWSER_ENV, chromium  # noqa: E402
from tests.support.live import print_sleep_print  # noqa: E402
from tests.support.servers import gunicorn_node  # noqa: E402
from tests.support.trees import worktree  # noqa: E402
from tests.support.tutorial import Tutorial, autorun_tutorial, read_down_to  # noqa: E402

EMBEDS = 12
# An embed's status once its run ended, however it ended.
ENDED = """() => {
    const status = document.querySelector('[data-testid="status"]')?.dataset.status;
    return status && !["idle", "running", "waiting"].includes(status) && status;
}"""
# Each frame's drawing of its run, on the tutorial page's clock (ms since it started); null: none yet.
SHOWN_AT = """(frame) => {
    const [drawn] = performance.getEntriesByName("timeline-render");
    return drawn ? performance.timeOrigin + drawn.startTime + drawn.duration : null;
}"""
# Click Run; the ms until the first output line is in the page, and until the status says ok.
RUN_AND_TIME = """() => new Promise((resolve) => {
    const output = document.querySelector('[data-testid="output"]');
    const status = document.querySelector('[data-testid="status"]');
    let first = null;
    const clicked = performance.now();
    const watch = new MutationObserver(() => {
        if (first === null && output.querySelector("[data-output-line]")) first = performance.now() - clicked;
        if (status.dataset.status !== "running" && status.dataset.status !== "waiting") {
            watch.disconnect();
            resolve([first, performance.now() - clicked, status.dataset.status]);
        }
    });
    watch.observe(document.body, { subtree: true, childList: true, attributes: true });
    document.querySelector('[data-testid="run"]').click();
})"""


def tutorial_round(browser: Browser, url: str, height: int) -> tuple[list[float], int]:
    """One first load of the tutorial: seconds until each embed showed its run, and how many ended otherwise."""
    context = browser.new_context(viewport={"width": 1280, "height": height})
    try:
        page = context.new_page()
        page.goto(url)
        started = page.evaluate("performance.timeOrigin")
        statuses = []
        for index in range(EMBEDS):
            # Embeds run near the view only: one that earlier ones pushed down, as they grew, is scrolled to.
            read_down_to(page, index)
            # Scrolled on soon after it ended: watched in the frame every 50 ms
            # (Playwright's expect polls at up to 1 s, and a late scroll would
            # count as the page's time; animation frames stop in a frame out of view).
            frame = page.locator("pre[data-asyncio-playground] + iframe").nth(index).element_handle().content_frame()
            assert frame is not None
            statuses.append(frame.wait_for_function(ENDED, polling=50, timeout=60_000).json_value())
        shown = [(frame.evaluate(SHOWN_AT, None) or float("nan")) - started for frame in page.frames[1:]]
        return [ms / 1000 for ms in shown], sum(status != "ok" for status in statuses)
    finally:
        context.close()


def first_output_round(page: Page, base: str, round_number: int) -> tuple[float, float, str]:
    code = print_sleep_print(3, last=f"last line, round {round_number}")
    page.goto("about:blank")  # a load of its own: a fragment alone would not reload the page
    page.goto(f"{base}/#code={urllib.parse.quote(code)}&clock=real")
    expect(page.get_by_test_id("status")).to_have_attribute("data-status", "idle")
    first, whole, status = page.evaluate(RUN_AND_TIME)
    return (first if first is not None else float("nan")) / 1000, whole / 1000, status


def seconds(values: list[float]) -> str:
    return f"median {statistics.median(values):.2f} s, max {max(values):.2f} s"


WINDOWS = (("tall window, all near the view", 16000), ("900 px window, read down", 900))


def tutorial_rounds(browser: Browser, tutorial: Tutorial, nodes: dict[str, str], rounds: int) -> None:
    """Each window's rounds, alternating between the nodes (``{name: url}``) when there are two."""
    print(f"tutorial of {EMBEDS} autorun embeds, first load, no run cache ({rounds} rounds):")
    for window, height in WINDOWS:
        shown: dict[str, list[float]] = {name: [] for name in nodes}
        alls: dict[str, list[float]] = {name: [] for name in nodes}
        errors = dict.fromkeys(nodes, 0)
        for round_number in range(rounds):
            order = list(nodes.items())
            for name, base in order if round_number % 2 == 0 else reversed(order):
                page_name = f"dozen-{height}-{round_number}-{name.replace(' ', '-')}.html"
                page_url = autorun_tutorial(tutorial, base, EMBEDS, name=page_name)
                times, failed = tutorial_round(browser, page_url, height)
                shown[name] += times
                alls[name].append(max(times))
                errors[name] += failed
                print(f"  {window}, round {round_number + 1}, {name}: all {EMBEDS} shown after {max(times):.2f} s",
                      flush=True)
        for name in nodes:
            print(f"  {window}, {name}: each embed's timeline shown {seconds(shown[name])}; all shown "
                  f"{seconds(alls[name])}; {errors[name]} of {EMBEDS * rounds} ended other than ok")
        if len(nodes) == 2:
            ours, old = (statistics.median(alls[name]) for name in nodes)
            print(f"  {window}: all shown, this tree / {list(nodes)[1]}: x{ours / old:.2f} (medians)")


def first_output_rounds(browser: Browser, base: str, rounds: int) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    firsts, wholes = [], []
    for round_number in range(max(rounds, 3)):
        first, whole, status = first_output_round(page, base, round_number)
        firsts.append(first)
        wholes.append(whole)
        print(f"  print, then sleep 3 s (real clock), round {round_number + 1}: first line {first:.3f} s, "
              f"whole run {whole:.2f} s ({status})")
    context.close()
    print(f"first output of a live run: click to first line {seconds(firsts)} (goal < 0.3 s); "
          f"click to the whole run {seconds(wholes)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--against", metavar="REV", help="an earlier commit, run side by side")
    args = parser.parse_args()
    env = {**BROWSER_ENV, "PLAYGROUND_RUN_CACHE_SECONDS": "0"}
    with ExitStack() as stack:
        folder = stack.enter_context(tempfile.TemporaryDirectory())
        nodes = {"this tree": stack.enter_context(gunicorn_node(env))[0]}
        if args.against:
            nodes[args.against] = stack.enter_context(gunicorn_node(env, root=stack.enter_context(
                worktree(args.against))))[0]
        browser = stack.enter_context(chromium())
        tutorial = Tutorial(Path(folder))
        stack.callback(tutorial.close)
        tutorial_rounds(browser, tutorial, nodes, args.rounds)
        first_output_rounds(browser, nodes["this tree"], args.rounds)


if __name__ == "__main__":
    main()
