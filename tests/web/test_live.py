"""Live runs through a real gunicorn node and real jails: the event stream,
the stop, a client that goes away (docs/live.md)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from playground.model.trace import Trace
from playground.sandbox.progress import Progress
from tests.support.browsing import BROWSER_ENV
from tests.support.live import LiveClient, merged
from tests.support.metrics import value
from tests.support.servers import gunicorn_node, request

GATHER = """\
import asyncio

async def worker(name, delay):
    await asyncio.sleep(delay)
    print(name, "done")
    if name == "c":
        raise ValueError("c failed")

async def main():
    await asyncio.gather(worker("a", 1), worker("b", 2), worker("c", 3), return_exceptions=True)

asyncio.run(main())
"""
# Prints at once, then sleeps on the real clock: the first line must arrive long before the end.
PRINT_THEN_SLEEP = "import time\nprint('first', flush=True)\ntime.sleep(1.5)\nprint('second')\n"
FOREVER = """\
import asyncio

async def main():
    print('started')
    while True:
        await asyncio.sleep(0.1)

asyncio.run(main())
"""


@pytest.fixture(scope="module")
def node() -> Iterator[str]:
    with gunicorn_node({**BROWSER_ENV, "PLAYGROUND_RUN_CACHE_SECONDS": "300"}) as (url, _):
        yield url


def test_the_stream_tells_the_run_as_it_goes_and_ends_with_the_plain_answer(node: str) -> None:
    live = LiveClient(node, {"code": GATHER + "# live\n"})
    assert live.status == 200 and live.content_type.startswith("text/event-stream")
    events = live.all_events()
    names = [event.name for event in events]
    assert names[0] == "started" and names[-1] == "done" and set(names[1:-1]) == {"trace"}, names
    assert len(events[0].data["run"]) >= 32
    done = events[-1].data
    plain = request(node, "POST", "/api/run", {"code": GATHER + "# plain\n"})[2]
    assert done["status"] == plain["status"] == "ok"
    assert done.keys() == plain.keys()
    # Both runs did the same, bar the times (a virtual clock's first
    # moments are real ones).
    assert without_times(done) == without_times(plain)
    # What the batches told adds up to the trace.
    told = merged([event.data for event in events if event.name == "trace"])
    assert [o["text"] for o in told["output"]] == [o["text"] for o in done["output"]]
    assert sorted(told["slices"], key=lambda s: s["start"]) == done["slices"]
    assert told["waits"] == done["waits"]
    assert {(t["id"], t["state"], t["ended"]) for t in told["tasks"]} == {
        (t["id"], t["state"], t["ended"]) for t in done["tasks"]}


TIMES = frozenset({"t", "start", "end", "due", "created", "ended", "duration", "wall", "busy", "waiting", "scheduled",
                   "cached"})


def without_times(value: object) -> object:
    """A trace (or a part of it) with every time left out."""
    if isinstance(value, dict):
        return {key: without_times(item) for key, item in value.items() if key not in TIMES}
    if isinstance(value, list):
        return [without_times(item) for item in value]
    return value


def test_output_arrives_while_the_run_goes_on(node: str) -> None:
    live = LiveClient(node, {"code": PRINT_THEN_SLEEP, "clock": "real"})
    events = live.all_events()
    first = next(event for event in events if event.name == "trace" and event.data.get("output"))
    assert [o["text"] for o in first.data["output"]] == ["first"]
    assert events[-1].name == "done" and events[-1].data["status"] == "ok"
    # The first line came a good while before the end (the run sleeps 1.5 s).
    assert events[-1].at - first.at > 1.0


def test_what_is_open_is_told_while_it_is(node: str) -> None:
    code = ("import asyncio, time\n\nasync def main():\n    await asyncio.sleep(1.2)\n    time.sleep(1.2)\n\n"
            "asyncio.run(main())\n")
    events = LiveClient(node, {"code": code, "clock": "real"}).all_events()
    told = [event.data["open"] for event in events if event.name == "trace" and "open" in event.data]
    waiting = [state["waits"] for state in told if state["waits"]]
    assert waiting and waiting[0][0]["line"] == 4 and "sleep" in waiting[0][0]["on"], told
    running = [state["running"] for state in told if state["running"]]
    assert running and running[0]["line"] == 5, told
    assert events[-1].name == "done" and events[-1].data["status"] == "ok"


def test_stop_ends_the_run_and_keeps_what_it_did(node: str) -> None:
    live = LiveClient(node, {"code": FOREVER, "clock": "real"})
    events = live.events()
    run = next(events).data["run"]
    next(event for event in events if event.name == "trace" and event.data.get("output"))
    asked = time.monotonic()
    status, _, answer = request(node, "POST", f"/api/runs/{run}/stop")
    assert (status, answer) == (200, {"stopped": True})
    rest = list(events)
    assert rest[-1].name == "done"
    trace = rest[-1].data
    assert time.monotonic() - asked < 5
    assert trace["status"] == "stopped"
    assert [o["text"] for o in trace["output"]] == ["started"]
    assert trace["duration"] > 0 and trace["tasks"][0]["state"] == "pending"
    # Once ended, the id stops nothing; nor does one nobody was given.
    assert request(node, "POST", f"/api/runs/{run}/stop")[0] == 404
    assert request(node, "POST", "/api/runs/not-a-run/stop")[2]["error"]["code"] == "unknown_run"


def test_a_stop_reaches_its_run_whichever_worker_takes_it() -> None:
    """Each stop comes on a connection of its own, which either of the two
    workers may accept (before LIVE_DIR, about a third went to the other and
    were answered 404)."""
    with gunicorn_node({**BROWSER_ENV, "PLAYGROUND_WORKERS": "2"}) as (url, _):
        for _ in range(8):
            live = LiveClient(url, {"code": FOREVER, "clock": "real"})
            events = live.events()
            run = next(events).data["run"]
            assert request(url, "POST", f"/api/runs/{run}/stop")[:3:2] == (200, {"stopped": True})
            assert [told.data["status"] for told in events if told.name == "done"] == ["stopped"]
            live.close()


def test_a_client_that_goes_away_stops_its_run(node: str) -> None:
    before = value(request(node, "GET", "/metrics")[2], "playground_runs_total", status="stopped")
    live = LiveClient(node, {"code": FOREVER, "clock": "real"})
    events = live.events()
    next(event for event in events if event.name == "trace")
    live.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        metrics = request(node, "GET", "/metrics")[2]
        if value(metrics, "playground_runs_total", status="stopped") > before:
            break
        time.sleep(0.2)
    assert value(metrics, "playground_runs_total", status="stopped") == before + 1
    assert value(metrics, "playground_runs_in_progress") == 0


def test_a_cached_answer_is_done_at_once_and_a_bad_request_is_plain_json(node: str) -> None:
    code = "print('cached once')\n"
    assert request(node, "POST", "/api/run", {"code": code})[2]["status"] == "ok"
    events = LiveClient(node, {"code": code}).all_events()
    assert [event.name for event in events] == ["done"]
    assert events[0].data["cached"] is True
    refused = LiveClient(node, {"code": code, "python": "2.7"})
    assert refused.status == 400 and refused.content_type.startswith("application/json")


def test_progress_batches_hold_only_what_is_new() -> None:
    from playground.model.trace import Output, Slice, TaskRecord

    trace = Trace(status="ok", clock="virtual")
    progress = Progress(budget=10_000)
    assert progress.batch(trace, 0.0) is None
    trace.tasks.append(TaskRecord(1, "Task-1", "main", None, 3, 0.0))
    trace.output.append(Output(0.1, 1, "stdout", "hi"))
    first = progress.batch(trace, 0.1)
    assert first is not None and b'"tasks"' in first and b'"output"' in first
    trace.slices.append(Slice(1, 0.1, 0.2, False, None))
    second = progress.batch(trace, 0.2)
    assert second is not None and b'"tasks"' not in second and b'"slices"' in second
    trace.tasks[0].ended, trace.tasks[0].state = 0.3, "done"
    third = progress.batch(trace, 0.3)
    assert third is not None and b'"state":"done"' in third
    assert progress.batch(trace, 0.3) is None
    # Past the budget, only output and events go.
    spent = Progress(budget=1)
    trace.output.append(Output(0.4, 1, "stdout", "more"))
    spent.batch(trace, 0.4)
    trace.slices.append(Slice(1, 0.4, 0.5, False, None))
    trace.output.append(Output(0.5, 1, "stdout", "last"))
    late = spent.batch(trace, 0.5)
    assert late is not None and b'"slices"' not in late and b'"last"' in late
