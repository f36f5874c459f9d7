"""What a stream may cost the parser: a cap on each line (bytes and
messages) and frame, a pending line searched once, a budget of messages, a
handful of rejected messages that stop it, and the answer bounded as the
trace is built. (The same against real jails: test_stream_cost.py.)"""

from __future__ import annotations

import json
import struct
import time
from array import array

import pytest

from playground.model.answer import dumps
from playground.model.trace import MAX_CHAIN, MAX_ID, MAX_TIME_NS
from playground.sandbox.stream import ANSWER_RESERVE, StreamParser
from playground.tracer import protocol


def line(*messages: list[object]) -> bytes:
    return json.dumps(list(messages)).encode() + b"\n"


def frame(kind: int, payload: bytes) -> bytes:
    return struct.pack(protocol.FRAME_HEADER, protocol.FRAME_MARK, kind, len(payload)) + payload


def numbers(*values: int) -> bytes:
    return array("q", values).tobytes()


def runner_parser(**caps: int) -> StreamParser:
    """A parser with the runner's defaults for what the caps leave out."""
    settings = {"max_tasks": 20_000, "max_items": 20_100, "max_output_bytes": 65_536, "max_rejected": 8}
    settings.update(caps)
    return StreamParser("virtual", **settings)  # type: ignore[arg-type]


def test_a_line_holds_at_most_max_line_messages() -> None:
    b = runner_parser(max_rejected=100)
    b.feed(line(*[["start", "virtual"]] * protocol.MAX_LINE_MESSAGES))
    b.feed(line(*[["start", "virtual"]] * (protocol.MAX_LINE_MESSAGES + 1)))
    assert b.messages == protocol.MAX_LINE_MESSAGES and b.rejected == 1


def test_lines_and_frames_past_their_caps_are_rejected_whole() -> None:
    b = runner_parser(max_rejected=100)
    b.feed(line(["task", 1, "Task-1", "main", None, None, 0]))
    at_cap = line(["out", 0, None, "stdout", ""])
    b.feed(at_cap[:-5] + b"x" * (protocol.MAX_LINE_BYTES - len(at_cap)) + at_cap[-5:])  # the newline makes one too many
    per_frame = protocol.MAX_FRAME_BYTES // protocol.STEP_RECORD_BYTES
    b.feed(frame(protocol.FRAME_STEPS, numbers(*[1, 0, 1, -1] * (per_frame + 1))) + b"\n")
    b.feed(frame(protocol.FRAME_STEPS, numbers(*[1, 0, 1, -1] * per_frame)))
    assert b.rejected == 2 and len(b.trace.slices) == per_frame and b.trace.output == []


def test_a_pending_line_is_searched_once() -> None:
    # 16 MiB with no newline in 2 KiB reads: searched again from its start
    # at each read, that was 64 GiB of searching.
    b = StreamParser("virtual", max_tasks=10, max_items=10, max_output_bytes=10, max_line_bytes=32 * 1024 * 1024)
    chunk = b"x" * 2048
    started = time.process_time()
    for _ in range(8192):
        b.feed(chunk)
    b.feed(b"\n" + line(["end", "ok", 0]))
    assert time.process_time() - started < 0.5
    assert b.rejected == 1 and b.claimed_status == "ok"


def test_a_handful_of_rejected_messages_stops_the_parser() -> None:
    b = runner_parser()
    b.feed(line(["task", 1, "Task-1", "main", None, None, 0]))
    for _ in range(5):
        b.feed(b"nope\n")
    # Neither a task cut at the cap nor a limit event counts against the run.
    b.feed(line(["step", 99, 0, 1], ["event", 0, "limit", None, "forged", None],
                ["done", 7, 0, "done", None, None, None]))
    b.feed(line(["wait", 1, 0, 1, None, None, ["a"] * (MAX_CHAIN + 1)], ["bogus"]))
    assert b.violations == 7 and not b.stopped
    b.feed(line(["done", 1, 5, "done", "ValueError", None, None]))  # error fields on a task that did not fail
    assert b.stopped
    b.feed(line(["end", "ok", 0]))
    assert b.claimed_status is None


def test_a_big_rejected_line_counts_for_its_size() -> None:
    b = runner_parser()
    b.feed(b"[" + b"[]," * 21_000 + b"[]]\n")  # 63 KiB: one line, thousands of bad messages
    # One bad message, and 7 for its 63 KiB: the rest are not even looked at.
    assert b.stopped and b.violations == 8 and b.rejected == 1


def test_past_the_tracers_own_cap_nothing_more_is_parsed() -> None:
    b = runner_parser(max_messages=1000, max_rejected=100)
    event = ["event", 0, "x", None, "m", None]
    for _ in range(4):
        b.feed(line(*[event] * 300))
    b.feed(frame(protocol.FRAME_ENDS, numbers(1, 5)))
    assert b.messages == 1200 and b.rejected == 1 and len(b.trace.events) == 1200


def test_the_answer_is_bounded_as_the_trace_is_built() -> None:
    b = runner_parser(max_answer_bytes=ANSWER_RESERVE + 100_000)
    b.feed(line(["task", 1, "Task-1", "main", None, None, 0]))
    for _ in range(100):
        b.feed(line(*[["event", 0, "note", 1, "é" * 2000, None]] * 4))  # 48 KB of escapes
    trace = b.finish()
    size = len(dumps(trace.to_json()))
    assert b.caps.answer_cut and trace.truncated and size < 100_000 + ANSWER_RESERVE
    # 4 KB each, in the items' three quarters of the answer (the last quarter
    # is kept for output, errors and the events a reader needs whole).
    assert 15 <= len(trace.events) < 22


@pytest.mark.parametrize("text", ["", "plain", 'quotes " and \\ backslashes', "\x00\x01\x1f controls",
                                  "é" * 300, "\U0001f389" * 50, "\u2028 separators \ud800"])
def test_the_answers_estimate_is_an_upper_bound(text: str) -> None:
    b = runner_parser()
    t, big = MAX_TIME_NS - 1, MAX_ID - 1  # the longest numbers
    b.feed(line(["task", big, text, text, None, big, t], ["task", big - 1, text, text, big, big, t],
                ["step", big, t, t, text, big], ["wait", big, t, t, text, big, [text] * MAX_CHAIN],
                ["out", t, big, "stderr", text], ["event", t, text, big, text, big],
                ["done", big - 1, t, "error", text, text, big],
                ["error", {"type": text, "message": text, "line": big,
                           "traceback": [{"line": big, "name": text, "text": text}] * 3}]))
    b.raw_output(text.encode("utf-8", "replace") + b"\n")
    trace = b.finish()
    assert trace.tasks and trace.slices and trace.waits and trace.output and trace.events and trace.error
    data = trace.to_json()
    items = {"tasks": [], "slices": [], "waits": [], "output": [], "events": [], "error": None}
    assert len(dumps(data)) - len(dumps({**data, **items})) <= b.caps.answer_spent + b.caps.kept_spent
