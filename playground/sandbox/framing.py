"""The stream's framing: the jail's untrusted bytes cut into lines and frames,
in one pass, within the caps.

``Framer.feed`` takes the bytes as they arrive and hands each complete line
(without its newline) and each complete frame (see
:mod:`playground.tracer.protocol`) to its receiver. It looks at each byte
once: the search for a line's end goes on where the last read left it,
never again from the line's start, and it keeps at most one unfinished line
or frame (no longer than its cap) and the last read. A line longer than
``MAX_LINE_BYTES``, a frame header of an unknown kind or longer than
``MAX_FRAME_BYTES``, is reported as rejected and skipped up to the next
newline without being kept, however long it goes on: the snippet can garble
its own stream, and that costs the server no more than reading it.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from playground.tracer import protocol

_FRAME_HEADER = struct.Struct(protocol.FRAME_HEADER)


class Framer:
    """Cuts a byte stream into lines and frames for ``on_line``,
    ``on_frame`` and ``on_rejected`` (a line or frame skipped whole, with
    the bytes of it read so far)."""

    def __init__(self, on_line: Callable[[bytearray], None], on_frame: Callable[[int, bytes], None],
                 on_rejected: Callable[[int], None], *, max_line_bytes: int = protocol.MAX_LINE_BYTES,
                 max_frame_bytes: int = protocol.MAX_FRAME_BYTES) -> None:
        self.on_line = on_line
        self.on_frame = on_frame
        self.on_rejected = on_rejected
        self.max_line_bytes = max_line_bytes
        self.max_frame_bytes = max_frame_bytes
        self.closed = False
        self._pending = bytearray()
        # Where the search for the pending line's newline goes on.
        self._searched = 0
        self._skipping = False

    def close(self) -> None:
        """Take no more: whatever comes is ignored."""
        self.closed = True
        self._pending = bytearray()

    def feed(self, data: bytes) -> None:
        if self.closed or not data:
            return
        if self._skipping:
            end = data.find(b"\n")
            if end < 0:
                return  # the skipped line goes on: nothing of it is kept
            self._skipping = False
            data = data[end + 1:]
        pending = self._pending
        pending += data
        at = self._cut(pending)
        del pending[:at]
        self._searched = max(0, self._searched - at)

    def _cut(self, pending: bytearray) -> int:
        """Hand over every complete line and frame in ``pending``; where the
        unfinished rest begins."""
        at, size = 0, len(pending)
        while at < size and not self.closed:
            if pending[at] == protocol.FRAME_MARK:
                if size - at < _FRAME_HEADER.size:
                    return at
                _, kind, length = _FRAME_HEADER.unpack_from(pending, at)
                if kind not in protocol.FRAME_KINDS or length > self.max_frame_bytes:
                    self.on_rejected(_FRAME_HEADER.size)
                    at = self._skip(pending, at + _FRAME_HEADER.size)
                    continue
                start = at + _FRAME_HEADER.size
                if size - start < length:
                    return at
                at = start + length
                self.on_frame(kind, bytes(pending[start:at]))
                continue
            end = pending.find(b"\n", max(at, self._searched))
            if end < 0:
                if size - at >= self.max_line_bytes:
                    self.on_rejected(size - at)
                    self._skipping = True
                    return size
                self._searched = size
                return at
            if end - at >= self.max_line_bytes:
                self.on_rejected(end - at)
            elif end > at:
                self.on_line(pending[at:end])
            at = end + 1
        return at

    def _skip(self, pending: bytearray, at: int) -> int:
        """Skip from ``at`` past the next newline, or all of ``pending``
        (and what comes until a newline) when there is none."""
        end = pending.find(b"\n", at)
        if end < 0:
            self._skipping = True
            return len(pending)
        return end + 1
