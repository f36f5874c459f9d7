"""Small readers of a trace, for the tests."""

from __future__ import annotations

from typing import Any

Trace = dict[str, Any]


def task_named(trace: Trace, coro: str) -> list[dict[str, Any]]:
    return [task for task in trace["tasks"] if task["coro"] == coro]


def outputs(trace: Trace, text: str | None = None) -> list[dict[str, Any]]:
    return [line for line in trace["output"] if text is None or line["text"] == text]


def events(trace: Trace, kind: str) -> list[dict[str, Any]]:
    return [event for event in trace["events"] if event["kind"] == kind]
