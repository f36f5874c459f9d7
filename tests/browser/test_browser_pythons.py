"""The Python picker in a real browser (Debian's Chromium through Playwright,
against a live gunicorn with the real jail): the picker filled with the
server's Pythons, a run on the one picked with its exact version in the
status line and the summary, ``#python=`` and ``?python=``, the examples
that need a newer Python, typed code that outlives a change of Python and a
reload, "Compare Pythons" (the same code on two Pythons, pinned on one
scale), shared snippets, the download, and embeds (``data-python``)."""

from __future__ import annotations

import html
import json
import re
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import Page, expect

from tests.support.browsing import BROWSER_ENV, screenshot, share_and_open, wait_for_status
from tests.support.servers import gunicorn_node

pytestmark = pytest.mark.browser

VERSION = """\
import asyncio
import platform

async def main():
    await asyncio.sleep(1)
    print(platform.python_version())

asyncio.run(main())
"""


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A live playground with a snippets database of its own."""
    instance = tmp_path_factory.mktemp("pythons-instance")
    with gunicorn_node({**BROWSER_ENV, "PLAYGROUND_INSTANCE_PATH": str(instance)}) as (url, _):
        yield url


@pytest.fixture(scope="module")
def pythons(live: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{live}/api/pythons") as response:
        listed: list[dict[str, Any]] = json.load(response)["pythons"]
    return listed


def version_of(pythons: list[dict[str, Any]], python_id: str) -> str:
    return str(next(p["version"] for p in pythons if p["id"] == python_id))


def default_of(pythons: list[dict[str, Any]]) -> str:
    return str(next(p["id"] for p in pythons if p["default"]))


def set_code(page: Page, code: str) -> None:
    page.evaluate("code => window.playground.editor.setValue(code)", code)


def ran_on(page: Page, version: str) -> None:
    """The run is over, and the status line and the summary say it ran on ``version``."""
    wait_for_status(page, "ok")
    expect(page.get_by_test_id("status")).to_have_attribute("data-python", version)
    expect(page.get_by_test_id("status")).to_contain_text(f"Python {version}")
    expect(page.get_by_test_id("summary-python")).to_have_text(version)
    expect(page.locator('[data-testid="output"] [data-output-line]')).to_contain_text(version)


def test_the_picker_holds_the_servers_pythons(page: Page, live: str, pythons: list[dict[str, Any]]) -> None:
    page.goto(f"{live}/")
    picker = page.get_by_test_id("python")
    options = picker.locator("option")
    assert options.evaluate_all("os => os.map(o => o.value)") == [p["id"] for p in pythons]
    for python, text in zip(pythons, options.all_text_contents(), strict=True):
        assert f"Python {python['version']}" in text
    expect(picker).to_have_value(default_of(pythons))
    # Beside the clock picker, next in the keyboard's order.
    page.get_by_test_id("clock").focus()
    page.keyboard.press("Tab")
    expect(picker).to_be_focused()


def test_a_run_on_the_python_picked(page: Page, live: str, pythons: list[dict[str, Any]]) -> None:
    page.goto(f"{live}/")
    set_code(page, VERSION)
    page.get_by_test_id("python").select_option("3.13")
    page.get_by_test_id("run").click()
    ran_on(page, version_of(pythons, "3.13"))
    assert "python=3.13" in page.url
    screenshot(page, "python-3.13")


def test_the_address_picks_the_python(page: Page, live: str, pythons: list[dict[str, Any]]) -> None:
    page.goto(f"{live}/#code={quote(VERSION)}&clock=virtual&python=3.14&run=1")
    expect(page.get_by_test_id("python")).to_have_value("3.14")
    ran_on(page, version_of(pythons, "3.14"))
    # ?python= does for any page what #python= does for a fragment's code.
    page.goto(f"{live}/?example=gather&python=3.15")
    expect(page.get_by_test_id("python")).to_have_value("3.15")
    set_code(page, VERSION)
    page.get_by_test_id("run").click()
    ran_on(page, version_of(pythons, "3.15"))
    # An id the server lacks leaves the default picked.
    page.goto(f"{live}/?python=2.7")
    expect(page.get_by_test_id("python")).to_have_value(default_of(pythons))


def test_an_example_that_needs_a_newer_python_says_so_and_picks_one(page: Page, live: str,
                                                                     pythons: list[dict[str, Any]]) -> None:
    page.goto(f"{live}/")
    menu = page.get_by_test_id("examples")
    expect(menu.locator('option[value="call_graph"]')).to_contain_text("needs Python 3.14+")
    expect(menu.locator('option[value="queue_shutdown"]')).to_contain_text("needs Python 3.13+")
    page.get_by_test_id("python").select_option(pythons[0]["id"])  # the oldest
    menu.select_option("queue_shutdown")
    default = default_of(pythons)
    suited = default if tuple(map(int, default.split("."))) >= (3, 13) else "3.13"
    expect(page.get_by_test_id("python")).to_have_value(suited)
    page.get_by_test_id("run").click()
    wait_for_status(page, "ok")
    expect(page.get_by_test_id("status")).to_have_attribute("data-python", version_of(pythons, suited))
    expect(page.locator('[data-testid="output"]')).to_contain_text("every worker has stopped")
    # One that any Python runs leaves the pick alone.
    menu.select_option("gather")
    expect(page.get_by_test_id("python")).to_have_value(suited)


def test_typed_code_outlives_a_change_of_python_and_a_reload(page: Page, live: str) -> None:
    page.goto(f"{live}/")
    page.locator('[data-testid="editor"] .CodeMirror').click()
    page.keyboard.press("Control+A")
    page.keyboard.type("print('typed by hand')\n")
    typed = page.evaluate("window.playground.editor.getValue()")
    assert "typed by hand" in typed
    page.get_by_test_id("python").select_option("3.14")
    assert page.evaluate("window.playground.editor.getValue()") == typed
    page.reload()
    expect(page.get_by_test_id("python")).to_have_value("3.14")
    assert page.evaluate("window.playground.editor.getValue()") == typed


def test_compare_pythons_runs_the_same_code_on_two(page: Page, live: str, pythons: list[dict[str, Any]]) -> None:
    page.goto(f"{live}/")
    set_code(page, VERSION)
    default = default_of(pythons)
    picked = "3.14" if default != "3.14" else "3.13"
    page.get_by_test_id("python").select_option(picked)
    compare = page.get_by_test_id("run-two-pythons")
    # The other Python is the one picked before.
    expect(compare).to_have_text(f"Compare with Python {default}")
    compare.focus()
    page.keyboard.press("Enter")
    ran_on(page, version_of(pythons, picked))
    pinned = page.get_by_test_id("pinned")
    expect(pinned).to_be_visible()
    expect(pinned).to_have_attribute("data-python", version_of(pythons, default))
    expect(page.get_by_test_id("pinned-note")).to_contain_text(f"Python {version_of(pythons, default)}")
    expect(page.locator('[data-testid="timeline"] [data-task-id]')).to_have_count(1)
    expect(page.locator('[data-testid="timeline-pinned"] [data-task-id]')).to_have_count(1)
    # One time scale: both axes end at the same tick.
    axis = "el => [...el.querySelectorAll('.tl-axis text, .tl-tick text, text')].map(t => t.textContent).join(' ')"
    assert page.get_by_test_id("timeline").evaluate(axis) == page.get_by_test_id("timeline-pinned").evaluate(axis)
    screenshot(page, "compare-pythons")


def test_a_shared_snippet_and_its_download_keep_the_python(page: Page, live: str) -> None:
    page.goto(f"{live}/")
    set_code(page, VERSION)
    page.get_by_test_id("python").select_option("3.14")
    with page.expect_download() as download_info:
        page.get_by_test_id("download").click()
    text = Path(download_info.value.path()).read_text()
    assert text == '# /// script\n# requires-python = ">=3.14"\n# ///\n\n' + VERSION
    page.get_by_test_id("embed").click()
    expect(page.get_by_test_id("embed-script")).to_have_value(re.compile(r'data-python="3\.14"'))
    page.get_by_test_id("embed-dialog-close").click()
    _, other = share_and_open(page)
    expect(other.get_by_test_id("python")).to_have_value("3.14")
    assert other.evaluate("window.playground.editor.getValue()") == VERSION


def test_embeds_run_on_the_python_asked(page: Page, live: str, pythons: list[dict[str, Any]]) -> None:
    page.goto(f"{live}/embed#code={quote(VERSION)}&python=3.13&autorun=1")
    expect(page.get_by_test_id("python")).to_have_text(f"Python {version_of(pythons, '3.13')}")
    wait_for_status(page, "ok")
    expect(page.get_by_test_id("status")).to_have_attribute("data-python", version_of(pythons, "3.13"))
    # A tutorial's <pre data-python> becomes an embed on that Python.
    tutorial = f"""<!doctype html><html lang="en"><head><title>A tutorial</title></head><body>
        <pre data-asyncio-playground data-python="3.14" data-autorun>{html.escape(VERSION)}</pre>
        <script src="{live}/static/embed.js"></script></body></html>"""
    with tutorial_page(tutorial) as url:
        page.goto(url)
        frame = page.frame_locator("iframe")
        expect(page.locator("iframe")).to_have_attribute("src", re.compile(r"&python=3\.14"))
        wait_for_status(frame, "ok")
        expect(frame.get_by_test_id("status")).to_contain_text(f"Python {version_of(pythons, '3.14')}")


@contextmanager
def tutorial_page(body: str) -> Iterator[str]:
    """A tutorial's page on another origin (another loopback port): its URL."""
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(("name", "lanes"), [("eager_tasks", 7), ("queue_shutdown", 5), ("call_graph", 4)])
def test_the_newer_pythons_examples_draw_their_runs(page: Page, live: str, name: str, lanes: int) -> None:
    page.goto(f"{live}/?example={name}")
    page.get_by_test_id("run").click()
    wait_for_status(page, "ok")
    expect(page.locator('[data-testid="timeline"] [data-task-id]')).to_have_count(lanes)
    screenshot(page, f"example-{name}")
