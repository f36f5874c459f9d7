"""What the browser tests share: Debian's Chromium through Playwright, the
settings of their live servers (started with ``tests.servers.gunicorn_node``),
and small page helpers."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import Browser, FrameLocator, Locator, Page, expect, sync_playwright

from tests.support import ROOT

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


# Rate limits have their own tests, and a browser suite runs more than a
# person would in a minute: the live servers of the browser tests lift them.
BROWSER_ENV = {"PLAYGROUND_RATELIMIT_ENABLED": "false"}


# The page's loop view (static/features/loop-view.js's latestLoopView), from
# the page's own module: under its /assets/<digest>/ URL, not another copy
# from /static/, whose view was never made.
LOOP_VIEW_OF_PAGE = """async () => {
    const entry = document.querySelector('script[type="module"]').src;
    return (await import(new URL("../features/loop-view.js", entry))).latestLoopView;
}"""


# A duration as the page writes it (static/lib/format.js): "35 \u00b5s", "4.1 ms", "120 ms", "1.00 s".
DURATION = re.compile(r"^(\d+(?:\.\d+)?) (s|ms|\u00b5s)$")
DURATION_UNIT = {"s": 1.0, "ms": 1e-3, "\u00b5s": 1e-6}


def duration_seconds(text: str) -> float | None:
    """The seconds a duration the page wrote says, None when text is not one."""
    match = DURATION.match(text.strip())
    return float(match.group(1)) * DURATION_UNIT[match.group(2)] if match else None


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium. Open it per test module: Playwright's sync API keeps
    an event loop running in the main thread while it is open, and other
    modules (URL mode) run asyncio there."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run `bash scripts/setup --test`")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def checked_page(browser: Browser, width: int = 1280, height: int = 900) -> Iterator[Page]:
    """A fresh page that fails the test if its JavaScript throws."""
    context = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield page
    finally:
        context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def wait_for_status(target: Page | FrameLocator, expected: str, timeout: float = 30_000) -> None:
    expect(target.get_by_test_id("status")).to_have_attribute("data-status", expected, timeout=timeout)


def run_example(page: Page, url: str, name: str) -> None:
    """Open the gallery's example ``name`` on the playground at ``url``, run
    it, and wait until it ended ok."""
    page.goto(f"{url}/?example={name}")
    page.get_by_test_id("run").click()
    wait_for_status(page, "ok")


def after_pending_frames(page: Page) -> None:
    """Return once the page drew two more frames: what it puts off to the next
    one (rows that came into view taking their height, a redraw on resize) is
    done, so what a click aims at stays put. A loaded machine delays them."""
    page.evaluate("() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))")


def hover(page: Page, locator: Locator) -> None:
    """Move the mouse over the middle of what ``locator`` finds, scrolled into view."""
    locator.scroll_into_view_if_needed()
    box = locator.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] / 2)


def share_and_open(page: Page) -> tuple[str, Page]:
    """Share what ``page`` shows (the Share button) and open its link in a new page of the same context."""
    page.get_by_test_id("share").click()
    field = page.get_by_test_id("share-url")
    expect(field).to_have_value(re.compile(r"/s/[0-9A-Za-z]{10}$"))
    shared = field.input_value()
    other = page.context.new_page()
    other.goto(shared)
    return shared, other
