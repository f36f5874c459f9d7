"""The page draws a run's processes: a lane per program the run started
(the gallery's subprocess example, run for real), a lane per worker process
of a pool (its process-pool example), their tooltips, and their tracks in
the Perfetto file."""

from __future__ import annotations

import json
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.support.browsing import hover, run_example, screenshot


def plural(count: int, word: str) -> str:
    """As the page counts (static/lib/format.js): "1 job", "2 jobs"."""
    return f"{count} {word}{'' if count == 1 else 's'}"


def test_each_program_the_run_started_has_a_lane(page: Page, live_server: str) -> None:
    run_example(page, live_server, "subprocesses")
    timeline = page.locator('[data-testid="timeline"]')
    lanes = timeline.locator("g.tl-lane[data-child]")
    expect(lanes).to_have_count(3)
    # Long command lines are cut to the label's room, with an ellipsis.
    names = sorted(name.removesuffix("\u2026") for name in lanes.locator(".tl-name").all_text_contents())
    commands = ["$ echo hello from a child process", "$ sh -c sleep 0.5; echo done sleeping", "$ sleep 1"]
    assert len(names) == 3 and all(command.startswith(name) for name, command in zip(names, commands, strict=True))
    hover(page, timeline.locator('.tl-job[data-fn="$ sleep 1"]'))
    tooltip = timeline.locator(".tl-tooltip")
    expect(tooltip).to_contain_text("$ sleep 1: exit code 0")
    # The task that awaited it says where its program ran.
    waits = timeline.locator("g.tl-lane[data-task-id] .tl-wait[data-thread^='pid ']")
    expect(waits).to_have_count(3)
    screenshot(page, "child-processes")
    with page.expect_download() as download_info:
        page.get_by_test_id("export-perfetto").click()
    events = json.loads(Path(download_info.value.path()).read_text())["traceEvents"]
    programs = sorted(e["name"] for e in events if e["ph"] == "X" and e.get("cat") == "process")
    assert programs == ["$ echo hello from a child process", "$ sh -c sleep 0.5; echo done sleeping", "$ sleep 1"]
    assert any(e["ph"] == "M" and e["args"].get("name") == "programs the run started" for e in events)


def test_each_worker_process_of_a_pool_has_a_lane(page: Page, live_server: str) -> None:
    run_example(page, live_server, "process_pool")
    timeline = page.locator('[data-testid="timeline"]')
    workers = timeline.locator("g.tl-lane[data-thread^='process ']")
    # Both crunch() jobs of ProcessPoolExecutor(2) are on a worker's lane.
    # Each usually has a worker of its own, but a worker that is ready first
    # may take both (on 3.14+ the workers come from a fork server, and the
    # second may be ready only once the first is done): one lane or two.
    expect(workers.locator(".tl-job")).to_have_count(2)
    expect(workers.locator(".tl-job-label")).to_have_count(2)
    assert workers.count() in (1, 2)
    hover(page, workers.first.locator(".tl-job").first)
    expect(timeline.locator(".tl-tooltip")).to_contain_text("ran crunch() for Task-1, from main.py line 19")
    # Each worker's lane is named for it and says how many of the jobs it ran.
    ran = []
    for worker in workers.all():
        thread = worker.get_attribute("data-thread") or ""
        jobs = worker.locator(".tl-job").count()
        ran.append(jobs)
        expect(worker.locator(".tl-name")).to_have_text(thread)
        expect(worker.locator(".tl-coro")).to_have_text(plural(jobs, "job"))
        worker.locator(".tl-label").focus()
        tooltip = timeline.locator(".tl-tooltip")
        expect(tooltip.locator(".tl-tooltip-title")).to_have_text(f"{thread} \u00b7 {plural(jobs, 'job')}")
        expect(tooltip).to_contain_text(f"a worker process of a process pool: it ran {plural(jobs, 'function')}")
    assert sum(ran) == 2 and min(ran) >= 1, ran
    # The threads of to_thread keep their own lanes.
    expect(timeline.locator("g.tl-lane[data-thread^='asyncio_']")).to_have_count(2)
    screenshot(page, "process-pool")
