"""Small readers of a trace (as the API answers it), and traces made up for tests."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from playground.model.columnar import COLUMNAR, SPARSE_FIELDS, TABLE_FIELDS

if TYPE_CHECKING:
    from flask.testing import FlaskClient
    from playwright.sync_api import Page

Trace = dict[str, Any]
# The run_trace fixture: run a snippet through the tracer, get the trace.
RunTrace = Callable[..., Trace]


# The first lines of a snippet that drives or breaks the tracer from inside:
# they bind ``recorder`` to the run's Recorder (the prelude's ``run``, found
# up the stack, as a snippet can).
FIND_RECORDER = """\
import sys as _sys
_frame = _sys._getframe()
while "run" not in _frame.f_locals:
    _frame = _frame.f_back
recorder = _frame.f_locals["run"].recorder
"""


def with_recorder(snippet: str) -> str:
    """``snippet`` (dedented) after ``FIND_RECORDER``."""
    return FIND_RECORDER + textwrap.dedent(snippet)


def posted(client: FlaskClient, code: str, clock: str = "virtual") -> Trace:
    """The trace of ``code`` (dedented) run through ``POST /api/run``."""
    response = client.post("/api/run", json={"code": textwrap.dedent(code), "clock": clock})
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    trace: Trace = response.get_json()
    return trace


def task_named(trace: Trace, coro: str) -> list[dict[str, Any]]:
    return [task for task in trace["tasks"] if task["coro"] == coro]


def outputs(trace: Trace, text: str | None = None) -> list[dict[str, Any]]:
    return [line for line in trace["output"] if text is None or line["text"] == text]


def events(trace: Trace, kind: str) -> list[dict[str, Any]]:
    return [event for event in trace["events"] if event["kind"] == kind]


def how_it_ended(trace: Trace) -> str:
    """What a failed assertion on a run's status should say: its status,
    error, limits and last events (a whole trace is cut short in pytest's
    message, before the part that tells why)."""
    return json.dumps({"status": trace.get("status"), "error": trace.get("error"), "limits": trace.get("limits"),
                       "duration": trace.get("duration"), "wall": trace.get("wall"),
                       "last_events": trace.get("events", [])[-4:]})


def printed(trace: Trace) -> list[str]:
    """What the snippet printed on its standard output, a line each."""
    return [line["text"] for line in trace["output"] if line["stream"] == "stdout"]


# Virtual times are exact up to the real CPU time the snippet and tracer use.
TOLERANCE = 0.05


def near(value: float, expected: float) -> bool:
    return abs(value - expected) <= TOLERANCE


def synthetic_trace(tasks: int, prints_every: int = 50, chain: bool = False) -> dict[str, Any]:
    """A trace of a gather of many tasks, as the API would answer it: every
    task steps, sleeps 1 s and steps again; every prints_every-th prints.
    With chain, each task was created by the one before it (a tree as deep
    as it is long) rather than all by main."""
    items: dict[str, list[Any]] = {"tasks": [], "slices": [], "waits": [], "output": []}
    items["tasks"].append({"id": 1, "name": "Task-1", "coro": "main", "parent": None, "line": 9, "created": 0.0,
                           "ended": 1.1, "state": "done", "error": None, "busy": 0.01, "waiting": 1.0,
                           "scheduled": 0.09, "steps": 2})
    for i in range(2, tasks + 2):
        start = i * 1e-5
        items["tasks"].append({"id": i, "name": f"Task-{i}", "coro": "work", "parent": i - 1 if chain else 1,
                               "line": 7, "created": start, "ended": 1.0 + start, "state": "done", "error": None,
                               "busy": 2e-5, "waiting": 1.0, "scheduled": 0.0, "steps": 2})
        items["slices"].append({"task": i, "start": start, "end": start + 1e-5, "blocking": False, "reason": None})
        items["slices"].append({"task": i, "start": 1.0 + start, "end": 1.0 + start + 1e-5, "blocking": False,
                                "reason": None})
        items["waits"].append({"task": i, "start": start + 1e-5, "end": 1.0 + start, "on": "asyncio.sleep(1)",
                               "line": 4, "chain": ["work", "asyncio.sleep"], "due": 1.0 + start, "wake": "timer"})
        if i % prints_every == 0:
            items["output"].append({"t": 1.0 + start, "task": i, "stream": "stdout", "text": f"done {i}"})
    return {"version": 1, "status": "ok", "clock": "virtual", "duration": 1.1, "wall": 0.5, "error": None,
            "truncated": False, "cut": None, "events": [], **items}


# The events a cut keeps past its moment (docs/trace.md, `cut`).
KEPT_PAST_CUT = {"exception", "deadlock", "hint", "never_retrieved", "limit"}


def cut_trace(trace: Trace, at: float) -> Trace:
    """trace as the server cuts one at `at`: the tasks created, steps and
    waits begun and events noted after it left out and counted in
    ``cut.dropped``; output, errors, task ends and the status kept whole."""
    kept: dict[str, list[Any]] = {
        "tasks": [task for task in trace["tasks"] if task["created"] <= at],
        "slices": [item for item in trace["slices"] if item["start"] <= at],
        "waits": [item for item in trace["waits"] if item["start"] <= at],
        "events": [event for event in trace["events"] if event["t"] <= at or event["kind"] in KEPT_PAST_CUT],
    }
    dropped = {kind: len(trace[kind]) - len(items) for kind, items in kept.items() if len(trace[kind]) > len(items)}
    ids = {task["id"] for task in kept["tasks"]}
    kept["output"] = [{**line, "task": line["task"] if line["task"] in ids else None} for line in trace["output"]]
    return {**trace, **kept, "truncated": True, "cut": {"at": at, "dropped": dropped}}


def stopped_trace(trace: Trace, at: float, status: str = "timeout") -> Trace:
    """trace as if a limit had stopped the run at `at`: what began later is
    gone, the steps and waits still going are cut off there (``cut_off``),
    and the tasks that had not ended never did."""
    def cut_off(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**item, "end": at, "cut_off": True} if item["end"] > at else item
                for item in items if item["start"] < at]

    tasks = [{**task, "ended": None, "state": "pending"} if task["ended"] is None or task["ended"] > at else task
             for task in trace["tasks"] if task["created"] <= at]
    limit = {"t": at, "kind": "limit", "task": None, "line": None,
             "message": "The run took longer than the 10 s wall-clock limit and was stopped."}
    return {**trace, "status": status, "duration": at, "tasks": tasks, "slices": cut_off(trace["slices"]),
            "waits": cut_off(trace["waits"]), "output": [line for line in trace["output"] if line["t"] <= at],
            "events": [event for event in trace["events"] if event["t"] <= at] + [limit],
            "limits": [{"name": "wall_seconds", "value": 10}]}


def columnar(trace: Trace) -> Trace:
    """A v1 trace (a dict, as synthetic_trace makes) in the compact columnar
    form the server answers the page with (``Trace.to_columnar``). A field
    the server's model does not know yet (cut_off, say) becomes a column
    too, sparse where items leave it out."""
    data = {**trace, "format": COLUMNAR, "sparse": {table: list(names) for table, names in SPARSE_FIELDS.items()}}
    tables = {**TABLE_FIELDS, **({} if "jobs" in TABLE_FIELDS or "jobs" not in trace else {"jobs": ()})}
    for table, known in tables.items():
        items = trace.get(table, [])
        extra = list(dict.fromkeys(name for item in items for name in item if name not in known))
        sparse = set(SPARSE_FIELDS.get(table, ())) | {name for name in extra if any(name not in item for item in items)}
        columns = {name: [item.get(name) for item in items] for name in (*known, *extra)}
        for name in sparse:
            if all(value is None for value in columns[name]):
                del columns[name]
        data["sparse"][table] = sorted(sparse)
        data[table] = columns
    return data


# Playwright hands a page a large object ten times slower than its JSON
# text, and one long string much slower than the same text in parts.
PART_CHARS = 4 << 20


def hand_to_page(page: Page, name: str, value: Any) -> str:
    """Put value (a trace) in the page as window[name], sent as JSON text in
    parts and parsed there; returns the expression that reads it."""
    text = json.dumps(value)
    page.evaluate("(name) => { window[name] = []; }", name)
    for start in range(0, len(text), PART_CHARS):
        page.evaluate("([name, part]) => { window[name].push(part); }", [name, text[start:start + PART_CHARS]])
    page.evaluate("(name) => { window[name] = JSON.parse(window[name].join('')); }", name)
    return f"window[{json.dumps(name)}]"


def python_of(trace: Trace) -> tuple[int, int]:
    """The (major, minor) of the Python the trace's run was on (``trace["python"]``)."""
    major, minor = str(trace["python"]).split(".")[:2]
    return int(major), int(minor)
