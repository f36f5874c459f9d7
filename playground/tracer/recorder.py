"""What the tracer records: tasks, their steps on the loop, waits and output.

The loop (:mod:`playground.tracer.loop`) calls the ``task_created``,
``step_started`` and ``step_finished`` hooks; the output streams call
``write``. Each hook turns what happened into protocol messages. A hook that
fails disables recording, never the run.
"""

from __future__ import annotations

import asyncio
import sys
from types import FrameType
from typing import Any

from . import protocol
from .channel import FLUSH_COUNT, FLUSH_INTERVAL, Channel
from .clock import Clock

_SLEEP_CODE = asyncio.sleep.__code__
# Tasks asyncio.run creates for its own shutdown, not the snippet's work.
_INTERNAL_CODES = {
    asyncio.BaseEventLoop.shutdown_asyncgens.__code__,
    asyncio.BaseEventLoop.shutdown_default_executor.__code__,
}
_HIDDEN = 0
_GatheringFuture: type = getattr(asyncio.tasks, "_GatheringFuture", type(None))


def _number(value: object) -> str:
    return repr(value) if type(value) in (int, float) else "…"


def snippet_line(frame: FrameType | None) -> int | None:
    """The line of the innermost snippet frame at or above ``frame``."""
    while frame is not None:
        if frame.f_code.co_filename == protocol.SNIPPET_FILENAME:
            return frame.f_lineno
        frame = frame.f_back
    return None


def exception_line(exc: BaseException) -> int | None:
    """The snippet line where ``exc`` was raised (its last snippet frame)."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == protocol.SNIPPET_FILENAME:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def describe_wait(task: asyncio.Task[Any]) -> tuple[str | None, int | None]:
    """Name what a suspended task awaits, and the snippet line of the await."""
    line = None
    inner: Any = None  # the first library coroutine below the snippet's frames
    awaitable: Any = task.get_coro()
    while awaitable is not None:
        frame = getattr(awaitable, "cr_frame", None) or getattr(awaitable, "gi_frame", None)
        if frame is None:
            break
        if frame.f_code.co_filename == protocol.SNIPPET_FILENAME:
            line, inner = frame.f_lineno, None
        elif inner is None:
            inner = awaitable
        awaitable = getattr(awaitable, "cr_await", None) or getattr(awaitable, "gi_yieldfrom", None)
    waiter = getattr(task, "_fut_waiter", None)
    if inner is not None and inner.cr_frame.f_code is _SLEEP_CODE:
        return f"asyncio.sleep({_number(inner.cr_frame.f_locals.get('delay'))})", line
    if isinstance(waiter, asyncio.Task):
        return waiter.get_name(), line
    if isinstance(waiter, _GatheringFuture):
        count = len(getattr(waiter, "_children", ()))
        return f"gather({count} task{'s' if count != 1 else ''})", line
    if inner is not None:
        return f"{inner.__qualname__}()", line
    if waiter is not None:
        return type(waiter).__name__, line
    return None, line


class Recorder:
    def __init__(
        self,
        clock: Clock,
        channel: Channel,
        *,
        blocking_threshold: float,
        max_events: int,
    ) -> None:
        self.clock = clock
        self.channel = channel
        self.blocking_threshold = blocking_threshold
        self.max_events = max_events
        self.enabled = True
        self.truncated = False
        self.loops_started = 0
        self._events = 0
        # Our ids of the tasks not yet finished, by id(task). A finished task
        # leaves, so its address can be reused without confusion; keeping no
        # reference lets asyncio still warn about abandoned pending tasks.
        self._ids: dict[int, int] = {}
        self._next_id = 1
        self.current: int | None = None
        self._step_start = 0.0
        self._step_real_start = 0.0
        self._in_step = False
        self._sleep_reason: str | None = None
        self._sleep_line: int | None = None
        self._waits: dict[int, tuple[float, str | None, int | None]] = {}
        self._partial: dict[str, tuple[int | None, float, str]] = {}
        self._last_flush = 0.0
        self._buffer = channel.buffer

    # Sending, within the event cap.

    def _send(self, *message: Any) -> None:
        self._events += 1
        if self._events <= self.max_events:
            self._buffer.append(message)
            if len(self._buffer) >= FLUSH_COUNT:
                self.channel.flush()
        elif not self.truncated:
            self.truncated = True
            self._buffer.append((protocol.TRUNCATED,))

    def event(self, kind: str, message: str, task: int | None = None, line: int | None = None) -> None:
        self._send(protocol.EVENT, self.clock.now(), kind, task, message, line)

    def flush(self) -> None:
        self._last_flush = self.clock.real_elapsed()
        self.channel.flush()

    def disable(self, where: str, exc: BaseException) -> None:
        """A hook failed: stop recording, say so, and let the run go on."""
        if not self.enabled:
            return
        self.enabled = False
        self.event("warning", f"tracing stopped: {where} failed ({type(exc).__name__}: {exc})")
        self.flush()

    # Tasks.

    def task_id(self, task: asyncio.Task[Any]) -> int | None:
        """Our id for ``task``, or None for asyncio's own hidden tasks."""
        task_id = self._ids.get(id(task))
        if task_id is None:
            task_id = self.task_created(task)
        return task_id or None

    def task_created(self, task: asyncio.Task[Any]) -> int:
        coro = task.get_coro()
        if getattr(coro, "cr_code", None) in _INTERNAL_CODES:
            self._ids[id(task)] = _HIDDEN
            return _HIDDEN
        task_id = self._next_id
        self._next_id += 1
        self._ids[id(task)] = task_id
        coro_name = getattr(coro, "__qualname__", None) or type(coro).__name__
        creator = asyncio.current_task(task.get_loop())
        parent = None if creator is None else self._ids.get(id(creator)) or None
        line = snippet_line(sys._getframe(1))
        self._send(protocol.TASK, task_id, task.get_name(), coro_name, parent, line, self.clock.now())
        return task_id

    def _task_finished(self, task_id: int, task: asyncio.Task[Any], now: float) -> None:
        del self._ids[id(task)]
        if task.cancelled():
            self._send(protocol.TASK_END, task_id, now, "cancelled", None, None, None)
            self.event("cancelled", "was cancelled", task_id)
            return
        # Read the private field: Task.exception() would mark the error as
        # retrieved and hide asyncio's "exception was never retrieved".
        exc = getattr(task, "_exception", None)
        if exc is None:
            self._send(protocol.TASK_END, task_id, now, "done", None, None, None)
            return
        line = exception_line(exc)
        self._send(protocol.TASK_END, task_id, now, "error", type(exc).__name__, str(exc), line)
        self.event("exception", f"raised {type(exc).__name__}: {exc}", task_id, line)

    # Steps: each time a task (or a plain callback) runs on the loop.

    def step_started(self, task: asyncio.Task[Any] | None) -> None:
        now = self.clock.now()
        task_id = None if task is None else self.task_id(task)
        if task_id is not None:
            wait = self._waits.pop(task_id, None)
            if wait is not None:
                start, on, line = wait
                self._send(protocol.WAIT, task_id, start, now, on, line)
        self._flush_partial_lines()
        self.current = task_id
        self._step_start = now
        self._step_real_start = self.clock.real_elapsed()
        self._sleep_reason = None
        self._sleep_line = None
        self._in_step = True
        if self._step_real_start - self._last_flush > FLUSH_INTERVAL:
            self.flush()

    def step_finished(self, task: asyncio.Task[Any] | None) -> None:
        now = self.clock.now()
        task_id = self.current
        self.current = None
        self._in_step = False
        self._flush_partial_lines()
        duration = now - self._step_start
        blocking = duration >= self.blocking_threshold
        reason = None
        if blocking:
            real = self.clock.real_elapsed() - self._step_real_start
            reason = self._sleep_reason or f"CPU-bound for {real * 1000:.0f} ms"
            self.event("blocking", f"{reason} held the loop for {duration:.3f} s", task_id, self._sleep_line)
        if task_id is not None or blocking:
            self._send(protocol.SLICE, task_id, self._step_start, now, blocking, reason)
        if task is None or task_id is None:
            return
        if task.done():
            self._task_finished(task_id, task, now)
        else:
            on, line = describe_wait(task)
            self._waits[task_id] = (now, on, line)

    def sleep_called(self, seconds: float) -> None:
        """``time.sleep`` was called: it holds the loop if inside a step."""
        if not self._in_step:
            return
        label = f"time.sleep({_number(seconds)})"
        self._sleep_reason = label if self._sleep_reason is None else "time.sleep() calls"
        self._sleep_line = snippet_line(sys._getframe(1))

    # Output, one message per line, attributed to the task that printed it.

    def write(self, stream: str, text: str) -> None:
        if not text:
            return
        now = self.clock.now()
        task_id = self.current
        partial = self._partial.pop(stream, None)
        if partial is not None and partial[0] != task_id:
            self._send(protocol.OUTPUT, partial[1], partial[0], stream, partial[2])
            partial = None
        started, buffered = (now, text) if partial is None else (partial[1], partial[2] + text)
        *lines, rest = buffered.split("\n")
        for line in lines:
            self._send(protocol.OUTPUT, started, task_id, stream, line)
            started = now
        if rest:
            self._partial[stream] = (task_id, started, rest)
        if not self._in_step and lines:
            # Outside the loop nothing else flushes soon, and a crash would
            # lose what was printed.
            self.flush()

    def _flush_partial_lines(self) -> None:
        while self._partial:
            stream, (task_id, started, text) = self._partial.popitem()
            self._send(protocol.OUTPUT, started, task_id, stream, text)

    # Loops and the end of the run.

    def loop_started(self) -> None:
        self.loops_started += 1
        self.event("loop_start", f"event loop {self.loops_started} started")

    def loop_closed(self) -> None:
        self.event("loop_end", f"event loop {self.loops_started} closed")

    def pending_tasks(self, loop: asyncio.AbstractEventLoop) -> list[tuple[int, str, str | None, int | None]]:
        """Tasks that are still waiting: id, name, what on, and the line."""
        found = []
        for task in asyncio.all_tasks(loop):
            task_id = self._ids.get(id(task))
            if task_id:
                on, line = describe_wait(task)
                found.append((task_id, task.get_name(), on, line))
        return sorted(found)

    def finish(self, status: str, error: dict[str, Any] | None = None) -> None:
        self._flush_partial_lines()
        if error is not None:
            self.channel.send(protocol.ERROR, error)
        self.channel.send(protocol.END, status, self.clock.now())
        self.channel.flush()
