"""The event loop, step by step, in a real browser (static/features/loop-view.js):
Step and Back through real runs (the gallery's gather, a Queue's producer and
consumer, a Lock, a TaskGroup that fails, time.sleep blocking the loop), each
position's running task, ready queue and waits checked; the two lines marked
in the editor; the replay cursor and a click on the timeline putting the view
at a moment; the keys; the embed page's compact view."""

from __future__ import annotations

import re
import urllib.parse

import pytest
from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.support.browsing import run_example, screenshot, wait_for_status
from tests.support.loopsnippets import LOCK, QUEUE, TASKGROUP

pytestmark = pytest.mark.browser

VIEWPORT = (1280, 1400)

BLOCKED = """import asyncio, time

async def worker(n):
    print(f"worker {n} starts")
    await asyncio.sleep(0)

async def main():
    for n in range(3):
        asyncio.create_task(worker(n))
        time.sleep(0.5)  # blocks the loop: nothing else runs
    await asyncio.sleep(1)

asyncio.run(main())
"""


def run_snippet(page: Page, live_server: str, code: str, status: str = "ok") -> Locator:
    """Run code on the main page; the loop view."""
    page.goto(f"{live_server}/#code={urllib.parse.quote(code)}&run=1")
    wait_for_status(page, status)
    view = page.get_by_test_id("loop-view")
    expect(view).to_be_visible()
    return view


def texts(view: Locator, testid: str) -> list[str]:
    return [item.inner_text() for item in view.get_by_test_id(testid).all()]


def ready_tasks(view: Locator) -> list[str]:
    return [item.get_attribute("data-task") or "" for item in view.get_by_test_id("loop-ready").all()]


MARKED_LINES = """(name) => {
    const editor = window.playground.editor, lines = [];
    for (let i = 0; i < editor.lineCount(); i++) {
        if ((editor.lineInfo(i).bgClass || "").split(" ").includes(name)) lines.push(i + 1);
    }
    return lines;
}"""


def expect_marked(page: Page, name: str, lines: list[int]) -> None:
    """The editor's lines (from 1) whose background is marked ``name`` come to be ``lines``."""
    try:
        page.wait_for_function(f"(lines) => JSON.stringify(({MARKED_LINES})({name!r})) === JSON.stringify(lines)",
                               arg=lines, timeout=5_000)
    except PlaywrightTimeoutError:
        assert page.evaluate(MARKED_LINES, name) == lines


def step(view: Locator, times: int = 1) -> None:
    for _ in range(times):
        view.get_by_test_id("step-next").click()


def step_until(view: Locator, pattern: str, most: int = 40) -> str:
    """Step until the sentence matches pattern; the sentence."""
    for _ in range(most):
        step(view)
        said = view.get_by_test_id("loop-sentence").inner_text()
        if re.search(pattern, said):
            return said
    raise AssertionError(f"no step said {pattern!r}")


def test_stepping_through_the_gather_example(page: Page, live_server: str) -> None:
    run_example(page, live_server, "gather")
    view = page.get_by_test_id("loop-view")
    expect(view.get_by_test_id("loop-sentence")).to_contain_text("asyncio.run() created Task-1 at line 11")
    assert ready_tasks(view) == ["1"]

    step(view)  # main's first step: it creates the three and waits on gather
    expect(view.get_by_test_id("loop-running")).to_contain_text("Task-1 \u00b7 main()")
    assert ready_tasks(view) == ["2", "3", "4"]
    assert all("created by Task-1 at line 9" in text for text in texts(view, "loop-ready"))
    assert texts(view, "loop-waiting") and "main \u2192 gather(3 tasks)" in texts(view, "loop-waiting")[0]

    for hello, left in ((2, ["3", "4"]), (3, ["4"]), (4, [])):
        step(view)
        expect(view.get_by_test_id("loop-running")).to_have_attribute("data-task", str(hello))
        said = view.get_by_test_id("loop-sentence").inner_text()
        assert said.startswith(f"Task-{hello} printed \u201cHello\u201d and went to sleep for 1 s"), said
        assert ready_tasks(view) == left
        # Suspended at the await of line 5; the Hello it printed is marked in the output.
        expect(page.locator(".CodeMirror .cm-step-suspended.CodeMirror-linebackground")).to_have_count(1)
        expect(page.locator('[data-testid="output"] .is-step-output')).to_have_text(re.compile("Hello"))
    assert "Task-3 is next because it became ready before Task-4" not in said
    waiting = texts(view, "loop-waiting")
    assert sum("say_hello \u2192 asyncio.sleep(1)" in text for text in waiting) == 3
    assert len(view.get_by_test_id("loop-timer").all()) == 3
    expect(view.get_by_test_id("loop-sentence")).to_contain_text("the loop waits for the next timer")
    screenshot(page, "loop-view-gather")

    # Then the timers fire (the loop's own positions) and the three print World.
    worlds, timers = [], 0
    while not view.get_by_test_id("step-next").is_disabled():
        step(view)
        said = view.get_by_test_id("loop-sentence").inner_text()
        if "fired" in said:
            timers += 1
            assert all("its sleep(1) timer fired" in text for text in texts(view, "loop-ready"))
        elif "World" in said:
            worlds.append(view.get_by_test_id("loop-running").get_attribute("data-task"))
            expect(page.locator(".CodeMirror .cm-step-resumed.CodeMirror-linebackground")).to_have_count(1)
            expect(view.get_by_test_id("loop-resumed")).to_contain_text("line 5")
    assert sorted(worlds) == ["2", "3", "4"] and timers >= 1
    expect(view.get_by_test_id("loop-running")).to_have_attribute("data-task", "1")
    assert "Task-1 finished" in view.get_by_test_id("loop-sentence").inner_text()

    # Back goes back the same way; the keys step too.
    before = view.get_by_test_id("loop-sentence").inner_text()
    view.get_by_test_id("step-prev").click()
    expect(view.get_by_test_id("loop-sentence")).to_contain_text("woke Task-1")
    assert ready_tasks(view) == ["1"] and "finished (it awaited gather(3 tasks))" in texts(view, "loop-ready")[0]
    view.get_by_test_id("step-prev").press("ArrowRight")
    expect(view.get_by_test_id("loop-sentence")).to_have_text(before)
    view.get_by_test_id("step-prev").press("Home")
    expect(view.get_by_test_id("loop-position")).to_contain_text("start")


def test_a_queue_consumer_is_ready_once_the_producer_puts(page: Page, live_server: str) -> None:
    view = run_snippet(page, live_server, QUEUE)
    said = step_until(view, r"^Task-3 .*now waits on Queue.get\(\)")
    assert "consumer \u2192 Queue.get()" in " ".join(texts(view, "loop-waiting")), said
    assert "woken by Task-2 at line 6" in " ".join(texts(view, "loop-waiting"))
    step_until(view, r"^Task-2 .*woke Task-3")
    assert ready_tasks(view)[0] == "3"
    assert "the Queue it waited on was given an item by Task-2 at line 6" in texts(view, "loop-ready")[0]


def test_a_lock_holder_releasing_it_readies_the_waiter(page: Page, live_server: str) -> None:
    view = run_snippet(page, live_server, LOCK)
    step_until(view, r"^Task-3 .*now waits on Lock.acquire\(\)")
    assert any("worker \u2192 Lock.acquire()" in text for text in texts(view, "loop-waiting"))
    step_until(view, r"^Task-2 .*woke Task-3")
    assert ready_tasks(view) == ["3"]
    assert re.search(r"the Lock it waited on was released by Task-2 at line \d", texts(view, "loop-ready")[0])


def test_a_taskgroup_failure_cancels_the_other_task(page: Page, live_server: str) -> None:
    view = run_snippet(page, live_server, TASKGROUP, status="error")
    said = step_until(view, r"^Task-2 .*raised ValueError")
    assert "woke Task-3 (cancelled it)" in said or ready_tasks(view)[:1] == ["3"] or "3" in ready_tasks(view)
    assert any("cancelled by Task-2" in text for text in texts(view, "loop-ready")), texts(view, "loop-ready")
    expect(view.get_by_test_id("loop-suspended")).to_contain_text("raises ValueError at line 5")


def test_the_ready_queue_grows_while_time_sleep_blocks_the_loop(page: Page, live_server: str) -> None:
    view = run_snippet(page, live_server, BLOCKED)
    slider = page.get_by_test_id("replay-slider")
    counts = []
    for t in (0.2, 0.7, 1.2):  # inside main's one blocking step, which lasts 1.5 s of 2.5
        slider.evaluate("(s, value) => { s.value = String(value); s.dispatchEvent(new Event('input')); }",
                        round(t / 2.5 * 1000))
        expect(view.get_by_test_id("loop-position")).to_contain_text("at ")
        expect(view.get_by_test_id("loop-running")).to_have_attribute("data-task", "1")
        counts.append(len(view.get_by_test_id("loop-ready").all()))
    assert counts == [1, 2, 3]
    # Stepping on from there: main's step held the loop, then the three run in order.
    step(view)
    # 1.5 s of time.sleep on the virtual clock, plus the step's own real time (a busy machine may add 10 ms).
    expect(view.get_by_test_id("loop-sentence")).to_contain_text(re.compile(r"held the loop for 1\.5\d s"))
    assert ready_tasks(view) == ["2", "3", "4"]
    step(view)
    assert ready_tasks(view) == ["3", "4", "2"]  # Task-2 yielded: back at the end of the queue
    assert "it yielded at line 5 (asyncio.sleep(0))" in texts(view, "loop-ready")[2]
    # Where it yielded is where it suspended, marked in the editor; its next step resumes there.
    expect(view.get_by_test_id("loop-suspended")).to_contain_text("yields to the loop at line 5 (asyncio.sleep(0))")
    expect_marked(page, "cm-step-suspended", [5])
    step(view, 3)
    expect(view.get_by_test_id("loop-running")).to_have_attribute("data-task", "2")
    expect(view.get_by_test_id("loop-resumed")).to_contain_text("resumes at line 5 (after asyncio.sleep(0))")
    expect(view.get_by_test_id("loop-suspended")).to_contain_text("returns: the task is done")
    expect_marked(page, "cm-step-resumed", [5])


def test_a_click_on_the_timeline_puts_the_view_at_that_moment(page: Page, live_server: str) -> None:
    view = run_snippet(page, live_server, BLOCKED)
    axis = page.locator('[data-testid="timeline"] .tl-axis-line').bounding_box()
    lane = page.locator('[data-testid="timeline"] .tl-lane-bg').first.bounding_box()
    assert axis is not None and lane is not None
    shown = page.evaluate("() => window.playground.timeline().view()")
    t = 2.0  # main waits on its sleep: nothing runs
    x = axis["x"] + (t - shown["t0"]) / (shown["t1"] - shown["t0"]) * axis["width"]
    page.mouse.click(x, lane["y"] + lane["height"] / 2)
    expect(view.get_by_test_id("loop-position")).to_contain_text(re.compile(r"at (1\.9|2\.0)\d\d s"))
    expect(view.get_by_test_id("loop-running")).to_contain_text("between steps")
    assert len(view.get_by_test_id("loop-timer").all()) == 1
    step(view)
    expect(view.get_by_test_id("loop-sentence")).to_contain_text("The timer of Task-1 fired")


def test_the_embed_page_steps_compactly(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/embed#code={urllib.parse.quote(QUEUE)}&autorun=1")
    wait_for_status(page, "ok")
    view = page.get_by_test_id("loop-view")
    expect(view).to_be_visible()
    expect(view).to_have_class(re.compile("is-compact"))
    step(view, 2)
    expect(view.get_by_test_id("loop-running")).not_to_contain_text("Nothing yet")
    assert view.get_by_test_id("loop-output").count() == 0
    screenshot(page, "loop-view-embed")
