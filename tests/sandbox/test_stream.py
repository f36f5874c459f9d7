"""The trace builder against hostile bytes: whatever the jail writes, the
server keeps only what fits the contract, within its caps."""

from __future__ import annotations

import base64
import json
import struct
from array import array
from dataclasses import fields

from playground.sandbox.stillopen import MAX_OPEN_JOBS
from playground.sandbox.stream import StreamParser
from playground.tracer import protocol
from playground.tracer.channel import wait_payloads

S = 1_000_000_000  # one second on the wire, in nanoseconds


def builder(**caps: int) -> StreamParser:
    settings = {"max_tasks": 10, "max_items": 100, "max_output_bytes": 1000, "max_line_bytes": 4096}
    settings.update(caps)
    return StreamParser("virtual", **settings)  # type: ignore[arg-type]


def line(*messages: list[object]) -> bytes:
    return json.dumps(list(messages)).encode() + b"\n"


def test_valid_messages_build_the_trace() -> None:
    b = builder()
    b.feed(line(["task", 1, "Task-1", "main", None, 3, 0], ["out", S // 2, 1, "stdout", "hi"],
                ["step", 1, 0, S // 10], ["wait", 1, S // 10, 9 * S // 10, "asyncio.sleep(0.8)", 4, ["main", "sleep"]],
                ["step", 1, 9 * S // 10, S, "time.sleep(0.1)", 5, 6], ["done", 1, S, "done", None, None, None],
                ["step", 1, S, S, "time.sleep(0.1)", 5, -3], ["end", "ok", S]))
    trace = b.finish()
    assert [t.name for t in trace.tasks] == ["Task-1"] and trace.tasks[0].state == "done"
    assert trace.output[0].text == "hi" and trace.output[0].task == 1 and trace.output[0].t == 0.5
    # A blocking step that also yielded (asyncio.sleep(0)) says where; a yield line that is no line is refused.
    assert [(s.start, s.end, s.blocking, s.reason, s.line, s.yield_line) for s in trace.slices] == [
        (0.0, 0.1, False, None, None, None), (0.9, 1.0, True, "time.sleep(0.1)", 5, 6)]
    assert trace.waits[0].on == "asyncio.sleep(0.8)" and trace.waits[0].chain == ["main", "sleep"]
    task = trace.tasks[0]
    assert (task.busy, task.waiting, task.scheduled, task.steps) == (0.2, 0.8, 0.0, 2)
    assert b.claimed_status == "ok" and b.rejected == 1


def packed(*records: tuple[int, ...]) -> str:
    return base64.b64encode(array("q", [n for record in records for n in record]).tobytes()).decode()


def test_packed_steps_are_checked_one_by_one() -> None:
    b = builder()
    b.feed(line(["task", 1, "Task-1", "main", None, None, 0], ["task", 2, "Task-2", "work", 1, None, 0]))
    us = 1000
    b.feed(line(["steps", packed((1, 0, 10 * us, -1), (2, 10 * us, 20 * us, 7), (99, 0, us, -1),
                                 (2, 30 * us, 25 * us, -1), (1, -5, 3, -1), (2, 40 * us, 50 * us, -1),
                                 (1, 60 * us, 70 * us, -2), (1, 60 * us, 70 * us, 2**31))]))
    b.feed(line(["steps", "not base64!"], ["steps", base64.b64encode(b"12345").decode()], ["steps", 42],
                ["steps", packed((1, 0, 10 * us))]))
    trace = b.finish()
    assert [(s.task, s.start, s.end, s.yield_line) for s in trace.slices] == [
        (1, 0.0, 1e-05, None), (2, 1e-05, 2e-05, 7), (2, 4e-05, 5e-05, None)]
    assert b.rejected == 9
    assert [t.steps for t in trace.tasks] == [1, 2]


def frame(kind: int, payload: bytes, length: int | None = None) -> bytes:
    header = struct.pack(protocol.FRAME_HEADER, protocol.FRAME_MARK, kind, len(payload) if length is None else length)
    return header + payload


def numbers(*values: int) -> bytes:
    return array("q", values).tobytes()


def test_frames_carry_steps_and_ends_between_lines_in_any_chunks() -> None:
    us = 1000
    stream = (line(["task", 1, "Task-1", "main", None, None, 0], ["task", 2, "Task-2", "work", 1, None, 0])
              + frame(protocol.FRAME_STEPS, numbers(1, 0, 10 * us, -1, 2, 10 * us, 20 * us, -1, 99, 0, us, -1))
              + frame(protocol.FRAME_ENDS, numbers(2, 30 * us))
              + line(["end", "ok", 40 * us]))
    whole, piecemeal = builder(), builder()
    whole.feed(stream)
    for at in range(len(stream)):  # a frame's header and payload split anywhere
        piecemeal.feed(stream[at:at + 1])
    for b in (whole, piecemeal):
        trace = b.finish()
        assert [(s.task, s.start, s.end) for s in trace.slices] == [(1, 0.0, 1e-05), (2, 1e-05, 2e-05)]
        assert [(t.state, t.ended) for t in trace.tasks] == [("pending", None), ("done", 3e-05)]
        assert b.claimed_status == "ok" and b.rejected == 1  # task 99 is unknown


def tasks_frame(count: int, numbers_: bytes, names: object) -> bytes:
    return frame(protocol.FRAME_TASKS, struct.pack(protocol.FRAME_TASKS_COUNT, count) + numbers_
                 + json.dumps(names).encode())


def test_a_tasks_frame_announces_tasks_each_checked() -> None:
    b = builder()
    b.feed(tasks_frame(3, numbers(1, -1, 4, 0, 2, 1, 7, 1000, 2, 1, 7, 2000), [["Task-1", "Task-2", "again"],
                                                                             ["main", "work", "work"]]))
    b.feed(tasks_frame(5, numbers(3, -1, -1, 0), [["short"], ["of numbers"]]))  # 5 tasks said, 1 sent
    b.feed(tasks_frame(1, numbers(4, -1, -1, 0), "not two lists"))
    b.feed(tasks_frame(1, numbers(5, 99, -1, 0), [["orphan"], ["x"]]))  # an unknown parent
    trace = b.finish()
    assert [(t.id, t.name, t.coro, t.parent, t.line) for t in trace.tasks] == [
        (1, "Task-1", "main", None, 4), (2, "Task-2", "work", 1, 7)]
    assert b.rejected == 4  # the duplicate id 2, and one per bad frame after it


def waits_frame(count: int, numbers_: bytes, labels: object) -> bytes:
    return frame(protocol.FRAME_WAITS, struct.pack(protocol.FRAME_TASKS_COUNT, count) + numbers_
                 + json.dumps(labels).encode())


def wait_records(*records: tuple[int, ...]) -> bytes:
    """Waits frame records, each (task, start, end, line, label) followed by
    its ending (due, wake, waker, waker's line), -1 where it is left out."""
    return numbers(*(n for record in records for n in (*record, *(-1,) * (9 - len(record)))))


def test_a_waits_frame_carries_waits_that_share_labels_each_checked() -> None:
    b = builder()
    b.feed(line(["task", 1, "Task-1", "main", None, None, 0], ["task", 2, "Task-2", "work", 1, None, 0]))
    sleep = ["asyncio.sleep(1)", "work", "asyncio.sleep"]
    b.feed(waits_frame(5, wait_records((1, 0, S, 4, 1), (2, 0, S, 9, 0), (99, 0, S, -1, 0), (2, S, 0, -1, 0),
                                       (2, 0, S, -1, 7)), [sleep, [None, "main"]]))
    b.feed(waits_frame(3, wait_records((1, 0, S, -1, 0)), [sleep]))  # 3 waits said, 1 sent
    b.feed(waits_frame(1, wait_records((1, 0, S, -1, 0)), [["on", 42]]))  # a chain that is not text
    b.feed(waits_frame(1, wait_records((1, 0, S, -1, 0)), "not a list"))
    trace = b.finish()
    assert [(w.task, w.start, w.end, w.on, w.line, w.chain) for w in trace.waits] == [
        (1, 0.0, 1.0, None, 4, ["main"]), (2, 0.0, 1.0, "asyncio.sleep(1)", 9, ["work", "asyncio.sleep"])]
    assert [t.waiting for t in trace.tasks] == [1.0, 1.0]
    # Task 99 is unknown, one wait ends before it starts, one names no label;
    # then one per bad frame.
    assert b.rejected == 6


def test_waits_travel_in_frames_from_the_tracer() -> None:
    """The tracer's waits frames, as its channel builds them, read back
    whole: split to fit, and a label too long for any frame cut."""
    waits = [(1, i, i + S, f"on {i % 3}", None if i % 5 else i, ("main", f"f{i % 3}"), None if i % 2 else i + S,
              protocol.WAKE_KINDS[i % 8], 1 if i % 8 in (1, 2, 7) else None, i % 7 or None) for i in range(3000)]
    waits.append((1, 0, S, "x" * 100_000, None, ("main",), 2 * S, "timer", None, None))
    payloads = wait_payloads(waits)
    assert len(payloads) > 2 and all(len(payload) <= protocol.MAX_FRAME_BYTES for payload in payloads)
    b = builder(max_items=10_000)
    b.feed(line(["task", 1, "Task-1", "main", None, None, 0])
           + b"".join(frame(protocol.FRAME_WAITS, payload) for payload in payloads))
    trace = b.finish()
    assert b.rejected == 0 and len(trace.waits) == len(waits)
    assert [(w.on, w.line, w.chain) for w in trace.waits[:3]] == [
        ("on 0", 0, ["main", "f0"]), ("on 1", None, ["main", "f1"]), ("on 2", None, ["main", "f2"])]
    assert [(w.due, w.wake, w.waker, w.waker_line) for w in trace.waits[:3]] == [
        (1.0, "timer", None, None), (None, "task", 1, 1), (1.0, "done", 1, 2)]
    assert trace.waits[-1].on == "x" * protocol.MAX_NAME_CHARS and trace.waits[-1].due == 2.0


def test_how_a_wait_ended_is_checked_in_frames_and_lines() -> None:
    """A wait's due time, wake, waker and waker's line: each checked, the
    wait rejected whole when one is wrong (fail-closed); a waker the trace
    does not hold is left out, as a cut task is."""
    b = builder()
    b.feed(line(["task", 1, "Task-1", "main", None, None, 0], ["task", 2, "Task-2", "work", 1, None, 0]))
    on = [["Event.wait()", "work", "Event.wait"]]
    task, timer, cancel = (protocol.WAKE_KINDS.index(kind) for kind in ("task", "timer", "cancel"))
    b.feed(waits_frame(8, wait_records(
        (2, 0, S, 4, 0, -1, task, 1, 12),  # kept whole
        (2, 0, S, 4, 0, S, timer, -1, -1),  # a timer, due at 1 s
        (2, 0, S, 4, 0, -1, cancel, 7, -1),  # task 7 is not in the trace: no waker
        (2, 0, S, 4, 0, -1, timer, 1, -1),  # a timer has no waker
        (2, 0, S, 4, 0, -1, len(protocol.WAKE_KINDS), -1, -1),  # no such wake
        (2, 0, S, 4, 0, -2, -1, -1, -1),  # a due time before the run
        (2, 0, S, 4, 0, -1, task, 0, -1),  # no task 0
        (2, 0, S, 4, 0, -1, task, 1, -7),  # a line below zero
    ), on))
    b.feed(line(["wait", 2, 0, S, "Event.wait()", 4, ["work"], None, "task", 1, 12],
                ["wait", 2, 0, S, "Event.wait()", 4, ["work"], 2 * S, "timer", None, None],
                ["wait", 2, 0, S, "Event.wait()", 4, ["work"], None, None, None, None],
                ["wait", 2, 0, S, "Event.wait()", 4, ["work"], None, "sunrise", None, None],
                ["wait", 2, 0, S, "Event.wait()", 4, ["work"], 1.5, "timer", None, None],
                ["wait", 2, 0, S, "Event.wait()", 4, ["work"], None, "io", 1, None],
                ["wait", 2, 0, S, "Event.wait()", 4, ["work"], None, "task", "1", None],
                ["wait", 2, 0, S, "Event.wait()", 4, ["work"], None, "task"]))
    trace = b.finish()
    assert [(w.due, w.wake, w.waker, w.waker_line) for w in trace.waits] == [
        (None, "task", 1, 12), (1.0, "timer", None, None), (None, "cancel", None, None),
        (None, "task", 1, 12), (2.0, "timer", None, None), (None, None, None, None)]
    assert b.rejected == 5 + 5
    as_json = [w.to_json() for w in trace.waits]
    assert as_json[0] == {"task": 2, "start": 0.0, "end": 1.0, "on": "Event.wait()", "line": 4,
                          "chain": ["work", "Event.wait"], "wake": "task", "waker": 1, "waker_line": 12}
    assert "due" in as_json[1] and "waker" not in as_json[1] and set(as_json[5]) == {
        "task", "start", "end", "on", "line", "chain"}


def test_bad_frames_are_skipped_to_the_next_line() -> None:
    b = builder(max_line_bytes=4096)
    b.feed(line(["task", 1, "Task-1", "main", None, None, 0]))
    b.feed(frame(protocol.FRAME_STEPS, numbers(1, 0, 5, -1)[:-3]))  # not whole records
    b.feed(frame(77, b"\n" * 5) + b"no newline in this garbage")  # unknown kind
    b.feed(b"still garbage\n" + line(["step", 1, 10_000, 20_000]))
    b.feed(frame(protocol.FRAME_STEPS, b"", length=2**31) + b"x" * 100 + b"\n")  # longer than any line may be
    b.feed(line(["step", 1, 30_000, 40_000]) + frame(protocol.FRAME_ENDS, numbers(1, 50_000)))
    trace = b.finish()
    assert [(s.start, s.end) for s in trace.slices] == [(1e-05, 2e-05), (3e-05, 4e-05)]
    assert trace.tasks[0].state == "done"
    # The short frame, the unknown one, the garbage line after it, the long one.
    assert b.rejected == 4


def test_figures_count_past_the_item_cap() -> None:
    b = builder(max_items=3)
    b.feed(line(["task", 1, "Task-1", "main", None, None, 0],
                *[["step", 1, i * S, i * S + S // 2] for i in range(4)],
                ["done", 1, 4 * S, "done", None, None, None], ["end", "ok", 4 * S]))
    trace = b.finish()
    assert len(trace.slices) == 2 and trace.truncated
    assert (trace.tasks[0].busy, trace.tasks[0].steps, trace.tasks[0].scheduled) == (2.0, 4, 2.0)


def test_garbage_is_rejected_and_counted() -> None:
    b = builder()
    for garbage in (b"{not json\n", b'"a string"\n', b"[1, 2]\n", b'[["nope", 1]]\n', b"\xff\xfe\n",
                    line(["task", "1", "x", "y", None, None, 0]),
                    line(["task", 1, "x", "y", None, None, float("nan")]),
                    line(["task", 1, "x", "y", None, None, 0.5]),
                    line(["step", 99, 0, S]),
                    line(["task", 1, "x", "y", 42, None, 0]),
                    line(["end", "hacked", S]),
                    line(["out", -1, None, "stdout", "x"]),
                    line(["out", 10**30, None, "stdout", "x"]),
                    b'[["out", ' + b"9" * 400 + b', null, "stdout", "x"]]\n'):
        b.feed(garbage)
    assert b.trace.tasks == [] and b.trace.slices == [] and b.trace.output == []
    assert b.claimed_status is None
    assert b.rejected == 15  # "[1, 2]" is a batch of two bad messages


def test_a_line_over_the_cap_is_skipped_whole() -> None:
    b = builder(max_line_bytes=100)
    huge = line(["out", 0, None, "stdout", "x" * 500])
    b.feed(huge[:60])
    b.feed(huge[60:])
    b.feed(line(["out", 0, None, "stdout", "after"]))
    assert [o.text for o in b.trace.output] == ["after"]
    assert b.rejected == 1


def test_lone_surrogates_are_replaced() -> None:
    b = builder()
    b.feed(b'[["out", 0, null, "stdout", "bad \\ud800 text"]]\n')
    assert b.trace.output[0].text == "bad ? text"
    json.dumps(b.trace.to_json(), ensure_ascii=False).encode("utf-8")


def test_caps_truncate_instead_of_growing() -> None:
    b = builder(max_items=5, max_tasks=2)
    b.feed(line(*[["task", i, f"T{i}", "c", None, None, 0] for i in range(1, 5)]))
    b.feed(line(*[["out", 0, None, "stdout", "x"] for _ in range(10)]))
    b.feed(line(*[["event", 0, "warning", None, "w", None] for _ in range(5)],
                ["event", 0, "exception", None, "boom", None]))
    assert len(b.trace.tasks) == 2
    # Output has a cap of its own, and an exception is kept whole: past the
    # item cap the trace is cut for the rest, and says what it left out.
    assert len(b.trace.output) == 10
    assert [event.kind for event in b.trace.events] == ["warning"] * 3 + ["exception"]
    assert b.trace.truncated
    b.finish()
    assert b.trace.cut == {"at": 0.0, "dropped": {"events": 2, "tasks": 2}}


def test_output_bytes_are_counted_past_the_cap() -> None:
    b = builder(max_output_bytes=10)
    b.feed(line(*[["out", 0, None, "stdout", "12345"] for _ in range(5)]))
    assert b.output_bytes == 30
    assert len(b.trace.output) == 1


def test_packed_tasks_and_ends_are_checked_one_by_one() -> None:
    b = builder()
    b.feed(line(["tasks", packed4((1, -1, 3, 0), (2, 1, -1, S), (3, 77, -1, S)), ["main", "w", "orphan"],
                 ["main", "work", "x"]]))
    b.feed(line(["tasks", packed4((4, -1, -1, 0)), ["too", "many"], ["names"]],
                ["ends", base64.b64encode(array("q", [2, 2 * S, 9, S, 1, 3 * S]).tobytes()).decode()]))
    trace = b.finish()
    assert [(t.id, t.name, t.parent, t.line, t.created) for t in trace.tasks] == [
        (1, "main", None, 3, 0.0), (2, "w", 1, None, 1.0)]
    assert [(t.state, t.ended) for t in trace.tasks] == [("done", 3.0), ("done", 2.0)]
    assert b.rejected == 3  # the orphan's unknown parent, the mismatched names, the unknown task 9


def packed4(*records: tuple[int, int, int, int]) -> str:
    return base64.b64encode(array("q", [n for record in records for n in record]).tobytes()).decode()


def test_the_json_has_every_field_of_the_trace() -> None:
    b = builder()
    b.feed(line(["task", 1, "Task-1", "main", None, None, 0], ["step", 1, 0, S], ["end", "ok", S]))
    trace = b.finish()
    data = trace.to_json()
    assert set(data) == {f.name for f in fields(trace)}
    assert json.loads(json.dumps(data)) == data


def test_what_was_open_at_a_stop_is_kept_up_to_it_and_marked_cut_off() -> None:
    b = builder()
    b.feed(line(["task", 1, "Task-1", "main", None, None, 0], ["task", 2, "Task-2", "work", 1, None, 0],
                ["running", 1, S // 10, 3],  # superseded: a step ends after it began
                ["step", 1, S // 10, S // 5],
                ["waiting", [[2, S // 5, "asyncio.sleep(9)", 7, ["work", "asyncio.sleep"]],
                             [1, S // 5, "gather(1 task)", 4, ["main", "gather"]]]],
                ["wait", 1, S // 5, S // 2, "gather(1 task)", 4, ["main", "gather"]],  # it ended: not open
                ["running", 1, S // 2, 5],
                ["job_start", 1, "asyncio_0", "blocking_io", 2, S // 4, 8],
                ["job_start", 2, "asyncio_1", "quick", 99, S // 4, None],  # task 99 never announced
                ["job", 2, S // 3, "ValueError"]))
    b.close_open(2.0)
    trace = b.finish()
    assert [(s.task, s.start, s.end, s.blocking, s.line, s.cut_off) for s in trace.slices] == [
        (1, 0.1, 0.2, False, None, None), (1, 0.5, 2.0, True, 5, True)]
    assert [(w.task, w.start, w.end, w.on, w.cut_off) for w in trace.waits] == [
        (1, 0.2, 0.5, "gather(1 task)", None), (2, 0.2, 2.0, "asyncio.sleep(9)", True)]
    assert [(j.thread, j.fn, j.task, j.start, j.end, j.line, j.error, j.cut_off) for j in trace.jobs] == [
        ("asyncio_1", "quick", None, 0.25, 0.333333, None, "ValueError", None),
        ("asyncio_0", "blocking_io", 2, 0.25, 2.0, 8, None, True)]
    assert b.rejected == 0
    assert (trace.tasks[1].waiting, trace.tasks[0].busy) == (1.8, 1.6)


def test_a_job_or_connection_told_before_its_task_is_announced_keeps_its_task() -> None:
    """A job's thread and a connection tell of their task at once; the loop
    announces the task with its next batch."""
    b = builder()
    b.feed(line(["job_start", 1, "asyncio_0", "blocking_io", 2, 0, 5], ["job", 1, S // 10, None],
                ["conn_start", 1, 2, "example.com", 443, 0, 6], ["conn", 1, S // 5, [["connect", 0, S // 10]], None],
                ["conn_start", 2, 77, "example.com", 443, 0, 6], ["conn", 2, S // 5, [], "refused"]))
    b.feed(line(["task", 1, "Task-1", "main", None, None, 0], ["task", 2, "Task-2", "work", 1, 3, 0]))
    trace = b.finish()
    assert [job.task for job in trace.jobs] == [2]
    assert [(c.id, c.task, c.error) for c in trace.connections] == [(1, 2, None), (2, None, "refused")]
    assert trace.connections[0].phases == [{"name": "connect", "start": 0.0, "end": 0.1}]
    assert b.rejected == 0


def test_jobs_told_as_they_end_are_kept_in_the_order_they_started() -> None:
    """Each job's thread tells its end: a later job's thread may tell first."""
    b = builder()
    b.feed(line(["task", 1, "Task-1", "main", None, None, 0],
                ["job_start", 1, "asyncio_0", "slow", 1, 0, 5], ["job_start", 2, "mine_0", "quick", 1, S // 10, 6],
                ["job", 2, S // 5, None], ["job", 1, S // 2, None]))
    trace = b.finish()
    assert [(job.fn, job.start, job.end) for job in trace.jobs] == [("slow", 0.0, 0.5), ("quick", 0.1, 0.2)]


def test_open_items_that_break_the_contract_are_rejected() -> None:
    b = builder()
    b.feed(line(["task", 1, "Task-1", "main", None, None, 0],
                ["running", 7, 0, None],  # an unknown task
                ["waiting", "not a list"], ["waiting", [[1, 0, "on", None]]], ["waiting", [[1, 0, 5, None, []]]],
                ["job", 3, S, None],  # never started
                ["job_start", 4, "t", "f", None, 0, None], ["job_start", 4, "t", "f", None, 0, None],  # twice
                ["job_start", 5, "t", 42, None, 0, None],  # a function name that is not text
                ["job_start", 6, "t", "f", None, S, None], ["job", 6, 0, None]))  # ends before it starts
    b.close_open(1.0)
    trace = b.finish()
    assert b.rejected == 8
    assert [(j.fn, j.cut_off) for j in trace.jobs] == [("f", True)]  # job 4; job 6 went with its bad end
    assert trace.slices == [] and trace.waits == []


def test_open_jobs_are_capped() -> None:
    b = builder(max_items=1000, max_line_bytes=64 * 1024)
    b.feed(line(*[["job_start", i, "t", "f", None, 0, None] for i in range(1, MAX_OPEN_JOBS + 3)]))
    assert b.rejected == 2
