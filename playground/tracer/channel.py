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

Every line and frame keeps within the stream's caps (``MAX_LINE_BYTES``,
``MAX_LINE_MESSAGES``, ``MAX_FRAME_BYTES`` in :mod:`playground.tracer.protocol`),
past which the server rejects it: a batch goes as lines of at most
``MAX_LINE_MESSAGES`` messages, halved while one is too long, and a frame of
fixed-size records is cut into frames that fit. A single message too long for
any line (only a pathological name or text can make one) is dropped.
"""

from __future__ import annotations

import json
import os
import struct
import threading
from array import array
from typing import Any

from .protocol import (
    FRAME_HEADER,
    FRAME_MARK,
    FRAME_TASKS,
    FRAME_TASKS_COUNT,
    FRAME_WAITS,
    MAX_FRAME_BYTES,
    MAX_LINE_BYTES,
    MAX_LINE_MESSAGES,
    MAX_NAME_CHARS,
    TASK_RECORD_BYTES,
    WAIT_RECORD_BYTES,
    WAKE_KINDS,
)

FLUSH_INTERVAL = 0.01
FLUSH_COUNT = 2000
_HEADER = struct.Struct(FRAME_HEADER)
_TASKS_COUNT = struct.Struct(FRAME_TASKS_COUNT)
# Waits packed per frame at most: their numbers take 40 KiB of its 64.
WAITS_PER_FRAME = MAX_FRAME_BYTES * 5 // 8 // WAIT_RECORD_BYTES
# A wait that ended: (task id, start, end, on or None, line or None, chain,
# due or None, wake or None, waker or None, waker's line or None).
DoneWait = tuple[int, int, int, "str | None", "int | None", tuple[str, ...], "int | None", "str | None",
                 "int | None", "int | None"]
_WAKE_CODES = {kind: code for code, kind in enumerate(WAKE_KINDS)}

_encode = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), check_circular=False).encode


class Channel:
    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.broken = False
        # Writes to the stream, from the loop's thread and from executor
        # threads (``send_now``), one at a time, so none splits another.
        self._writing = threading.Lock()
        self.buffer: list[tuple[Any, ...]] = []
        self.leading: list[bytes] = []
        self.frames: list[bytes] = []

    def send(self, *message: Any) -> None:
        self.buffer.append(message)
        if len(self.buffer) >= FLUSH_COUNT:
            self.flush()

    def frame(self, kind: int, payload: bytes, *, before: bool = False, record: int = 0) -> None:
        """Send ``payload`` as a frame of ``kind`` after the batch's line, or
        ``before`` it; a payload of ``record``-byte records too long for one
        frame goes as several."""
        into = self.leading if before else self.frames
        size = MAX_FRAME_BYTES - MAX_FRAME_BYTES % record if record else len(payload)
        for at in range(0, len(payload), size or 1):
            piece = payload[at:at + size]
            into.extend((_HEADER.pack(FRAME_MARK, kind, len(piece)), piece))

    def tasks(self, packed: bytes, names: list[str], coros: list[str]) -> None:
        """Announce tasks in tasks frames before the batch's line: their
        numbers ``packed``, their ``names`` and ``coros``, as many frames
        as fit them."""
        self.leading.extend(_HEADER.pack(FRAME_MARK, FRAME_TASKS, len(payload)) + payload
                            for payload in task_payloads(packed, names, coros))

    def waits(self, waits: list[DoneWait]) -> None:
        """Send waits that ended in waits frames after the batch's line."""
        for at in range(0, len(waits), WAITS_PER_FRAME):
            self.frames.extend(_HEADER.pack(FRAME_MARK, FRAME_WAITS, len(payload)) + payload
                               for payload in wait_payloads(waits[at:at + WAITS_PER_FRAME]))

    def flush(self) -> None:
        if not self.buffer and not self.frames and not self.leading:
            return
        lines: list[bytes] = []
        buffer = self.buffer
        count = len(buffer)
        for at in range(0, count, MAX_LINE_MESSAGES):
            _encode_lines(buffer[at:min(at + MAX_LINE_MESSAGES, count)], lines)
        data = b"".join((*self.leading, *lines, *self.frames))
        del buffer[:count]  # what the sampler added meanwhile goes with the next flush
        self.leading.clear()
        self.frames.clear()
        self._write(data)

    def send_now(self, *message: Any) -> None:
        """Send one message at once, from any thread (an executor's job
        starting or ending while the loop waits for it)."""
        lines: list[bytes] = []
        _encode_lines([message], lines)
        self._write(b"".join(lines))

    def send_batch_now(self, messages: list[tuple[Any, ...]]) -> None:
        """Send ``messages`` at once, from any thread, as lines within the caps."""
        lines: list[bytes] = []
        for at in range(0, len(messages), MAX_LINE_MESSAGES):
            _encode_lines(messages[at:at + MAX_LINE_MESSAGES], lines)
        self._write(b"".join(lines))

    def _write(self, data: bytes) -> None:
        if self.broken or not data:
            return
        with self._writing:
            view = memoryview(data)
            try:
                while view:
                    written = os.write(self.fd, view)
                    view = view[written:]
            except OSError:
                # The snippet closed or replaced our descriptor: it can only
                # lose its own trace, and the run goes on.
                self.broken = True


def _encode_lines(messages: list[tuple[Any, ...]], lines: list[bytes]) -> None:
    """``messages`` as lines within the caps, appended to ``lines``: halved
    while too long; a message that is too long alone, or holds a value JSON
    cannot (a number too large to write), is dropped, not the batch or the run."""
    try:
        line = (_encode(messages) + "\n").encode("ascii")
    except (TypeError, ValueError, ArithmeticError):
        line = None
    if line is not None and len(line) <= MAX_LINE_BYTES:
        lines.append(line)
    elif len(messages) > 1:
        half = len(messages) // 2
        _encode_lines(messages[:half], lines)
        _encode_lines(messages[half:], lines)


def task_payloads(packed: bytes, names: list[str], coros: list[str]) -> list[bytes]:
    """The payloads of tasks frames for these tasks, each within
    ``MAX_FRAME_BYTES``: one in the common case, halved while too long, and a
    task whose names alone are too long has them cut to ``MAX_NAME_CHARS``."""
    payload = b"".join((_TASKS_COUNT.pack(len(names)), packed, _encode([names, coros]).encode("ascii")))
    if len(payload) <= MAX_FRAME_BYTES:
        return [payload]
    if len(names) == 1:
        return task_payloads(packed, [names[0][:MAX_NAME_CHARS]], [coros[0][:MAX_NAME_CHARS]])
    half = len(names) // 2
    return (task_payloads(packed[:half * TASK_RECORD_BYTES], names[:half], coros[:half])
            + task_payloads(packed[half * TASK_RECORD_BYTES:], names[half:], coros[half:]))


def wait_payloads(waits: list[DoneWait]) -> list[bytes]:
    """The payloads of waits frames for these waits, each within
    ``MAX_FRAME_BYTES``: one in the common case (waits share few labels),
    halved while too long, and a wait whose label alone is too long has its
    texts cut to ``MAX_NAME_CHARS``."""
    labels: dict[tuple[str | None, tuple[str, ...]], int] = {}
    numbers = array("q")
    for task_id, start, end, on, line, chain, due, wake, waker, waker_line in waits:
        label = (on, chain)
        index = labels.get(label)
        if index is None:
            index = labels[label] = len(labels)
        numbers.extend((task_id, start, end, -1 if line is None else line, index, -1 if due is None else due,
                        _WAKE_CODES.get(wake, -1), -1 if waker is None else waker,  # type: ignore[arg-type]
                        -1 if waker_line is None else waker_line))
    texts = _encode([[on, *chain] for on, chain in labels]).encode("ascii")
    payload = b"".join((_TASKS_COUNT.pack(len(waits)), numbers.tobytes(), texts))
    if len(payload) <= MAX_FRAME_BYTES:
        return [payload]
    if len(waits) == 1:
        task_id, start, end, on, line, chain, *how = waits[0]
        return wait_payloads([(task_id, start, end, None if on is None else on[:MAX_NAME_CHARS], line,
                               tuple(name[:MAX_NAME_CHARS] for name in chain), *how)])  # type: ignore[list-item]
    half = len(waits) // 2
    return wait_payloads(waits[:half]) + wait_payloads(waits[half:])
