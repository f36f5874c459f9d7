"""Never losing a person's work (issue 19), in a real browser: the work kept
in the browser's storage for a reload and the next visit, a link's own code
winning without overwriting it, storage refused or full, example switches
that Ctrl+Z and Back take back, a shared link opening with its run, and the
words the page says about a run."""

from __future__ import annotations

import re
import urllib.parse

import pytest
from playwright.sync_api import Page, expect

from tests.support.browsing import screenshot, share_and_open, wait_for_status

pytestmark = pytest.mark.browser

MINE = "import asyncio\n\nasync def main():\n    print('my own work')\n\nasyncio.run(main())\n"
KEY = "asyncio-playground:work"


def editor_code(page: Page) -> str:
    return page.evaluate("window.playground.editor.getValue()")


def type_code(page: Page, code: str) -> None:
    """Replace the editor's code as a person would: select all, then type (paste) it."""
    page.locator('[data-testid="editor"] .CodeMirror').click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(code)


def kept(page: Page) -> str | None:
    return page.evaluate(f"localStorage.getItem({KEY!r})")


def wait_kept(page: Page, text: str) -> None:
    """Wait for the work kept in storage to hold text (it is written a moment after a change)."""
    page.wait_for_function(f"(text) => (localStorage.getItem({KEY!r}) || '').includes(text)", arg=text)


def wait_code(page: Page, code: str) -> None:
    page.wait_for_function("(code) => window.playground.editor.getValue() === code", arg=code)


def test_typed_work_outlives_a_reload_and_a_fresh_visit(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/")
    expect(page.get_by_test_id("clock-hint")).to_contain_text("Virtual clock: sleeps take no real time")
    type_code(page, MINE)
    page.get_by_test_id("clock").select_option("real")
    expect(page.get_by_test_id("clock-hint")).to_contain_text("Real clock")
    wait_kept(page, "my own work")
    page.reload()
    assert editor_code(page) == MINE
    expect(page.get_by_test_id("clock")).to_have_value("real")
    expect(page.get_by_test_id("clock-hint")).to_contain_text("Real clock")
    # A fresh visit to / (a new tab) brings it back too, and offers the example again.
    other = page.context.new_page()
    other.goto(f"{live_server}/")
    expect(other.get_by_test_id("editor")).to_contain_text("my own work")
    assert editor_code(other) == MINE
    expect(other.get_by_test_id("clock")).to_have_value("real")
    expect(other.get_by_test_id("status")).to_contain_text("Your code from your last visit is back")
    expect(other.get_by_test_id("examples").locator("option:checked")).to_have_text("(your code)")
    reset = other.get_by_test_id("reset-example")
    expect(reset).to_be_visible()
    screenshot(other, "kept-work")
    reset.click()
    expect(other.get_by_test_id("editor")).to_contain_text("say_hello")
    expect(reset).to_be_hidden()
    other.locator('[data-testid="editor"] .CodeMirror').click()
    other.keyboard.press("Control+Z")
    wait_code(other, MINE)
    other.close()


def test_a_link_with_its_own_code_wins_and_leaves_the_kept_work(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/")
    type_code(page, MINE)
    wait_kept(page, "my own work")
    stored = kept(page)
    page.goto(f"{live_server}/?example=gather")
    expect(page.get_by_test_id("editor")).to_contain_text("asyncio.gather")
    page.goto(f"{live_server}/#code={urllib.parse.quote('print(1)')}")
    expect(page.get_by_test_id("editor")).to_contain_text("print(1)")
    page.wait_for_timeout(600)
    assert kept(page) == stored
    page.goto(f"{live_server}/")
    wait_code(page, MINE)


def test_url_mode_and_its_list_are_kept(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/")
    page.get_by_test_id("mode-urls").click()
    page.get_by_test_id("url-list").fill("https://example.com/\nhttps://www.python.org/")
    page.get_by_test_id("strategy").select_option("sequential")
    wait_kept(page, "python.org")
    page.goto(f"{live_server}/")
    expect(page.locator("#playground")).to_have_attribute("data-mode", "urls")
    expect(page.get_by_test_id("url-list")).to_have_value("https://example.com/\nhttps://www.python.org/")
    expect(page.get_by_test_id("strategy")).to_have_value("sequential")


@pytest.mark.parametrize("broken", [
    # Storage refused (a privacy setting, a sandboxed frame): reading it throws.
    "Object.defineProperty(window, 'localStorage', {get() { throw new DOMException('refused', 'SecurityError'); }});",
    # Storage full: every write throws.
    "Storage.prototype.setItem = function () { throw new DOMException('full', 'QuotaExceededError'); };",
])
def test_storage_refused_or_full_is_no_error(page: Page, live_server: str, broken: str) -> None:
    page.add_init_script(broken)
    page.goto(f"{live_server}/")
    type_code(page, MINE)
    page.wait_for_timeout(700)
    page.get_by_test_id("run").click()
    wait_for_status(page, "ok")
    page.reload()  # the history entry still holds the work
    assert editor_code(page) == MINE
    # checked_page fails the test on any JavaScript error


def test_an_example_switch_is_undone_by_ctrl_z_and_by_back(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/")
    type_code(page, MINE)
    menu = page.get_by_test_id("examples")
    expect(menu.locator("option:checked")).to_have_text("(your code)")
    menu.select_option("gather")
    expect(page.get_by_test_id("editor")).to_contain_text("asyncio.gather")
    assert "example=gather" in page.url
    page.keyboard.press("Control+Z")
    wait_code(page, MINE)
    expect(menu.locator("option:checked")).to_have_text("(your code)")
    # Again, and this time Back.
    menu.select_option("gather")
    expect(page.get_by_test_id("editor")).to_contain_text("asyncio.gather")
    expect(menu).to_have_value("gather")
    page.go_back()
    wait_code(page, MINE)
    page.go_forward()
    expect(page.get_by_test_id("editor")).to_contain_text("asyncio.gather")
    # An edit of the example is no longer named after it.
    page.locator('[data-testid="editor"] .CodeMirror').click()
    page.keyboard.press("Control+End")
    page.keyboard.insert_text("\n# changed\n")
    expect(menu.locator("option:checked")).to_have_text("(your code)")


def test_a_shared_link_opens_showing_its_run(page: Page, live_server: str) -> None:
    code = MINE.replace("my own work", "shared and run")
    page.goto(f"{live_server}/#code={urllib.parse.quote(code)}")
    shared, other = share_and_open(page)
    wait_for_status(other, "ok")
    expect(other.locator('[data-testid="output"] [data-output-line]')).to_have_count(1)
    expect(other.get_by_test_id("output")).to_contain_text("shared and run")
    assert other.url == shared  # the shared link stays in the address bar
    # ?python= picks the Python the shared code opens (and runs) on.
    other.goto(f"{shared}?python=3.13")
    wait_for_status(other, "ok")
    expect(other.get_by_test_id("status")).to_have_attribute("data-python", re.compile(r"^3\.13\."))
    other.close()


def test_the_words_after_a_run(page: Page, live_server: str) -> None:
    silent = "import asyncio\n\nasyncio.run(asyncio.sleep(1))\n"
    page.goto(f"{live_server}/#code={urllib.parse.quote(silent)}&run=1")
    wait_for_status(page, "ok")
    expect(page.get_by_test_id("output")).to_have_text("The run printed nothing.")
    # The same code again: the server answers with the run it just made, said plainly.
    page.get_by_test_id("run").click()
    expect(page.get_by_test_id("status")).to_have_attribute("data-cached", "true")
    status = page.get_by_test_id("status")
    expect(status).to_contain_text("the same code run a moment ago")
    expect(status).not_to_contain_text("reused")
    expect(status).not_to_contain_text("cache")
    cancel = (
        "import asyncio\n\n"
        "async def child():\n    await asyncio.sleep(10)\n\n"
        "async def main():\n"
        "    task = asyncio.create_task(child())\n"
        "    await asyncio.sleep(0.1)\n"
        "    task.cancel()\n"
        "    try:\n        await task\n    except asyncio.CancelledError:\n        pass\n\n"
        "asyncio.run(main())\n"
    )
    page.goto(f"{live_server}/#code={urllib.parse.quote(cancel)}&run=1")
    wait_for_status(page, "ok")
    note = page.locator('[data-testid="status"] .note', has_text="cancelled by")
    expect(note).to_contain_text("at line 9")
    assert "line 9 line 9" not in note.inner_text()
    assert note.inner_text().count("line 9") == 1
