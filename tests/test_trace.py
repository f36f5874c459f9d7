"""The trace builder against hostile bytes: whatever the jail writes, the
server keeps only what fits the contract, within its caps."""

from __future__ import annotations

import json

from playground.trace import TraceBuilder


def builder(**caps: int) -> TraceBuilder:
    settings = {"max_tasks": 10, "max_items": 100, "max_output_bytes": 1000, "max_line_bytes": 4096}
    settings.update(caps)
    return TraceBuilder("virtual", **settings)  # type: ignore[arg-type]


def line(*messages: list[object]) -> bytes:
    return json.dumps(list(messages)).encode() + b"\n"


def test_valid_messages_build_the_trace() -> None:
    b = builder()
    b.feed(line(["task", 1, "Task-1", "main", None, 3, 0.0], ["out", 0.5, 1, "stdout", "hi"],
                ["slice", 1, 0.0, 0.1, False, None], ["done", 1, 1.0, "done", None, None, None],
                ["end", "ok", 1.0]))
    trace = b.trace
    assert [t.name for t in trace.tasks] == ["Task-1"] and trace.tasks[0].state == "done"
    assert trace.output[0].text == "hi" and trace.output[0].task == 1
    assert b.claimed_status == "ok" and b.rejected == 0


def test_garbage_is_rejected_and_counted() -> None:
    b = builder()
    for garbage in (b"{not json\n", b'"a string"\n', b"[1, 2]\n", b'[["nope", 1]]\n', b"\xff\xfe\n",
                    line(["task", "1", "x", "y", None, None, 0.0]),
                    line(["task", 1, "x", "y", None, None, float("nan")]),
                    line(["slice", 99, 0.0, 1.0, False, None]),
                    line(["task", 1, "x", "y", 42, None, 0.0]),
                    line(["end", "hacked", 1.0]),
                    line(["out", -1.0, None, "stdout", "x"]),
                    b'[["out", ' + b"9" * 400 + b', null, "stdout", "x"]]\n'):
        b.feed(garbage)
    assert b.trace.tasks == [] and b.trace.slices == [] and b.trace.output == []
    assert b.claimed_status is None
    assert b.rejected == 13  # "[1, 2]" is a batch of two bad messages


def test_a_line_over_the_cap_is_skipped_whole() -> None:
    b = builder(max_line_bytes=100)
    huge = line(["out", 0.0, None, "stdout", "x" * 500])
    b.feed(huge[:60])
    b.feed(huge[60:])
    b.feed(line(["out", 0.0, None, "stdout", "after"]))
    assert [o.text for o in b.trace.output] == ["after"]
    assert b.rejected == 1


def test_lone_surrogates_are_replaced() -> None:
    b = builder()
    b.feed(b'[["out", 0.0, null, "stdout", "bad \\ud800 text"]]\n')
    assert b.trace.output[0].text == "bad ? text"
    json.dumps(b.trace.to_json(), ensure_ascii=False).encode("utf-8")


def test_caps_truncate_instead_of_growing() -> None:
    b = builder(max_items=5, max_tasks=2)
    b.feed(line(*[["task", i, f"T{i}", "c", None, None, 0.0] for i in range(1, 5)]))
    b.feed(line(*[["out", 0.0, None, "stdout", "x"] for _ in range(10)]))
    assert len(b.trace.tasks) == 2
    assert len(b.trace.output) == 3
    assert b.trace.truncated


def test_output_bytes_are_counted_past_the_cap() -> None:
    b = builder(max_output_bytes=10)
    b.feed(line(*[["out", 0.0, None, "stdout", "12345"] for _ in range(5)]))
    assert b.output_bytes == 30
    assert len(b.trace.output) == 1
