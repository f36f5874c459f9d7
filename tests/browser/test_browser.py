"""The page in a real browser: Debian's Chromium driven by Playwright against
a live gunicorn serving the app with the real jail."""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.support.browsing import screenshot, wait_for_status

pytestmark = pytest.mark.browser


def test_gather_example_shows_four_lanes_and_six_lines(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/?example=gather")
    expect(page.get_by_test_id("editor")).to_contain_text("asyncio.gather")
    page.get_by_test_id("run").click()
    wait_for_status(page, "ok")
    lanes = page.locator('[data-testid="timeline"] [data-task-id]')
    expect(lanes).to_have_count(4)
    lines = page.locator('[data-testid="output"] [data-output-line]')
    expect(lines).to_have_count(6)
    expect(lines.nth(0)).to_contain_text("Hello")
    expect(lines.nth(5)).to_contain_text("World")
    measures = page.evaluate("performance.getEntriesByName('timeline-render').length")
    assert measures == 1
    screenshot(page, "gather-ok")


def test_first_example_is_loaded_and_ctrl_enter_runs(page: Page, live_server: str) -> None:
    page.goto(live_server)
    expect(page.get_by_test_id("editor")).to_contain_text("say_hello")
    wait_for_status(page, "idle")
    page.locator('[data-testid="editor"] .CodeMirror').click()
    page.keyboard.press("Control+Enter")
    wait_for_status(page, "ok")
    expect(page.locator('[data-testid="output"] [data-output-line]')).to_have_count(2)


def test_fragment_prefills_and_runs_and_errors_show_their_line(page: Page, live_server: str) -> None:
    code = (
        "import asyncio\n\n"
        "async def main():\n    await asyncio.sleep(1)\n    print(undefined)\n\n"
        "asyncio.run(main())\n"
    )
    page.goto(f"{live_server}/#code={urllib.parse.quote(code)}&run=1")
    wait_for_status(page, "error")
    expect(page.get_by_test_id("status")).to_contain_text("NameError")
    expect(page.get_by_test_id("status")).to_contain_text("line 5")
    screenshot(page, "name-error")


def test_hostile_output_and_names_stay_text(page: Page, live_server: str) -> None:
    code = (
        "import asyncio\n"
        "HTML = '<img src=x onerror=\"window.__pwned = 1\"><b>bold</b>'\n"
        "async def work():\n"
        "    print(HTML)\n"
        "    raise ValueError(HTML)\n"
        "async def main():\n"
        "    await asyncio.create_task(work(), name=HTML)\n"
        "asyncio.run(main())\n"
    )
    page.goto(f"{live_server}/#code={urllib.parse.quote(code)}&run=1")
    wait_for_status(page, "error")
    expect(page.get_by_test_id("output")).to_contain_text("<img src=x")
    injected = page.locator('[data-testid="output"] img, [data-testid="timeline"] img, [data-testid="status"] img')
    assert injected.count() == 0
    assert page.locator("b:text('bold')").count() == 0
    assert page.evaluate("window.__pwned") is None
    screenshot(page, "hostile-text")


def test_perfetto_export_has_a_track_per_task(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/?example=gather")
    export = page.get_by_test_id("export-perfetto")
    expect(export).to_be_disabled()
    page.get_by_test_id("run").click()
    wait_for_status(page, "ok")
    with page.expect_download() as download_info:
        export.click()
    download = download_info.value
    assert download.suggested_filename.endswith(".json")
    exported = json.loads(Path(download.path()).read_text())
    events = exported["traceEvents"]
    tracks = {e["tid"]: e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "thread_name"}
    assert sorted(name for tid, name in tracks.items() if tid != 0) == [
        "Task-1 · main", "Task-2 · say_hello", "Task-3 · say_hello", "Task-4 · say_hello"]
    sleeps = [e for e in events if e["ph"] == "X" and e["name"] == "await asyncio.sleep(1)"]
    assert len(sleeps) == 3 and all(abs(e["dur"] - 1e6) < 5e4 for e in sleeps)
    assert {e["tid"] for e in sleeps} == {tid for tid, name in tracks.items() if "say_hello" in name}
    steps = [e for e in events if e["ph"] == "X" and e["cat"] == "step"]
    assert len(steps) == 8 and all(e["dur"] >= 0 for e in steps)
    printed = sorted(e["name"] for e in events if e["ph"] == "i" and e["cat"] == "output")
    assert printed == ["stdout: Hello"] * 3 + ["stdout: World"] * 3


def test_a_coroutine_never_awaited_is_a_note_with_its_line(page: Page, live_server: str) -> None:
    code = (
        "import asyncio\n"
        "async def say_hello():\n"
        "    print('Hello')\n"
        "async def main():\n"
        "    say_hello()\n"
        "    await asyncio.sleep(0.1)\n"
        "asyncio.run(main())\n"
    )
    page.goto(f"{live_server}/#code={urllib.parse.quote(code)}&run=1")
    wait_for_status(page, "ok")
    note = page.locator(".note-never_awaited")
    expect(note).to_contain_text("coroutine 'say_hello' was never awaited")
    note.locator("button[data-line='5']").click()
    selected = page.evaluate("window.playground.editor.getCursor().line")
    assert selected == 4  # CodeMirror counts lines from 0
    screenshot(page, "never-awaited")


def test_a_limit_behind_an_error_is_named(page: Page, live_server: str) -> None:
    # /tmp filled: the server sees it (the run's init reports what was left).
    code = "n = 0\nwhile True:\n    open(f'/tmp/{n}', 'wb').write(b'x' * 500_000)\n    n += 1\n"
    page.goto(f"{live_server}/#code={urllib.parse.quote(code)}&run=1")
    wait_for_status(page, "error")
    expect(page.get_by_test_id("status")).to_contain_text("OSError")
    expect(page.get_by_test_id("status")).to_contain_text("filled /tmp")


def test_an_error_that_may_be_a_limit_gets_a_hint(page: Page, live_server: str) -> None:
    # Open files leave nothing the server can see: a hint, worded as a possibility.
    code = "files = []\nwhile True:\n    files.append(open(f'/tmp/{len(files)}', 'w'))\n"
    page.goto(f"{live_server}/#code={urllib.parse.quote(code)}&run=1")
    wait_for_status(page, "error")
    expect(page.get_by_test_id("status")).to_contain_text("OSError")
    expect(page.locator("main")).to_contain_text("This may be the limit of 64 open files")
