"""The run result: one typed JSON shape (trace contract version 1).

These types are what the sandbox's stream parser builds, URL mode fills and
the web layer answers with (``Trace.to_json``; the compact form is in
:mod:`playground.model.columnar`). They import only the standard library.
The fields a snippet must not forge (``status``, ``wall``, ``limits`` and the
``limit`` events) are set by the server, never by the jail.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

VERSION = 1

Status = Literal[
    "ok", "error", "timeout", "cpu_limit", "memory_limit", "output_limit", "deadlock", "crashed"
]
TaskState = Literal["done", "error", "cancelled", "pending"]

MAX_NAME = 200
MAX_TEXT = 4000
MAX_MESSAGE = 2000
MAX_TRACEBACK = 50
MAX_TIME = 1e9
MAX_TIME_NS = int(MAX_TIME * 1e9)
MAX_ID = 2**31 - 1
MAX_CHAIN = 12
URL_TASK_FIELDS = ("url", "http", "phases")
# Event kinds only the server writes: the jail's claims of them are dropped.
SERVER_EVENT_KINDS = ("limit", "sandbox")


@dataclass(slots=True)
class TaskRecord:
    id: int
    name: str
    coro: str
    parent: int | None
    line: int | None
    created: float
    ended: float | None = None
    state: TaskState = "pending"
    error: dict[str, Any] | None = None
    # URL mode only (left out of the JSON when None, so code traces stay small):
    # the URL, {status, bytes, content_type, error}, and [{name, start, end}].
    url: str | None = None
    http: dict[str, Any] | None = None
    phases: list[dict[str, Any]] | None = None
    # Per-task figures, as tokio-console shows them: seconds on the loop,
    # waiting on something, and scheduled (ready, but the loop was busy with
    # others), and the number of steps.
    busy: float = 0.0
    waiting: float = 0.0
    scheduled: float = 0.0
    steps: int = 0

    def to_json(self) -> dict[str, Any]:
        fields = {name: getattr(self, name) for name in _TASK_FIELDS}
        for key in URL_TASK_FIELDS:
            if fields[key] is None:
                del fields[key]
        return fields


_TASK_FIELDS = tuple(TaskRecord.__dataclass_fields__)


@dataclass(slots=True)
class Slice:
    task: int | None
    start: float
    end: float
    blocking: bool
    reason: str | None
    line: int | None = None  # of a blocking slice, when known

    def to_json(self) -> dict[str, Any]:
        fields = {"task": self.task, "start": self.start, "end": self.end, "blocking": self.blocking,
                  "reason": self.reason}
        if self.line is not None:  # most slices have none: 40,000 of them would add half a megabyte
            fields["line"] = self.line
        return fields


@dataclass(frozen=True)
class Wait:
    task: int
    start: float
    end: float
    on: str | None
    line: int | None
    chain: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Output:
    t: float
    task: int | None
    stream: Literal["stdout", "stderr"]
    text: str


@dataclass(frozen=True)
class Event:
    t: float
    kind: str
    task: int | None
    message: str
    line: int | None = None


@dataclass
class Trace:
    status: Status
    clock: Literal["virtual", "real"]
    duration: float = 0.0
    wall: float = 0.0
    tasks: list[TaskRecord] = field(default_factory=list)
    slices: list[Slice] = field(default_factory=list)
    waits: list[Wait] = field(default_factory=list)
    output: list[Output] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    error: dict[str, Any] | None = None
    truncated: bool = False
    # The limits the run hit, ``{name, value}``, set by the server only.
    limits: list[dict[str, Any]] = field(default_factory=list)
    # A truncated trace's cut: ``{at, dropped: {kind: count}}``, the moment
    # the trace stops holding everything and what it left out after it
    # (output, errors, task ends and the status are kept whole); else None.
    cut: dict[str, Any] | None = None
    version: int = VERSION

    def to_json(self) -> dict[str, Any]:
        # By hand rather than dataclasses.asdict, which deep-copies every
        # value: a 20,000-task trace is built many times faster this way.
        data = dict(vars(self))
        data["tasks"] = [task.to_json() for task in self.tasks]
        data["slices"] = [item.to_json() for item in self.slices]
        for items in ("waits", "output", "events"):
            data[items] = [dict(vars(item)) for item in data[items]]
        return data


class Invalid(ValueError):
    """A value from outside (the jail's stream) that does not fit the contract."""


def clean_text(value: object, limit: int) -> str:
    """A string from the jail, made safe to keep: valid Unicode, capped."""
    if not isinstance(value, str):
        raise Invalid("not a string")
    text = value[:limit]
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # Lone surrogates (from "\udc80" escapes) cannot be encoded: replace them.
        return text.encode("utf-8", "replace").decode("utf-8")
    return text
