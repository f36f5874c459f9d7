"""A process pool's call, timed in the worker that runs it.

The tracer (:mod:`playground.tracer.processes`) wraps each function a
``ProcessPoolExecutor`` is given in a ``TimedCall``, which the pool pickles
to a worker process like the function itself. The worker runs it and sends
back, with the result, its pid and when the call started and ended, read on
``CLOCK_MONOTONIC`` (one clock for every process of the machine, which the
run's clock counts from): a ``TimedResult``, or on the exception it raised,
an attribute ``TIMES_ATTRIBUTE`` (an exception pickles its ``__dict__``).
The parent unwraps both before the snippet sees them.

A spawned worker imports this module afresh, so it imports nothing of the
tracer: only the standard library.
"""

from __future__ import annotations

import os
import time
from typing import Any

# Read now, before the run's virtual clock replaces the time module's
# functions: a forked worker keeps this one.
_monotonic_ns = time.clock_gettime_ns
_MONOTONIC = time.CLOCK_MONOTONIC
TIMES_ATTRIBUTE = "_playground_times"
# The call's (job number, pid, start ns, end ns) on CLOCK_MONOTONIC.
Times = tuple[int, int, int, int]


class TimedResult:
    """A call's result, and its times."""

    __slots__ = ("times", "value")

    def __init__(self, value: Any, times: Times) -> None:
        self.value = value
        self.times = times

    def __reduce__(self) -> tuple[Any, ...]:
        return (TimedResult, (self.value, self.times))


class TimedCall:
    """``fn``, numbered ``job``, timed where it runs."""

    __slots__ = ("fn", "job")

    def __init__(self, fn: Any, job: int) -> None:
        self.fn = fn
        self.job = job

    def __reduce__(self) -> tuple[Any, ...]:
        return (TimedCall, (self.fn, self.job))

    def __call__(self, *args: Any, **kwargs: Any) -> TimedResult:
        start = _monotonic_ns(_MONOTONIC)
        try:
            value = self.fn(*args, **kwargs)
        except BaseException as exc:
            try:
                setattr(exc, TIMES_ATTRIBUTE, (self.job, os.getpid(), start, _monotonic_ns(_MONOTONIC)))
            except Exception:  # an exception that takes no attribute: its times are lost
                pass
            raise
        return TimedResult(value, (self.job, os.getpid(), start, _monotonic_ns(_MONOTONIC)))
