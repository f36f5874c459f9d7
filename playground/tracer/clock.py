"""The run's clock: virtual or real, and the snippet's view of ``time``.

Virtual time is real elapsed time plus every wait the loop skipped. When the
loop would sleep until its next timer, the clock jumps there instead, so
``await asyncio.sleep(1)`` costs no real time but reads as one second, while
CPU work still counts at its real cost. ``time.sleep`` in the snippet advances
the same clock, and ``time.time``, ``time.monotonic`` and ``time.perf_counter``
read it, so every clock the snippet can see agrees with the loop's.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import NoReturn

real_perf_counter_ns = time.perf_counter_ns
_real_time = time.time
_real_monotonic = time.monotonic
_real_sleep = time.sleep


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

                time.sleep = real_sleep  # type: ignore[assignment]
            return
        time.time = self.time
        time.monotonic = self.monotonic
        time.perf_counter = self.monotonic
        time.sleep = self.sleep  # type: ignore[assignment]
        time.time_ns = lambda: int(self.time() * 1e9)
        time.monotonic_ns = lambda: int(self.monotonic() * 1e9)
        time.perf_counter_ns = lambda: int(self.monotonic() * 1e9)
