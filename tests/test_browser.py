"""The page in a real browser: Debian's Chromium driven by Playwright against
a live gunicorn serving the app with the real jail."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]

pytestmark = pytest.mark.browser


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def live_server() -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("gunicorn did not become healthy") from None
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(10)


# Module scope: Playwright's sync API keeps an event loop running in the main
# thread while it is open, and other test modules (URL mode) run asyncio there.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run `bash scripts/setup --test`")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def status(page: Page) -> str:
    return page.get_by_test_id("status").get_attribute("data-status") or ""


def wait_for_status(page: Page, expected: str) -> None:
    expect(page.get_by_test_id("status")).to_have_attribute("data-status", expected, timeout=20_000)


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
    code = "files = []\nwhile True:\n    files.append(open(f'/tmp/{len(files)}', 'w'))\n"
    page.goto(f"{live_server}/#code={urllib.parse.quote(code)}&run=1")
    wait_for_status(page, "error")
    expect(page.get_by_test_id("status")).to_contain_text("OSError")
    expect(page.get_by_test_id("status")).to_contain_text("limit of 64 open files")
