"""The stream parser: the jail's untrusted bytes to the trace model.

``StreamParser`` takes the event stream as it arrives (JSON lines and binary
frames, see :mod:`playground.tracer.protocol`) and assembles a
:class:`playground.model.trace.Trace`: every message is parsed defensively,
checked against the contract, capped, and dropped when it does not fit.
"""

from __future__ import annotations

import json
import struct
from dataclasses import replace
from typing import Any, ClassVar, Literal

from playground.egress.broker import NetworkReport
from playground.model.answer import ITEM_BYTES, json_size
from playground.model.trace import (
    MAX_MESSAGE,
    MAX_NAME,
    MAX_TEXT,
    SERVER_EVENT_KINDS,
    Event,
    Invalid,
    Job,
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
    counted_records,
    cut_counts,
    described_error,
    ending_bytes,
    integer,
    nanoseconds,
    number,
    one_of,
    optional_integer,
    optional_text,
    seconds,
    told_ending,
    wait_label,
)
from playground.sandbox.children import ChildRecords
from playground.sandbox.connections import ConnectionRecords
from playground.sandbox.framing import Framer
from playground.sandbox.limits import STILL_RUNNING
from playground.sandbox.packed import PackedRecords
from playground.sandbox.stillopen import StartedJob, StillOpen
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


class StreamParser(PackedRecords):
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
        self.still_open = StillOpen(self._known_task)
        self.connections = ConnectionRecords(self.trace, self.caps)
        self.children = ChildRecords(self.trace, self.caps, self._tasks)
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
            elif kind == protocol.FRAME_WAITS:
                numbers, labels = counted_records(payload, protocol.WAIT_RECORD_BYTES)
                self._waits_packed(numbers, json.loads(labels))
            else:
                numbers, texts = counted_records(payload, protocol.TASK_RECORD_BYTES)
                names, coros = json.loads(texts)
                self._tasks_packed(numbers, names, coros)
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

    def _step(self, task: object, start: object, end: object, reason: object = None, line: object = None,
              yield_line: object = None) -> None:
        task_id = self._known_task(task)
        first, last = nanoseconds(start), nanoseconds(end)
        where, yielded = optional_integer(line), optional_integer(yield_line)
        if last < first or not (reason is None or isinstance(reason, str)):
            raise Invalid("not a step")
        self._tally(task_id, first, last, 0)
        self.still_open.steps_ended(last)
        if self.caps.room("slices"):
            text = optional_text(reason, MAX_MESSAGE)
            size = ITEM_BYTES["slice"] + json_size(text) + (0 if yielded is None else ITEM_BYTES["yield_line"])
            if self.caps.count(size, "slices"):
                self.trace.slices.append(Slice(task_id, seconds(first), seconds(last), reason is not None, text, where,
                                               yield_line=yielded))

    def _wait(self, task: object, start: object, end: object, on: object, line: object,
              chain: object = None, *how: object) -> None:
        task_id = self._known_task(task)
        if task_id is None:
            raise Invalid("a wait needs a task")
        first, last = nanoseconds(start), nanoseconds(end)
        where = optional_integer(line)
        if last < first or not (chain is None or isinstance(chain, list)) or len(how) not in (0, 4):
            raise Invalid("not a wait")
        what, names, size = wait_label([on, *(chain or ())])
        ending = told_ending(how, self._tasks)
        self._tally(task_id, first, last, 1)
        self.still_open.waits.pop(task_id, None)
        if self.caps.room("waits") and self.caps.count(size + ending_bytes(ending), "waits"):
            self.trace.waits.append(Wait(task_id, seconds(first), seconds(last), what, where, names, None, *ending))

    def _running_step(self, *fields: object) -> None:
        self.still_open.told_running(*fields)

    def _waiting(self, waits: object) -> None:
        self.still_open.told_waiting(waits)

    def _conn_start(self, *fields: object) -> None:
        self.connections.started(*fields)

    def _conn(self, *fields: object) -> None:
        self.connections.ended(*fields)

    def _job_start(self, *fields: object) -> None:
        self.still_open.job_started(*fields)

    def _job(self, job_id: object, end: object, error: object) -> None:
        started, last = self.still_open.job_ended(job_id, end)
        self._keep_job(started, seconds(last), optional_text(error, MAX_NAME), None)

    def _keep_job(self, started: StartedJob, end: float, error: str | None,
                  cut_off: bool | None) -> None:
        thread, fn, task_id, first, line = started
        size = ITEM_BYTES["job"] + json_size(thread) + json_size(fn) + json_size(error)
        if self.caps.room("jobs") and self.caps.count(size, "jobs"):
            self.trace.jobs.append(Job(thread, fn, task_id, seconds(first), end, line, error, cut_off))

    def close_open(self, at: float) -> None:
        """The run was stopped at ``at`` (seconds on its clock): what was still
        open then (the step holding the loop, the waits, the executor jobs)
        is kept up to that moment, marked cut off."""
        stop = round(at * 1e9)
        running, waits, jobs = self.still_open.at_stop(stop)
        if running is not None:
            task_id, first, line = running
            self._tally(task_id, first, stop, 0)
            size = ITEM_BYTES["slice"] + ITEM_BYTES["cut_off"] + json_size(STILL_RUNNING)
            if self.caps.room("slices") and self.caps.count(size, "slices"):
                self.trace.slices.append(Slice(task_id, seconds(first), at, True, STILL_RUNNING, line, True))
        for task_id, (first, what, line, names, size) in waits:
            self._tally(task_id, first, stop, 1)
            if self.caps.room("waits") and self.caps.count(size + ITEM_BYTES["cut_off"], "waits"):
                self.trace.waits.append(Wait(task_id, seconds(first), at, what, line, names, True))
        for started in jobs:
            self._keep_job(started, at, None, True)
        self.connections.close_open(stop)
        self.children.close(at)

    def network_counted(self, report: NetworkReport) -> None:
        self.connections.counted(report)

    def _tally(self, task_id: int | None, first: int, last: int, which: int) -> None:
        """Add to a task's figures: busy (0) or waiting (1) nanoseconds."""
        if task_id is None:
            return
        figures = self._figures.get(task_id)
        if figures is not None:
            figures[which] += last - first
            figures[2] += 1 - which

    def _output(self, t: object, task: object, stream: object, text: object) -> None:
        try:
            writer = self._known_task(task)
        except Dropped:
            writer = None  # a task the trace does not hold (its announcement was lost): the text is kept
        item = Output(number(t), writer, one_of(stream, ("stdout", "stderr")),  # type: ignore[arg-type]
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
        protocol.STEPS: PackedRecords._steps,
        protocol.TASKS: PackedRecords._tasks_packed,
        protocol.ENDS: PackedRecords._ends,
        protocol.WAIT: _wait,
        protocol.RUNNING: _running_step,
        protocol.WAITING: _waiting,
        protocol.JOB_START: _job_start,
        protocol.JOB: _job,
        protocol.CONN_START: _conn_start,
        protocol.CONN: _conn,
        protocol.CHILD_START: lambda parser, *fields: parser.children.started(*fields),
        protocol.CHILD: lambda parser, *fields: parser.children.ended(*fields),
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
        trace.connections.sort(key=lambda item: item.id)  # told as they end, shown as they opened
        self.connections.resolve_tasks(self._tasks)
        # A job's task is told from the job's thread, perhaps before the loop
        # announced it: looked up only now, when every task has been.
        trace.jobs = sorted((job if job.task is None or job.task in self._tasks else replace(job, task=None)
                             for job in trace.jobs), key=lambda job: job.start)  # told as they end
        self.children.close(None)
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
