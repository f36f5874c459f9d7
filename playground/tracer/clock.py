"""The run's clock: virtual or real, and the snippet's view of ``time``.

Virtual time is real elapsed time plus every wait the loop skipped. When the
loop would sleep until its next timer, the clock jumps there instead, so
``await asyncio.sleep(1)`` costs no real time but reads as one second, while
CPU work still counts at its real cost. ``time.sleep`` in the snippet advances
the same clock, and every function that reads "now" reads it (``READS_NOW``:
``time.time``, ``monotonic``, ``perf_counter`` and their ``_ns`` forms,
``localtime``/``gmtime``/``ctime``/``asctime``/``strftime`` without a time,
``clock_gettime`` of the wall and monotonic clocks, ``datetime.now``,
``today``, ``utcnow``, ``date.today``, and so ``logging``'s timestamps and
``loop.time()``), so every clock the snippet can see agrees with the loop's.
CPU-time clocks (``process_time``, ``thread_time``) stay real: they measure
work, not time.
"""

from __future__ import annotations

import datetime
import inspect
import math
import threading
import time
from collections.abc import Callable
from typing import Any, NoReturn

real_perf_counter_ns = time.perf_counter_ns
_real_time = time.time
_real_monotonic = time.monotonic
_real_sleep = time.sleep
_real_localtime = time.localtime
_real_gmtime = time.gmtime
_real_asctime = time.asctime
_real_strftime = time.strftime
_real_clock_gettime = time.clock_gettime
_real_clock_gettime_ns = time.clock_gettime_ns
_WALL_CLOCKS = frozenset({time.CLOCK_REALTIME, time.CLOCK_TAI})
_MONOTONIC_CLOCKS = frozenset({time.CLOCK_MONOTONIC, time.CLOCK_MONOTONIC_RAW, time.CLOCK_BOOTTIME})

# What reads "now", by module and name; each is replaced on the virtual clock.
READS_NOW = {
    "time": frozenset({"time", "time_ns", "monotonic", "monotonic_ns", "perf_counter", "perf_counter_ns",
                       "sleep", "localtime", "gmtime", "ctime", "asctime", "strftime", "clock_gettime",
                       "clock_gettime_ns"}),
    "datetime.datetime": frozenset({"now", "utcnow", "today"}),
    "datetime.date": frozenset({"today"}),
}


class Clock:
    """Time since the run started, on the run's clock.

    The trace records integer nanoseconds (``now_ns``): cheap to read and to
    encode. The loop and the snippet read seconds (``now``).
    """

    def __init__(self, virtual: bool, horizon: float, on_horizon: Callable[[str], NoReturn]) -> None:
        self.virtual = virtual
        self.horizon = horizon
        self.on_horizon = on_horizon
        self.skipped_ns = 0
        self.restart()
        self.on_sleep: Callable[[float], None] | None = None
        self._thread = threading.get_ident()

    def restart(self) -> None:
        """Time zero is now: the moment the snippet's own code starts."""
        self.origin_ns = real_perf_counter_ns()
        self._epoch_origin = _real_time()
        self._monotonic_origin = _real_monotonic()

    def now_ns(self) -> int:
        return real_perf_counter_ns() - self.origin_ns + self.skipped_ns

    def now(self) -> float:
        return (real_perf_counter_ns() - self.origin_ns + self.skipped_ns) / 1e9

    def real_elapsed_ns(self) -> int:
        return real_perf_counter_ns() - self.origin_ns

    def advance(self, seconds: float) -> None:
        """Jump virtual time forward, as if ``seconds`` had passed."""
        if self.now() + seconds > self.horizon:
            self.on_horizon(
                f"The run would sleep past the virtual clock's horizon of {self.horizon:g} s."
            )
        self.skipped_ns += math.ceil(seconds * 1e9)

    # The snippet's view of the time module, on the virtual clock.

    def time(self) -> float:
        return self._epoch_origin + self.now()

    def monotonic(self) -> float:
        return self._monotonic_origin + self.now()

    def sleep(self, seconds: float) -> None:
        length = float(seconds)
        if math.isnan(length):
            raise ValueError("Invalid value NaN (not a number)")
        if length < 0:
            raise ValueError("sleep length must be non-negative")
        if threading.get_ident() != self._thread:
            # Another thread cannot skip the loop's time: it really sleeps,
            # and the loop, if it waits for that thread, really waits.
            _real_sleep(length)
            return
        if self.on_sleep is not None:
            self.on_sleep(seconds)
        self.advance(length)

    def install(self) -> None:
        """Make the ``time`` module read and advance this clock."""
        if not self.virtual:
            if self.on_sleep is not None:
                on_sleep = self.on_sleep

                def real_sleep(seconds: float) -> None:
                    on_sleep(seconds)
                    _real_sleep(seconds)

                time.sleep = _named("sleep", real_sleep)
            return
        time.time = self.time
        time.monotonic = self.monotonic
        time.perf_counter = self.monotonic
        time.sleep = self.sleep  # type: ignore[assignment]
        time.time_ns = lambda: int(self.time() * 1e9)
        time.monotonic_ns = lambda: int(self.monotonic() * 1e9)
        time.perf_counter_ns = lambda: int(self.monotonic() * 1e9)
        time.localtime = lambda secs=None: _real_localtime(self.time() if secs is None else secs)
        time.gmtime = lambda secs=None: _real_gmtime(self.time() if secs is None else secs)
        time.ctime = lambda secs=None: _real_asctime(_real_localtime(self.time() if secs is None else secs))
        time.asctime = lambda t=None: _real_asctime(_real_localtime(self.time()) if t is None else t)
        time.strftime = lambda format, t=None: _real_strftime(format, _real_localtime(self.time()) if t is None else t)
        time.clock_gettime = self.clock_gettime
        time.clock_gettime_ns = lambda clock: (int(self.clock_gettime(clock) * 1e9)
                                              if clock in _WALL_CLOCKS | _MONOTONIC_CLOCKS
                                              else _real_clock_gettime_ns(clock))
        _virtual_datetime(self.time)
        for name in _REPLACED:
            setattr(time, name, _named(name, getattr(time, name)))

    def clock_gettime(self, clock: int) -> float:
        if clock in _WALL_CLOCKS:
            return self.time()
        if clock in _MONOTONIC_CLOCKS:
            return self.monotonic()
        return _real_clock_gettime(clock)  # the CPU-time clocks stay real


class VirtualDatetime(datetime.datetime):
    """``datetime.datetime`` whose ``now`` and ``utcnow`` read the run's clock.
    The C type cannot be changed, so the snippet's ``datetime.datetime`` is
    this subclass, which looks like it (its name, module and repr);
    ``today`` and ``date.today`` read ``time.time``, already virtual."""

    _epoch_now: Callable[[], float] = _real_time

    @classmethod
    def now(cls, tz: datetime.tzinfo | None = None) -> VirtualDatetime:
        return cls.fromtimestamp(cls._epoch_now(), tz)

    @classmethod
    def utcnow(cls) -> VirtualDatetime:
        return cls.utcfromtimestamp(cls._epoch_now())

    def __repr__(self) -> str:
        return "datetime." + super().__repr__()


VirtualDatetime.__name__ = VirtualDatetime.__qualname__ = "datetime"
VirtualDatetime.__module__ = "datetime"


def _virtual_datetime(now: Callable[[], float]) -> None:
    VirtualDatetime._epoch_now = staticmethod(now)  # type: ignore[assignment]
    datetime.datetime = VirtualDatetime  # type: ignore[misc]


# The time functions the virtual clock replaces.
_REPLACED = ("time", "monotonic", "perf_counter", "sleep", "time_ns", "monotonic_ns", "perf_counter_ns",
             "localtime", "gmtime", "ctime", "asctime", "strftime", "clock_gettime", "clock_gettime_ns")


def _named(name: str, replacement: Callable[..., Any]) -> Any:
    """``replacement`` under the name of the ``time`` function it stands
    for, so that what a snippet prints of it (a thread's job, a repr) says
    ``sleep``, not the tracer's ``Clock.sleep`` or ``<lambda>``."""
    function = replacement if inspect.isfunction(replacement) else (lambda *args: replacement(*args))
    function.__name__ = function.__qualname__ = name
    function.__module__ = "time"
    return function
