"""The tracer's side of the event stream: batches of messages as JSON
lines, and binary frames for the bulk.

Messages are buffered as tuples and written in batches (every loop
iteration, and during long iterations every ``FLUSH_INTERVAL`` of real time),
each batch one JSON array on one line, encoded by one call into the C
encoder, followed by the batch's frames (packed steps and ends, see
:mod:`playground.tracer.protocol`), all in one write: tracing stays cheap,
a jail killed at a limit has sent nearly everything, and batches stay small
enough that the server parses each while the run goes on, rather than the
run waiting on a full pipe.
"""

from __future__ import annotations

import json
import os
import struct
from typing import Any

from .protocol import FRAME_HEADER, FRAME_MARK

FLUSH_INTERVAL = 0.01
FLUSH_COUNT = 2000
_HEADER = struct.Struct(FRAME_HEADER)

_encode = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), check_circular=False).encode


class Channel:
    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.broken = False
        self.buffer: list[tuple[Any, ...]] = []
        self.leading: list[bytes] = []
        self.frames: list[bytes] = []

    def send(self, *message: Any) -> None:
        self.buffer.append(message)
        if len(self.buffer) >= FLUSH_COUNT:
            self.flush()

    def frame(self, kind: int, payload: bytes, *, before: bool = False) -> None:
        """Send ``payload`` as a frame of ``kind`` after the batch's line, or
        ``before`` it."""
        (self.leading if before else self.frames).extend((_HEADER.pack(FRAME_MARK, kind, len(payload)), payload))

    def flush(self) -> None:
        if not self.buffer and not self.frames and not self.leading:
            return
        try:
            line = (_encode(self.buffer) + "\n").encode("ascii") if self.buffer else b""
        except (TypeError, ValueError, ArithmeticError):
            line = b""  # a value JSON cannot hold: drop the batch, not the run
        data = b"".join((*self.leading, line, *self.frames))
        self.buffer.clear()
        self.leading.clear()
        self.frames.clear()
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
