"""The tracer's C accelerator (playground/tracer/_speedups.c): built for the
jail's interpreter and the server's, used in a real jail, and recording the
same trace as the pure-Python hot path (hotpath.py) on real snippets."""

from __future__ import annotations

import re
import sys
import textwrap
from typing import Any

import pytest

from playground.sandbox import speedups
from playground.sandbox.jail import DEFAULT_JAIL_PYTHON, Bubblewrap, Unsandboxed
from playground.sandbox.limits import Limits
from playground.sandbox.runner import run_snippet
from playground.sharing.examples import EXAMPLES
from playground.tracer.protocol import SPEEDUPS_ENV

# Snippets that reach every path of the hot path and the rare paths it calls:
# first steps and announcements, normal ends, waits and wake-ups, errors,
# cancellation (by timeouts, TaskGroups, wait_for, the snippet), tasks named
# after creation, callbacks, tasks that never run, asyncio.run's own tasks.
SNIPPETS = {example.name: example.code for example in EXAMPLES} | {
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
# are cut), a hook that fails (recording stops, the run goes on), and a long
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
    "sampler_flush": ("""
        import asyncio
        async def spin():
            print("spinning")
            total = 0
            for i in range(4_000_000): total += i
            print("spun", total)
        async def main():
            await asyncio.gather(spin(), asyncio.sleep(0.01))
        asyncio.run(main())
    """, {}),
}

# Times differ from run to run; everything else must not.
TIMES = {"created", "ended", "start", "end", "t", "at", "duration", "wall", "busy", "waiting", "scheduled"}


def shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items() if key not in TIMES}
    if isinstance(value, list):
        return [shape(item) for item in value]
    if isinstance(value, str):
        return re.sub(r"\d+\.\d+ s\b|\d+ ms\b", "N", value)
    return value


def traced(code: str, python_path: bool, monkeypatch: pytest.MonkeyPatch, **limits: Any) -> dict[str, Any]:
    if python_path:
        monkeypatch.setenv(SPEEDUPS_ENV, "0")
    else:
        monkeypatch.delenv(SPEEDUPS_ENV, raising=False)
    trace = run_snippet(Unsandboxed(), textwrap.dedent(code), "virtual", Limits(**limits))
    return trace.to_json()


def hot_path_of(code: str) -> str:
    return f"import sys\nprint(sys.modules['tracer.hotpath'].Core.__module__)\n{textwrap.dedent(code)}"


def test_the_accelerator_is_built_for_the_jail_and_the_server() -> None:
    for python in (DEFAULT_JAIL_PYTHON, sys.executable):
        assert speedups.used_by(python) == "C"


@pytest.mark.parametrize("name", sorted(SNIPPETS))
def test_the_c_and_python_hot_paths_record_the_same_trace(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    code = hot_path_of(SNIPPETS[name])
    fast = traced(code, python_path=False, monkeypatch=monkeypatch)
    slow = traced(code, python_path=True, monkeypatch=monkeypatch)
    assert fast["output"][0]["text"] == "_speedups"
    assert slow["output"][0]["text"] == "tracer.hotpath"
    assert fast["status"] == slow["status"] == "ok"
    assert fast["tasks"] and len(fast["slices"]) > len(fast["tasks"])
    fast["output"].pop(0)
    slow["output"].pop(0)
    assert shape(fast) == shape(slow)
    # Times are close too: the same virtual clock, read by both paths.
    assert abs(fast["duration"] - slow["duration"]) < 0.05


@pytest.mark.parametrize("name", sorted(EDGE_CASES))
def test_the_hot_paths_agree_off_the_ordinary_path(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    code, limits = EDGE_CASES[name]
    fast = traced(hot_path_of(code), python_path=False, monkeypatch=monkeypatch, **limits)
    slow = traced(hot_path_of(code), python_path=True, monkeypatch=monkeypatch, **limits)
    assert [fast["output"][0]["text"], slow["output"][0]["text"]] == ["_speedups", "tracer.hotpath"]
    fast["output"].pop(0)
    slow["output"].pop(0)
    assert fast["status"] == slow["status"] == "ok"
    assert shape(fast) == shape(slow)
    if name == "event_cap":
        assert fast["truncated"] and fast["limits"] == [{"name": "max_events", "value": 300}]
    elif name == "hook_disabled":
        stopped = [e for e in fast["events"] if e["message"].startswith("tracing stopped")]
        assert len(stopped) == 1 and "a hook broke" in stopped[0]["message"]
        assert [line["text"] for line in fast["output"]] == ["before", "after"]
    else:
        blocking = [s for s in fast["slices"] if s["blocking"]]
        assert blocking and blocking[0]["reason"].startswith("CPU-bound")
        assert [line["text"] for line in fast["output"]][:1] == ["spinning"]


def test_the_jail_runs_the_c_hot_path() -> None:
    trace = run_snippet(Bubblewrap(), "import sys\nprint(sys.modules['tracer.hotpath'].SPEEDUPS.__file__)",
                        "virtual", Limits())
    assert trace.status == "ok"
    assert trace.output[0].text.startswith("/sandbox/tracer/_speedups.cpython-")


def test_the_ready_queue_keeps_deque_order() -> None:
    from playground.tracer import _speedups, hotpath  # type: ignore[attr-defined]
    from playground.tracer.clock import Clock

    assert hotpath.SPEEDUPS is not None
    core = _speedups.Core(Clock(True, 10, lambda message: None), 10**9)  # type: ignore[arg-type]
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
