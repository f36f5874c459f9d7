"""Why a parked task was woken, told as its wait ends (docs/trace.md's
``waits[].wake``): read on the rare path only, when the loop schedules a
parked task's wake-up, from the callback the loop is running then.

The callback is found on the stack: ``Handle._run`` (Python on every
version) is the frame that runs it, and its ``self`` the handle. A timer's
handle (``TimerHandle``) is a timer firing; a task's step (its callback bound
to the task) woke it from the snippet line that step is at, or, if that task
is done, by ending; a done callback of a task (``gather``'s, a
``TaskGroup``'s, ``asyncio.wait``'s: its first argument the task that ended)
by that task's end; ``futures._chain_future``'s callback by an executor's
thread; asyncio's transports and sockets by I/O; its subprocess transports by
a child process. A wait whose future was cancelled was woken by that
cancellation, whoever asked for it.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from types import FrameType
from typing import Any

from .protocol import SNIPPET_FILENAME

_RUN_CALLBACK = asyncio.Handle._run.__code__
_TimerHandle = asyncio.TimerHandle
_Task = asyncio.Task
# The modules whose callbacks are the loop's I/O, or a child process's news.
_IO_MODULES = frozenset({"asyncio.selector_events", "asyncio.unix_events", "asyncio.sslproto",
                         "asyncio.streams", "asyncio.proactor_events", "playground.tracer.network",
                         "playground.tracer.sockets"})
_PROCESS_MODULES = frozenset({"asyncio.base_subprocess", "asyncio.subprocess"})
# Ended tasks' ids kept for their done callbacks, per generation (two are kept).
ENDED_KEPT = 4096
# The latest due time told (seconds): the trace's times end at MAX_TIME (model.trace).
_LATEST_DUE = 1e9

# (wake, waker's id or None, waker's snippet line or None)
Wake = tuple["str | None", "int | None", "int | None"]
_UNKNOWN: Wake = (None, None, None)


def _handle_running(frame: FrameType | None) -> tuple[Any, int | None]:
    """The handle whose callback the loop runs at ``frame`` (or None), and the
    innermost snippet line inside that callback."""
    line = None
    while frame is not None:
        code = frame.f_code
        if code is _RUN_CALLBACK:
            return frame.f_locals.get("self"), line
        if line is None and code.co_filename == SNIPPET_FILENAME:
            line = frame.f_lineno
        frame = frame.f_back
    return None, None


def woken_how(task: asyncio.Task[Any], frame: FrameType | None, id_of: Callable[[object], int | None]) -> Wake:
    """How ``task`` is being woken, from ``frame`` (the caller of the
    recorder's ``task_woken``): the wake, the task behind it (by ``id_of``),
    and the snippet line it was at."""
    handle, line = _handle_running(frame)
    if handle is None:
        return _UNKNOWN
    waiter = getattr(task, "_fut_waiter", None)
    cancelled = isinstance(waiter, asyncio.Future) and waiter.cancelled()
    callback = getattr(handle, "_callback", None)
    owner = getattr(callback, "__self__", None)
    if isinstance(owner, _Task):  # the step of a task
        return ("cancel" if cancelled else "done" if owner.done() else "task"), id_of(owner), line
    args = getattr(handle, "_args", None)
    ended = args[0] if isinstance(args, tuple) and args and isinstance(args[0], _Task) else None
    if ended is not None and ended.done():  # a done callback of the task that ended
        return ("cancel" if cancelled else "done"), id_of(ended), line
    if cancelled:
        return "cancel", None, line
    if type(handle) is _TimerHandle:
        return "timer", None, line
    module = getattr(callback, "__module__", None)
    qualname = getattr(callback, "__qualname__", None)
    if isinstance(qualname, str) and qualname.startswith("_chain_future."):
        return "thread", None, None
    if module in _IO_MODULES or (isinstance(qualname, str) and qualname.endswith(("_read_ready", "_write_ready"))):
        return "io", None, None
    if module in _PROCESS_MODULES:
        return "process", None, None
    return "callback", None, line


# The local that holds the timer of an asyncio frame a task waits in, by the
# frame's function: ``asyncio.sleep``'s, and 3.11's ``wait_for`` (3.12+ has
# an ``asyncio.timeout`` inside, whose deadline is read as any other's).
TIMER_LOCALS = {"sleep": "h", "wait_for": "timeout_handle"}


def timer_due(function: str, frame: FrameType) -> float | None:
    """When the timer of an asyncio frame a task waits in is due, if it has one."""
    local = TIMER_LOCALS.get(function)
    handle = frame.f_locals.get(local) if local is not None else None
    if not isinstance(handle, _TimerHandle) or handle.cancelled() or not getattr(handle, "_scheduled", True):
        return None  # none, or one that fired already (3.11's wait_for then waits for its cancelled task)
    return handle.when()


def due_ns(*dues: float | None) -> int | None:
    """The soonest of these due times (seconds on the run's clock, the
    loop's ``time()``), in nanoseconds; None if none is a time the trace can hold."""
    known = [due for due in dues if due is not None and math.isfinite(due) and 0 <= due <= _LATEST_DUE]
    return round(min(known) * 1e9) if known else None


class TaskIds:
    """A task's id from the task, whether it runs or ended lately: the
    recorder forgets a task's id as it ends (``core._ids``), and its done
    callbacks run after, so the hot path keeps the ids of tasks that ended in
    ``core.ended``, which a flush starts afresh once it is large (the one
    before kept for a generation)."""

    def __init__(self, core: Any) -> None:
        self.core = core
        self.before: dict[int, int] = {}

    def rotate(self) -> None:
        if len(self.core.ended) >= ENDED_KEPT:
            self.before, self.core.ended = self.core.ended, {}

    def id_of(self, task: object) -> int | None:
        """The id of a task running or lately ended (None: not the snippet's)."""
        key = id(task)
        core = self.core
        found = core._ids.get(key) or core.ended.get(key) or self.before.get(key)
        return abs(found) if found else None


def timeout_deadline(active: list[Any] | None) -> tuple[float | None, str]:
    """The soonest deadline of a task's active ``asyncio.timeout()`` blocks, and whose it is."""
    deadlines = [(when, getattr(block, "playground_source", None) or "asyncio.timeout")
                 for block in active or () if (when := block.when()) is not None]
    return min(deadlines) if deadlines else (None, "")
