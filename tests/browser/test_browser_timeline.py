"""The timeline a learner reads, in a real browser: the tree of lanes, hover
and click, zoom and pan, replay, comparing a pinned run, the summary, the
task table, picture exports, small screens, dark mode and the keyboard.
Screenshots of the main states go to test-artifacts/ for review."""

from __future__ import annotations

import json
import re
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.browsing import duration_seconds, run_example, screenshot, wait_for_status
from tests.support.traces import hand_to_page, near, synthetic_trace

pytestmark = pytest.mark.browser

NESTED = """import asyncio

async def leaf(n):
    await asyncio.sleep(n)
    print("leaf", n)

async def parent():
    await asyncio.gather(leaf(1), leaf(2))

async def main():
    task = asyncio.create_task(parent(), name="parent")
    await asyncio.sleep(0.5)
    await task

asyncio.run(main())
"""

BLOCKING = """import asyncio, time

async def say_after(delay, what):
    time.sleep(delay)
    print(what)

async def main():
    await asyncio.gather(say_after(1, "hello"), say_after(1, "world"))

asyncio.run(main())
"""

SEQUENTIAL = """import asyncio

async def say_hello():
    print("Hello")
    await asyncio.sleep(1)
    print("World")

async def main():
    for _ in range(3):
        await say_hello()

asyncio.run(main())
"""


def run_code(page: Page, live_server: str, code: str, status: str = "ok") -> None:
    page.goto(f"{live_server}/#code={urllib.parse.quote(code)}&run=1")
    wait_for_status(page, status)


def lanes(page: Page) -> Any:
    return page.locator('[data-testid="timeline"] g[data-task-id]')


def lane_box(page: Page, task_name: str) -> dict[str, float]:
    box = page.evaluate(
        """(name) => {
            const label = [...document.querySelectorAll('[data-testid="timeline"] .tl-name')]
                .find((t) => t.textContent === name);
            const r = label.closest('g.tl-lane').querySelector('.tl-lane-bg').getBoundingClientRect();
            return {x: r.x, y: r.y, width: r.width, height: r.height};
        }""",
        task_name,
    )
    return box  # type: ignore[no-any-return]


def assert_nested_names(names: list[str]) -> None:
    """NESTED's lanes: the children right under their parent. The leaves are
    Task-3 and Task-4 on 3.11, Task-2 and Task-3 on 3.12+ (where a task
    given a name takes no number)."""
    assert names[:2] == ["Task-1", "parent"]
    assert names[2:] in (["Task-3", "Task-4"], ["Task-2", "Task-3"])


def test_lanes_form_a_tree_that_folds(page: Page, live_server: str) -> None:
    run_code(page, live_server, NESTED)
    expect(lanes(page)).to_have_count(4)
    names = page.locator('[data-testid="timeline"] .tl-name').all_text_contents()
    assert_nested_names(names)
    screenshot(page, "timeline-tree")
    page.locator('[data-testid="timeline"] .tl-toggle').nth(1).click()
    expect(lanes(page)).to_have_count(2)
    expect(page.locator('[data-testid="timeline"] .tl-hidden-count')).to_have_text("+2")
    label = page.locator('[data-testid="timeline"] .tl-label[aria-expanded="false"]')
    label.focus()
    page.keyboard.press("ArrowRight")
    expect(lanes(page)).to_have_count(4)
    page.keyboard.press("ArrowLeft")
    expect(lanes(page)).to_have_count(2)


def test_the_page_asks_for_the_compact_trace_and_draws_it(page: Page, live_server: str) -> None:
    # The page watches the run live: its answer is the event stream's `done`
    # (docs/live.md). Chromium keeps no stream's body, so the test passes
    # the answer on itself and keeps a copy.
    answers: list[tuple[dict[str, Any], dict[str, str], str]] = []

    def pass_on(route: Any) -> None:
        response = route.fetch()
        text = response.text()
        answers.append((route.request.post_data_json, route.request.headers, text))
        route.fulfill(response=response, body=text)

    page.route("**/api/run", pass_on)
    run_code(page, live_server, NESTED)
    expect(lanes(page)).to_have_count(4)
    [(asked, headers, text)] = answers
    assert asked["format"] == "columnar" and headers["accept"] == "text/event-stream"
    body = json.loads(text.split("event: done\ndata: ", 1)[1].split("\n", 1)[0])
    assert body["format"] == "columnar" and isinstance(body["slices"]["start"], list)
    # Expanded back in api.js: the lanes, their names and the output, as from v1.
    expect(lanes(page)).to_have_count(4)
    assert_nested_names(page.locator('[data-testid="timeline"] .tl-name').all_text_contents())
    expect(page.locator('[data-testid="output"]')).to_contain_text("leaf 2")


def test_hover_tells_times_and_the_await_line_and_click_selects_it(page: Page, live_server: str) -> None:
    run_example(page, live_server, "gather")
    box = lane_box(page, "Task-2")
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] / 2)
    tooltip = page.locator('[data-testid="timeline"] .tl-tooltip')
    expect(tooltip).to_be_visible()
    expect(tooltip).to_contain_text(re.compile(r"waiting 0\.0\d+\u20131\.0\d+ s"))
    expect(tooltip).to_contain_text("on asyncio.sleep(1) at line 5")
    expect(tooltip).to_contain_text("say_hello \u2192 asyncio.sleep")
    screenshot(page, "timeline-hover")
    page.mouse.click(box["x"] + box["width"] * 0.6, box["y"] + box["height"] / 2)
    assert page.evaluate("window.playground.editor.getCursor().line") == 4


def test_output_lines_and_markers_point_at_each_other(page: Page, live_server: str) -> None:
    run_example(page, live_server, "gather")
    world = page.locator('[data-testid="output"] [data-output-line]').nth(4)
    world.click()
    marker = page.locator('[data-testid="timeline"] .tl-print[data-output-index="4"]')
    expect(marker).to_have_class(re.compile(r"\btl-flash\b"))
    expect(world).to_have_class(re.compile(r"\bis-flashed\b"))
    # And back: a marker's click flashes its output line.
    first = page.locator('[data-testid="timeline"] .tl-print[data-output-index="0"]')
    first.scroll_into_view_if_needed()  # clicking the output row scrolled the page down to it
    box = first.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    first_line = page.locator('[data-testid="output"] [data-output-line]').nth(0)
    expect(first_line).to_have_class(re.compile(r"\bis-flashed\b"))
    # The click put the loop view at that print: the line counts as printed.
    expect(first_line).not_to_have_class(re.compile(r"\bis-future\b"))


def test_zoom_and_pan_with_buttons_keys_wheel_and_drag(page: Page, live_server: str) -> None:
    run_example(page, live_server, "gather")
    ticks = page.locator('[data-testid="timeline"] .tl-tick-label')
    expect(ticks.last).to_have_text("1 s")
    timeline = page.locator('[data-testid="timeline"] .tl-scroll')
    timeline.focus()
    for _ in range(6):
        page.keyboard.press("+")
    expect(ticks.first).to_contain_text("ms")
    zoomed = page.get_by_test_id("timeline-range").text_content()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_test_id("timeline-range")).not_to_have_text(zoomed or "")
    screenshot(page, "timeline-zoomed")
    page.get_by_test_id("zoom-fit").click()
    expect(ticks.last).to_have_text("1 s")
    # Ctrl+wheel zooms around the pointer; a drag pans.
    box = lane_box(page, "Task-2")
    page.mouse.move(box["x"] + box["width"] * 0.9, box["y"] + 10)
    page.keyboard.down("Control")
    for _ in range(8):
        page.mouse.wheel(0, -300)
    page.keyboard.up("Control")
    expect(ticks.first).to_contain_text("ms")
    before = page.get_by_test_id("timeline-range").text_content()
    page.mouse.move(box["x"] + box["width"] * 0.8, box["y"] + 10)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + 10, steps=5)
    page.mouse.up()
    expect(page.get_by_test_id("timeline-range")).not_to_have_text(before or "")
    page.get_by_test_id("zoom-out").click()


def test_replay_plays_the_run_and_the_slider_scrubs(page: Page, live_server: str) -> None:
    run_example(page, live_server, "gather")
    visible = page.locator('[data-testid="output"] [data-output-line]:visible')
    expect(visible).to_have_count(6)
    page.get_by_test_id("replay-play").click()
    # At its own pace the Worlds come a second after the Hellos.
    expect(visible).to_have_count(3)
    expect(page.locator('[data-testid="timeline"] .tl-cursor')).to_have_count(1)
    screenshot(page, "timeline-replay")
    expect(visible).to_have_count(6, timeout=5000)
    expect(page.locator('[data-testid="timeline"] .tl-cursor')).to_have_count(0)
    slider = page.get_by_test_id("replay-slider")
    slider.fill("500")
    expect(visible).to_have_count(3)
    # Half of a run of a little over 1 s (more on a loaded machine: virtual
    # time counts the steps' real CPU time).
    expect(page.get_by_test_id("replay-time")).to_have_text(re.compile(r"0\.5[0-4]\d s"))
    slider.fill("1000")
    expect(visible).to_have_count(6)
    page.get_by_test_id("replay-speed").select_option("fit")


def test_a_pinned_run_is_compared_on_one_scale(page: Page, live_server: str) -> None:
    run_example(page, live_server, "gather")
    page.get_by_test_id("pin").click()
    expect(page.get_by_test_id("pinned")).to_be_visible()
    page.evaluate("(code) => window.playground.editor.setValue(code)", SEQUENTIAL)
    page.get_by_test_id("run").click()
    wait_for_status(page, "ok")
    expect(page.get_by_test_id("status")).to_contain_text(re.compile(r"3\.0\d s"))
    pinned_lanes = page.locator('[data-testid="timeline-pinned"] g[data-task-id]')
    expect(pinned_lanes).to_have_count(4)
    expect(lanes(page)).to_have_count(1)  # awaiting coroutines in turn makes no tasks
    # The figure, as URL mode's compare gives one: the durations' ratio, and on which clock.
    ratio = page.get_by_test_id("pinned-ratio")
    expect(ratio).to_have_text(re.compile(
        r"^This run took [23]\.\d\d\u00d7 as long as the pinned one: 3\.0\d s against 1\.0\d s of loop time "
        r"on the virtual clock\.$"))
    assert 2.8 < float(ratio.get_attribute("data-ratio") or "0") < 3.1
    # One scale: both axes end at the longer run's 3 s.
    for box in ("timeline", "timeline-pinned"):
        expect(page.locator(f'[data-testid="{box}"] .tl-tick-label').last).to_have_text("3 s")
    # Zooming one zooms both.
    page.get_by_test_id("zoom-in").first.click()
    expect(page.locator('[data-testid="timeline-pinned"] [data-testid="timeline-range"]')).to_have_text(
        page.locator('[data-testid="timeline"] [data-testid="timeline-range"]').text_content() or "")
    screenshot(page, "timeline-compare")
    # Run the pinned code again: about as long.
    page.evaluate("(code) => window.playground.editor.setValue(code)", page.evaluate(
        "window.playground.examples.find((e) => e.name === 'gather').code"))
    page.get_by_test_id("run").click()
    wait_for_status(page, "ok")
    expect(ratio).to_contain_text(re.compile(r"^This run took (0\.9\d|1\.0\d)\u00d7 as long as the pinned one"))
    page.get_by_test_id("unpin").click()
    expect(page.get_by_test_id("pinned")).to_be_hidden()


def test_summary_says_what_concurrency_bought_and_how_to_fix_blocking(page: Page, live_server: str) -> None:
    run_example(page, live_server, "gather")
    # Virtual time includes the real CPU time of the steps: on a loaded
    # machine a run of 1 s can read 1.01 s.
    expect(page.get_by_test_id("summary-concurrency")).to_have_text(
        re.compile(r"3 tasks overlapped: 3\.0\d s of waiting done in 1\.0\d s\."))
    expect(page.get_by_test_id("summary-total")).to_have_text(re.compile(r"1\.0\d s"))
    run_code(page, live_server, BLOCKING)
    # One warning for each task's time.sleep(1) (a busy machine may flag another, short step too).
    sleeps = page.get_by_test_id("summary-warning").filter(has_text="time.sleep(1) held the loop")
    expect(sleeps).to_have_count(2)
    expect(sleeps.first).to_contain_text("time.sleep blocks the loop; use await asyncio.sleep instead.")
    sleeps.first.get_by_role("button").click()
    assert page.evaluate("window.playground.editor.getCursor().line") == 3
    screenshot(page, "summary-blocking")


def test_task_table_lists_every_task_with_its_figures(page: Page, live_server: str) -> None:
    run_example(page, live_server, "gather")
    table = page.get_by_test_id("task-table")
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(4)
    headers = table.locator("thead th").all_text_contents()
    assert [h.strip() for h in headers] == ["Task", "Coroutine", "State", "Created", "Ended", "Busy", "Waiting",
                                           "Scheduled", "Steps"]
    second = table.locator('tbody tr[data-task-id="2"]')
    cells = second.locator("th, td").all_text_contents()
    # Waiting is the virtual second plus the loop's own real time around the
    # jump: a few milliseconds more when the machine preempts it there.
    waiting = duration_seconds(cells[6])
    assert cells[:3] == ["Task-2", "say_hello", "done"] and waiting is not None and near(waiting, 1.0), cells
    assert cells[8] == "2"
    table.locator('button[data-sort="busy"]').click()
    expect(table.locator('th[aria-sort="descending"]')).to_have_count(1)
    table.locator('button[data-sort="name"]').click()
    expect(table.locator('th[aria-sort="ascending"]')).to_contain_text("Task")
    assert rows.locator("th").all_text_contents() == ["Task-1", "Task-2", "Task-3", "Task-4"]


def test_pictures_of_the_timeline_download(page: Page, live_server: str) -> None:
    run_example(page, live_server, "gather")
    with page.expect_download() as svg_info:
        page.get_by_test_id("export-svg").click()
    svg = Path(svg_info.value.path()).read_text()
    assert svg.startswith("<svg") and 'xmlns="http://www.w3.org/2000/svg"' in svg
    assert "Task-2" in svg and "say_hello" in svg
    with page.expect_download() as png_info:
        page.get_by_test_id("export-png").click()
    png = Path(png_info.value.path()).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 2000


def test_small_screens_and_dark_mode(browser: Browser, live_server: str) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 812}, color_scheme="dark")
    page = context.new_page()
    try:
        run_example(page, live_server, "gather")
        expect(lanes(page)).to_have_count(4)
        overflow = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page is {overflow}px wider than a 375px screen"
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        red, green, blue = (int(v) for v in re.findall(r"\d+", background)[:3])
        assert red + green + blue < 120, f"dark mode background is {background}"
        screenshot(page, "mobile-dark")
    finally:
        context.close()


def test_every_control_is_reachable_by_keyboard(page: Page, live_server: str) -> None:
    run_example(page, live_server, "gather")
    page.get_by_test_id("examples").focus()
    reached = set()
    for _ in range(60):
        if page.evaluate("document.activeElement.tagName") == "TEXTAREA":
            page.keyboard.press("Escape")  # the editor lets go of Tab after Esc
        page.keyboard.press("Tab")
        reached.add(page.evaluate("""() => {
            const el = document.activeElement;
            return el.dataset.testid || el.dataset.sort || (el.getAttribute('class') || el.tagName).split(' ')[0];
        }"""))
    for control in ("run", "pin", "export-svg", "export-png", "export-perfetto", "replay-play", "replay-speed",
                    "replay-slider", "zoom-in", "zoom-out", "zoom-fit", "tl-scroll", "tl-label"):
        assert control in reached, f"{control} was not reached by Tab: {sorted(reached)}"
    outline = page.evaluate("""() => {
        const b = document.querySelector('[data-testid="zoom-in"]');
        b.focus();
        return getComputedStyle(b).outlineStyle;
    }""")
    assert outline != "none"


def test_hostile_names_stay_text_in_the_table_summary_and_tooltip(page: Page, live_server: str) -> None:
    code = (
        "import asyncio\n"
        "HTML = '<img src=x onerror=\"window.__pwned = 1\"><b>bold</b>'\n"
        "async def work():\n"
        "    print(HTML)\n"
        "    await asyncio.sleep(1)\n"
        "async def main():\n"
        "    await asyncio.gather(asyncio.create_task(work(), name=HTML), asyncio.create_task(work()))\n"
        "asyncio.run(main())\n"
    )
    run_code(page, live_server, code)
    expect(page.get_by_test_id("task-table")).to_contain_text("<img src=x")
    page.hover('[data-testid="timeline"] .tl-label >> nth=1')
    expect(page.locator('[data-testid="timeline"] .tl-tooltip')).to_contain_text("<b>bold</b>")
    assert page.locator("main img, main b:text('bold')").count() == 0
    assert page.evaluate("window.__pwned") is None


def test_twenty_thousand_tasks_stay_usable(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/?example=gather")
    reader = hand_to_page(page, "madeUpTrace", synthetic_trace(20_000))
    page.evaluate(f"() => window.playground.renderTrace({reader}, 0.5)")
    drawn = lanes(page).count()
    assert 0 < drawn < 200, f"{drawn} lanes drawn at once: only those in view should be"
    # The big gather folds under main at first; unfolding shows its tasks.
    page.locator('[data-testid="timeline"] .tl-toggle').first.click()
    scroll = page.locator('[data-testid="timeline"] .tl-scroll')
    scroll.evaluate("(el) => { el.scrollTop = el.scrollHeight; }")
    expect(page.locator('[data-testid="timeline"] g[data-task-id="20001"]')).to_have_count(1)
    assert lanes(page).count() < 200
    expect(page.get_by_test_id("task-table").locator("tbody tr")).to_have_count(200)
    assert page.evaluate("performance.getEntriesByName('timeline-render').length") >= 1
    screenshot(page, "timeline-20000")
