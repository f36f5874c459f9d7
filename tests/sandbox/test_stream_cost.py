"""What a hostile stream costs the server, against real bubblewrap jails.

A snippet can write any bytes to the events descriptor (fd 3). Whatever it
writes, the server's work for the run stays bounded: a line or frame past
its cap is skipped unread, a handful of messages it cannot read stop the
run, and past the tracer's own message cap nothing more is parsed. The CPU
bounds here are generous (they catch the pathology, seconds of parsing, not
a regression of a few milliseconds: bench/stream_cost.py has the figures).
"""

from __future__ import annotations

import gc
import textwrap
import time
from typing import Any

import pytest

from playground.sandbox.jail import Bubblewrap
from playground.sandbox.limits import Limits
from playground.sandbox.runner import (
    ANSWER_COST_FACTOR,
    COLLECTIONS,
    PARSE_CPU_FREE_SECONDS,
    ParseBudget,
    run_snippet,
)
from playground.tracer.protocol import MAX_KEPT_PAST_CUT
from tests.support.traces import printed

Trace = dict[str, Any]

# The snippet's side: write everything, however the server reads it.
SEND = """
import os
def send(data):
    view = memoryview(data)
    while view:
        view = view[os.write(3, view):]
"""


@pytest.fixture(scope="module")
def jail() -> Bubblewrap:
    return Bubblewrap()


def run(jail: Bubblewrap, code: str, **limits: Any) -> tuple[Trace, float]:
    """The run's trace, and the CPU the server spent on it (this thread's)."""
    started = time.thread_time()
    trace = run_snippet(jail, SEND + textwrap.dedent(code), "virtual", Limits(**limits))
    return trace.to_json(), time.thread_time() - started


def limits_hit(trace: Trace) -> list[str]:
    return [limit["name"] for limit in trace["limits"]]


def stopped_for_rejects(trace: Trace) -> bool:
    """Stopped for what the server could not read, or, when parsing it cost
    more than the jail's CPU allows first, for that (both stop such a run)."""
    said = [event["message"] for event in trace["events"] if event["kind"] == "limit"]
    if limits_hit(trace) == ["parse_cpu_ratio"]:
        return trace["status"] == "output_limit" and trace["truncated"]
    return (trace["status"] == "output_limit" and limits_hit(trace) == ["max_rejected"]
            and any("could not read" in message for message in said) and trace["truncated"])


def test_a_32_mib_line_of_empty_lists_costs_the_server_little(jail: Bubblewrap) -> None:
    # Within the channel's 32 MiB, so that before the fix it was parsed
    # whole: seconds of CPU and most of a gigabyte.
    trace, cpu = run(jail, """
        send(b"[" + b"[]," * ((32 * 1024 * 1024 - 64 * 1024) // 3) + b"[]]\\n")
        print("after")
    """)
    assert cpu < 1.0, cpu
    assert stopped_for_rejects(trace)


def test_rejected_lines_stop_the_run(jail: Bubblewrap) -> None:
    trace, _ = run(jail, """
        import time
        for _ in range(100):
            send(b"not json\\n")
        time.sleep(5)
        print("never")
    """, wall_seconds=4)
    assert stopped_for_rejects(trace)
    assert trace["wall"] < 3 and printed(trace) == []


def test_512_dense_lines_under_the_cap_cost_the_server_little(jail: Bubblewrap) -> None:
    # Each a 64 KiB array of 21,600 rejected messages: one stops the run.
    trace, cpu = run(jail, """
        line = b"[" + b"[]," * 21_600 + b"[]]\\n"
        for _ in range(512):
            send(line)
    """)
    assert cpu < 1.0, cpu
    assert stopped_for_rejects(trace)


def test_deep_nesting_stops_the_run(jail: Bubblewrap) -> None:
    trace, _ = run(jail, """
        line = b"[" * 30_000 + b"]" * 30_000 + b"\\n"
        for _ in range(512):
            send(line)
        print("sent")
    """)
    assert stopped_for_rejects(trace)


def test_a_line_with_no_end_is_skipped_not_kept(jail: Bubblewrap) -> None:
    # Before the fix each read searched the whole pending line again for
    # its newline: quadratic, a second and more for 32 MiB.
    trace, cpu = run(jail, """
        send(b"x" * (32 * 1024 * 1024))
    """)
    assert cpu < 0.5, cpu
    assert stopped_for_rejects(trace)


def test_a_frame_past_its_cap_is_skipped_unread(jail: Bubblewrap) -> None:
    # A valid tasks frame of 3,000 tasks (110 KB): within the old cap (the
    # channel's 32 MiB, so a frame could hold it all), over the new one.
    trace, _ = run(jail, """
        import json, struct
        count = 3000  # ids with no newline byte: the skip goes to the newline after the frame
        ids = [n for n in range(1000, 10_000) if b"\\n" not in struct.pack("=q", n)][:count]
        numbers = struct.pack(f"={4 * count}q", *(n for task in ids for n in (task, -1, -1, 0)))
        payload = struct.pack("=I", count) + numbers + json.dumps([["T"] * count, ["c"] * count]).encode()
        send(struct.pack("=BBI", 0, 3, len(payload)) + payload + b"\\n")
        print("after the frame")
    """)
    assert trace["status"] == "ok" and printed(trace) == ["after the frame"]
    assert not [task for task in trace["tasks"] if task["id"] >= 1000]


def test_a_frame_header_claiming_4_gib_costs_no_memory(jail: Bubblewrap) -> None:
    trace, cpu = run(jail, """
        import struct
        send(struct.pack("=BBI", 0, 1, 2**32 - 1) + b"x" * (16 * 1024 * 1024) + b"\\n")
        print("after the frame")
    """)
    assert cpu < 1.0, cpu
    assert trace["status"] == "ok" and printed(trace) == ["after the frame"]


def test_valid_messages_past_the_tracers_own_cap_stop_the_run(jail: Bubblewrap) -> None:
    # The tracer never sends more than 4 x max_events messages and, past its
    # cut, MAX_KEPT_PAST_CUT of those it keeps whole; a replay of valid ones
    # is parsed up to that, not up to the channel's 32 MiB.
    trace, _ = run(jail, f"""
        line = b"[" + b",".join([b'["event",0,"x",null,"m",null]'] * 512) + b"]\\n"
        for _ in range((4 * 1000 + {MAX_KEPT_PAST_CUT}) // 512 + 20):
            send(line)
        print("sent")
    """, max_events=1000)
    assert stopped_for_rejects(trace), trace["limits"]
    assert len(trace["events"]) <= 1100 + 2


def test_an_honest_run_is_not_held_to_the_caps(jail: Bubblewrap) -> None:
    # Big batches and long non-ASCII lines reach the server within the caps:
    # nothing of an honest run is rejected.
    trace, _ = run(jail, """
        import asyncio
        async def fail(i):
            await asyncio.sleep(0)
            if i % 20 == 0:
                print("🎉" * 4000)
            raise ValueError("é" * 10_000)
        async def main():
            await asyncio.gather(*(fail(i) for i in range(5000)), return_exceptions=True)
        asyncio.run(main())
        print("done")
    """, output_bytes=64 * 1024 * 1024, channel_bytes=256 * 1024 * 1024, answer_bytes=256 * 1024 * 1024,
        max_events=100_000, max_tasks=100_000)
    assert trace["status"] == "ok", trace["events"][-3:]
    assert len(trace["tasks"]) == 5001 and all(task["state"] == "error" for task in trace["tasks"][1:])
    assert trace["tasks"][1]["error"]["message"] == "é" * 2000
    assert printed(trace)[-1] == "done" and len(printed(trace)) == 251


def test_valid_lines_replayed_cost_the_server_at_most_twice_the_jails_cpu(jail: Bubblewrap) -> None:
    """The cheapest valid line, written again and again: each is worth
    parsing, so no cap stops it; the server's CPU for reading is held to
    LIMIT_PARSE_CPU_RATIO times what the jail spent (its cgroup's count)."""
    assert jail.cgroups is not None and jail.cgroups.cpu_root is not None
    cpu = jail.cgroups.cpu_root / "slot-0" / "cpuacct.usage"
    before = int(cpu.read_text()) if cpu.exists() else 0
    trace, server = run(jail, """
        line = b"[" + b",".join([b'["event",0,"x",null,"m",null]'] * 512) + b"]\\n"
        for _ in range(2000):
            send(line)
    """, max_events=10**6)
    spent_by_jail = (int(cpu.read_text()) - before) / 1e9
    assert trace["status"] == "output_limit" and limits_hit(trace) == ["parse_cpu_ratio"], trace["limits"]
    assert server < 3 * spent_by_jail + 0.05  # generous: the figure is bench/stream_cost.py --jail bwrap's


@pytest.mark.parametrize("generation", [2, 0])
def test_a_collection_while_parsing_is_not_counted_as_the_streams_cost(generation: int) -> None:
    # A full collection walks the whole server's heap, a young one what every
    # thread allocated since the last (tens of milliseconds in a busy
    # server): counted three times as the stream's parsing, each once
    # stopped honest runs.
    gc.disable()  # every object below stays young until the parser's collection
    try:
        heap = [[n] for n in range(1_000_000)]

        class StrickenParser:
            def feed(self, data: bytes) -> None:
                gc.collect(generation)

        class IdleCgroup:
            cpu = "cpuacct"

            def cpu_seconds(self) -> float:
                return 0.0  # the jail spent nothing: only the free share is allowed

        budget = ParseBudget(IdleCgroup(), Limits())  # type: ignore[arg-type]
        before = COLLECTIONS.seconds()
        assert budget.feed(StrickenParser(), b"x" * 100)  # type: ignore[arg-type]
        assert COLLECTIONS.seconds() - before > PARSE_CPU_FREE_SECONDS / ANSWER_COST_FACTOR
        assert budget.spent < PARSE_CPU_FREE_SECONDS
        del heap
    finally:
        gc.enable()
