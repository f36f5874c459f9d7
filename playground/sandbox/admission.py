"""Admission: how many jails run at once, and how long a run may queue.

A run takes one of ``slots`` numbered places (the jail uses its number, e.g.
for a uid of its own; the slot free the longest comes first, among those the
run prefers when any is free: the ones whose warm jail runs its Python) or
waits in a bounded queue up to ``wait_seconds``.
Past the queue, or past the wait, it is refused at once as busy.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class Busy(Exception):
    """No slot is free and the queue is full or the wait ran out."""


class Admission:
    def __init__(self, slots: int, queue: int, wait_seconds: float) -> None:
        self.slots = slots
        self.queue = queue
        self.wait_seconds = wait_seconds
        self._free = list(range(slots))
        self._waiting = 0
        self._condition = threading.Condition()

    @contextmanager
    def slot(self, wait: bool = True, prefer: Callable[[int], bool] | None = None) -> Iterator[int]:
        """A free slot's number, held until the block ends (one ``prefer``
        says yes to, when any is free); ``Busy`` if none frees in time (at
        once, without ``wait``)."""
        number = self._acquire(wait, prefer)
        try:
            yield number
        finally:
            with self._condition:
                self._free.append(number)
                self._condition.notify()

    def _acquire(self, wait: bool, prefer: Callable[[int], bool] | None) -> int:
        with self._condition:
            if not self._free:
                if not wait or self._waiting >= self.queue:
                    raise Busy
                self._waiting += 1
                deadline = time.monotonic() + self.wait_seconds
                try:
                    while not self._free:
                        remaining = deadline - time.monotonic()
                        if remaining <= 0:
                            raise Busy
                        self._condition.wait(remaining)
                finally:
                    self._waiting -= 1
            # The slot free the longest: its warm run has had the most time
            # to get ready (see pool.py).
            chosen = next((n for n in self._free if prefer(n)), self._free[0]) if prefer else self._free[0]
            self._free.remove(chosen)
            return chosen
