"""Everyone can read it: every text and every control of the pages, light and
dark (Playwright's colour-scheme emulation), at WCAG AA's contrast (4.5:1 for
text, 3:1 for large text and for a control's boundary), checked by axe-core
and by the project's own check (tests/support/contrast.py), with no
exception list: the main page after code runs (ok, an error, blocking steps,
a pinned run, the share and embed dialogs) and after URL runs (some failed, compared), the embed page and
a shared snippet's page, each after a run, against a live gunicorn with the
real jail."""

from __future__ import annotations

import urllib.parse

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.browsing import run_example, wait_for_status
from tests.support.contrast import contrast_failures
from tests.support.servers import request
from tests.support.urlserver import LocalServer

pytestmark = pytest.mark.browser

SCHEMES = ["light", "dark"]
ERROR = ("import asyncio\n\nasync def fail():\n    await asyncio.sleep(0.1)\n    raise ValueError('boom')\n\n"
         "async def main():\n    await asyncio.gather(fail(), asyncio.sleep(0.2))\n\nasyncio.run(main())\n")


def open_page(browser: Browser, scheme: str, width: int = 1400, height: int = 900) -> Page:
    context = browser.new_context(viewport={"width": width, "height": height}, color_scheme=scheme)
    return context.new_page()


def readable(page: Page, what: str) -> None:
    page.mouse.move(0, 0)
    failures = contrast_failures(page)
    assert failures == [], f"{what}: {len(failures)} failures:\n" + "\n".join(failures)


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("width", [1400, 375])
def test_the_main_page_after_code_runs(browser: Browser, url_server: str, scheme: str, width: int) -> None:
    page = open_page(browser, scheme, width, 812 if width < 500 else 900)
    try:
        run_example(page, url_server, "blocking")
        page.get_by_test_id("pin").click()
        readable(page, f"blocking, pinned ({scheme}, {width})")
        for button, dialog in (("share", "share-dialog"), ("embed", "embed-dialog")):
            page.get_by_test_id(button).click()
            expect(page.get_by_test_id(dialog)).to_be_visible()
            readable(page, f"the {button} dialog ({scheme}, {width})")
            page.keyboard.press("Escape")
            expect(page.get_by_test_id(dialog)).to_be_hidden()
        page.goto(f"{url_server}/#code={urllib.parse.quote(ERROR)}&run=1")
        wait_for_status(page, "error")
        readable(page, f"an error ({scheme}, {width})")
    finally:
        page.context.close()


@pytest.mark.parametrize("scheme", SCHEMES)
def test_the_main_page_after_url_runs(browser: Browser, url_server: str, target: LocalServer, scheme: str) -> None:
    urls = [target.url(f"/delay/0.2?i={i}") for i in range(3)] + ["http://169.254.169.254/"]
    page = open_page(browser, scheme)
    try:
        page.goto(f"{url_server}/#urls={urllib.parse.quote(chr(10).join(urls))}&compare=sequential&run=1")
        wait_for_status(page, "partial")
        expect(page.get_by_test_id("compare")).to_be_visible()
        readable(page, f"URL mode ({scheme})")
    finally:
        page.context.close()


@pytest.mark.parametrize("scheme", SCHEMES)
def test_the_embed_and_shared_pages_after_a_run(browser: Browser, url_server: str, scheme: str) -> None:
    status, _, body = request(url_server, "POST", "/api/snippets", {"mode": "code", "code": ERROR})
    assert status == 201
    page = open_page(browser, scheme)
    try:
        page.goto(f"{url_server}/embed/{body['id']}?autorun=1")
        wait_for_status(page, "error")
        readable(page, f"the embed page ({scheme})")
        page.goto(body["url"])
        page.get_by_test_id("run").click()
        wait_for_status(page, "error")
        readable(page, f"a shared snippet's page ({scheme})")
    finally:
        page.context.close()
