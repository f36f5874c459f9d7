"""The tracer's side of the event stream: batches of messages as JSON lines.

Messages are buffered as tuples and written in batches (every loop
iteration, and during long iterations every ``FLUSH_INTERVAL`` of real time),
each batch one JSON array on one line, encoded by one call into the C
encoder: tracing stays cheap, and a jail killed at a limit has sent nearly
everything.
"""

from __future__ import annotations

import json
import os
from typing import Any

FLUSH_INTERVAL = 0.05
FLUSH_COUNT = 2000

_encode = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), check_circular=False).encode


class Channel:
    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.broken = False
        self.buffer: list[tuple[Any, ...]] = []

    def send(self, *message: Any) -> None:
        self.buffer.append(message)
        if len(self.buffer) >= FLUSH_COUNT:
            self.flush()

    def flush(self) -> None:
        if not self.buffer:
            return
        try:
            data = (_encode(self.buffer) + "\n").encode("ascii")
        except (TypeError, ValueError, ArithmeticError):
            data = b""  # a value JSON cannot hold: drop the batch, not the run
        self.buffer.clear()
        if self.broken:
            return
        view = memoryview(data)
        try:
            while view:
                written = os.write(self.fd, view)
                view = view[written:]
        except OSError:
            # The snippet closed or replaced our descriptor: it can only
            # lose its own trace, and the run goes on.
            self.broken = True
