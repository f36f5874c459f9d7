"""The stream parser: the jail's untrusted bytes to the trace model.

``StreamParser`` takes the event stream as it arrives (JSON lines and binary
frames, see :mod:`playground.tracer.protocol`) and assembles a
:class:`playground.model.trace.Trace`: every message is parsed defensively,
checked against the contract, capped, and dropped when it does not fit.
"""

from __future__ import annotations

import json
import struct
from typing import Any, ClassVar, Literal

from playground.model.answer import ITEM_BYTES, json_size
from playground.model.trace import (
    MAX_CHAIN,
    MAX_ID,
    MAX_MESSAGE,
    MAX_NAME,
    MAX_TEXT,
    MAX_TIME_NS,
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
from playground.sandbox.caps import TraceCaps
from playground.sandbox.checks import (
    Dropped,
    cut_counts,
    described_error,
    integer,
    nanoseconds,
    number,
    one_of,
    optional_integer,
    optional_text,
    seconds,
    unpack,
)
from playground.sandbox.framing import Framer
from playground.tracer import protocol

_TASKS_COUNT = struct.Struct(protocol.FRAME_TASKS_COUNT)
# A rejected line or frame counts one rejected message more for every this
# many bytes of it the server read in vain: at the default max_rejected of 8,
# a 64 KiB one (the cap) stops the run, and so does a line over the cap.
REJECTED_WEIGHT_BYTES = 8 * 1024
# Messages the server takes past the tracer's own cap (RunSettings.max_events),
# which the tracer sends beyond it: the truncated mark, an error, the end, a warning.
MESSAGE_SLACK = 64
# Room kept in the answer for what the runner adds after the stream (the
# limits, their events, the top-level fields).
ANSWER_RESERVE = 16 * 1024
_UNBOUNDED = 1 << 62


class StreamParser:
    """Builds a trace from the jail's untrusted event lines, within caps:
    on what the trace keeps (tasks, items, output, ``max_answer_bytes`` of
    answer as it grows) and on the work. Past ``max_messages`` every line and
    frame is rejected unread. Each message rejected for breaking the contract
    counts one, and a line or frame with anything rejected in it one more per
    ``REJECTED_WEIGHT_BYTES`` of it: at ``max_rejected`` the parser stops
    (``stopped``). What is ``Dropped`` does not count."""

    def __init__(self, clock: Literal["virtual", "real"], *, max_tasks: int, max_items: int,
                 max_output_bytes: int, max_line_bytes: int = protocol.MAX_LINE_BYTES,
                 max_frame_bytes: int = protocol.MAX_FRAME_BYTES, max_messages: int | None = None,
                 max_rejected: int | None = None, max_answer_bytes: int | None = None) -> None:
        self.trace = Trace(status="crashed", clock=clock)
        self.max_tasks = max_tasks
        self.max_items = max_items
        self.max_output_bytes = max_output_bytes
        self.max_line_bytes = max_line_bytes
        self.max_messages = _UNBOUNDED if max_messages is None else max_messages
        self.max_rejected = _UNBOUNDED if max_rejected is None else max_rejected
        self.claimed_status: str | None = None
        self.output_bytes = 0
        # Everything dropped, and (weighted) what broke the contract.
        self.rejected = 0
        self.violations = 0
        self.messages = 0
        self.caps = TraceCaps(self.trace, max_items, _UNBOUNDED if max_answer_bytes is None
                              else max_answer_bytes - ANSWER_RESERVE, self.latest_time)
        self._tasks: dict[int, TaskRecord] = {}
        # Per task: busy ns, waiting ns, steps. Counted from every message,
        # also past the item cap, so the figures stay whole when items are cut.
        self._figures: dict[int, list[int]] = {}
        self._framer = Framer(self.take_line, self._take_frame, self._rejected_whole,
                              max_line_bytes=max_line_bytes, max_frame_bytes=max_frame_bytes)

    @property
    def stopped(self) -> bool:
        """Whether it rejected ``max_rejected`` messages' worth, and takes nothing more."""
        return self._framer.closed

    def feed(self, data: bytes) -> None:
        """Take bytes as they arrive; complete lines and frames are parsed
        at once (see :class:`playground.sandbox.framing.Framer`)."""
        self._framer.feed(data)

    def _rejected_whole(self, size: int) -> None:
        """A line or frame rejected whole, of which ``size`` bytes were read."""
        self.rejected += 1
        self._violation(1 + size // REJECTED_WEIGHT_BYTES)

    def _violation(self, weight: int) -> None:
        self.violations += weight
        if self.violations >= self.max_rejected:
            self._framer.close()

    def _take_frame(self, kind: int, payload: bytes) -> None:
        if self.messages >= self.max_messages:
            self._rejected_whole(len(payload))
            return
        self.messages += 1
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
            self._rejected_whole(len(payload))

    def take_line(self, line: bytes | bytearray) -> None:
        """One line: a JSON array of messages, each ``[kind, *fields]``."""
        if self.messages >= self.max_messages or len(line) >= self.max_line_bytes:
            self._rejected_whole(len(line))
            return
        try:
            batch = json.loads(line)
        except (ValueError, RecursionError):
            batch = None
        if not isinstance(batch, list) or len(batch) > protocol.MAX_LINE_MESSAGES:
            self._rejected_whole(len(line))
            return
        self.messages += len(batch)
        bad, weight = 0, len(line) // REJECTED_WEIGHT_BYTES
        for message in batch:
            try:
                if not isinstance(message, list) or not message or not isinstance(message[0], str):
                    raise Invalid("not a message")
                handler = self._handlers.get(message[0])
                if handler is None:
                    raise Invalid("unknown kind")
                handler(self, *message[1:])
            except Dropped:
                self.rejected += 1
            except Exception:
                # Hostile input must not fail the request, whatever it trips
                # (ValueError, TypeError, OverflowError from a 400-digit time...).
                self.rejected += 1
                bad += 1
                if self.violations + bad + weight >= self.max_rejected:
                    break
        if bad:
            self._violation(bad + weight)

    def _known_task(self, value: object) -> int | None:
        task = optional_integer(value)
        if task is not None and task not in self._tasks:
            raise Dropped("unknown task")
        return task

    def _start(self, clock: object) -> None:
        one_of(clock, ("virtual", "real"))

    def _task(self, task_id: object, name: object, coro: object, parent: object,
              line: object, created: object) -> None:
        number_id = integer(task_id, low=1)
        parent_id, where, at = self._known_task(parent), optional_integer(line), number(created)
        if not isinstance(name, str) or not isinstance(coro, str):
            raise Invalid("a name that is not text")
        if number_id in self._tasks:
            raise Invalid("duplicate task")
        if len(self._tasks) >= self.max_tasks:
            self.caps.dropped("tasks")
            return
        if not self.caps.room("tasks"):
            return
        record = TaskRecord(number_id, clean_text(name, MAX_NAME), clean_text(coro, MAX_NAME), parent_id, where, at)
        if self.caps.count(ITEM_BYTES["task"] + json_size(record.name) + json_size(record.coro), "tasks"):
            self._tasks[record.id] = record
            self._figures[record.id] = [0, 0, 0]
            self.trace.tasks.append(record)

    def _task_end(self, task_id: object, ended: object, state: object, error_type: object,
                  error_message: object, line: object) -> None:
        ended_id = integer(task_id, low=1)
        at = number(ended)
        state = one_of(state, ("done", "error", "cancelled"))
        if state == "error":
            kind, message = clean_text(error_type, MAX_NAME), clean_text(error_message, MAX_MESSAGE)
            where = optional_integer(line)
        elif error_type is not None or error_message is not None or line is not None:
            raise Invalid("an error's fields on a task that did not fail")
        record = self._tasks.get(ended_id)
        if record is None:
            raise Dropped("unknown task")
        record.ended = at
        record.state = state  # type: ignore[assignment]
        if state == "error":
            if not self.caps.keep(json_size(kind) + json_size(message)):
                kind = message = ""  # the answer is full: the task still failed
            record.error = {"type": kind, "message": message, "line": where}

    def _step(self, task: object, start: object, end: object, reason: object = None, line: object = None) -> None:
        task_id = self._known_task(task)
        first, last = nanoseconds(start), nanoseconds(end)
        where = optional_integer(line)
        if last < first or not (reason is None or isinstance(reason, str)):
            raise Invalid("not a step")
        self._tally(task_id, first, last, 0)
        if self.caps.room("slices"):
            text = optional_text(reason, MAX_MESSAGE)
            if self.caps.count(ITEM_BYTES["slice"] + json_size(text), "slices"):
                self.trace.slices.append(Slice(task_id, seconds(first), seconds(last), reason is not None, text, where))

    def _tasks_packed(self, packed: object, names: object, coros: object) -> None:
        """Tasks announced, packed: (id, parent or -1, line or -1, created)."""
        numbers = unpack(packed, 4)
        self.messages += len(numbers) // 4 - 1
        if not isinstance(names, list) or not isinstance(coros, list):
            raise Invalid("no names")
        if not len(names) == len(coros) == len(numbers) // 4:
            raise Invalid("names do not match the tasks")
        # Many tasks share a coroutine: clean each name once.
        cleaned: dict[object, tuple[str, int]] = {}
        tasks, figures, items = self._tasks, self._figures, self.trace.tasks
        for task_id, parent, line, created, name, coro in zip(
            numbers[0::4], numbers[1::4], numbers[2::4], numbers[3::4], names, coros, strict=True
        ):
            if not isinstance(name, str) or not isinstance(coro, str):
                raise Invalid("a name that is not text")
            if (not 1 <= task_id <= MAX_ID or task_id in tasks or not 0 <= created <= MAX_TIME_NS
                    or (parent != -1 and parent not in tasks) or not -1 <= line <= MAX_ID):
                self.rejected += 1  # a task cut at the cap is no one's parent: not held against the run
                continue
            coro_name = cleaned.get(coro)
            if coro_name is None:
                text = clean_text(coro, MAX_NAME)
                coro_name = cleaned[coro] = (text, json_size(text))
            task_name = clean_text(name, MAX_NAME)
            if len(tasks) >= self.max_tasks:
                self.caps.dropped("tasks")
                continue
            if not self.caps.count(ITEM_BYTES["task"] + coro_name[1] + json_size(task_name), "tasks"):
                continue
            record = TaskRecord(task_id, task_name, coro_name[0], None if parent == -1 else parent,
                                None if line == -1 else line, round(created / 1000) / 1e6)
            tasks[task_id] = record
            figures[task_id] = [0, 0, 0]
            items.append(record)

    def _ends(self, packed: object) -> None:
        """Tasks that ended normally, packed: (id, ended)."""
        numbers = unpack(packed, 2)
        self.messages += len(numbers) // 2 - 1
        tasks = self._tasks
        for task_id, ended in zip(numbers[0::2], numbers[1::2], strict=True):
            record = tasks.get(task_id)
            if record is None or not 0 <= ended <= MAX_TIME_NS:
                self.rejected += 1
                continue
            record.ended = seconds(ended)
            record.state = "done"

    def _steps(self, packed: object) -> None:
        """Ordinary steps, packed: (task id, start, end)."""
        numbers = unpack(packed, 3)
        self.messages += len(numbers) // 3 - 1
        tasks, figures = self._tasks, self._figures
        slices = self.trace.slices
        (room, by_answer), dropped = self.caps.slices_room(), False
        start_room = room
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
                self.caps.dropped("slices")
                dropped = True
        self.caps.took_slices(start_room - room, dropped, by_answer)

    def _wait(self, task: object, start: object, end: object, on: object, line: object,
              chain: object = None) -> None:
        task_id = self._known_task(task)
        if task_id is None:
            raise Invalid("a wait needs a task")
        first, last = nanoseconds(start), nanoseconds(end)
        where = optional_integer(line)
        if last < first or not (on is None or isinstance(on, str)):
            raise Invalid("not a wait")
        if chain is not None and (not isinstance(chain, list) or len(chain) > MAX_CHAIN
                                  or not all(isinstance(name, str) for name in chain)):
            raise Invalid("not an await chain")
        self._tally(task_id, first, last, 1)
        if self.caps.room("waits"):
            what, names = optional_text(on, MAX_NAME), [clean_text(name, MAX_NAME) for name in chain or ()]
            size = ITEM_BYTES["wait"] + json_size(what) + sum(json_size(name) + 1 for name in names)
            if self.caps.count(size, "waits"):
                self.trace.waits.append(Wait(task_id, seconds(first), seconds(last), what, where, names))

    def _tally(self, task_id: int | None, first: int, last: int, which: int) -> None:
        """Add to a task's figures: busy (0) or waiting (1) nanoseconds."""
        if task_id is None:
            return
        figures = self._figures.get(task_id)
        if figures is not None:
            figures[which] += last - first
            figures[2] += 1 - which

    def _output(self, t: object, task: object, stream: object, text: object) -> None:
        item = Output(number(t), self._known_task(task), one_of(stream, ("stdout", "stderr")),  # type: ignore[arg-type]
                      clean_text(text, MAX_TEXT))
        self.output_bytes += len(item.text.encode()) + 1
        # Output is bounded by its own cap, never by the items': a cut trace
        # still holds everything the run printed.
        if self.output_bytes <= self.max_output_bytes and self.caps.keep(ITEM_BYTES["output"] + json_size(item.text)):
            self.trace.output.append(item)

    def raw_output(self, raw: bytes) -> None:
        """What the jail wrote to its real stdout/stderr, bypassing the
        tracer: stderr lines at the last moment the stream told of, within
        the answer (and outside the item cap)."""
        if not raw:
            return
        at = self.latest_time()
        for line in raw.decode("utf-8", "replace").splitlines():
            text = clean_text(line, MAX_TEXT)
            if not self.caps.keep(ITEM_BYTES["output"] + json_size(text)):
                return
            self.trace.output.append(Output(at, None, "stderr", text))

    def _event(self, t: object, kind: object, task: object, message: object, line: object) -> None:
        if kind in SERVER_EVENT_KINDS:
            raise Dropped("the server alone reports limits")
        at, task_id, where = number(t), self._known_task(task), optional_integer(line)
        if not isinstance(kind, str) or not isinstance(message, str):
            raise Invalid("not an event")
        # The kinds a reader needs whole pass the item cap (the tracer sends at
        # most MAX_KEPT_PAST_CUT of them past its own); the answer still bounds them.
        kept = kind in protocol.KEPT_EVENT_KINDS
        if kept or self.caps.room("events"):
            item = Event(at, clean_text(kind, 40), task_id, clean_text(message, MAX_MESSAGE), where)
            size = ITEM_BYTES["event"] + json_size(item.kind) + json_size(item.message)
            if self.caps.keep(size) if kept else self.caps.count(size, "events"):
                self.trace.events.append(item)

    def _error(self, error: object) -> None:
        described = described_error(error)
        size = ITEM_BYTES["error"] + json_size(described["type"]) + json_size(described["message"]) + sum(
            ITEM_BYTES["frame"] + json_size(frame["name"]) + json_size(frame["text"])
            for frame in described["traceback"])
        if not self.caps.keep(size):
            described["message"], described["traceback"] = "", []  # the answer is full: say only what failed
        self.trace.error = described

    def _truncated(self) -> None:
        self.trace.truncated = True

    def _cut(self, t: object, dropped: object) -> None:
        """The tracer's count of what it did not send past its cut."""
        self.caps.cut(number(t), cut_counts(dropped))

    def _end(self, status: object, duration: object) -> None:
        self.claimed_status = one_of(status, protocol.TRACER_STATUSES)
        self.trace.duration = number(duration)

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
        protocol.CUT: _cut,
        protocol.END: _end,
    }

    def finish(self) -> Trace:
        """The trace, once the stream has ended: steps in time order, and
        each task's figures (scheduled is the rest of its life)."""
        trace = self.trace
        trace.slices.sort(key=lambda item: item.start)
        self.caps.seal()
        for record in trace.tasks:
            busy, waiting, steps = self._figures[record.id]
            end = record.ended if record.ended is not None else max(trace.duration, record.created)
            record.busy = seconds(busy)
            record.waiting = seconds(waiting)
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
