"""The stream parser on what the jail tells of its child processes
(protocol.CHILD_START, CHILD): checked, capped, kept open until they end,
cut off at a stop, and left without an end when the run ended first."""

from __future__ import annotations

import json

from playground.model.answer import ITEM_BYTES, dumps
from playground.model.trace import MAX_ID, MAX_TIME, Child
from playground.sandbox.children import MAX_ARGV, MAX_CHILDREN, MAX_OPEN_CHILDREN
from playground.sandbox.stream import StreamParser

S = 1_000_000_000  # a second, in the stream's nanoseconds


def builder() -> StreamParser:
    return StreamParser("virtual", max_tasks=100, max_items=10_000, max_output_bytes=10_000)


def line(*messages: list[object]) -> bytes:
    return json.dumps(list(messages)).encode() + b"\n"


def test_children_are_kept_with_their_task_line_and_exit_code() -> None:
    b = builder()
    b.feed(line(["child_start", 1, 4, ["sleep", "0.5"], 1, S // 10, 6],  # task 1 announced later
                ["task", 1, "Task-1", "main", None, None, 0],
                ["child_start", 2, 5, ["sh", "-c", "exit 3"], None, S // 5, None],
                ["child", 2, S // 4, 3], ["child", 1, S * 6 // 10, 0],
                ["child_start", 3, 6, ["sleep", "1000"], 99, S, 9]))  # never ends; task 99 unknown
    trace = b.finish()
    assert b.rejected == 0
    assert trace.children == [
        Child(5, ["sh", "-c", "exit 3"], None, None, 0.2, 0.25, 3),
        Child(4, ["sleep", "0.5"], 1, 6, 0.1, 0.6, 0),
        Child(6, ["sleep", "1000"], None, 9, 1.0, None, None),
    ]
    assert [item["returncode"] for item in trace.to_json()["children"]] == [3, 0, None]


def test_children_running_at_a_stop_are_cut_off_there() -> None:
    b = builder()
    b.feed(line(["child_start", 1, 4, ["sleep", "30"], None, S, None]))
    b.close_open(2.5)
    [child] = b.finish().children
    assert (child.start, child.end, child.returncode, child.cut_off) == (1.0, 2.5, None, True)
    assert child.to_json()["cut_off"] is True


def test_what_breaks_the_contract_is_rejected() -> None:
    b = builder()
    b.feed(line(["child", 7, S, 0],  # never started
                ["child_start", 1, 4, "sleep 1", None, 0, None],  # argv not a list
                ["child_start", 2, 4, [], None, 0, None],  # no argv
                ["child_start", 3, 0, ["x"], None, 0, None],  # no pid
                ["child_start", 4, 4, ["x"] * (MAX_ARGV + 1), None, 0, None],
                ["child_start", 5, 4, [42], None, 0, None],
                ["child_start", 6, 4, ["x"], None, -1, None],  # a time before the run
                ["child_start", 8, 4, ["x"], None, S, None], ["child", 8, 0, 0],  # ends before it starts
                ["child_start", 9, 4, ["x"], None, 0, None], ["child_start", 9, 4, ["x"], None, 0, None],
                ["child_start", 10, 4, ["x"], None, 0, None], ["child", 10, S, 1000],  # no such exit code
                ["child_start", 11, 4, ["x"], None, 0, None], ["child", 11, S, True]))
    trace = b.finish()
    assert b.rejected == 11
    # 9 was kept open once; 8, 10 and 11 stay open after their bad ends: no end.
    assert [(child.argv, child.end) for child in trace.children] == [(["x"], None)] * 4


def test_children_are_capped() -> None:
    b = builder()
    b.feed(line(*[["child_start", i, 4, ["x"], None, 0, None] for i in range(1, MAX_OPEN_CHILDREN + 3)]))
    assert b.rejected == 2
    b = builder()
    for start in range(1, MAX_CHILDREN + 10, 100):
        batch = [message for i in range(start, start + 100) for message in (
            ["child_start", i, 4, ["x" * 300], None, 0, None], ["child", i, 0, 0])]
        b.feed(line(*batch))
    trace = b.finish()
    assert len(trace.children) == MAX_CHILDREN and b.rejected > 0
    assert {len(child.argv[0]) for child in trace.children} == {200}


def test_the_child_bound_holds_for_its_longest_numbers() -> None:
    longest = MAX_TIME - 1e-6
    item = Child(MAX_ID, [], MAX_ID, MAX_ID, longest, longest, -128).to_json()
    assert len(dumps(item)) + 1 <= ITEM_BYTES["child"]
