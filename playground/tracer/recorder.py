"""What the tracer records: tasks, their steps on the loop, waits and output.

The loop (:mod:`playground.tracer.loop`) tells the recorder when each
callback is about to run (``next_step``), when a task is created, woken or
asked to cancel, and when the loop is about to wait (``end_step``); the
output streams call ``write``. The recorder turns this into protocol
messages: raw tuples of integers and short strings, timed in nanoseconds,
which the server assembles into the trace. A hook that fails disables
recording, never the run.

The hot path (``next_step``, ``task_created``, the ready queue) lives in
:mod:`playground.tracer.hotpath`, in Python and in C; ``Recorder`` adds the
rest, which runs rarely: blocking steps, waits, wake-ups, errors,
cancellation, output and flushing.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from . import protocol
from .channel import FLUSH_COUNT, Channel, DoneWait
from .clock import Clock
from .cut import PastCut
from .errors import MAX_MESSAGE
from .hotpath import FLUSH_INTERVAL_NS, Core
from .sleeps import StepSleeps
from .stillopen import TELL_OPEN_AFTER_NS, OpenNotes
from .waits import describe_canceller, describe_wait, exception_line, snippet_line, task_label
from .wakes import TaskIds, due_ns, timeout_deadline, woken_how

_STEP = protocol.STEP
_Task = asyncio.Task
_ANY_LINE = 0  # the samples' key that counts every CPU tick of a step

class Recorder(Core):
    def __init__(
        self,
        clock: Clock,
        channel: Channel,
        *,
        blocking_threshold: float,
        max_events: int,
    ) -> None:
        super().__init__(clock, int(blocking_threshold * 1e9))
        self.channel = channel
        self.max_events = max_events
        self.truncated = False
        self.past_cut = PastCut()
        self.loops_started = 0
        self._sent = 0
        # Tasks that ended with an exception, until asyncio says whether
        # anyone retrieved it: id(task) -> task id.
        self._errored: dict[int, int] = {}
        # Labels of futures from run_in_executor, by id(future).
        self.executor_labels: dict[int, str] = {}
        # Active asyncio.timeout() blocks, by id(task).
        self.timeouts: dict[int, list[Any]] = {}
        self._sleeps = StepSleeps()
        self._loop_thread = threading.get_ident()
        self._last_loop_end: int | None = None
        self._last_output = 0
        self._partial: dict[str, tuple[int | None, int, str]] = {}
        self.buffer = channel.buffer
        # Waits that ended since the last flush, sent packed (see Channel.waits).
        self.done_waits: list[DoneWait] = []
        self._dues: dict[int, int | None] = {}  # each open wait's timer due (ns), by id(task)
        self._task_ids = TaskIds(self)
        self.open_notes = OpenNotes()  # what is open, and what of it was told
        # Set while flushing: the CPU-time sampler may flush too, between
        # any two bytecodes, and must not flush in the middle of a flush.
        self._flushing = False

    # Sending, within the event cap.

    def _send(self, *message: Any) -> None:
        self.buffer.append(message)

    def event(self, kind: str, message: str, task: int | None = None, line: int | None = None) -> None:
        self.buffer.append((protocol.EVENT, self.clock.now_ns(), kind, task, message, line))

    def flush(self) -> None:
        if self._flushing:
            return
        self._flushing = True
        try:
            self._flush()
        except Exception as exc:
            # A value that cannot be packed (a clock the snippet pushed past
            # int64 nanoseconds): drop the batch but its output, and stop tracing, not the run.
            self.buffer[:] = [message for message in self.buffer if message[0] == protocol.OUTPUT]
            self.done_waits.clear()
            self.take_steps()
            self.take_ends()
            self.take_tasks()
            self.disable("flush", exc)
        finally:
            self._flushing = False

    def _flush(self) -> None:
        buffer = self.buffer
        self._last_flush = self.clock.real_elapsed_ns()  # flushes are paced in real time, not virtual
        self._task_ids.rotate()
        # The bulk of every trace, tasks announced, ordinary steps and normal
        # task ends, comes packed as int64 from the hot path: a fraction of
        # the cost of JSON. Tasks go first: the other messages name them.
        packed, names, coros = self.take_tasks()
        steps = self.take_steps()
        ends = self.take_ends()
        waits = self.done_waits.copy()
        self.done_waits.clear()  # in place, as Core.take_tasks (see why there)
        sent = (self._sent + len(buffer) + len(names) + len(steps) // protocol.STEP_RECORD_BYTES
                + len(ends) // protocol.END_RECORD_BYTES + len(waits))
        if sent <= self.max_events:
            # Within the cap, the common case: frames, with no base64.
            if packed:
                self.channel.tasks(packed, names, coros)
            if steps:
                self.channel.frame(protocol.FRAME_STEPS, steps, record=protocol.STEP_RECORD_BYTES)
            if ends:
                self.channel.frame(protocol.FRAME_ENDS, ends, record=protocol.END_RECORD_BYTES)
            if waits:
                self.channel.waits(waits)
            self._sent = sent
            self.channel.flush()
            return
        # Past the cap: the batch as messages (packed records in base64), so
        # that it is cut message by message, then the mark; later batches
        # keep only what a reader needs whole (see ``_keep_past_cut``).
        self._sent = sent
        if self.truncated:
            self.past_cut.dropped["waits"] += len(waits)
            self._keep_past_cut(names, steps, ends)
            return
        self.truncated = True
        self.past_cut.at = self.clock.now_ns()
        self.past_cut.cut_batch(buffer, (packed, names, coros), steps, ends, waits, sent - self.max_events)
        self.channel.flush()

    def _keep_past_cut(self, names: list[str], steps: bytes, ends: bytes) -> None:
        """A batch past the cut: what a reader needs whole goes, the rest is counted."""
        past = self.past_cut
        past.dropped["tasks"] += len(names)
        past.dropped["steps"] += len(steps) // protocol.STEP_RECORD_BYTES
        kept_ends = past.ends(ends)
        count = len(self.buffer)  # the sampler may add more meanwhile, for the next flush
        kept = [message for message in self.buffer[:count] if past.keeps(message)]
        self.buffer[:count] = kept
        if kept_ends:
            self.channel.frame(protocol.FRAME_ENDS, kept_ends, record=protocol.END_RECORD_BYTES)
        if kept or kept_ends:
            self.channel.flush()

    def hook(self, where: str, call: Callable[..., Any], *args: Any) -> Any:
        """Call one of the recorder's hooks for the loop: while recording is
        on, and disabling recording (never the run) if the hook fails."""
        if not self.enabled:
            return None
        try:
            return call(*args)
        except Exception as exc:
            self.disable(where, exc)
            return None

    def disable(self, where: str, exc: BaseException) -> None:
        """A hook failed: stop recording, say so, and let the run go on."""
        if not self.enabled:
            return
        self.enabled = False
        self.in_step = False
        self.event("warning", f"tracing stopped: {where} failed ({type(exc).__name__}: {exc})")
        if self._flushing:
            self.channel.flush()  # what failed was the flush itself
        else:
            self.flush()

    # Tasks.

    def _announce_all(self) -> None:
        for task_id, (task, *_) in list(self._unannounced.items()):
            self._announce(id(task), task_id)

    def _task_finished(self, task_id: int, task: asyncio.Task[Any], now: int) -> None:
        del self._ids[id(task)]
        self.ended[id(task)] = task_id
        request = self._cancel_requests.pop(task_id, None)
        if task.cancelled():
            self.buffer.append((protocol.TASK_END, task_id, now, "cancelled", None, None, None))
            who, line, _ = request or ("an unknown caller", None, False)
            self.buffer.append((protocol.EVENT, now, "cancelled", task_id, f"cancelled by {who}", line))
            return
        if request is not None and request[2] and task.cancelling():
            who, line, _ = request
            self.buffer.append((protocol.EVENT, now, "warning", task_id,
                                f"went on after {who} asked it to cancel: it caught CancelledError", line))
        # Read the private field: Task.exception() would mark the error as
        # retrieved and hide asyncio's "exception was never retrieved".
        exc = getattr(task, "_exception", None)
        if exc is None:
            self.buffer.append((protocol.TASK_END, task_id, now, "done", None, None, None))
            return
        line = exception_line(exc)
        self._errored[id(task)] = task_id
        message = str(exc)[:MAX_MESSAGE]  # the server keeps no more, and a line has room for it
        self.buffer.append((protocol.TASK_END, task_id, now, "error", type(exc).__name__, message, line))
        self.buffer.append((protocol.EVENT, now, "exception", task_id, f"raised {type(exc).__name__}: {message}",
                            line))

    def cancel_requested(self, task: asyncio.Task[Any], caller: FrameType | None) -> None:
        """Someone called ``task.cancel()``: remember who, for when it ends."""
        task_id = abs(self._ids.get(id(task)) or 0)
        if not task_id or task_id in self._cancel_requests:
            return
        known = None
        frame = caller
        while frame is not None and known is None:
            code = frame.f_code
            if code.co_filename != protocol.SNIPPET_FILENAME:
                known = describe_canceller(code.co_qualname, frame)
            frame = frame.f_back
        line = snippet_line(caller)
        if known is None:
            canceller = self._step_task
            who = task_label(canceller) if canceller is not None else "a callback"
            if line is not None:
                who += f" at line {line}"
            self._cancel_requests[task_id] = (who, line, True)
            return
        who, on_timeout = known
        self._cancel_requests[task_id] = (who, line, False)
        if on_timeout:
            wait = self.waits.get(id(task))
            wait_line = wait[3] if wait is not None else None
            source = who.split(",", 1)[0]
            self.event("timeout", f"{source} timed out: cancelling {task_label(task)}", task_id, wait_line)

    def cancel_withdrawn(self, task: asyncio.Task[Any]) -> None:
        """``task.uncancel()`` took back every request (as timeouts and TaskGroups do, once handled)."""
        self._cancel_requests.pop(abs(self._ids.get(id(task)) or 0), None)

    def task_woken(self, task: object) -> None:
        """A parked task was scheduled to run again: its wait ends now."""
        wait = self.waits.pop(id(task), None)
        if wait is not None and isinstance(task, _Task):
            task_id, since, on, line, chain = wait
            self.done_waits.append((task_id, since, self.clock.now_ns(), on, line, chain,
                                    self._dues.pop(id(task), None),
                                    *woken_how(task, sys._getframe(1), self._task_ids.id_of)))

    def exception_unhandled(self, context: dict[str, Any]) -> bool:
        """asyncio reports a problem nobody handled; True when told as an event."""
        message = str(context.get("message", ""))
        task = context.get("future") or context.get("task")
        now = self.clock.now_ns()
        if isinstance(task, _Task) and "exception was never retrieved" in message:
            exc = context.get("exception")
            task_id = self._errored.pop(id(task), None)
            text = f"{type(exc).__name__}: {str(exc)[:MAX_MESSAGE]}" if exc is not None else "an exception"
            self.buffer.append((protocol.EVENT, now, "never_retrieved", task_id,
                                f"{task_label(task)} raised {text}, and nothing awaited it to see the error",
                                None if exc is None else exception_line(exc)))
            return True
        if isinstance(task, _Task) and "was destroyed but it is pending" in message:
            task_id = abs(self._ids.pop(id(task), 0)) or None
            if task_id is not None and task_id in self._unannounced:
                self._announce(id(task), task_id)
            wait = self.waits.pop(id(task), None)
            line = wait[3] if wait is not None else None
            self.buffer.append((protocol.EVENT, now, "destroyed_pending", task_id,
                                f"{task_label(task)} was destroyed while still pending: keep a reference "
                                "to tasks you create, and await them", line))
            return True
        return False

    # Steps: each time a task (or a plain callback) runs on the loop.

    def end_step(self) -> None:
        """The loop is about to wait or stop: the running step, if any, ended."""
        if not self.in_step:
            return
        self.next_step(_NO_HANDLE)  # type: ignore[arg-type]

    def _wait_started(self, task_id: int, task: asyncio.Task[Any], now: int) -> None:
        on, line, chain, due = describe_wait(task, self.executor_labels)
        deadline, source = timeout_deadline(self.timeouts.get(id(task)))
        if deadline is not None and on is not None and not on.startswith("wait_for("):
            on += f" ({source} at {deadline:.3f} s)"
        self.waits[id(task)] = (task_id, now, on, line, chain)
        self._dues[id(task)] = due_ns(due, deadline)
        self.open_notes.wait_started(id(task), self.waits)

    def announce_open(self, line: int | None = None) -> None:
        """Tell the server what is open now, which a stop at a limit would
        otherwise lose (it then draws them up to the stop, cut off): the
        step holding the loop (once per step, with the snippet ``line`` it
        is running) and the waits begun since last told. Called where a
        stop is likely to find the run: a long step's CPU tick, a
        ``time.sleep`` inside a step, the loop about to wait in real time."""
        running = (self.current, self._step_start, line) if self.in_step else None
        self.buffer += self.open_notes.messages(running, self.waits)

    def _blocking_step(self, task_id: int | None, start: int, now: int) -> None:
        # Its own time: not what the virtual clock skipped, nor the machine's stalls.
        real_ms = (now - start - (self.clock.skipped_ns - self._step_skipped) - self.stalled_ns()) / 1e6
        samples = dict(self._samples)
        self._samples.clear()
        busy_ticks = samples.pop(_ANY_LINE, 0)
        reason, line = self._sleeps.take(start)
        if reason is None and busy_ticks == 0 and real_ms * 1e6 >= self.blocking_ns:
            # No CPU-time tick in all that time: the loop sat in a call that
            # waited (a blocking read, select, a lock), not in computation.
            reason = f"a blocking call for {real_ms:.0f} ms (waiting, not computing)"
        elif reason is None:
            reason = f"CPU-bound for {real_ms:.0f} ms"
        if line is None and samples:
            line = max(samples, key=samples.__getitem__)
        yielded = None if self.yield_line == -1 else self.yield_line
        self.buffer.append((_STEP, task_id, start, now, reason, line, yielded))
        self.buffer.append((protocol.EVENT, now, "blocking", task_id,
                            f"{reason} held the loop for {(now - start) / 1e9:.3f} s", line))

    def stepping_here(self) -> bool:
        """Whether the caller runs inside a step, in the loop's own thread."""
        return self.in_step and threading.get_ident() == self._loop_thread

    def sleep_called(self, seconds: float) -> None:
        """``time.sleep`` was called: it holds the loop if inside a step."""
        if not self.stepping_here():
            return
        line = snippet_line(sys._getframe(1))
        self._sleeps.called(self._step_start, seconds, line)
        if self.enabled and seconds * 1e9 >= TELL_OPEN_AFTER_NS:
            self.announce_open(line)
            self.flush()

    def sample(self, signum: int, frame: FrameType | None) -> None:
        """A CPU-time tick (SIGPROF): note which snippet line is running, and
        send what a long step printed so far, which a kill would lose."""
        if self.in_step:
            samples = self._samples
            samples[_ANY_LINE] = samples.get(_ANY_LINE, 0) + 1
            line = snippet_line(frame)
            if line is not None:
                samples[line] = samples.get(line, 0) + 1
            now = self.clock.now_ns()
            if self.enabled and now - self._step_start > TELL_OPEN_AFTER_NS:
                self.announce_open(line)
            if self.enabled and now - self.clock.skipped_ns - self._last_flush > FLUSH_INTERVAL_NS:
                self.flush()

    def stop_sampling(self) -> None:
        signal.setitimer(signal.ITIMER_PROF, 0, 0)

    def start_sampling(self) -> None:
        """Tick every half blocking threshold of CPU time, to find the lines
        that keep the loop busy; costs nothing while the run is idle."""
        interval = max(self.blocking_ns / 2e9, 0.005)
        signal.signal(signal.SIGPROF, self.sample)
        signal.setitimer(signal.ITIMER_PROF, interval, interval)

    # Output, one message per line, attributed to the task that printed it.

    def write(self, stream: str, text: str) -> None:
        if not text:
            return
        now = self._last_output = self.clock.now_ns()
        writer = self.current
        partial = self._partial.pop(stream, None)
        # A line another task (or the code outside the loop) left unfinished
        # goes on where it stopped, as in a terminal: one line, its first
        # writer's. A spinner's "\r" frames and the result after it are one.
        task_id, started, buffered = (writer, now, text) if partial is None else (
            partial[0], partial[1], partial[2] + text)
        *lines, rest = buffered.split("\n")
        for line in lines:
            self._send(protocol.OUTPUT, started, task_id, stream, line)
            task_id, started = writer, now
        if rest:
            self._partial[stream] = (task_id, started, rest)
        if (not self.in_step and lines) or len(self.buffer) >= FLUSH_COUNT:
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
        self.end_step()
        self.event("loop_end", f"event loop {self.loops_started} closed")
        self._last_loop_end = self.clock.now_ns()

    def pending_tasks(self, loop: asyncio.AbstractEventLoop) -> list[tuple[int, str, str | None, int | None]]:
        """Tasks that are still waiting: id, name, what on, and the line."""
        found = []
        self._announce_all()
        for task in asyncio.all_tasks(loop):
            task_id = self._ids.get(id(task))
            if task_id:
                on, line, *_ = describe_wait(task, self.executor_labels)
                found.append((task_id, task.get_name(), on, line))
        return sorted(found)

    def finish(self, status: str, error: dict[str, Any] | None = None) -> None:
        try:
            self.stop_sampling()
        except (OSError, ValueError):
            pass
        if self.enabled:
            self.end_step()
            self._announce_all()
        now = self.clock.now_ns()
        self.done_waits += [(task_id, since, now, on, line, chain, self._dues.get(key), None, None, None)
                            for key, (task_id, since, on, line, chain) in self.waits.items()]
        self.waits.clear()
        self._flush_partial_lines()
        self.flush()
        if self.truncated:
            self.channel.send(*self.past_cut.message())
        if error is not None:
            self.channel.send(protocol.ERROR, error)
        # The run's duration is its loop time, unless something happened after
        # the last loop closed (a print, a limit) or no loop closed at all.
        loop_end = self._last_loop_end
        duration = loop_end if status == "ok" and loop_end is not None and self._last_output <= loop_end else now
        self.channel.send(protocol.END, status, duration)
        self.channel.flush()


class _NoHandle:
    """Stands for "no callback": the loop is between steps."""

    _cancelled = True


_NO_HANDLE = _NoHandle()
