"""The tracer's hot path: what runs at every step of the loop and for every task.

``Core`` holds the recorder's step state and the code that runs at each step
boundary (``next_step``), at each task's creation (``task_created``) and
first step (``_announce``); ``ReadyQueue`` is the loop's ready queue, whose
``popleft`` marks a step boundary and whose ``append`` ends the wait of a
parked task being woken. ``Core`` is the ``HotPath`` of
:mod:`playground.tracer.hooks`; ``Recorder`` (recorder.py) subclasses it and
supplies the ``RarePaths`` it calls back.

``_speedups.c`` is the same code in C, which makes a traced loop of short
steps several times cheaper. It is used when it was built (scripts/setup,
``python3 -m playground.sandbox.speedups``) for this interpreter, its clock agrees
with ``time.perf_counter_ns``, and ``PLAYGROUND_TRACER_SPEEDUPS`` is not
``0``; otherwise the Python classes here are. Both record the same trace.
"""

from __future__ import annotations

import asyncio
import collections
import os
import time
from array import array
from types import FrameType, ModuleType
from typing import TYPE_CHECKING, Any

from .channel import FLUSH_INTERVAL
from .clock import Clock, real_perf_counter_ns
from .protocol import SNIPPET_FILENAME, SPEEDUPS_ENV
from .stalls import NO_SAMPLE, SAMPLE_INTERVAL_NS, thread_times, waited
from .waits import snippet_line

FLUSH_INTERVAL_NS = int(FLUSH_INTERVAL * 1e9)
# The two clocks must agree closely: the C path and the Python path both
# timestamp the same trace.
_CLOCK_AGREEMENT_NS = 1_000_000

# Tasks asyncio.run creates for its own shutdown, not the snippet's work.
HIDDEN_CODES = (
    asyncio.BaseEventLoop.shutdown_asyncgens.__code__,
    asyncio.BaseEventLoop.shutdown_default_executor.__code__,
)
_HIDDEN = 0
_Task = asyncio.Task
_Handle = asyncio.Handle
_popleft = collections.deque.popleft
_append = collections.deque.append


class PyCore:
    """The recorder's step state and hot path, in Python."""

    def __init__(self, clock: Clock, blocking_ns: int) -> None:
        self.clock = clock
        self.blocking_ns = blocking_ns
        # The loop thread's times when a step started lately (stalls.py):
        # real time, CPU time, voluntary context switches.
        self._stall_sample = (-SAMPLE_INTERVAL_NS, 0, NO_SAMPLE)
        self.enabled = True
        # The step running now, if any.
        self.in_step = False
        self.current: int | None = None
        self._step_task: asyncio.Task[Any] | None = None
        self._step_start = 0
        self._step_skipped = 0
        # The snippet line where the running step gives the loop back without
        # waiting (``asyncio.sleep(0)``; set by loop.trace_yields),
        # or -1: kept with the step's record.
        self.yield_line = -1
        self._last_flush = 0
        self._next_id = 1
        # Our ids of the tasks not yet finished, by id(task). A finished task
        # leaves, so its address can be reused without confusion; keeping no
        # reference lets asyncio still warn about abandoned pending tasks.
        # Negative until the task is announced, 0 for asyncio's own tasks.
        self._ids: dict[int, int] = {}
        # Tasks parked on a future: id(task) -> (task id, since, on, line, chain).
        self.waits: dict[int, tuple[int, int, str | None, int | None, tuple[str, ...]]] = {}
        # CPU-time ticks of the running step, by snippet line.
        self._samples: dict[int, int] = {}
        # Tasks created but not yet run, with what their record needs.
        self._unannounced: dict[int, tuple[asyncio.Task[Any], str, int | None, int | None, int]] = {}
        # Tasks announced since the last flush:
        # (task id, parent or -1, line or -1, created, name, coroutine).
        self._new_tasks: list[tuple[int, int, int, int, str, str]] = []
        # Who asked a task to cancel, where, and whether the snippet itself
        # asked: task id -> (who, line, explicit).
        self._cancel_requests: dict[int, tuple[str, int | None, bool]] = {}
        # The ids of tasks that ended lately, by id(task), for the done
        # callbacks that run after an end (wakes.py; the recorder rotates it).
        self.ended: dict[int, int] = {}
        # Ordinary steps as (task id, start, end, yield line or -1), tasks that ended normally
        # as (task id, ended): packed as int64 at each flush.
        self._steps: list[int] = []
        self._ends: list[int] = []

    # The Recorder's rare paths, which the hot path calls.

    def _blocking_step(self, task_id: int | None, start: int, now: int) -> None:
        raise NotImplementedError

    def _task_finished(self, task_id: int, task: asyncio.Task[Any], now: int) -> None:
        raise NotImplementedError

    def _wait_started(self, task_id: int, task: asyncio.Task[Any], now: int) -> None:
        raise NotImplementedError

    def task_woken(self, task: object) -> None:
        raise NotImplementedError

    def flush(self) -> None:
        raise NotImplementedError

    def disable(self, where: str, exc: BaseException) -> None:
        raise NotImplementedError

    # The hot path.

    def stalled_ns(self) -> int:
        """How long the loop's thread has waited for a CPU since the sample
        taken at the running step's start or less than ``SAMPLE_INTERVAL_NS`` before it."""
        return waited(self.clock.real_elapsed_ns(), self._stall_sample)

    def take_steps(self) -> bytes:
        """The ordinary steps so far, packed as native int64, and forget them."""
        packed = array("q", self._steps).tobytes()
        self._steps.clear()
        return packed

    def take_ends(self) -> bytes:
        """The normal task ends so far, packed as native int64, and forget them."""
        packed = array("q", self._ends).tobytes()
        self._ends.clear()
        return packed

    def take_tasks(self) -> tuple[bytes, list[str], list[str]]:
        """The tasks announced so far, and forget them: their records packed
        as native int64 (id, parent or -1, line or -1, created), their
        names, their coroutines."""
        # Emptied in place, never swapped for a new list: this may be the
        # sampler's flush, come while _announce (or task_woken, for the
        # recorder's ended waits) computes a record to append to the list
        # it looked up already.
        new = self._new_tasks.copy()
        self._new_tasks.clear()
        packed = array("q", [number for task in new for number in task[:4]]).tobytes()
        return packed, [task[4] for task in new], [task[5] for task in new]

    def task_created(self, task: asyncio.Task[Any], caller: FrameType | None = None) -> int:
        """Give a new task its id. It is announced at its first step, because
        ``asyncio.create_task(name=...)`` names a task after creating it."""
        coro = task.get_coro()
        key = id(task)
        if self.waits:
            self.waits.pop(key, None)  # a task that vanished while parked had this address
        code = getattr(coro, "cr_code", None)
        if code is HIDDEN_CODES[0] or code is HIDDEN_CODES[1]:
            self._ids[key] = _HIDDEN
            return _HIDDEN
        task_id = self._next_id
        self._next_id += 1
        self._ids[key] = -task_id
        coro_name = getattr(coro, "__qualname__", None) or type(coro).__name__
        creator = self._step_task
        parent = None if creator is None else self._ids.get(id(creator)) or None
        line = snippet_line(caller)
        clock = self.clock
        created = real_perf_counter_ns() - clock.origin_ns + clock.skipped_ns
        self._unannounced[task_id] = (task, coro_name, parent, line, created)
        return -task_id

    def _announce(self, key: int, task_id: int) -> int:
        task, coro_name, parent, line, created = self._unannounced.pop(task_id)
        self._ids[key] = task_id
        # One append: the sampler's flush may come between any two bytecodes.
        self._new_tasks.append((task_id, -1 if parent is None else parent, -1 if line is None else line, created,
                                task.get_name(), coro_name))
        return task_id

    def _finished(self, task_id: int, task: asyncio.Task[Any], now: int) -> None:
        if (
            (self._cancel_requests and task_id in self._cancel_requests)
            or task.cancelled()
            or getattr(task, "_exception", None) is not None
        ):
            self._task_finished(task_id, task, now)
            return
        key = id(task)
        self.ended[key] = task_id
        del self._ids[key]
        self._ends.extend((task_id, now))

    def next_step(self, handle: asyncio.Handle) -> None:
        """The loop is about to run ``handle``; the step before it ended now."""
        clock = self.clock
        skipped = clock.skipped_ns
        now = real_perf_counter_ns() - clock.origin_ns + skipped
        if self.in_step:
            start = self._step_start
            task_id = self.current
            task = self._step_task
            held = now - start
            if held >= self.blocking_ns and held - self.stalled_ns() >= self.blocking_ns:
                self._blocking_step(task_id, start, now)
            elif task_id is not None:
                self._steps.extend((task_id, start, now, self.yield_line))
            if task is not None:
                if task.done():
                    self._finished(task_id, task, now)  # type: ignore[arg-type]
                elif getattr(task, "_fut_waiter", None) is not None:
                    self._wait_started(task_id, task, now)  # type: ignore[arg-type]
        if handle._cancelled:  # type: ignore[attr-defined]
            self.in_step = False
            self.current = self._step_task = None
            return
        owner = getattr(handle._callback, "__self__", None)  # type: ignore[attr-defined]
        if owner is not None and isinstance(owner, _Task):
            key = id(owner)
            task_id = self._ids.get(key)
            if task_id is None:
                task_id = self.task_created(owner)
            if task_id <= 0:
                if task_id:
                    task_id = self._announce(key, -task_id)
                else:
                    owner = task_id = None
            elif self.waits and key in self.waits:
                self.task_woken(owner)
        else:
            owner = task_id = None
        self.current = task_id
        self._step_task = owner
        self._step_start = now
        self._step_skipped = skipped
        self.yield_line = -1
        if now - skipped - self._stall_sample[0] >= SAMPLE_INTERVAL_NS:
            self._stall_sample = (now - skipped, *thread_times())
        if self._samples:
            self._samples.clear()  # ticks of an earlier, short step
        self.in_step = True
        # Only the time is checked here: a step adds a bounded number of
        # messages, so 50 ms of steps stay a few megabytes at most. Real time
        # (``now`` less what the virtual clock skipped): a loop of virtual
        # sleeps would otherwise flush at every jump.
        if now - skipped - self._last_flush > FLUSH_INTERVAL_NS:
            self.flush()


class PyReadyQueue(collections.deque):  # type: ignore[type-arg]
    """The loop's ready queue; taking a callback out marks a step boundary,
    and scheduling a parked task's wake-up ends its wait."""

    __slots__ = ("recorder",)

    def __init__(self, recorder: PyCore) -> None:
        super().__init__()
        self.recorder = recorder

    def popleft(self) -> Any:
        handle = _popleft(self)
        recorder = self.recorder
        if recorder.enabled:
            try:
                recorder.next_step(handle)
            except Exception as exc:
                recorder.disable("next_step", exc)
        return handle

    def append(self, handle: Any) -> None:
        _append(self, handle)
        recorder = self.recorder
        # Only call_soon's handles: a timer's moved here when due is not a wake-up.
        if recorder.enabled and recorder.waits and type(handle) is _Handle:
            try:
                owner = getattr(handle._callback, "__self__", None)  # type: ignore[attr-defined]
                if owner is not None and id(owner) in recorder.waits:
                    recorder.task_woken(owner)
            except Exception as exc:
                recorder.disable("wake-up", exc)


def _load_speedups() -> ModuleType | None:
    """The C hot path, when built for this interpreter, allowed, and on the
    same clock as ``time.perf_counter_ns``."""
    if os.environ.get(SPEEDUPS_ENV, "1") == "0":
        return None
    try:
        from . import _speedups  # type: ignore[attr-defined]
    except ImportError:
        return None
    before = time.perf_counter_ns()
    theirs = _speedups.monotonic_ns()
    after = time.perf_counter_ns()
    if not before - _CLOCK_AGREEMENT_NS <= theirs <= after + _CLOCK_AGREEMENT_NS:
        return None
    _speedups.configure(
        task_type=_Task,
        handle_type=_Handle,
        hidden_codes=HIDDEN_CODES,
        run_callback_code=asyncio.Handle._run.__code__,
        snippet_filename=SNIPPET_FILENAME,
        flush_interval_ns=FLUSH_INTERVAL_NS,
    )
    module: ModuleType = _speedups
    return module


SPEEDUPS = _load_speedups()

if TYPE_CHECKING:
    Core = PyCore
    ReadyQueue = PyReadyQueue
elif SPEEDUPS is not None:
    Core = SPEEDUPS.Core
    ReadyQueue = SPEEDUPS.ReadyQueue
else:
    Core = PyCore
    ReadyQueue = PyReadyQueue
