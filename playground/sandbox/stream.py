"""The stream parser: the jail's untrusted bytes to the trace model.

``StreamParser`` takes the event stream as it arrives (JSON lines and binary
frames, see :mod:`playground.tracer.protocol`) and assembles a
:class:`playground.model.trace.Trace`: every message is parsed defensively,
checked against the contract, capped, and dropped when it does not fit.
"""

from __future__ import annotations

import base64
import binascii
import json
import struct
from array import array
from typing import Any, ClassVar, Literal

from playground.model.trace import (
    MAX_CHAIN,
    MAX_ID,
    MAX_MESSAGE,
    MAX_NAME,
    MAX_TEXT,
    MAX_TIME_NS,
    MAX_TRACEBACK,
    SERVER_EVENT_KINDS,
    Event,
    Invalid,
    Output,
    Slice,
    TaskRecord,
    Trace,
    Wait,
    clean_text,
)
from playground.tracer import protocol


def _optional_text(value: object, limit: int) -> str | None:
    return None if value is None else clean_text(value, limit)


def _nanoseconds(value: object) -> int:
    """A time on the wire: integer nanoseconds since the run started."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TIME_NS:
        raise Invalid("not a time")
    return value


def _seconds(nanoseconds: int) -> float:
    # Microseconds are finer than anything the trace can show truthfully,
    # and the short form keeps large traces small. Rounded in whole
    # microseconds (a tie to the even one): twice as fast as round(x, 6).
    return round(nanoseconds / 1000) / 1e6


def _number(value: object) -> float:
    return _seconds(_nanoseconds(value))


def _integer(value: object, *, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= MAX_ID:
        raise Invalid("not an id")
    return value


def _optional_integer(value: object) -> int | None:
    return None if value is None else _integer(value)


def _boolean(value: object) -> bool:
    if not isinstance(value, bool):
        raise Invalid("not a boolean")
    return value


def _one_of(value: object, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise Invalid("unexpected value")
    return value  # type: ignore[return-value]


def _unpack(packed: object, width: int) -> array[int]:
    """Numbers packed by the tracer: native int64 (raw from a frame, or
    base64 in a message), ``width`` a record."""
    if isinstance(packed, bytes):
        raw = packed
    elif isinstance(packed, str):
        try:
            raw = base64.b64decode(packed, validate=True)
        except (binascii.Error, ValueError):
            raise Invalid("not base64") from None
    else:
        raise Invalid("not packed numbers")
    if len(raw) % (8 * width):
        raise Invalid("not whole records")
    numbers = array("q")
    numbers.frombytes(raw)
    return numbers


_FRAME_HEADER = struct.Struct(protocol.FRAME_HEADER)
_TASKS_COUNT = struct.Struct(protocol.FRAME_TASKS_COUNT)


class StreamParser:
    """Builds a trace from the jail's untrusted event lines, within caps."""

    def __init__(self, clock: Literal["virtual", "real"], *, max_tasks: int, max_items: int,
                 max_output_bytes: int, max_line_bytes: int = 32 * 1024 * 1024) -> None:
        self.trace = Trace(status="crashed", clock=clock)
        self.max_tasks = max_tasks
        self.max_items = max_items
        self.max_output_bytes = max_output_bytes
        self.max_line_bytes = max_line_bytes
        self.claimed_status: str | None = None
        self.output_bytes = 0
        self.rejected = 0
        self._items = 0
        self._tasks: dict[int, TaskRecord] = {}
        # Per task: busy ns, waiting ns, steps. Counted from every message,
        # also past the item cap, so the figures stay whole when items are cut.
        self._figures: dict[int, list[int]] = {}
        self._partial = bytearray()
        self._skipping = False

    def feed(self, data: bytes) -> None:
        """Take bytes as they arrive; complete lines and frames are parsed
        at once. A frame too long, or a line too long, is skipped up to the
        next newline: the stream is the snippet's to garble, for itself."""
        pending = self._partial
        pending += data
        at, size = 0, len(pending)
        while at < size:
            if self._skipping:
                end = pending.find(b"\n", at)
                if end < 0:
                    at = size
                    break
                at = end + 1
                self._skipping = False
                self.rejected += 1
            elif pending[at] == protocol.FRAME_MARK:
                if size - at < _FRAME_HEADER.size:
                    break
                _, kind, length = _FRAME_HEADER.unpack_from(pending, at)
                if length > self.max_line_bytes or kind not in protocol.FRAME_KINDS:
                    self._skipping = True
                    continue
                start = at + _FRAME_HEADER.size
                if size - start < length:
                    break
                at = start + length
                self._take_frame(kind, bytes(pending[start:at]))
            else:
                end = pending.find(b"\n", at)
                if end < 0:
                    if size - at > self.max_line_bytes:
                        at, self._skipping = size, True
                    break
                if end > at:
                    self.take_line(pending[at:end])
                at = end + 1
        del pending[:at]

    def _take_frame(self, kind: int, payload: bytes) -> None:
        try:
            if kind == protocol.FRAME_STEPS:
                self._steps(payload)
            elif kind == protocol.FRAME_ENDS:
                self._ends(payload)
            else:
                (count,) = _TASKS_COUNT.unpack_from(payload)
                numbers_end = _TASKS_COUNT.size + 32 * count
                if numbers_end > len(payload):
                    raise Invalid("fewer numbers than tasks")
                names, coros = json.loads(payload[numbers_end:])
                self._tasks_packed(payload[_TASKS_COUNT.size:numbers_end], names, coros)
        except Exception:
            self.rejected += 1

    def take_line(self, line: bytes | bytearray) -> None:
        """One line: a JSON array of messages, each ``[kind, *fields]``."""
        if len(line) > self.max_line_bytes:
            self.rejected += 1
            return
        try:
            batch = json.loads(line)
        except (ValueError, RecursionError):
            self.rejected += 1
            return
        if not isinstance(batch, list):
            self.rejected += 1
            return
        for message in batch:
            try:
                if not isinstance(message, list) or not message or not isinstance(message[0], str):
                    raise Invalid("not a message")
                handler = self._handlers.get(message[0])
                if handler is None:
                    raise Invalid("unknown kind")
                handler(self, *message[1:])
            except Exception:
                # Hostile input must not fail the request, whatever it trips
                # (ValueError, TypeError, OverflowError from a 400-digit time...).
                self.rejected += 1

    def _count(self) -> bool:
        """Count one more recorded item; False once the cap is reached."""
        if self._items >= self.max_items:
            self.trace.truncated = True
            return False
        self._items += 1
        return True

    def _known_task(self, value: object) -> int | None:
        task = _optional_integer(value)
        if task is not None and task not in self._tasks:
            raise Invalid("unknown task")
        return task

    def _start(self, clock: object) -> None:
        _one_of(clock, ("virtual", "real"))

    def _task(self, task_id: object, name: object, coro: object, parent: object,
              line: object, created: object) -> None:
        record = TaskRecord(
            id=_integer(task_id, low=1),
            name=clean_text(name, MAX_NAME),
            coro=clean_text(coro, MAX_NAME),
            parent=self._known_task(parent),
            line=_optional_integer(line),
            created=_number(created),
        )
        if record.id in self._tasks:
            raise Invalid("duplicate task")
        if len(self._tasks) >= self.max_tasks or not self._count():
            self.trace.truncated = True
            return
        self._tasks[record.id] = record
        self._figures[record.id] = [0, 0, 0]
        self.trace.tasks.append(record)

    def _task_end(self, task_id: object, ended: object, state: object, error_type: object,
                  error_message: object, line: object) -> None:
        record = self._tasks.get(_integer(task_id, low=1))
        if record is None:
            raise Invalid("unknown task")
        record.ended = _number(ended)
        record.state = _one_of(state, ("done", "error", "cancelled"))  # type: ignore[assignment]
        if record.state == "error":
            record.error = {
                "type": clean_text(error_type, MAX_NAME),
                "message": clean_text(error_message, MAX_MESSAGE),
                "line": _optional_integer(line),
            }

    def _step(self, task: object, start: object, end: object, reason: object = None, line: object = None) -> None:
        task_id = self._known_task(task)
        first, last = _nanoseconds(start), _nanoseconds(end)
        if last < first:
            raise Invalid("a step ends before it starts")
        self._tally(task_id, first, last, 0)
        item = Slice(task_id, _seconds(first), _seconds(last), reason is not None,
                     _optional_text(reason, MAX_MESSAGE), _optional_integer(line))
        if self._count():
            self.trace.slices.append(item)

    def _tasks_packed(self, packed: object, names: object, coros: object) -> None:
        """Tasks announced, packed: (id, parent or -1, line or -1, created)."""
        numbers = _unpack(packed, 4)
        if not isinstance(names, list) or not isinstance(coros, list):
            raise Invalid("no names")
        if not len(names) == len(coros) == len(numbers) // 4:
            raise Invalid("names do not match the tasks")
        # Many tasks share a coroutine: clean each name once.
        cleaned: dict[object, str] = {}
        tasks, figures, items = self._tasks, self._figures, self.trace.tasks
        for task_id, parent, line, created, name, coro in zip(
            numbers[0::4], numbers[1::4], numbers[2::4], numbers[3::4], names, coros, strict=True
        ):
            if (not 1 <= task_id <= MAX_ID or task_id in tasks or not 0 <= created <= MAX_TIME_NS
                    or (parent != -1 and parent not in tasks) or not -1 <= line <= MAX_ID):
                self.rejected += 1
                continue
            try:
                coro_name = cleaned.get(coro) if isinstance(coro, str) else None
                if coro_name is None:
                    coro_name = cleaned[coro] = clean_text(coro, MAX_NAME)
                record = TaskRecord(task_id, clean_text(name, MAX_NAME), coro_name, None if parent == -1 else parent,
                                    None if line == -1 else line, round(created / 1000) / 1e6)
            except (ValueError, TypeError):
                self.rejected += 1
                continue
            if len(tasks) >= self.max_tasks or not self._count():
                self.trace.truncated = True
                continue
            tasks[task_id] = record
            figures[task_id] = [0, 0, 0]
            items.append(record)

    def _ends(self, packed: object) -> None:
        """Tasks that ended normally, packed: (id, ended)."""
        numbers = _unpack(packed, 2)
        tasks = self._tasks
        for task_id, ended in zip(numbers[0::2], numbers[1::2], strict=True):
            record = tasks.get(task_id)
            if record is None or not 0 <= ended <= MAX_TIME_NS:
                self.rejected += 1
                continue
            record.ended = _seconds(ended)
            record.state = "done"

    def _steps(self, packed: object) -> None:
        """Ordinary steps, packed: (task id, start, end)."""
        numbers = _unpack(packed, 3)
        tasks, figures = self._tasks, self._figures
        slices = self.trace.slices
        room = self.max_items - self._items
        for task_id, first, last in zip(numbers[0::3], numbers[1::3], numbers[2::3], strict=True):
            if task_id not in tasks or not 0 <= first <= last <= MAX_TIME_NS:
                self.rejected += 1
                continue
            counts = figures[task_id]
            counts[0] += last - first
            counts[2] += 1
            if room > 0:
                room -= 1
                slices.append(Slice(task_id, round(first / 1000) / 1e6, round(last / 1000) / 1e6, False, None))
            else:
                self.trace.truncated = True
        self._items = self.max_items - room

    def _wait(self, task: object, start: object, end: object, on: object, line: object,
              chain: object = None) -> None:
        task_id = self._known_task(task)
        if task_id is None:
            raise Invalid("a wait needs a task")
        first, last = _nanoseconds(start), _nanoseconds(end)
        if last < first:
            raise Invalid("a wait ends before it starts")
        names = chain if isinstance(chain, list) else []
        item = Wait(task_id, _seconds(first), _seconds(last), _optional_text(on, MAX_NAME), _optional_integer(line),
                    [clean_text(name, MAX_NAME) for name in names[:MAX_CHAIN]])
        self._tally(task_id, first, last, 1)
        if self._count():
            self.trace.waits.append(item)

    def _tally(self, task_id: int | None, first: int, last: int, which: int) -> None:
        """Add to a task's figures: busy (0) or waiting (1) nanoseconds."""
        if task_id is None:
            return
        figures = self._figures.get(task_id)
        if figures is not None:
            figures[which] += last - first
            figures[2] += 1 - which

    def _output(self, t: object, task: object, stream: object, text: object) -> None:
        item = Output(_number(t), self._known_task(task), _one_of(stream, ("stdout", "stderr")),  # type: ignore[arg-type]
                      clean_text(text, MAX_TEXT))
        self.output_bytes += len(item.text.encode()) + 1
        if self.output_bytes <= self.max_output_bytes and self._count():
            self.trace.output.append(item)

    def _event(self, t: object, kind: object, task: object, message: object, line: object) -> None:
        if kind in SERVER_EVENT_KINDS:
            raise Invalid("the server alone reports limits")
        item = Event(_number(t), clean_text(kind, 40), self._known_task(task),
                     clean_text(message, MAX_MESSAGE), _optional_integer(line))
        if self._count():
            self.trace.events.append(item)

    def _error(self, error: object) -> None:
        if not isinstance(error, dict):
            raise Invalid("not an error")
        frames = error.get("traceback")
        if not isinstance(frames, list):
            raise Invalid("no traceback")
        self.trace.error = {
            "type": clean_text(error.get("type"), MAX_NAME),
            "message": clean_text(error.get("message"), MAX_MESSAGE),
            "line": _optional_integer(error.get("line")),
            "traceback": [
                {
                    "line": _optional_integer(frame.get("line")),
                    "name": clean_text(frame.get("name"), MAX_NAME),
                    "text": clean_text(frame.get("text"), MAX_TEXT),
                }
                for frame in frames[-MAX_TRACEBACK:]
                if isinstance(frame, dict)
            ],
        }

    def _truncated(self) -> None:
        self.trace.truncated = True

    def _end(self, status: object, duration: object) -> None:
        self.claimed_status = _one_of(status, protocol.TRACER_STATUSES)
        self.trace.duration = _number(duration)

    _handlers: ClassVar[dict[str, Any]] = {
        protocol.START: _start,
        protocol.TASK: _task,
        protocol.TASK_END: _task_end,
        protocol.STEP: _step,
        protocol.STEPS: _steps,
        protocol.TASKS: _tasks_packed,
        protocol.ENDS: _ends,
        protocol.WAIT: _wait,
        protocol.OUTPUT: _output,
        protocol.EVENT: _event,
        protocol.ERROR: _error,
        protocol.TRUNCATED: _truncated,
        protocol.END: _end,
    }

    def finish(self) -> Trace:
        """The trace, once the stream has ended: steps in time order, and
        each task's figures (scheduled is the rest of its life)."""
        trace = self.trace
        trace.slices.sort(key=lambda item: item.start)
        for record in trace.tasks:
            busy, waiting, steps = self._figures[record.id]
            end = record.ended if record.ended is not None else max(trace.duration, record.created)
            record.busy = _seconds(busy)
            record.waiting = _seconds(waiting)
            record.steps = steps
            record.scheduled = max(0.0, round(end - record.created - record.busy - record.waiting, 6))
        return trace

    def latest_time(self) -> float:
        """The last moment the stream told of, for a run cut short."""
        times = [0.0, self.trace.duration]
        for items in (self.trace.slices, self.trace.waits):
            if items:
                times.append(items[-1].end)
        for points in (self.trace.output, self.trace.events):
            if points:
                times.append(points[-1].t)
        return max(times)
