"""The tracer's side of the event stream: buffered JSON lines on a descriptor.

Messages are buffered and written in batches (every loop iteration, and
during long iterations every ``FLUSH_INTERVAL`` of real time), so that
tracing stays cheap and a jail killed at a limit has sent nearly everything.
"""

from __future__ import annotations

import json
import os
from typing import Any

FLUSH_INTERVAL = 0.05
FLUSH_COUNT = 2000

_encode = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode


class Channel:
    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.broken = False
        self._buffer: list[str] = []

    def send(self, *message: Any) -> None:
        self._buffer.append(_encode(message))
        if len(self._buffer) >= FLUSH_COUNT:
            self.flush()

    def flush(self) -> None:
        if not self._buffer:
            return
        data = ("\n".join(self._buffer) + "\n").encode("ascii")
        self._buffer.clear()
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
