"""Traces made up for the page (tests/support/traces.py), handed to it through
window.playground.renderTrace, the path a run's answer takes: traces far
larger than the server sends, deep trees of tasks, long output, traces cut
short, and runs a limit stopped mid-step; and a real run whose trace the
server cuts."""

from __future__ import annotations

import json
import re
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.support.browsing import (
    BROWSER_ENV,
    LOOP_VIEW_OF_PAGE,
    after_pending_frames,
    hover,
    screenshot,
    wait_for_status,
)
from tests.support.servers import gunicorn_node
from tests.support.traces import columnar, cut_trace, hand_to_page, stopped_trace, synthetic_trace
from tests.support.unloaded import LATE

pytestmark = pytest.mark.browser

# Far above what a fast machine needs (a few hundred ms), far below what a
# step quadratic in the tasks would take at these sizes (minutes).
QUADRATIC_WOULD_TAKE_SECONDS = 10


def render(page: Page, live_server: str, trace: dict) -> float:
    """Show trace on the main page as a run's result; seconds the page took."""
    page.goto(f"{live_server}/?example=gather")
    reader = hand_to_page(page, "madeUpTrace", trace)
    started = time.monotonic()
    page.evaluate(f"() => window.playground.renderTrace({reader}, 0.5)")
    return time.monotonic() - started


def lanes(page: Page):  # type: ignore[no-untyped-def]
    return page.locator('[data-testid="timeline"] g[data-task-id]')


def test_a_hundred_thousand_tasks_draw_a_bounded_page(page: Page, live_server: str) -> None:
    seconds = render(page, live_server, synthetic_trace(100_000))
    assert seconds < QUADRATIC_WOULD_TAKE_SECONDS
    # The first task's wait ends as the last one's starts: 99,999 at once.
    expect(page.get_by_test_id("summary-concurrency")).to_contain_text("99999 tasks overlapped")
    # The timeline folds main's 100,000 children; the table and the output
    # make a page of rows each, not one per task or line.
    expect(page.locator('[data-testid="timeline"] .tl-hidden-count')).to_have_text("+100000")
    rows = page.get_by_test_id("task-table").locator("tbody tr")
    expect(rows).to_have_count(200)
    more = page.locator(".table-more")
    expect(more).to_have_text("Show 2000 more of 99801 not shown")
    more.click()
    expect(rows).to_have_count(2200)
    # Sorting 100,001 tasks by name takes one click, not a wait.
    started = time.monotonic()
    page.get_by_test_id("task-table").locator('button[data-sort="name"]').click()
    expect(rows.first.locator("th")).to_have_text("Task-1")
    expect(rows.nth(1).locator("th")).to_have_text("Task-10")
    assert time.monotonic() - started < QUADRATIC_WOULD_TAKE_SECONDS
    expect(page.locator('[data-testid="output"] [data-output-line]')).to_have_count(1000)
    expect(page.locator(".output-count")).to_have_text("2,000 lines")
    page.locator('[data-testid="timeline"] .tl-toggle').first.click()
    scroll = page.locator('[data-testid="timeline"] .tl-scroll')
    scroll.evaluate("(el) => { el.scrollTop = el.scrollHeight; }")
    expect(page.locator('[data-testid="timeline"] g[data-task-id="100001"]')).to_have_count(1)
    assert lanes(page).count() < 200


def test_a_hundred_thousand_tasks_step_once_the_result_is_on_screen(page: Page, live_server: str) -> None:
    # 200,000 steps: the loop view's model is built after the result is
    # shown, not before it, and then steps like any other.
    page.goto(f"{live_server}/?example=gather")
    reader = hand_to_page(page, "madeUpTrace", synthetic_trace(100_000))
    at_once = page.evaluate(f"""() => {{
        window.playground.renderTrace({reader}, 0.5);
        const shown = (testid) => document.querySelector(`[data-testid="${{testid}}"]`);
        return [shown("loop-view").hidden, shown("summary-concurrency").textContent];
    }}""")
    assert at_once[0] is True and "99999 tasks overlapped" in at_once[1]
    view = page.get_by_test_id("loop-view")
    # Not a timing: a loaded machine may take seconds to build 200,000 steps.
    expect(view).to_be_visible(timeout=QUADRATIC_WOULD_TAKE_SECONDS * 1000)
    expect(view.get_by_test_id("loop-position")).to_contain_text("start")
    view.get_by_test_id("step-next").click()
    expect(view.get_by_test_id("loop-position")).to_contain_text("step 1 of 300000")
    expect(view.get_by_test_id("loop-running")).to_have_attribute("data-task", "2")
    view.get_by_test_id("step-next").click()
    expect(view.get_by_test_id("loop-running")).to_have_attribute("data-task", "3")
    expect(view.get_by_test_id("loop-waiting")).to_have_count(2)
    expect(view.get_by_test_id("loop-timer")).to_have_count(2)
    # A click on the timeline before the model is built builds it at once.
    page.evaluate(f"""async () => {{
        const loopView = await ({LOOP_VIEW_OF_PAGE})();
        window.playground.renderTrace({reader}, 0.5);
        loopView.atTime(0.5);
    }}""")
    expect(view.get_by_test_id("loop-position")).to_have_text("at 0.500 s")
    expect(view.get_by_test_id("loop-timer")).to_have_count(40)


def test_a_chain_of_tasks_each_made_by_the_last_folds_and_unfolds(page: Page, live_server: str) -> None:
    # 30,000 levels deep: no walk of the tree may recurse per level or look
    # up every ancestor of every lane.
    seconds = render(page, live_server, synthetic_trace(30_000, chain=True))
    assert seconds < QUADRATIC_WOULD_TAKE_SECONDS
    expect(lanes(page)).not_to_have_count(0)
    first = page.locator('[data-testid="timeline"] .tl-label').first
    expect(first).to_have_attribute("aria-label", re.compile(r"^Task-1 \u00b7 main\."))
    page.evaluate("() => window.playground.timeline().expandAll(false)")
    expect(lanes(page)).to_have_count(1)
    expect(page.locator('[data-testid="timeline"] .tl-hidden-count')).to_have_text("+30000")
    started = time.monotonic()
    page.evaluate("() => window.playground.timeline().expandAll(true)")
    assert time.monotonic() - started < QUADRATIC_WOULD_TAKE_SECONDS
    page.locator('[data-testid="timeline"] .tl-scroll').evaluate("(el) => { el.scrollTop = el.scrollHeight; }")
    expect(page.locator('[data-testid="timeline"] g[data-task-id="30001"]')).to_have_count(1)


def test_long_output_shows_a_page_of_lines_and_more_on_demand(page: Page, live_server: str) -> None:
    render(page, live_server, synthetic_trace(2_500, prints_every=1))
    rows = page.locator('[data-testid="output"] [data-output-line]')
    expect(rows).to_have_count(1000)
    more = page.get_by_test_id("output-more")
    expect(more).to_have_text("Show 1000 more of 1500 lines not shown")
    # Rows out of view have an estimated height (content-visibility): those
    # scrolled to take their own in the next frames, which may move the button.
    more.scroll_into_view_if_needed()
    after_pending_frames(page)
    more.click()
    expect(rows).to_have_count(2000)
    expect(more).to_have_text("Show 500 more of 500 lines not shown")
    # A marker on the timeline whose line has no row yet brings it in.
    page.locator('[data-testid="timeline"] .tl-toggle').first.click()
    page.locator('[data-testid="timeline"] .tl-scroll').evaluate("(el) => { el.scrollTop = el.scrollHeight; }")
    marker = page.locator('[data-testid="timeline"] .tl-print[data-output-index="2499"]')
    after_pending_frames(page)
    box = marker.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    last = page.locator('[data-testid="output"] [data-output-line][data-index="2499"]')
    expect(last).to_have_class(re.compile(r"\bis-flashed\b"))
    expect(last).to_contain_text("done 2501")
    expect(page.get_by_test_id("output-more")).to_have_count(0)
    # The rows are grids of their own, lined up in columns.
    lefts = page.evaluate("""() => [...document.querySelectorAll('[data-output-line] .out-text')].slice(0, 50)
        .map((el) => el.getBoundingClientRect().left)""")
    assert len(set(lefts)) == 1, lefts
    screenshot(page, "output-long")


# Ten thousand tasks read a shared counter, yield, and write it back: the
# classic lost update. Its trace is past the caps of capped_server, so it is cut.
RACE = """import asyncio

counter = 0

async def bump():
    global counter
    value = counter
    await asyncio.sleep(0)
    counter = value + 1

async def main():
    await asyncio.gather(*(bump() for _ in range(10_000)))
    print("counter:", counter)

asyncio.run(main())
"""


# A moment of the run as the page writes it: "0.229 s", "35 µs", "4.1 ms".
MOMENT = r"(\d+\.\d{3} s|\d+ \u00b5s|[\d.]+ ms)"


@pytest.fixture(scope="module")
def capped_server() -> Iterator[str]:
    """A playground that keeps at most 20,000 items and tasks of a trace, and
    stops a run after 3 s."""
    limits = {"PLAYGROUND_LIMIT_MAX_EVENTS": "20000", "PLAYGROUND_LIMIT_MAX_TASKS": "20000",
              "PLAYGROUND_LIMIT_WALL_SECONDS": "3"}
    with gunicorn_node({**BROWSER_ENV, **limits}) as (url, _):
        yield url


def test_a_cut_run_is_summed_up_only_as_far_as_its_trace_goes(page: Page, capped_server: str) -> None:
    page.goto(f"{capped_server}/#code={urllib.parse.quote(RACE)}&run=1")
    wait_for_status(page, "ok", timeout=60_000)
    expect(page.get_by_test_id("output")).to_contain_text("counter: 1")
    cut = page.get_by_test_id("summary-cut")
    expect(cut).to_have_text(re.compile(
        rf"^The picture stops at {MOMENT}: [\d,]+ later steps(, | and )[^;]* not drawn; "
        r"the printed output and how the run ended are complete\.$"))
    # Main's creating 10,000 tasks blocked the loop and nothing in the part
    # kept waited: that is no ground for "nothing overlapped".
    concurrency = page.get_by_test_id("summary-concurrency")
    expect(concurrency).to_have_text(re.compile(rf"^The picture stops at {MOMENT}, too early to tell"))
    expect(page.get_by_test_id("summary-busy")).to_contain_text("of the first")
    expect(page.get_by_test_id("summary-ready")).to_contain_text(re.compile(r"summed over 10,001 tasks, in the first"))
    expect(page.get_by_test_id("status")).to_contain_text("The picture stops at")
    expect(page.locator('[data-testid="timeline"] .tl-cut-label')).to_have_text("trace cut here")
    assert page.locator('[data-testid="timeline"] .tl-lanes .tl-cut').count() == 1
    screenshot(page, "cut-race")


def test_a_cut_trace_claims_only_what_its_first_part_shows(page: Page, live_server: str) -> None:
    whole = synthetic_trace(300)
    # Whole, the waits overlap; cut before the second began, one wait is in
    # the picture, and "the waits ran one after another" would be false.
    render(page, live_server, whole)
    expect(page.get_by_test_id("summary-concurrency")).to_contain_text("overlapped")
    expect(page.get_by_test_id("summary-cut")).to_have_count(0)
    expect(page.locator('[data-testid="timeline"] .tl-cut')).to_have_count(0)
    render(page, live_server, cut_trace(whole, 3.5e-5))
    expect(page.get_by_test_id("summary-concurrency")).to_have_text(
        "The picture stops at 35 \u00b5s, too early to tell how much the tasks overlapped.")
    expect(page.get_by_test_id("summary-cut")).to_have_text(
        "The picture stops at 35 \u00b5s: 598 later steps, 299 waits and 298 tasks are not drawn; "
        "the printed output and how the run ended are complete.")
    expect(page.locator('[data-testid="output"] [data-output-line]')).to_have_count(6)
    # Cut in the middle of the waits: what overlapped before the cut did.
    render(page, live_server, cut_trace(whole, 0.5))
    expect(page.get_by_test_id("summary-concurrency")).to_have_text(re.compile(
        r"^In the first 0\.500 s, 300 tasks waited at the same time: .* The picture stops there"))
    expect(page.get_by_test_id("summary-busy")).to_have_text("3.0 ms (1% of the first 0.500 s)")
    label = page.locator('[data-testid="timeline"] .tl-cut-label')
    expect(label).to_have_text("trace cut here")
    line = page.locator('[data-testid="timeline"] .tl-lanes line.tl-cut')
    # The line stands at 0.5 s: halfway between the ticks of 0.4 s and 0.6 s.
    centres = {}
    for label_text in ("0.4 s", "0.6 s"):
        box = page.locator('[data-testid="timeline"] .tl-tick-label', has_text=label_text).bounding_box()
        assert box is not None
        centres[label_text] = box["x"] + box["width"] / 2
    drawn = line.bounding_box()
    assert drawn is not None
    assert abs((centres["0.4 s"] + centres["0.6 s"]) / 2 - (drawn["x"] + drawn["width"] / 2)) < 3
    screenshot(page, "cut-synthetic")


def stopped_mid_step() -> dict:
    """Three tasks sleeping 1 s while main computes from 0.4 s, stopped at 0.5 s."""
    trace = synthetic_trace(3)
    trace["slices"].append({"task": 1, "start": 0.4, "end": 0.9, "blocking": True, "reason": "CPU-bound for 500 ms",
                            "line": 11})
    return stopped_trace(trace, 0.5)


def test_steps_and_waits_a_stop_cut_off_end_torn_and_their_tasks_unfinished(page: Page, live_server: str) -> None:
    # As a run's answer arrives: the columnar form, cut_off a sparse column.
    page.goto(f"{live_server}/?example=gather")
    reader = hand_to_page(page, "madeUpTrace", columnar(stopped_mid_step()))
    page.evaluate(f"""async () => {{
        const {{ expandTrace }} = await import("/static/lib/api.js");
        window.playground.renderTrace(expandTrace({reader}), 0.5);
    }}""")
    timeline = page.locator('[data-testid="timeline"]')
    torn = timeline.locator('g[data-task-id="1"] .tl-cut-off[data-cut-off="running"]')
    expect(torn).to_have_count(1)
    assert "L" in (torn.locator("path").get_attribute("d") or "")  # a zig-zag, not a plain rect
    expect(timeline.locator(".tl-cut-off-end")).to_have_count(3)
    tooltip = timeline.locator(".tl-tooltip")
    hover(page, torn)
    expect(tooltip).to_contain_text("blocking the loop 0.4000\u20130.5000 s")
    expect(tooltip).to_contain_text("still running when the run was stopped")
    expect(tooltip).to_contain_text("CPU-bound for 500 ms")
    hover(page, timeline.locator('g[data-task-id="3"] .tl-wait'))
    expect(tooltip).to_contain_text("still waiting when the run was stopped")
    expect(tooltip).to_contain_text("on asyncio.sleep(1)")
    page.locator('[data-testid="timeline"] g[data-task-id="2"] .tl-label').focus()
    expect(tooltip).to_contain_text("still waiting when the run was stopped")
    # No task finished: the table says what each was doing, the summary counts them.
    table = page.get_by_test_id("task-table")
    states = {row.get_attribute("data-task-id"): row.locator("td").nth(1).text_content()
              for row in table.locator("tbody tr").all()}
    assert states == {"1": "running when stopped", "2": "waiting when stopped", "3": "waiting when stopped",
                      "4": "waiting when stopped"}
    assert set(table.locator("tbody tr td:nth-of-type(4)").all_text_contents()) == {"\u2014"}
    expect(page.get_by_test_id("summary-tasks")).to_have_text(
        "4 none finished: still running or waiting when the run was stopped")
    screenshot(page, "stopped-mid-step")


def test_a_whole_step_is_not_drawn_torn(page: Page, live_server: str) -> None:
    trace = synthetic_trace(3)
    trace["slices"].append({"task": 1, "start": 0.4, "end": 0.9, "blocking": True, "reason": "CPU-bound for 500 ms"})
    render(page, live_server, trace)
    timeline = page.locator('[data-testid="timeline"]')
    expect(timeline.locator(".tl-blocking")).to_have_count(1)
    expect(timeline.locator(".tl-cut-off, .tl-cut-off-end")).to_have_count(0)
    expect(page.get_by_test_id("summary-tasks")).to_have_text("4")
    expect(page.get_by_test_id("task-table").locator("tr.state-done")).to_have_count(4)


def threads_trace() -> dict:
    """main gathers two tasks that each await asyncio.to_thread(blocking_io)
    (line 7) for 2 s, in the default executor's two threads; then a job
    submitted outside any task raises."""
    def task(id_: int, name: str, coro: str, parent: int | None, ended: float) -> dict:
        return {"id": id_, "name": name, "coro": coro, "parent": parent, "line": 12 if parent else None,
                "created": 0.0, "ended": ended, "state": "done", "error": None, "busy": 0.001, "waiting": 2.0,
                "scheduled": 0.0, "steps": 2}

    def wait(id_: int) -> dict:
        return {"task": id_, "start": 0.001, "end": 2.001, "on": "to_thread(blocking_io)", "line": 7,
                "chain": ["fetch", "asyncio.to_thread"]}

    return {
        "version": 1, "status": "ok", "clock": "virtual", "duration": 3.0, "wall": 3.0, "error": None,
        "truncated": False, "cut": None, "events": [], "output": [],
        "tasks": [task(1, "Task-1", "main", None, 3.0), task(2, "Task-2", "fetch", 1, 2.002),
                  task(3, "Task-3", "fetch", 1, 2.002)],
        "slices": [{"task": i, "start": s, "end": s + 0.001, "blocking": False, "reason": None}
                   for i in (2, 3) for s in (0.0, 2.001)],
        "waits": [wait(2), wait(3)],
        "jobs": [
            {"thread": "asyncio_0", "fn": "blocking_io", "task": 2, "start": 0.001, "end": 2.001, "line": 7,
             "error": None},
            {"thread": "asyncio_1", "fn": "blocking_io", "task": 3, "start": 0.001, "end": 2.001, "line": 7,
             "error": None},
            {"thread": "asyncio_0", "fn": "Reader.load", "task": None, "start": 2.2, "end": 2.9, "line": 15,
             "error": "OSError"},
        ],
    }


def test_executor_threads_get_lanes_below_the_tasks(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/?example=gather")
    reader = hand_to_page(page, "madeUpTrace", columnar(threads_trace()))
    page.evaluate(f"""async () => {{
        const {{ expandTrace }} = await import("/static/lib/api.js");
        window.playground.renderTrace(expandTrace({reader}), 0.5);
    }}""")
    timeline = page.locator('[data-testid="timeline"]')
    lanes_in_order = timeline.locator("g.tl-lane").evaluate_all(
        "(gs) => gs.map((g) => g.dataset.taskId ? `task ${g.dataset.taskId}` : `thread ${g.dataset.thread}`)")
    assert lanes_in_order == ["task 1", "task 2", "task 3", "thread asyncio_0", "thread asyncio_1"]
    first = timeline.locator('g[data-thread="asyncio_0"]')
    expect(first.locator(".tl-name")).to_have_text("thread asyncio_0")
    expect(first.locator(".tl-coro")).to_have_text("2 jobs")
    expect(first.locator(".tl-job-label").first).to_have_text("blocking_io()")
    tooltip = timeline.locator(".tl-tooltip")
    job = first.locator('.tl-job[data-fn="blocking_io"]')
    hover(page, job)
    expect(tooltip).to_contain_text("ran blocking_io() for Task-2, from main.py line 7, 2.00 s")
    expect(tooltip).to_contain_text("click to show line 7 in the editor")
    box = job.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    assert page.evaluate("window.playground.editor.getCursor().line") == 6
    hover(page, first.locator(".tl-job-error"))
    expect(tooltip).to_contain_text("ran Reader.load(), from main.py line 15, 700 ms")
    expect(tooltip).to_contain_text("raised OSError")
    # The task waiting on the job says where it ran.
    wait = timeline.locator('g[data-task-id="3"] .tl-wait')
    expect(wait).to_have_attribute("data-thread", "asyncio_1")
    hover(page, wait)
    expect(tooltip).to_contain_text("on to_thread(blocking_io) at line 7")
    expect(tooltip).to_contain_text("the function ran in thread asyncio_1: see its lane below")
    label = first.locator(".tl-label")
    label.focus()
    expect(tooltip).to_contain_text("a thread of an executor: it ran 2 functions")
    # Focused, its label tells each job, as a screen reader reads it too.
    expect(tooltip).to_contain_text("ran blocking_io() for Task-2, from main.py line 7, 2.00 s")
    expect(label).to_have_attribute("aria-label", re.compile(r"ran Reader\.load\(\), from main\.py line 15, 700 ms"))
    screenshot(page, "executor-threads")


def test_a_trace_from_before_threads_were_told_has_no_thread_lanes(page: Page, live_server: str) -> None:
    older = columnar(threads_trace())
    del older["jobs"], older["sparse"]["jobs"]
    page.goto(f"{live_server}/?example=gather")
    reader = hand_to_page(page, "madeUpTrace", older)
    page.evaluate(f"""async () => {{
        const {{ expandTrace }} = await import("/static/lib/api.js");
        window.playground.renderTrace(expandTrace({reader}), 0.5);
    }}""")
    expect(page.locator('[data-testid="timeline"] g[data-task-id]')).to_have_count(3)
    expect(page.locator('[data-testid="timeline"] g[data-thread]')).to_have_count(0)
    hover(page, page.locator('[data-testid="timeline"] g[data-task-id="2"] .tl-wait'))
    expect(page.locator('[data-testid="timeline"] .tl-tooltip')).not_to_contain_text("ran in thread")


TO_THREAD = """import asyncio
import time

def blocking_io(seconds):
    time.sleep(seconds)
    return seconds

async def fetch(seconds):
    return await asyncio.to_thread(blocking_io, seconds)

async def main():
    print(await asyncio.gather(fetch(0.2), fetch(0.4)))

asyncio.run(main())
"""


def test_a_real_to_thread_run_draws_its_threads(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/#code={urllib.parse.quote(TO_THREAD)}&run=1")
    wait_for_status(page, "ok")
    expect(page.get_by_test_id("output")).to_contain_text("[0.2, 0.4]")
    timeline = page.locator('[data-testid="timeline"]')
    threads = timeline.locator("g[data-thread]")
    expect(threads).to_have_count(2)
    assert threads.locator(".tl-name").all_text_contents() == ["thread asyncio_0", "thread asyncio_1"]
    job = timeline.locator('g[data-thread="asyncio_1"] .tl-job[data-fn="blocking_io"]')
    hover(page, job)
    tooltip = timeline.locator(".tl-tooltip")
    expect(tooltip).to_contain_text(re.compile(r"ran blocking_io\(\) for Task-3, from main\.py line 9, \d+ ms"))
    # A real sleep of 0.4 s, which a loaded machine can make longer (by LATE at most).
    found = re.search(r"line 9, (\d+) ms", tooltip.text_content() or "")
    assert found and 400 <= int(found[1]) < 400 + LATE * 1000, found
    # The wait of the task that awaited it names the thread.
    expect(timeline.locator('g[data-task-id="3"] .tl-wait[data-thread="asyncio_1"]')).to_have_count(1)
    screenshot(page, "to-thread")
    # The Perfetto file has a track per thread, with its jobs.
    with page.expect_download() as download:
        page.get_by_test_id("export-perfetto").click()
    events = json.loads(Path(download.value.path()).read_text())["traceEvents"]
    tracks = {e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "thread_name" and e["pid"] == 2}
    assert tracks == {"thread asyncio_0", "thread asyncio_1"}
    jobs = [e for e in events if e["ph"] == "X" and e.get("cat") == "job"]
    assert [job["name"] for job in jobs] == ["blocking_io()", "blocking_io()"]
    assert {job["args"]["line"] for job in jobs} == {9}


def test_a_deadlock_of_twenty_thousand_tasks_names_a_few(page: Page, live_server: str) -> None:
    trace = synthetic_trace(20_000)
    trace["status"] = "deadlock"
    for task in trace["tasks"][1:]:
        task.update(ended=None, state="pending")
    trace["events"] = [{"t": 1.1, "kind": "deadlock", "task": task["id"], "line": 4,
                        "message": f"{task['name']} waits forever on Event.wait()."} for task in trace["tasks"][1:]]
    seconds = render(page, live_server, trace)
    assert seconds < QUADRATIC_WOULD_TAKE_SECONDS
    stuck = page.get_by_test_id("status").locator(".deadlock-tasks")
    expect(stuck).to_contain_text("Task-2 waits forever on Event.wait(). Task-3 waits forever")
    expect(stuck).to_contain_text("\u2026 and 19,990 more tasks waiting forever.")
    # Without the server's words, the tasks that never ended and their last waits.
    del trace["events"]
    render(page, live_server, trace)
    expect(stuck).to_have_text(re.compile(
        r"^Waiting forever: Task-2 \(on asyncio\.sleep\(1\), line 4\), .* and 19,990 more tasks\.$"))


# On the real clock: main blocks the loop in time.sleep while one task
# sleeps and another waits on a thread that sleeps too, past the wall limit.
STOPPED = """import asyncio
import time

def slow():
    time.sleep(30)

async def sleeper():
    await asyncio.sleep(100)

async def main():
    asyncio.create_task(sleeper())
    worker = asyncio.create_task(asyncio.to_thread(slow))
    await asyncio.sleep(0.2)
    time.sleep(30)
    await worker

asyncio.run(main())
"""


def test_a_real_run_stopped_at_the_wall_limit_shows_what_was_still_going(page: Page, capped_server: str) -> None:
    page.goto(f"{capped_server}/#code={urllib.parse.quote(STOPPED)}&clock=real&run=1")
    wait_for_status(page, "timeout")
    timeline = page.locator('[data-testid="timeline"]')
    step = timeline.locator('g[data-task-id="1"] .tl-cut-off[data-cut-off="running"]')
    expect(step).to_have_count(1)
    expect(timeline.locator(".tl-cut-off-end")).to_have_count(2)
    expect(timeline.locator('g[data-thread="asyncio_0"] .tl-job.tl-cut-off[data-fn="slow"]')).to_have_count(1)
    hover(page, step)
    tooltip = timeline.locator(".tl-tooltip")
    expect(tooltip).to_contain_text("blocking the loop")
    expect(tooltip).to_contain_text("line 14")
    assert tooltip.text_content().count("still running when the run was stopped") == 1  # type: ignore[union-attr]
    states = page.get_by_test_id("task-table").locator("tbody tr td:nth-of-type(2)").all_text_contents()
    assert states == ["running when stopped", "waiting when stopped", "waiting when stopped"]
    expect(page.get_by_test_id("summary-tasks")).to_contain_text("none finished")
    screenshot(page, "stopped-real")
