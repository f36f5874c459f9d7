"""The run result: one typed JSON shape (trace contract version 1).

These types are what the sandbox's stream parser builds, URL mode fills and
the web layer answers with (``Trace.to_json``; the compact form is in
:mod:`playground.model.columnar`). They import only the standard library.
The fields a snippet must not forge (``status``, ``wall``, ``limits`` and the
``limit`` events) are set by the server, never by the jail.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from playground.model.answer import Items

VERSION = 1

Status = Literal[
    "ok", "error", "timeout", "cpu_limit", "memory_limit", "output_limit", "deadlock", "crashed", "stopped"
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
MAX_THREAD_NAME = 200
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
    # True: the step was still running when the run was stopped at a limit,
    # and ``end`` is that moment. Left out of the JSON when None, as are
    # ``line`` and ``yield_line``: most slices have none, and 200,000 of them
    # would add megabytes.
    cut_off: bool | None = None
    # The snippet line of the ``await asyncio.sleep(0)`` where the step gave
    # the loop back without waiting (the task stayed ready), when it did.
    yield_line: int | None = None

    def to_json(self) -> dict[str, Any]:
        fields = {"task": self.task, "start": self.start, "end": self.end, "blocking": self.blocking,
                  "reason": self.reason}
        if self.line is not None:
            fields["line"] = self.line
        if self.cut_off is not None:
            fields["cut_off"] = self.cut_off
        if self.yield_line is not None:
            fields["yield_line"] = self.yield_line
        return fields


@dataclass(frozen=True, slots=True)
class Wait:
    task: int
    start: float
    end: float
    on: str | None
    line: int | None
    chain: list[str] = field(default_factory=list)
    # True: still waiting when the run was stopped at a limit (``end`` is then).
    cut_off: bool | None = None
    # How it ended (docs/trace.md): when its timer was due; what woke the
    # task (protocol.WAKE_KINDS); the task behind that, and its snippet line.
    # Each left out of the JSON when None.
    due: float | None = None
    wake: str | None = None
    waker: int | None = None
    waker_line: int | None = None

    def to_json(self) -> dict[str, Any]:
        fields = {"task": self.task, "start": self.start, "end": self.end, "on": self.on, "line": self.line,
                  "chain": self.chain}
        for name in WAIT_SPARSE:
            value = getattr(self, name)
            if value is not None:
                fields[name] = value
        return fields


WAIT_SPARSE = ("cut_off", "due", "wake", "waker", "waker_line")


@dataclass(frozen=True, slots=True)
class Job:
    """A function an executor ran in a thread (``to_thread``, ``run_in_executor``,
    ``ThreadPoolExecutor.submit``): the thread's name, the function's, the
    task that submitted it and the snippet line, and the exception type it
    raised, if any."""

    thread: str
    fn: str
    task: int | None
    start: float
    end: float
    line: int | None
    error: str | None
    # True: still running when the run was stopped (``end`` is then).
    cut_off: bool | None = None

    def to_json(self) -> dict[str, Any]:
        fields = {"thread": self.thread, "fn": self.fn, "task": self.task, "start": self.start, "end": self.end,
                  "line": self.line, "error": self.error}
        if self.cut_off is not None:
            fields["cut_off"] = self.cut_off
        return fields


@dataclass(slots=True)
class Connection:
    """A TCP connection the snippet opened through the server: the task and
    snippet line that opened it, its host (the name it was looked up from,
    or its address) and port, its phases ``[{name, start, end}]`` (URL
    mode's names: dns, connect, tls, first_byte, body), the bytes the server
    moved each way, and the error that ended it, if any."""

    id: int
    task: int | None
    host: str
    port: int
    start: float
    end: float
    line: int | None
    phases: list[dict[str, Any]]
    error: str | None
    sent: int = 0
    received: int = 0
    # True: still open when the run was stopped (``end`` is then).
    cut_off: bool | None = None

    def to_json(self) -> dict[str, Any]:
        fields = {name: getattr(self, name) for name in _CONNECTION_FIELDS}
        if self.cut_off is None:
            del fields["cut_off"]
        return fields


_CONNECTION_FIELDS = tuple(Connection.__dataclass_fields__)


@dataclass(frozen=True, slots=True)
class Child:
    """A program the run started (``subprocess``, ``asyncio.create_subprocess_*``):
    its pid (in the run), its argv, the task that started it and the snippet
    line, when it started and when the run learned that it ended, and its
    exit code (negative: the signal that ended it). ``end`` and
    ``returncode`` are None when the run ended first (the playground ends the
    child with it)."""

    pid: int
    argv: list[str]
    task: int | None
    line: int | None
    start: float
    end: float | None
    returncode: int | None
    # True: still running when the run was stopped at a limit (``end`` is then).
    cut_off: bool | None = None

    def to_json(self) -> dict[str, Any]:
        fields = {"pid": self.pid, "argv": self.argv, "task": self.task, "line": self.line, "start": self.start,
                  "end": self.end, "returncode": self.returncode}
        if self.cut_off is not None:
            fields["cut_off"] = self.cut_off
        return fields


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
    jobs: list[Job] = field(default_factory=list)
    connections: list[Connection] = field(default_factory=list)
    children: list[Child] = field(default_factory=list)
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
    # The exact Python the code ran on (platform.python_version() in the
    # run); None for a trace no code made (URL mode's fetches).
    python: str | None = None
    version: int = VERSION

    def to_json(self) -> dict[str, Any]:
        # By hand rather than dataclasses.asdict, which deep-copies every
        # value: a 20,000-task trace is built many times faster this way.
        data = dict(vars(self))
        for name, as_json in ITEM_JSON.items():
            data[name] = [as_json(item) for item in data[name]]
        return data

    def to_answer(self) -> dict[str, Any]:
        """``to_json`` as the answer encodes it: each list of items made
        JSON objects a chunk at a time (see ``playground.model.answer.Items``)."""
        data = dict(vars(self))
        for name, as_json in ITEM_JSON.items():
            data[name] = Items(data[name], as_json)
        return data


def _fields(item: Any) -> dict[str, Any]:
    return dict(vars(item))


# Each list of a trace's items, and how one of its items is made JSON.
ITEM_JSON: dict[str, Callable[[Any], dict[str, Any]]] = {
    "tasks": TaskRecord.to_json, "slices": Slice.to_json, "waits": Wait.to_json, "jobs": Job.to_json,
    "connections": Connection.to_json, "children": Child.to_json,
    "output": _fields, "events": _fields,
}


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
