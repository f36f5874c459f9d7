"""The tracer's channel keeps the stream's caps (protocol.MAX_LINE_BYTES,
MAX_LINE_MESSAGES, MAX_FRAME_BYTES), so that the server never rejects
anything an honest run sends: big batches become several lines, big frames
several frames, an error too long for a line loses its oldest frames."""

from __future__ import annotations

import json
import os
import struct
import threading
from collections.abc import Iterator

import pytest

from playground.sandbox.stream import StreamParser
from playground.tracer import channel, protocol
from playground.tracer.channel import Channel, task_payloads
from playground.tracer.errors import MAX_ERROR_BYTES, fitted

HEADER = struct.Struct(protocol.FRAME_HEADER)


class Pipe:
    """A channel writing into a pipe, and what came out of it."""

    def __init__(self) -> None:
        self.read, write = os.pipe()
        self.channel = Channel(write)
        self.received: list[bytes] = []
        self.reader = threading.Thread(target=lambda: self.received.extend(
            iter(lambda: os.read(self.read, 1 << 20), b"")))
        self.reader.start()

    def stream(self) -> bytes:
        """Everything the channel wrote, once it is closed."""
        self.channel.flush()
        os.close(self.channel.fd)
        self.reader.join()
        os.close(self.read)
        return b"".join(self.received)


@pytest.fixture
def pipe() -> Iterator[Pipe]:
    yield Pipe()


def split(stream: bytes) -> tuple[list[bytes], list[tuple[int, bytes]]]:
    """The stream's lines and frames."""
    lines, frames, at = [], [], 0
    while at < len(stream):
        if stream[at] == protocol.FRAME_MARK:
            _, kind, length = HEADER.unpack_from(stream, at)
            frames.append((kind, stream[at + HEADER.size:at + HEADER.size + length]))
            at += HEADER.size + length
        else:
            end = stream.index(b"\n", at)
            lines.append(stream[at:end + 1])
            at = end + 1
    return lines, frames


def parser() -> StreamParser:
    return StreamParser("virtual", max_tasks=100_000, max_items=100_000, max_output_bytes=1 << 30)


def test_a_big_batch_goes_as_lines_within_the_caps(pipe: Pipe) -> None:
    for _ in range(2000):
        pipe.channel.send(protocol.OUTPUT, 0, None, "stdout", "é" * 4000)  # 24 KB a message as JSON escapes
    pipe.channel.send(protocol.OUTPUT, 0, None, "stdout", "x" * 100_000)  # too long for any line: dropped
    for _ in range(1500):
        pipe.channel.send(protocol.START, "virtual")
    stream = pipe.stream()
    lines, _ = split(stream)
    assert all(len(line) <= protocol.MAX_LINE_BYTES for line in lines)
    batches = [json.loads(line) for line in lines]
    assert all(len(batch) <= protocol.MAX_LINE_MESSAGES for batch in batches)
    assert sum(len(batch) for batch in batches) == 3500
    reader = parser()
    reader.feed(stream)
    assert reader.rejected == 0 and len(reader.trace.output) == 2000


def test_a_message_added_while_a_batch_is_encoded_goes_with_the_next(pipe: Pipe,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # As the CPU-time sampler may add one, from its signal handler, between
    # any two bytecodes of the flush.
    encode, late = channel._encode_lines, [(protocol.OUTPUT, 0, None, "stdout", "late")]

    def encode_then_add(messages: list[tuple[object, ...]], lines: list[bytes]) -> None:
        encode(messages, lines)
        pipe.channel.buffer.extend(late)
        late.clear()

    monkeypatch.setattr(channel, "_encode_lines", encode_then_add)
    pipe.channel.send(protocol.OUTPUT, 0, None, "stdout", "first")
    pipe.channel.flush()
    reader = parser()
    reader.feed(pipe.stream())
    assert reader.rejected == 0
    assert [line.text for line in reader.trace.output] == ["first", "late"]


def test_big_frames_go_as_frames_within_the_cap(pipe: Pipe) -> None:
    count = 20_000
    numbers = struct.pack(f"={4 * count}q", *(n for i in range(count) for n in (i + 1, -1, -1, 0)))
    pipe.channel.tasks(numbers, ["é" * 300] * count, ["work"] * count)
    steps = struct.pack(f"={4 * count}q", *(n for i in range(count) for n in (i + 1, 10 * i, 10 * i + 5, -1)))
    pipe.channel.frame(protocol.FRAME_STEPS, steps, record=protocol.STEP_RECORD_BYTES)
    stream = pipe.stream()
    _, frames = split(stream)
    assert len(frames) > 2 and all(len(payload) <= protocol.MAX_FRAME_BYTES for _, payload in frames)
    reader = parser()
    reader.feed(stream)
    trace = reader.finish()
    assert reader.rejected == 0
    assert len(trace.tasks) == count and len(trace.slices) == count
    assert trace.tasks[0].name == "é" * 200  # cut as the server would have


def test_one_task_whose_names_alone_pass_the_cap_has_them_cut() -> None:
    numbers = struct.pack("=4q", 1, -1, -1, 0)
    (payload,) = task_payloads(numbers, ["\U0001f389" * 100_000], ["c"])
    assert len(payload) <= protocol.MAX_FRAME_BYTES
    assert json.loads(payload[4 + 32:])[0] == ["\U0001f389" * protocol.MAX_NAME_CHARS]


def test_an_error_too_long_for_a_line_keeps_its_latest_frames() -> None:
    frames = [{"line": i, "name": "deep", "text": "\U0001f389" * 4000} for i in range(50)]
    error = fitted({"type": "RecursionError", "message": "é" * 2000, "line": 49, "traceback": frames})
    assert len(json.dumps(error)) <= MAX_ERROR_BYTES
    assert error["traceback"] and error["traceback"][-1]["line"] == 49
