"""The recorder's hooks, named for when each fires, as explicit Protocols.

The loop drives the recorder through two small interfaces:

- ``HotPath``: what runs at every step boundary and for every task. Both
  implementations, the C accelerator (``_speedups.Core``) and its pure-Python
  twin (:class:`playground.tracer.hotpath.PyCore`), provide it, and record
  the same trace (tests/tracer/test_speedups.py holds them to it).
- ``RarePaths``: what the hot path calls back on the recorder when something
  other than an ordinary step happens. :class:`playground.tracer.recorder.Recorder`
  provides it; a hook that fails disables recording, never the run.
"""

from __future__ import annotations

import asyncio
from types import FrameType
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class HotPath(Protocol):
    # Whether recording goes on (a failed hook turns it off for good).
    enabled: bool
    # The task whose step runs now, if any.
    current: int | None
    # Where the running step yields to the loop without waiting (asyncio.sleep(0)), or -1.
    yield_line: int

    def next_step(self, handle: asyncio.Handle) -> None:
        """The loop is about to run ``handle``: the last step ends, the next begins."""

    def task_created(self, task: asyncio.Task[Any], caller: FrameType | None = None) -> int:
        """A task was made; its id (it is announced at its first step)."""

    def stalled_ns(self) -> int:
        """How long the loop's thread has waited for a CPU since the running step started (stalls.py)."""

    def take_steps(self) -> bytes:
        """The ordinary steps since the last call, as native int64 (task, start, end, yield line or -1)."""

    def take_ends(self) -> bytes:
        """The normal task ends since the last call, as native int64 (task, ended)."""

    def take_tasks(self) -> tuple[bytes, list[str], list[str]]:
        """The tasks announced since the last call: packed records, names, coroutines."""


@runtime_checkable
class RarePaths(Protocol):
    def _blocking_step(self, task_id: int | None, start: int, now: int) -> None:
        """A step held the loop past the blocking threshold, not counting
        the time its thread waited for a CPU."""

    def _task_finished(self, task_id: int, task: asyncio.Task[Any], now: int) -> None:
        """A task ended other than normally (error, cancelled), or its end needs words."""

    def _wait_started(self, task_id: int, task: asyncio.Task[Any], now: int) -> None:
        """A task's step ended with it parked on a future."""

    def task_woken(self, task: object) -> None:
        """A parked task was put back on the ready queue."""

    def flush(self) -> None:
        """Send what was recorded (each loop iteration, and during long ones)."""

    def disable(self, where: str, exc: BaseException) -> None:
        """A hook failed: stop recording, say so once, let the run go on."""
