"""URL mode in a real browser: Debian's Chromium driven by Playwright against a
live gunicorn whose allow list lets it fetch from the tests' loopback server
(the fixtures ``target`` and ``url_server`` of tests/conftest.py)."""

from __future__ import annotations

import json
import re
import urllib.parse
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.support.browsing import screenshot, wait_for_status
from tests.support.urlserver import LocalServer

pytestmark = pytest.mark.browser
VIEWPORT = (1400, 1000)


def test_url_mode_draws_phases_compares_and_opens_the_code(page: Page, url_server: str,
                                                           target: LocalServer) -> None:
    urls = [target.url(f"/delay/0.5?n={i}") for i in range(3)] + ["http://169.254.169.254/latest/meta-data/"]
    page.goto(url_server)
    page.get_by_test_id("mode-urls").click()
    expect(page.get_by_test_id("url-list")).to_be_visible()
    expect(page.get_by_test_id("editor")).to_be_hidden()
    page.get_by_test_id("url-list").fill("\n".join(urls))
    page.get_by_test_id("strategy").select_option("gather")
    page.get_by_test_id("compare-strategy").select_option("sequential")
    expect(page.get_by_test_id("url-code")).to_contain_text("asyncio.gather(")
    expect(page.get_by_test_id("url-code")).to_contain_text("import aiohttp")
    page.get_by_test_id("run").click()
    wait_for_status(page, "partial")

    # Every URL is a lane; the three that answered have every phase drawn.
    timeline = page.get_by_test_id("timeline")
    expect(timeline.locator("[data-task-id]")).to_have_count(4)
    for task_id in (1, 2, 3):
        lane = timeline.locator(f'[data-task-id="{task_id}"]')
        for phase in ("connect", "sent", "first_byte", "body"):
            expect(lane.locator(f'[data-phase="{phase}"]')).to_have_count(1)
    expect(timeline.locator('[data-task-id="4"] [data-phase]')).to_have_count(0)
    status = page.get_by_test_id("status")
    expect(status).to_have_attribute("data-failed", "1")
    expect(status.locator(".status-text")).to_contain_text("1 of 4 requests failed")
    expect(status).to_contain_text("169.254.169.254 is a link-local address")
    expect(page.get_by_test_id("phase-legend")).to_be_visible()

    # Hovering a phase names it with its times.
    wait_bar = timeline.locator('[data-task-id="1"] [data-phase="first_byte"]')
    wait_bar.hover()
    tooltip = page.locator('[data-testid="timeline"] .tl-tooltip')
    expect(tooltip).to_be_visible()
    expect(tooltip).to_contain_text("waiting for first byte")

    # Compare: both runs with their totals and the speed-up.
    compare = page.get_by_test_id("compare")
    expect(compare).to_be_visible()
    expect(compare.locator('.compare-total[data-strategy="gather"]')).to_be_visible()
    expect(compare.locator('.compare-total[data-strategy="sequential"]')).to_be_visible()
    expect(page.get_by_test_id("speedup")).to_contain_text("speed-up")
    ratio = float(page.get_by_test_id("speedup").get_attribute("data-ratio") or "0")
    assert ratio > 1
    expect(page.get_by_test_id("timeline-compare").locator("[data-task-id]")).to_have_count(4)
    assert page.evaluate("performance.getEntriesByName('timeline-render').length") == 2
    expect(page.get_by_test_id("output").locator("[data-output-line]")).to_have_count(4)
    screenshot(page, "urlmode-compare")

    # The code, measured times included, opens in code mode and runs there.
    expect(page.get_by_test_id("url-code")).to_contain_text("asyncio.gather(")
    page.get_by_test_id("open-in-code").click()
    expect(page.get_by_test_id("editor")).to_be_visible()
    expect(page.get_by_test_id("editor")).to_contain_text("in your last URL run")
    expect(page.get_by_test_id("editor")).to_contain_text("Refused")
    expect(page.get_by_test_id("mode-code")).to_have_attribute("aria-pressed", "true")
    page.get_by_test_id("run").click()
    wait_for_status(page, "ok")
    expect(page.get_by_test_id("timeline").locator("[data-task-id]")).to_have_count(5)  # main + 4 fetches
    expect(page.get_by_test_id("compare")).to_be_hidden()
    screenshot(page, "urlmode-opened-in-code")


def test_url_fragment_opens_url_mode_and_runs(page: Page, url_server: str, target: LocalServer) -> None:
    urls = "\n".join([target.url("/status/200"), target.url("/chain/2"), "ftp://example.com/", "http://127.1/"])
    page.goto(f"{url_server}/#urls={urllib.parse.quote(urls)}&strategy=semaphore&limit=2&run=1")
    wait_for_status(page, "partial")
    expect(page.get_by_test_id("mode-urls")).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_test_id("strategy")).to_have_value("semaphore")
    expect(page.get_by_test_id("limit")).to_have_value("2")
    expect(page.get_by_test_id("status")).to_have_attribute("data-failed", "2")
    expect(page.get_by_test_id("status")).to_contain_text("Only http and https URLs are fetched")
    expect(page.get_by_test_id("status")).to_contain_text("non-standard way of writing the IP address 127.0.0.1")
    expect(page.get_by_test_id("compare")).to_be_hidden()
    redirected = page.get_by_test_id("timeline").locator('[data-task-id="2"] [data-phase="first_byte"]')
    expect(redirected).to_have_count(3)  # two redirects, then the answer
    expect(page.get_by_test_id("url-code")).to_contain_text("asyncio.Semaphore(2)")
    screenshot(page, "urlmode-fragment")


def test_url_mode_request_errors_are_shown(page: Page, url_server: str) -> None:
    page.goto(f"{url_server}/?mode=urls")
    page.get_by_test_id("url-list").fill("\n".join(f"https://example.com/{i}" for i in range(21)))
    expect(page.get_by_test_id("url-hint")).to_contain_text("the limit is 20")
    page.get_by_test_id("run").click()
    wait_for_status(page, "request-error")
    expect(page.get_by_test_id("status")).to_contain_text("the limit is 20")


def test_hostile_urls_stay_text(page: Page, url_server: str, target: LocalServer) -> None:
    hostile = "http://<img src=x onerror=\"window.__pwned=1\">.example/<b>bold</b>"
    page.goto(f"{url_server}/?mode=urls")
    page.get_by_test_id("url-list").fill("\n".join([hostile, target.url("/status/200")]))
    page.get_by_test_id("run").click()
    wait_for_status(page, "partial")
    expect(page.get_by_test_id("status")).to_have_attribute("data-failed", "1")
    expect(page.get_by_test_id("status")).to_contain_text("<img src=x")
    expect(page.get_by_test_id("output")).to_contain_text("<b>bold</b>")
    assert page.locator("main img, main b:text('bold')").count() == 0
    assert page.evaluate("window.__pwned") is None
    expect(page.get_by_test_id("url-code")).to_contain_text("<img src=x")


def test_partial_failure_exports_and_labels_that_tell_urls_apart(page: Page, url_server: str,
                                                                 target: LocalServer) -> None:
    # Five of six refused (a link-local address, a port that is closed on
    # loopback, another scheme...), one answered: a partial failure, said so.
    alike = [target.url(f"/delay/0.5?i={i}") for i in range(3)]
    failing = ["http://169.254.169.254/a", "ftp://example.com/b", "http://127.1/c", "http://10.0.0.1/d",
               "http://[::1]:1/e"]
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(f"{url_server}/#urls={urllib.parse.quote(chr(10).join(alike[:1] + failing))}&run=1")
    wait_for_status(page, "partial")
    status = page.get_by_test_id("status")
    expect(status.locator(".status-text")).to_have_text(re.compile(r"^5 of 6 requests failed \u00b7 6 URLs"))
    expect(status).to_have_attribute("data-failed", "5")
    assert page.locator('[data-testid="status"] .status-icon').evaluate(
        "(el) => getComputedStyle(el, '::before').content") == '"!"'
    screenshot(page, "urlmode-partial")

    # All failed: an error.
    page.goto(f"{url_server}/#urls={urllib.parse.quote(chr(10).join(failing[:2]))}&run=1")
    wait_for_status(page, "error")
    expect(status.locator(".status-text")).to_contain_text("All 2 requests failed")

    # URLs of one site keep the end that tells them apart, on a phone too.
    for width in (1400, 375):
        page.set_viewport_size({"width": width, "height": 812})
        page.goto(f"{url_server}/#urls={urllib.parse.quote(chr(10).join(alike))}&run=1")
        wait_for_status(page, "ok")
        names = page.locator('[data-testid="timeline"] [data-task-id] .tl-name').all_text_contents()
        assert len(set(names)) == 3, names
        assert [name[-1] for name in names] == ["0", "1", "2"], names
        label = page.locator('[data-testid="timeline"] [data-task-id="2"] .tl-label')
        expect(label).to_have_attribute("aria-label", re.compile(re.escape(alike[1].split("://", 1)[1])))
        screenshot(page, f"urlmode-labels-{width}")
    label.focus()
    expect(page.locator('[data-testid="timeline"] .tl-tooltip')).to_contain_text(alike[1])

    # The exports save the URL run: a real SVG, PNG and Perfetto file.
    page.set_viewport_size({"width": 1400, "height": 900})
    files = {}
    for testid in ("export-svg", "export-png", "export-perfetto"):
        button = page.get_by_test_id(testid)
        expect(button).to_be_enabled()
        with page.expect_download() as download_info:
            button.click()
        files[testid] = Path(download_info.value.path()).read_bytes()
    assert files["export-svg"].startswith(b"<svg") and b"delay/0.5?i=2" in files["export-svg"]
    assert files["export-png"].startswith(b"\x89PNG\r\n\x1a\n") and len(files["export-png"]) > 5000
    events = json.loads(files["export-perfetto"])["traceEvents"]
    phases = {e["name"] for e in events if e.get("cat") == "phase"}
    assert {"connect", "request sent", "waiting for first byte", "body"} <= phases
    assert {e["args"]["url"] for e in events if e.get("cat") == "phase"} == set(alike)
