"""Runs a limit stopped, in a real browser against a live gunicorn with the
real jail and small limits: the page says what stopped the run once (the
server's message), and where the code was then: the line and the task."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.support.browsing import BROWSER_ENV, wait_for_status
from tests.support.servers import gunicorn_node

pytestmark = pytest.mark.browser

SPIN = "import asyncio\n\nasync def main():\n    while True:\n        pass\n\nasyncio.run(main())\n"
SLEEP = "import asyncio\n\nasync def main():\n    await asyncio.sleep(100)\n\nasyncio.run(main())\n"
HOARD = ("import asyncio\n\nasync def main():\n    hoard = []\n    while True:\n"
         "        hoard.append(bytearray(10**6))\n\nasyncio.run(main())\n")
SPAM = "import asyncio\n\nasync def main():\n    while True:\n        print('spam ' * 20)\n\nasyncio.run(main())\n"


@pytest.fixture(scope="module")
def limited_server() -> Iterator[str]:
    """A playground that stops a run after 2 s of CPU or 8 s of wall clock."""
    limits = {"PLAYGROUND_LIMIT_CPU_SECONDS": "2", "PLAYGROUND_LIMIT_WALL_SECONDS": "8"}
    with gunicorn_node({**BROWSER_ENV, **limits}) as (url, _):
        yield url


def run(page: Page, server: str, code: str, status: str, clock: str = "virtual") -> None:
    page.goto(f"{server}/#code={urllib.parse.quote(code)}&clock={clock}&run=1")
    wait_for_status(page, status, timeout=60_000)


def said_once(page: Page, words: str) -> None:
    """The status box says `words` in exactly one of its paragraphs."""
    paragraphs = page.locator('[data-testid="status"] .status-detail p')
    expect(paragraphs.filter(has_text=words)).to_have_count(1)
    expect(paragraphs.filter(has_text=re.compile(r"\blimit\b"))).to_have_count(1)


def test_a_busy_loop_is_stopped_at_its_line_and_task_said_once(page: Page, limited_server: str) -> None:
    run(page, limited_server, SPIN, "cpu_limit")
    where = page.get_by_test_id("stopped-where")
    expect(where).to_have_text(re.compile(
        r"^The run used more than the 2 s CPU limit and was stopped\. .* "
        r"The code was running line 5 in main\(\) \(Task-1\) when it was stopped\. Show line 5"))
    said_once(page, "CPU limit")
    where.get_by_role("button", name="Show line 5 in the editor").click()
    assert page.evaluate("window.playground.editor.getCursor().line") == 4  # CodeMirror counts from 0


def test_a_wall_clock_stop_says_what_was_awaited_and_where(page: Page, limited_server: str) -> None:
    run(page, limited_server, SLEEP, "timeout", clock="real")
    expect(page.get_by_test_id("stopped-where")).to_contain_text(
        "main() (Task-1) was waiting on asyncio.sleep(100) at line 4 when it was stopped.")
    said_once(page, "wall-clock limit")


@pytest.mark.parametrize(("code", "status", "words"), [
    (HOARD, "memory_limit", "memory limit"),
    (SPAM, "output_limit", "output limit"),
], ids=["memory", "output"])
def test_other_limits_are_said_once(page: Page, limited_server: str, code: str, status: str, words: str) -> None:
    run(page, limited_server, code, status)
    said_once(page, words)


def test_the_embed_says_where_a_limit_stopped_the_code(page: Page, limited_server: str) -> None:
    page.goto(f"{limited_server}/embed#code={urllib.parse.quote(SPIN)}&autorun=1")
    wait_for_status(page, "cpu_limit", timeout=60_000)
    expect(page.get_by_test_id("status")).to_contain_text(
        "The code was running line 5 in main() (Task-1) when it was stopped.")
