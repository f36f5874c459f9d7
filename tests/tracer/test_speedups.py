"""The tracer's C accelerator (playground/tracer/_speedups.c): built for the
jail's interpreters and the server's, used in a real jail, and recording the
same trace as the pure-Python hot path (hotpath.py) on real snippets, on
every Python."""

from __future__ import annotations

import re
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from playground.sandbox import speedups
from playground.sandbox.jail import DEFAULT_JAIL_PYTHON, Bubblewrap
from playground.sandbox.pythons import DEFAULT_ROOT
from playground.sharing.examples import BY_NAME, EXAMPLES
from tests.support.pythonruns import PYTHON_IDS, PYTHONS, JailedRuns
from tests.support.traces import RunTrace, task_named, with_recorder

# Snippets that reach every path of the hot path and the rare paths it calls:
# first steps and announcements, normal ends, waits and wake-ups, errors,
# cancellation (by timeouts, TaskGroups, wait_for, the snippet), tasks named
# after creation, callbacks, tasks that never run, asyncio.run's own tasks,
# eager tasks (3.12+). Each runs on every Python in the jail, with the C hot
# path and in a jail without the accelerator (so with the Python one). The
# examples that start processes are left out (and those that use the network,
# which run against a loopback server in tests/egress): which pid and which
# worker runs what is the machine's choice, not the hot path's.
PROCESS_EXAMPLES = ("subprocesses", "process_pool")
SNIPPETS = {example.name: example.code for example in EXAMPLES
            if example.name not in PROCESS_EXAMPLES and example.url is None} | {
    "many_tasks": """
        import asyncio
        async def work(i):
            await asyncio.sleep(0)
            await asyncio.sleep(i % 3)
            return i
        async def main():
            print(sum(await asyncio.gather(*(work(i) for i in range(300)))))
        asyncio.run(main())
    """,
    "cancel_and_timeouts": """
        import asyncio
        async def slow(n):
            await asyncio.sleep(n)
        async def stubborn():
            try:
                await asyncio.sleep(5)
            except asyncio.CancelledError:
                await asyncio.sleep(0.1)
        async def main():
            task = asyncio.create_task(slow(10))
            task.set_name("renamed")
            await asyncio.sleep(0.5)
            task.cancel()
            try:
                async with asyncio.timeout(0.2):
                    await slow(1)
            except TimeoutError:
                print("timed out")
            try:
                await asyncio.wait_for(slow(1), 0.3)
            except TimeoutError:
                print("wait_for timed out")
            s = asyncio.create_task(stubborn())
            await asyncio.sleep(0)
            s.cancel()
            await s
            await asyncio.gather(task, return_exceptions=True)
        asyncio.run(main())
    """,
    "eager_tasks": """
        import asyncio
        async def quick(n):
            print("quick", n)
            return n
        async def slow(n):
            await asyncio.sleep(n)
            print("slow", n)
        async def main():
            loop = asyncio.get_running_loop()
            factory = getattr(asyncio, "eager_task_factory", None)  # 3.12+
            if factory is not None:
                loop.set_task_factory(factory)
            done = asyncio.create_task(quick(1), name="eager-done")
            later = asyncio.create_task(slow(0.2))
            async with asyncio.TaskGroup() as group:
                group.create_task(quick(2))
                group.create_task(slow(0.1))
            print(await done, await later)
        asyncio.run(main())
    """,
    "taskgroup_failure": """
        import asyncio
        async def fail():
            await asyncio.sleep(0.1)
            raise ValueError("boom")
        async def main():
            try:
                async with asyncio.TaskGroup() as group:
                    group.create_task(fail())
                    group.create_task(asyncio.sleep(1))
            except* ValueError:
                print("caught")
        asyncio.run(main())
    """,
    "primitives_and_errors": """
        import asyncio
        async def worker(queue, lock, event):
            async with lock:
                item = await queue.get()
            await event.wait()
            if item == 2:
                raise RuntimeError("never retrieved")
        async def main():
            queue, lock, event = asyncio.Queue(), asyncio.Lock(), asyncio.Event()
            tasks = [asyncio.create_task(worker(queue, lock, event)) for _ in range(3)]
            for item in range(3):
                await asyncio.sleep(0.1)
                queue.put_nowait(item)
            asyncio.get_running_loop().call_later(0.2, event.set)
            await asyncio.sleep(0.5)
            asyncio.create_task(asyncio.sleep(1))
            del tasks
        asyncio.run(main())
    """,
}

# Snippets that take the tracer off its ordinary path, with the limits they
# run under: past the event cap (the packed records go out as messages and
# are cut), a hook that fails (recording stops, the run goes on), the
# sampler's flush coming in the middle of a record (nothing lost), and a long
# CPU-bound step that prints while the CPU-time sampler flushes mid-step.
EDGE_CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "event_cap": ("""
        import asyncio
        async def work(i):
            await asyncio.sleep(0)
            return i
        async def main():
            print(sum(await asyncio.gather(*(work(i) for i in range(2000)))))
        asyncio.run(main())
    """, {"max_events": 300}),
    "hook_disabled": ("""
        import asyncio, sys
        def broken(self, *args):
            raise RuntimeError("a hook broke")
        async def main():
            await asyncio.gather(asyncio.sleep(0.1), asyncio.sleep(0.2))
            print("before")
            sys.modules["tracer.recorder"].Recorder._wait_started = broken
            await asyncio.gather(asyncio.sleep(0.1), asyncio.sleep(0.2))
            print("after")
        asyncio.run(main())
    """, {}),
    # The sampler's flush in the middle of a record: while task_woken computes
    # a wait's, and while the hot path computes a task's (its name).
    "flush_mid_record": (with_recorder("""
        import asyncio, sys
        module = sys.modules["tracer.recorder"]
        woken_how = module.woken_how
        def flushing_woken_how(*args):
            recorder.flush()
            return woken_how(*args)
        module.woken_how = flushing_woken_how
        class FlushingTask(asyncio.Task):
            def get_name(self):
                recorder.flush()
                return super().get_name()
        async def nap(seconds):
            await asyncio.sleep(seconds)
        async def main():
            asyncio.get_running_loop().set_task_factory(
                lambda loop, coro, **options: FlushingTask(coro, loop=loop, **options))
            await asyncio.gather(nap(0.1), nap(0.2))
            print("done")
        asyncio.run(main())
    """), {}),
    # Busy for 0.2 s of CPU time (real: process_time is not virtual), four
    # times the blocking threshold on a machine of any speed, nearly all of
    # it on the line marked BUSY (one line, so the busiest on every Python).
    "sampler_flush": ("""
        import asyncio, time
        async def spin():
            print("spinning")
            total, start = 0, time.process_time()
            while time.process_time() - start < 0.2:
                for i in range(10_000): total += i  # BUSY
            print("spun", total > 0)
        async def main():
            await asyncio.gather(spin(), asyncio.sleep(0.01))
        asyncio.run(main())
    """, {}),
}

# Times differ from run to run; everything else must not.
TIMES = {"created", "ended", "start", "end", "t", "at", "duration", "wall", "busy", "waiting", "scheduled", "due"}


def shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items() if key not in TIMES}
    if isinstance(value, list):
        return [shape(item) for item in value]
    if isinstance(value, str):  # times, and addresses (a task's repr in 3.14's call graph)
        return re.sub(r"\d+\.\d+ s\b|\d+ ms\b|0x[0-9a-f]+", "N", value)
    return value


def busy_lines(code: str) -> set[int]:
    """The lines of ``code`` marked BUSY: where it keeps the loop busy on purpose."""
    return {number for number, text in enumerate(code.splitlines(), 1) if text.endswith("# BUSY")}


def alike(trace: dict[str, Any], busy: set[int]) -> Any:
    """What both hot paths must record alike. Which steps block is the
    machine's too: a loaded machine can stall any of hundreds of short steps
    past the threshold, in one run and not the other (tests/support/unloaded.py).
    So the steps are compared without their blocking, reason and line (and
    without the steps of no task, told only when they block), and the
    "blocking" events left out, except for the blocking the snippet causes
    itself, compared whole: its time.sleep calls and its BUSY lines."""
    def own(reason: str, line: int | None) -> bool:
        return reason.startswith("time.sleep") or line in busy

    return shape({
        **trace,
        "slices": [{key: value for key, value in item.items() if key not in ("blocking", "reason", "line")}
                   for item in trace["slices"] if item["task"] is not None],
        "events": [event for event in trace["events"] if event["kind"] != "blocking"],
        "blocked": [item for item in trace["slices"] if item["blocking"] and own(item["reason"], item.get("line"))],
        "blocking_events": [event for event in trace["events"]
                            if event["kind"] == "blocking" and own(event["message"], event["line"])],
    })


@dataclass
class HotPaths:
    """Runs of one Python in the jail with the C hot path and with the Python one."""

    fast: JailedRuns
    slow: JailedRuns


@pytest.fixture(scope="module", params=PYTHON_IDS)
def hot_paths(request: pytest.FixtureRequest, tracer_jail: Bubblewrap) -> Iterator[HotPaths]:
    python = PYTHONS.get(request.param)
    paths = HotPaths(JailedRuns(tracer_jail, python), JailedRuns(Bubblewrap(PYTHONS, speedups=False), python,
                                                                  second=True))
    yield paths
    paths.fast.close()
    paths.slow.close()


def traced(code: str, runs: JailedRuns, **limits: Any) -> dict[str, Any]:
    return runs.run(code, "virtual", **limits)


def hot_path_of(code: str) -> str:
    return f"import sys\nprint(sys.modules['tracer.hotpath'].Core.__module__)\n{textwrap.dedent(code)}"


def test_the_accelerator_is_built_for_every_python_and_the_server() -> None:
    pythons = speedups.every_python(DEFAULT_ROOT)
    assert {python.executable for python in pythons} >= {DEFAULT_JAIL_PYTHON, sys.executable}
    for python in pythons:
        assert speedups.used_by(python) == "C", python


@pytest.mark.parametrize("name", sorted(SNIPPETS))
def test_the_c_and_python_hot_paths_record_the_same_trace(name: str, hot_paths: HotPaths) -> None:
    example = BY_NAME.get(name)
    if example is not None and not example.runs_on(hot_paths.fast.python.id):
        pytest.skip(f"{name} needs Python {example.python}")
    code = hot_path_of(SNIPPETS[name])
    fast = traced(code, hot_paths.fast)
    slow = traced(code, hot_paths.slow)
    assert fast["output"][0]["text"] == "_speedups"
    assert slow["output"][0]["text"] == "tracer.hotpath"
    assert fast["status"] == slow["status"] == "ok"
    assert fast["tasks"] and len(fast["slices"]) > len(fast["tasks"])
    fast["output"].pop(0)
    slow["output"].pop(0)
    assert alike(fast, busy_lines(code)) == alike(slow, busy_lines(code))
    # Times are close too: the same virtual clock, read by both paths. The
    # run's real time counts on it, and a loaded machine can stall either
    # run by more: a difference counts only if two more pairs show it too.
    for _ in range(2):
        if abs(fast["duration"] - slow["duration"]) < 0.05:
            break
        fast, slow = traced(code, hot_paths.fast), traced(code, hot_paths.slow)
    assert abs(fast["duration"] - slow["duration"]) < 0.05


@pytest.mark.parametrize("name", sorted(EDGE_CASES))
def test_the_hot_paths_agree_off_the_ordinary_path(name: str, hot_paths: HotPaths) -> None:
    snippet, limits = EDGE_CASES[name]
    code = hot_path_of(snippet)
    fast = traced(code, hot_paths.fast, **limits)
    slow = traced(code, hot_paths.slow, **limits)
    assert [fast["output"][0]["text"], slow["output"][0]["text"]] == ["_speedups", "tracer.hotpath"]
    fast["output"].pop(0)
    slow["output"].pop(0)
    assert fast["status"] == slow["status"] == "ok"
    if name == "event_cap":
        # Where the cap falls in a batch, and so which task ends and steps
        # made it before the cut, depends on when the 10 ms flushes came, in
        # either path; what a reader needs whole is the same.
        for trace in (fast, slow):
            assert trace["truncated"] and trace["limits"] == [{"name": "max_events", "value": 300}]
            assert set(trace["cut"]["dropped"]) >= {"slices", "tasks"}
        assert [line["text"] for line in fast["output"]] == [line["text"] for line in slow["output"]] == ["1999000"]
        assert fast["error"] is None and slow["error"] is None
        named = [[(task["id"], task["name"], task["coro"]) for task in trace["tasks"]] for trace in (fast, slow)]
        # Which tasks were announced before the cut depends on the flushes
        # too (the cap is 300 items; main's and the first work tasks', when
        # there): those both paths kept are the same, in the same order.
        common = min(len(named[0]), len(named[1]))
        assert named[0][:common] == named[1][:common]
        for tasks in named:
            assert tasks[:1] in ([], [(1, "Task-1", "main")])
            assert all(coro == "work" for _, _, coro in tasks[1:])
        return
    assert alike(fast, busy_lines(code)) == alike(slow, busy_lines(code))
    if name == "flush_mid_record":
        for trace in (fast, slow):
            assert sorted(task["coro"] for task in trace["tasks"]) == ["main", "nap", "nap"]
            naps = {task["id"] for task in task_named(trace, "nap")}
            assert sorted((wait["on"], wait["wake"]) for wait in trace["waits"] if wait["task"] in naps) == [
                ("asyncio.sleep(0.1)", "timer"), ("asyncio.sleep(0.2)", "timer")]
            assert [line["text"] for line in trace["output"]] == ["done"]
    elif name == "hook_disabled":
        stopped = [e for e in fast["events"] if e["message"].startswith("tracing stopped")]
        assert len(stopped) == 1 and "a hook broke" in stopped[0]["message"]
        assert [line["text"] for line in fast["output"]] == ["before", "after"]
    else:
        # spin's one step, busy on its BUSY line (any other step that blocks
        # was stalled by the machine).
        [spin] = [task for task in fast["tasks"] if task["coro"] == "spin"]
        [spun] = [s for s in fast["slices"] if s["task"] == spin["id"]]
        assert spun["blocking"] and spun["reason"].startswith("CPU-bound") and spun["line"] in busy_lines(code)
        assert [line["text"] for line in fast["output"]] == ["spinning", "spun True"]


def test_the_jail_runs_the_c_hot_path(run_trace: RunTrace) -> None:
    trace = run_trace("import sys\nprint(sys.modules['tracer.hotpath'].SPEEDUPS.__file__)")
    assert trace["status"] == "ok"
    assert trace["output"][0]["text"].startswith("/sandbox/tracer/_speedups.cpython-")


def test_the_ready_queue_keeps_deque_order() -> None:
    from playground.tracer import _speedups, hotpath  # type: ignore[attr-defined]
    from playground.tracer.clock import Clock

    assert hotpath.SPEEDUPS is not None
    core = _speedups.Core(Clock(True, 10, lambda message: None), 10**9)  # type: ignore[arg-type,return-value]
    core.enabled = False
    queue = _speedups.ReadyQueue(core)
    assert not queue and len(queue) == 0
    for item in range(100):
        queue.append(item)
    queue.appendleft(-1)
    assert len(queue) == 101 and queue
    assert [queue.popleft() for _ in range(51)] == list(range(-1, 50))
    queue.clear()
    assert not queue
    with pytest.raises(IndexError):
        queue.popleft()
