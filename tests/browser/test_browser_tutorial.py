"""A tutorial page with a dozen embeds, as a new reader first loads it: served
from another loopback origin, twelve autorun snippets through
static/embed.js, a fresh playground with no run cache (every embed a real
run). Each shows its timeline, none an error, all within 5 s (on the machine
the goal was set on; on a slower one, as much longer as it is slower, see
tests/support/pace.py); and never more than two autorun at once."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, Request, expect

from tests.support.browsing import BROWSER_ENV, checked_page, screenshot, wait_for_status
from tests.support.pace import slowness
from tests.support.servers import gunicorn_node
from tests.support.tutorial import Tutorial, autorun_tutorial, read_down_to

pytestmark = pytest.mark.browser

EMBEDS = 12
ALL_WITHIN_SECONDS = 5


@pytest.fixture(scope="module")
def fresh() -> Iterator[str]:
    """A playground that keeps no runs: each embed's is a real run."""
    with gunicorn_node({**BROWSER_ENV, "PLAYGROUND_RUN_CACHE_SECONDS": "0"}) as (url, _):
        yield url


@pytest.fixture(scope="module")
def tutorial_page(fresh: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tutorial = Tutorial(tmp_path_factory.mktemp("tutorial"))
    yield autorun_tutorial(tutorial, fresh, EMBEDS)
    tutorial.close()


def embed_shows_its_run(page: Page, index: int, number: int, timeout: float) -> None:
    frame = page.frame_locator("pre[data-asyncio-playground] + iframe").nth(index)
    wait_for_status(frame, "ok", timeout=timeout)
    expect(frame.locator('[data-testid="timeline"] [data-task-id]').first).to_be_attached()
    expect(frame.get_by_test_id("output")).to_contain_text(f"snippet {number} done")


def test_a_dozen_embeds_all_show_their_timeline_within_5_s(page: Page, tutorial_page: str, fresh: str) -> None:
    # 5 s on the machine the goal was set on (3.99 s at most there); a machine
    # that is twice as slow (a cold `import asyncio` takes twice the CPU) has twice as long.
    within = ALL_WITHIN_SECONDS * slowness()
    page.goto(tutorial_page)
    started = time.monotonic()
    # Frames are made as their blocks come near the view: read on, as a reader does.
    for index in range(EMBEDS):
        read_down_to(page, index)
        left = within - (time.monotonic() - started)
        embed_shows_its_run(page, index, index + 1, timeout=max(left, 0.1) * 1000)
    took = time.monotonic() - started
    assert took < within, (took, within)
    prefix = f"{fresh}/embed#"
    assert page.locator("iframe").evaluate_all("(frames, prefix) => frames.every(f => f.src.startsWith(prefix))",
                                               prefix)
    screenshot(page, "tutorial-dozen")


def test_no_more_than_two_embeds_autorun_at_once(browser: Browser, tutorial_page: str) -> None:
    # Tall enough for every block to be near the view at once: only the gate holds them back.
    with checked_page(browser, 1280, 8000) as page:
        running: set[Request] = set()
        most = 0

        def began(req: Request) -> None:
            nonlocal most
            if req.url.endswith("/api/run"):
                running.add(req)
                most = max(most, len(running))

        page.on("request", began)
        page.on("requestfinished", lambda req: running.discard(req))
        page.on("requestfailed", lambda req: running.discard(req))
        page.goto(tutorial_page)
        expect(page.locator("iframe")).to_have_count(EMBEDS)
        for index in range(EMBEDS):
            # Embeds run near the view only: earlier ones grow as they show their runs.
            read_down_to(page, index)
            embed_shows_its_run(page, index, index + 1, timeout=20_000)
        assert most == 2, most
