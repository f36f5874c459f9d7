"""Live runs in a real browser (docs/live.md): Chromium through Playwright
against live gunicorns with real jails. The output and the timeline grow
while a run goes on, Stop ends it keeping what it did, a run waiting for a
place says where it is, a busy playground is tried again after a countdown
(or not, if the reader cancels), and the embeds of a tutorial page run by
themselves, at most two at once."""

from __future__ import annotations

import re
import threading
import time
import urllib.parse
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.support.browsing import BROWSER_ENV, screenshot, wait_for_status
from tests.support.live import LiveClient, print_sleep_print
from tests.support.servers import gunicorn_node, request

pytestmark = pytest.mark.browser

# Prints at once, sleeps 2 s on the real clock, prints again.
PRINT_SLEEP_PRINT = print_sleep_print(2)
# Prints five times a second for longer than any test waits.
TICKING = """\
import asyncio

async def main():
    for tick in range(300):
        print("tick", tick)
        await asyncio.sleep(0.2)

asyncio.run(main())
"""


def page_with(base: str, code: str, clock: str = "real", run: bool = True) -> str:
    return f"{base}/#code={urllib.parse.quote(code)}&clock={clock}{'&run=1' if run else ''}"


def embed_with(base: str, code: str, clock: str = "real") -> str:
    return f"{base}/embed#code={urllib.parse.quote(code)}&clock={clock}"


def test_output_and_timeline_grow_while_the_run_goes_on(page: Page, live_server: str) -> None:
    # 5 s of sleep: time for every check below while the run goes on, even in a slow browser.
    page.goto(page_with(live_server, print_sleep_print(5)))
    lines = page.locator('[data-testid="output"] [data-output-line]')
    expect(lines.first).to_contain_text("first line", timeout=5_000)
    # The first line is there while the run still goes on, and so is its lane.
    expect(page.get_by_test_id("status")).to_have_attribute("data-status", "running")
    expect(page.locator('[data-testid="timeline"] [data-task-id]').first).to_be_attached()
    # The sleep under way is drawn while it lasts (the batch's `open` waits).
    expect(page.locator('[data-testid="timeline"] .tl-wait').first).to_be_attached()
    expect(page.get_by_test_id("status")).to_have_attribute("data-status", "running")
    expect(page.get_by_test_id("stop")).to_be_visible()
    screenshot(page, "live-running")
    wait_for_status(page, "ok")
    expect(lines).to_have_count(2)
    expect(lines.nth(1)).to_contain_text("second line")
    expect(page.get_by_test_id("stop")).to_be_hidden()
    # The final trace is measured as a drawing; the live ones are not.
    assert page.evaluate("performance.getEntriesByName('timeline-render').length") == 1


def test_stop_ends_a_long_run_and_keeps_what_it_did(page: Page, live_server: str) -> None:
    page.goto(page_with(live_server, TICKING))
    lines = page.locator('[data-testid="output"] [data-output-line]')
    expect(lines.nth(2)).to_be_attached(timeout=5_000)
    pressed = time.monotonic()
    page.get_by_test_id("stop").click()
    wait_for_status(page, "stopped", timeout=5_000)
    assert time.monotonic() - pressed < 3
    status = page.get_by_test_id("status")
    expect(status).to_contain_text(re.compile(r"Stopped by you at \d+(\.\d+)? m?s \(real clock\)"))
    assert lines.count() >= 3
    expect(page.locator('[data-testid="timeline"] [data-task-id]').first).to_be_attached()
    expect(page.get_by_test_id("summary-total")).to_contain_text("you stopped the run here")
    expect(page.get_by_test_id("run")).to_be_enabled()
    screenshot(page, "live-stopped")
    # Ctrl+. stops too, from the editor.
    page.get_by_test_id("run").click()
    expect(lines.nth(1)).to_contain_text("tick 1", timeout=5_000)
    page.locator('[data-testid="editor"] .CodeMirror').click()
    page.keyboard.press("Control+.")
    wait_for_status(page, "stopped", timeout=5_000)


def test_the_readers_zoom_holds_while_the_run_grows(page: Page, live_server: str) -> None:
    page.goto(page_with(live_server, TICKING))
    lines = page.locator('[data-testid="output"] [data-output-line]')
    expect(lines.nth(2)).to_be_attached(timeout=5_000)
    shown = page.get_by_test_id("timeline-range")
    page.get_by_test_id("zoom-in").click()
    page.get_by_test_id("zoom-in").click()
    zoomed = shown.inner_text()
    expect(lines.nth(8)).to_be_attached(timeout=5_000)  # drawn again a dozen times since
    expect(shown).to_have_text(zoomed)
    page.get_by_test_id("zoom-fit").click()
    fitted = shown.inner_text()
    expect(lines.nth(11)).to_be_attached(timeout=5_000)
    expect(shown).not_to_have_text(fitted)  # the whole run again, growing with it
    page.get_by_test_id("stop").click()
    wait_for_status(page, "stopped", timeout=5_000)


def test_stop_in_an_embed(page: Page, live_server: str) -> None:
    page.goto(embed_with(live_server, TICKING))
    page.get_by_test_id("run").click()
    expect(page.locator('[data-testid="output"] [data-output-line]').nth(1)).to_be_attached(timeout=5_000)
    page.get_by_test_id("stop").click()
    wait_for_status(page, "stopped", timeout=5_000)
    expect(page.get_by_test_id("status")).to_contain_text("Stopped by you at")
    expect(page.locator('[data-testid="timeline"] [data-task-id]').first).to_be_attached()


# ---------------------------------------------- a node with one place


@pytest.fixture(scope="module")
def one_place() -> Iterator[str]:
    """A node that runs one run at a time and keeps none waiting: a second
    run is refused (503, Retry-After) while the first goes on."""
    env = {**BROWSER_ENV, "PLAYGROUND_CONCURRENCY": "1", "PLAYGROUND_QUEUE_SIZE": "0",
           "PLAYGROUND_RUN_CACHE_SECONDS": "0"}
    with gunicorn_node(env) as (url, _):
        yield url


class Occupant:
    """A long run holding the node's place until stopped."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.client = LiveClient(url, {"code": TICKING, "clock": "real"})
        self.run_id = ""
        started = threading.Event()

        def read() -> None:
            for told in self.client.events():
                if told.name == "started":
                    self.run_id = told.data["run"]
                    started.set()

        self.thread = threading.Thread(target=read, daemon=True)
        self.thread.start()
        assert started.wait(10), "the occupying run never started"

    def stop(self) -> None:
        assert request(self.url, "POST", f"/api/runs/{self.run_id}/stop", {})[0] == 200
        self.thread.join(10)
        self.client.close()


def test_a_busy_playground_is_tried_again_after_a_countdown(page: Page, one_place: str) -> None:
    occupant = Occupant(one_place)
    tries: list[str] = []
    page.on("request", lambda sent: tries.append(sent.url) if sent.url.endswith("/api/run") else None)
    try:
        page.goto(page_with(one_place, print_sleep_print(0.2), clock="virtual"))
        status = page.get_by_test_id("status")
        wait_for_status(page, "waiting", timeout=5_000)
        expect(status).to_contain_text(re.compile(r"The playground is busy\. Trying again in \d+ s"))
        expect(status).not_to_contain_text("jail")
        screenshot(page, "live-busy-countdown")
        # Retry-After is the predicted wait (here 1 s: the place's run has
        # outlasted what runs cost lately); the page tries again after it.
        assert int(page.get_by_test_id("retry-countdown").inner_text().removesuffix(" s")) >= 1
        page.wait_for_timeout(2_500)
        assert len(tries) >= 2, tries
    finally:
        occupant.stop()
    # The place is free: the next try runs.
    wait_for_status(page, "ok", timeout=15_000)
    expect(page.locator('[data-testid="output"] [data-output-line]')).to_have_count(2)


def test_the_countdown_can_be_cancelled(page: Page, one_place: str) -> None:
    occupant = Occupant(one_place)
    try:
        page.goto(embed_with(one_place, PRINT_SLEEP_PRINT, clock="virtual"))
        page.get_by_test_id("run").click()
        wait_for_status(page, "waiting", timeout=5_000)
        page.get_by_test_id("retry-cancel").click()
        wait_for_status(page, "stopped")
        expect(page.get_by_test_id("status")).to_contain_text("You cancelled the run")
        expect(page.get_by_test_id("run")).to_be_enabled()
        page.wait_for_timeout(6_000)  # past the countdown: nothing ran
        expect(page.get_by_test_id("status")).to_have_attribute("data-status", "stopped")
    finally:
        occupant.stop()


@pytest.fixture(scope="module")
def queueing() -> Iterator[str]:
    """A node with one place and room to wait for it."""
    env = {**BROWSER_ENV, "PLAYGROUND_CONCURRENCY": "1", "PLAYGROUND_QUEUE_SIZE": "4",
           "PLAYGROUND_QUEUE_WAIT_SECONDS": "60", "PLAYGROUND_RUN_CACHE_SECONDS": "0"}
    with gunicorn_node(env) as (url, _):
        yield url


def server_tells_queued(url: str) -> bool:
    """Whether the node tells a waiting run its place (``queued``), which
    comes with admission by time: the first 3 s of the stream of a run
    waiting behind another's (keep-alive comments come meanwhile)."""
    waiting = LiveClient(url, {"code": "print('probe')\n", "clock": "real"}, timeout=3)
    deadline = time.monotonic() + 3
    try:
        while time.monotonic() < deadline:
            line = waiting.response.readline()
            if not line or (line.startswith(b"event: ") and line.strip() != b"event: queued"):
                return False
            if line.strip() == b"event: queued":
                return True
        return False
    finally:
        waiting.close()


def test_a_queued_run_says_where_it_waits(page: Page, queueing: str) -> None:
    occupant = Occupant(queueing)
    try:
        if not server_tells_queued(queueing):
            pytest.skip("this server does not tell `queued` yet (it comes with admission by time)")
        page.goto(page_with(queueing, print_sleep_print(0.2), clock="virtual"))
        expect(page.get_by_test_id("status")).to_contain_text(
            re.compile(r"Waiting for a free place: (yours is next|\d+ runs? ahead)"), timeout=5_000)
        expect(page.get_by_test_id("status")).to_have_attribute("data-status", "running")
        screenshot(page, "live-queued")
    finally:
        occupant.stop()
    wait_for_status(page, "ok", timeout=15_000)
