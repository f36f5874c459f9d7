"""Small readers of a trace (as the API answers it), and traces made up for tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Trace = dict[str, Any]
# The run_trace fixture: run a snippet through the tracer, get the trace.
RunTrace = Callable[..., Trace]


def task_named(trace: Trace, coro: str) -> list[dict[str, Any]]:
    return [task for task in trace["tasks"] if task["coro"] == coro]


def outputs(trace: Trace, text: str | None = None) -> list[dict[str, Any]]:
    return [line for line in trace["output"] if text is None or line["text"] == text]


def events(trace: Trace, kind: str) -> list[dict[str, Any]]:
    return [event for event in trace["events"] if event["kind"] == kind]


def printed(trace: Trace) -> list[str]:
    """What the snippet printed on its standard output, a line each."""
    return [line["text"] for line in trace["output"] if line["stream"] == "stdout"]


# Virtual times are exact up to the real CPU time the snippet and tracer use.
TOLERANCE = 0.05


def near(value: float, expected: float) -> bool:
    return abs(value - expected) <= TOLERANCE


def synthetic_trace(tasks: int) -> dict[str, Any]:
    """A trace of a gather of many tasks, as the API would answer it."""
    items: dict[str, list[Any]] = {"tasks": [], "slices": [], "waits": [], "output": []}
    items["tasks"].append({"id": 1, "name": "Task-1", "coro": "main", "parent": None, "line": 9, "created": 0.0,
                           "ended": 1.1, "state": "done", "error": None, "busy": 0.01, "waiting": 1.0,
                           "scheduled": 0.09, "steps": 2})
    for i in range(2, tasks + 2):
        start = i * 1e-5
        items["tasks"].append({"id": i, "name": f"Task-{i}", "coro": "work", "parent": 1, "line": 7,
                               "created": start, "ended": 1.0 + start, "state": "done", "error": None,
                               "busy": 2e-5, "waiting": 1.0, "scheduled": 0.0, "steps": 2})
        items["slices"].append({"task": i, "start": start, "end": start + 1e-5, "blocking": False, "reason": None})
        items["slices"].append({"task": i, "start": 1.0 + start, "end": 1.0 + start + 1e-5, "blocking": False,
                                "reason": None})
        items["waits"].append({"task": i, "start": start + 1e-5, "end": 1.0 + start, "on": "asyncio.sleep(1)",
                               "line": 4, "chain": ["work", "asyncio.sleep"]})
        if i % 50 == 0:
            items["output"].append({"t": 1.0 + start, "task": i, "stream": "stdout", "text": f"done {i}"})
    return {"version": 1, "status": "ok", "clock": "virtual", "duration": 1.1, "wall": 0.5, "error": None,
            "truncated": False, "events": [], **items}
