"""A run watched while it goes on (docs/live.md): its unguessable id, the
person's stop, and what it tells its watcher, in order.

The request that started a live run creates a ``LiveRun`` (through
:class:`LiveRuns`) and reads its ``events`` (``queued``, ``started``,
``trace``); the sandbox fills them as the run waits, starts and goes on.
``stop()`` may come from any thread: the run's own request when its client
has gone. ``POST /api/runs/<id>/stop`` may reach any worker of the node, so
it goes through the run's FIFO, named by its id in a directory the node's
workers share (:class:`LiveRuns`). A stop while the run waits for a place
ends the wait; once it runs, the runner sees it at once through ``wake_fd``
(the FIFO's reading end) and ends the run, keeping what it did (status
``stopped``).
"""

from __future__ import annotations

import errno
import os
import queue
import re
import secrets
import shutil
import stat
import tempfile
import threading
import time
import weakref
from pathlib import Path
from typing import Any

from playground.model.answer import dumps
from playground.sandbox.progress import Progress
from playground.sandbox.stream import StreamParser

# 24 random bytes: a run's id cannot be guessed, so only its client can stop it.
RUN_ID_BYTES = 24
# What such an id looks like (token_urlsafe): nothing else names a FIFO.
RUN_ID = re.compile(r"[A-Za-z0-9_-]{32}")
# Batches of progress go out at most this often: a reader sees a run grow
# smoothly, and a busy run costs few batches.
BATCH_INTERVAL_SECONDS = 0.05
# What a run's live batches may add up to, beside its final trace.
LIVE_BYTES = 4 * 1024 * 1024

# An event for the watcher: its name and its data, JSON already.
LiveEvent = tuple[str, bytes]


class LiveRun:
    def __init__(self, answer_bytes: int, directory: Path) -> None:
        self.id = secrets.token_urlsafe(RUN_ID_BYTES)
        self.stop_requested = threading.Event()
        self.events: queue.SimpleQueue[LiveEvent] = queue.SimpleQueue()
        self._progress = Progress(min(LIVE_BYTES, answer_bytes // 4))
        self._fifo = directory / self.id
        os.mkfifo(self._fifo, 0o600)
        # Both ends held open: a stop of any worker finds a reader, and the
        # run's own stop a writer.
        self._wake_read = os.open(self._fifo, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        self._wake_write = os.open(self._fifo, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        # Held while writing to or closing the pipe: a stop after the close
        # must not write to whatever reuses the descriptor's number.
        self._pipe_lock = threading.Lock()
        self._closed = False
        self._last_batch = float("-inf")
        self._pending = False
        self._queued: tuple[int, float] | None = None

    @property
    def wake_fd(self) -> int:
        """Readable once the run is to stop (for the runner's selector)."""
        return self._wake_read

    def stop(self) -> None:
        """End the run (or its wait) now; later calls do nothing."""
        if self.stop_requested.is_set():
            return
        self.stop_requested.set()
        with self._pipe_lock:
            if not self._closed:
                os.write(self._wake_write, b"!")

    def queued(self, position: int, wait_seconds: float) -> None:
        """The run waits for a place: ``position`` runs are served first."""
        told = (position, round(wait_seconds, 1))
        if told != self._queued:
            self._queued = told
            self._tell("queued", {"position": told[0], "wait_seconds": told[1]})

    def started(self) -> None:
        self._tell("started", {"run": self.id})

    def fed(self) -> None:
        """The trace gained something: a batch is due (see ``batch_in``)."""
        self._pending = True

    def batch_in(self) -> float | None:
        """Seconds until the pending batch may go, or None with none pending."""
        if not self._pending:
            return None
        return max(0.0, self._last_batch + BATCH_INTERVAL_SECONDS - time.monotonic())

    def send_batch(self, builder: StreamParser, duration: float) -> None:
        """Tell what the trace ``builder`` makes gained since the last batch,
        if one is due."""
        if not self._pending or self.batch_in():
            return
        self._pending = False
        self._last_batch = time.monotonic()
        body = self._progress.batch(builder.trace, duration, builder.still_open)
        if body is not None:
            self.events.put(("trace", body))

    def ended(self) -> None:
        """The run is over: a stop by its id now finds nothing."""
        self._fifo.unlink(missing_ok=True)

    def close(self) -> None:
        self.ended()
        with self._pipe_lock:
            if not self._closed:
                self._closed = True
                os.close(self._wake_read)
                os.close(self._wake_write)

    def _tell(self, name: str, data: dict[str, Any]) -> None:
        self.events.put((name, dumps(data)))


class LiveRuns:
    """The node's live runs, as FIFOs named by their ids in ``directory``
    (shared by the node's workers: gunicorn.conf.py makes one; "": one of
    this process's own, made when first needed), so that a stop reaches a
    run whichever worker it reaches."""

    def __init__(self, directory: str = "") -> None:
        self._directory = Path(directory) if directory else None
        self._lock = threading.Lock()

    def new(self, answer_bytes: int) -> LiveRun:
        """A live run of this node, its stop reachable by its id from now on."""
        return LiveRun(answer_bytes, self._place())

    def stop(self, run_id: str) -> bool:
        """Stop the run of ``run_id``; False when none of that id is going on."""
        if self._directory is None or not RUN_ID.fullmatch(run_id):
            return False
        try:
            fifo = os.open(self._directory / run_id, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.ENXIO):  # no such run, or it has just closed
                return False
            raise
        try:
            if not stat.S_ISFIFO(os.fstat(fifo).st_mode):
                return False
            os.write(fifo, b"!")
        except BlockingIOError:  # full of stops already
            pass
        finally:
            os.close(fifo)
        return True

    def _place(self) -> Path:
        with self._lock:
            if self._directory is None:
                own = tempfile.mkdtemp(prefix="asyncio-playground-live-")
                weakref.finalize(self, shutil.rmtree, own, True)
                self._directory = Path(own)
            return self._directory
