"""The tracer on real asyncio snippets: tasks, steps, waits, output, errors,
and the virtual clock. These run in the real jail on every Python the server
offers (``run_trace`` of tests/tracer/conftest.py: a test ``test_x[3.14]``
ran on 3.14), each run forked from a warm jail, so they stay quick."""

from __future__ import annotations

import pytest

from playground.sharing.examples import BY_NAME
from tests.support.traces import RunTrace, events, near, outputs, task_named
from tests.support.unloaded import incidental, run_unstalled


def test_three_hellos_overlap_on_the_virtual_clock(run_trace: RunTrace) -> None:
    trace = run_trace(BY_NAME["gather"].code)

    assert trace["status"] == "ok"
    assert trace["clock"] == "virtual"
    assert near(trace["duration"], 1.0)
    assert trace["wall"] < 0.5
    [main] = task_named(trace, "main")
    hellos = task_named(trace, "say_hello")
    assert len(hellos) == 3
    assert all(task["parent"] == main["id"] for task in hellos)
    assert all(task["state"] == "done" and near(task["ended"], 1.0) for task in hellos)
    assert [line["text"] for line in trace["output"]] == ["Hello"] * 3 + ["World"] * 3
    assert all(near(line["t"], 0.0) for line in outputs(trace, "Hello"))
    assert all(near(line["t"], 1.0) for line in outputs(trace, "World"))
    # Each line is attributed to the task that printed it.
    assert sorted(line["task"] for line in outputs(trace, "World")) == sorted(t["id"] for t in hellos)


def test_tasks_record_creation_line_and_coroutine(run_trace: RunTrace) -> None:
    trace = run_trace(BY_NAME["gather"].code)
    [main] = task_named(trace, "main")
    assert main["name"] == "Task-1" and main["parent"] is None
    assert main["line"] == 11  # asyncio.run(main())
    assert {task["line"] for task in task_named(trace, "say_hello")} == {9}


def test_slices_and_waits_alternate_for_each_task(run_trace: RunTrace) -> None:
    # Run again if the machine stalled a step into blocking (unloaded.py).
    trace = run_unstalled(run_trace, BY_NAME["gather"].code)
    for task in task_named(trace, "say_hello"):
        slices = [s for s in trace["slices"] if s["task"] == task["id"]]
        waits = [w for w in trace["waits"] if w["task"] == task["id"]]
        assert len(slices) == 2 and len(waits) == 1
        [wait] = waits
        assert wait["on"] == "asyncio.sleep(1)"
        assert wait["line"] == 5
        assert near(wait["start"], 0.0) and near(wait["end"], 1.0)
        assert slices[0]["end"] <= wait["start"] <= wait["end"] <= slices[1]["start"]
        assert not any(s["blocking"] for s in slices)
    [main] = task_named(trace, "main")
    [main_wait] = [w for w in trace["waits"] if w["task"] == main["id"]]
    assert main_wait["on"] == "gather(3 tasks)" and main_wait["line"] == 9


def test_virtual_sleep_costs_no_wall_time(run_trace: RunTrace) -> None:
    trace = run_trace("""
        import asyncio
        async def main():
            await asyncio.sleep(600)
            print("ten minutes later")
        asyncio.run(main())
    """)
    assert trace["status"] == "ok"
    assert near(trace["output"][0]["t"], 600.0)
    assert trace["wall"] < 1.0


def test_time_functions_agree_with_the_loop_clock(run_trace: RunTrace) -> None:
    trace = run_trace("""
        import asyncio, time
        async def main():
            loop = asyncio.get_running_loop()
            t0, m0, p0, l0 = time.time(), time.monotonic(), time.perf_counter(), loop.time()
            await asyncio.sleep(5)
            time.sleep(2)
            print(round(time.time() - t0), round(time.monotonic() - m0),
                  round(time.perf_counter() - p0), round(loop.time() - l0))
        asyncio.run(main())
    """)
    assert trace["status"] == "ok"
    assert trace["output"][0]["text"] == "7 7 7 7"


def test_create_task_starts_work_early(run_trace: RunTrace) -> None:
    trace = run_trace(BY_NAME["create_task"].code)
    assert trace["status"] == "ok"
    assert near(trace["duration"], 3.0)
    times = {line["text"]: line["t"] for line in trace["output"]}
    assert near(times["Start brewing coffee"], 0.0)
    assert near(times["Toast is ready"], 2.0)
    assert near(times["Coffee is ready"], 3.0)
    assert trace["output"][-1]["text"] == "Breakfast: coffee and toast"


def test_simulated_fetches_overlap(run_trace: RunTrace) -> None:
    trace = run_trace(BY_NAME["fetch"].code)
    assert trace["status"] == "ok"
    assert near(trace["duration"], 1.0)
    assert len(task_named(trace, "fetch_data")) == 3


def test_time_sleep_blocks_the_loop(run_trace: RunTrace) -> None:
    trace = run_trace(BY_NAME["blocking"].code)
    assert trace["status"] == "ok"
    assert near(trace["duration"], 3.0)
    # Each say_hello's step blocks on its time.sleep; any other step that
    # blocks was stalled by a loaded machine (unloaded.py), for no other reason.
    sleeps = [s for s in trace["slices"] if s["reason"] == "time.sleep(1)"]
    assert len(sleeps) == 3 and all(s["blocking"] for s in sleeps)
    assert all(incidental(s) for s in trace["slices"] if s["blocking"] and s not in sleeps)
    assert all(near(s["end"] - s["start"], 1.0) for s in sleeps)
    worlds = [line["t"] for line in outputs(trace, "World")]
    assert [round(t) for t in worlds] == [1, 2, 3]
    warnings = [e for e in events(trace, "blocking") if e["message"].startswith("time.sleep(1) ")]
    assert len(warnings) == 3 and all(e["line"] == 6 for e in warnings)


def test_cpu_bound_step_is_blocking(run_trace: RunTrace) -> None:
    # Busy for 0.2 s of CPU time (real: process_time is not virtual), four
    # times the threshold on a machine of any speed.
    trace = run_trace("""
        import asyncio, time
        async def crunch():
            total, start = 0, time.process_time()
            while time.process_time() - start < 0.2:
                for i in range(10_000):
                    total += i
        asyncio.run(crunch())
    """)
    [crunch] = task_named(trace, "crunch")
    # Its one step; another step that blocks would be the machine's stall.
    [slice_] = [s for s in trace["slices"] if s["task"] == crunch["id"]]
    assert slice_["blocking"] and slice_["reason"].startswith("CPU-bound for ")


def test_shared_state_loses_updates(run_trace: RunTrace) -> None:
    trace = run_trace(BY_NAME["shared_state"].code)
    assert trace["status"] == "ok"
    assert trace["output"][-1]["text"] == "counter = 1, expected 5"
    assert near(trace["duration"], 0.1)


def test_hello_example(run_trace: RunTrace) -> None:
    trace = run_trace(BY_NAME["hello"].code)
    assert trace["status"] == "ok"
    assert [(line["text"], round(line["t"], 1)) for line in trace["output"]] == [("Hello", 0.0), ("World", 1.0)]


def test_undefined_name_is_an_error_with_its_line(run_trace: RunTrace) -> None:
    trace = run_trace("""
        import asyncio

        async def say_hello():
            print("Hello")

        async def main():
            await say_helo()

        asyncio.run(main())
    """)
    assert trace["status"] == "error"
    error = trace["error"]
    assert error["type"] == "NameError"
    assert error["line"] == 8
    assert "Did you mean: 'say_hello'?" in error["message"]
    assert [frame["line"] for frame in error["traceback"]] == [10, 8]
    assert error["traceback"][-1]["text"] == "await say_helo()"
    assert error["traceback"][-1]["name"] == "main"


def test_attribute_error_suggests_the_near_name(run_trace: RunTrace) -> None:
    trace = run_trace("""
        import asyncio
        asyncio.sleeep(1)
    """)
    assert trace["error"]["type"] == "AttributeError"
    assert "Did you mean: 'sleep'?" in trace["error"]["message"]


def test_syntax_error_has_its_line(run_trace: RunTrace) -> None:
    trace = run_trace("import asyncio\n\nasync def main(:\n    pass\n")
    assert trace["status"] == "error"
    assert trace["error"]["type"] == "SyntaxError"
    assert trace["error"]["line"] == 3


def test_task_exception_and_cancellation_are_recorded(run_trace: RunTrace) -> None:
    trace = run_trace("""
        import asyncio
        async def fail():
            await asyncio.sleep(0.5)
            raise ValueError("bad value")
        async def forever():
            await asyncio.sleep(100)
        async def main():
            failing = asyncio.create_task(fail())
            waiting = asyncio.create_task(forever())
            await asyncio.sleep(1)
            waiting.cancel()
            await asyncio.gather(failing, waiting, return_exceptions=True)
        asyncio.run(main())
    """)
    assert trace["status"] == "ok"
    [fail] = task_named(trace, "fail")
    assert fail["state"] == "error"
    assert fail["error"] == {"type": "ValueError", "message": "bad value", "line": 5}
    assert near(fail["ended"], 0.5)
    [forever] = task_named(trace, "forever")
    assert forever["state"] == "cancelled"
    assert near(forever["ended"], 1.0)
    assert events(trace, "cancelled")[0]["task"] == forever["id"]


def test_uncaught_exception_in_main_ends_the_run_with_error(run_trace: RunTrace) -> None:
    trace = run_trace("""
        import asyncio
        async def main():
            await asyncio.sleep(2)
            raise RuntimeError("boom")
        asyncio.run(main())
    """)
    assert trace["status"] == "error"
    assert trace["error"]["type"] == "RuntimeError" and trace["error"]["line"] == 5
    assert task_named(trace, "main")[0]["state"] == "error"


def test_top_level_await_works(run_trace: RunTrace) -> None:
    trace = run_trace("""
        import asyncio
        await asyncio.sleep(1)
        print("after one second")
    """)
    assert trace["status"] == "ok"
    assert near(trace["output"][0]["t"], 1.0)


def test_several_asyncio_runs_share_one_clock(run_trace: RunTrace) -> None:
    trace = run_trace("""
        import asyncio
        async def step(n):
            await asyncio.sleep(1)
            print("step", n)
        asyncio.run(step(1))
        asyncio.run(step(2))
    """)
    assert [round(line["t"]) for line in trace["output"]] == [1, 2]
    assert len(events(trace, "loop_start")) == 2
    assert near(trace["duration"], 2.0)


def test_deadlock_ends_the_run_at_once(run_trace: RunTrace) -> None:
    trace = run_trace("""
        import asyncio
        async def main():
            queue = asyncio.Queue()
            await queue.get()
        asyncio.run(main())
    """)
    assert trace["status"] == "deadlock"
    assert trace["wall"] < 1.0
    [event] = events(trace, "deadlock")
    assert "Queue.get()" in event["message"] and event["line"] == 5


def test_sleeping_past_the_horizon_ends_the_run(run_trace: RunTrace) -> None:
    trace = run_trace("""
        import asyncio
        asyncio.run(asyncio.sleep(10 ** 9))
    """)
    assert trace["status"] == "timeout"
    assert any("horizon" in e["message"] for e in events(trace, "limit"))


def test_hint_when_main_is_never_run(run_trace: RunTrace) -> None:
    trace = run_trace("""
        import asyncio
        async def main():
            await asyncio.sleep(1)
    """)
    assert trace["status"] == "ok"
    assert "asyncio.run(main())" in events(trace, "hint")[0]["message"]


def test_stderr_and_partial_lines(run_trace: RunTrace) -> None:
    trace = run_trace("""
        import sys
        print("a", end="")
        print("b")
        print("oops", file=sys.stderr)
    """)
    assert [(line["stream"], line["text"]) for line in trace["output"]] == [("stdout", "ab"), ("stderr", "oops")]


@pytest.mark.parametrize("seconds", [0.3])
def test_real_clock_takes_real_time(run_trace: RunTrace, seconds: float) -> None:
    trace = run_trace(f"""
        import asyncio
        asyncio.run(asyncio.sleep({seconds}))
    """, clock="real")
    assert trace["clock"] == "real"
    assert trace["wall"] >= seconds
    assert trace["duration"] >= seconds


def test_event_cap_truncates_instead_of_growing(run_trace: RunTrace) -> None:
    trace = run_trace("""
        import asyncio
        async def main():
            await asyncio.gather(*(asyncio.sleep(0) for _ in range(500)))
        asyncio.run(main())
    """, max_events=200)
    assert trace["status"] == "ok"
    assert trace["truncated"] is True
    total = sum(len(trace[k]) for k in ("tasks", "slices", "waits", "output"))
    assert total <= 300


def test_a_line_another_task_left_unfinished_goes_on(run_trace: RunTrace) -> None:
    """As in a terminal: a spinner's frames and what follows are one line."""
    trace = run_trace("""
        import asyncio

        async def spin():
            try:
                while True:
                    print("\\r| thinking", end="", flush=True)
                    await asyncio.sleep(0.1)
            except asyncio.CancelledError:
                print("\\r" + " " * 10 + "\\r", end="")

        async def main():
            spinner = asyncio.create_task(spin())
            await asyncio.sleep(0.25)
            spinner.cancel()
            await asyncio.sleep(0)
            print("answer 42")
            print("next line")

        asyncio.run(main())
    """)
    lines = [(line["task"], line["text"]) for line in trace["output"]]
    [spinner] = task_named(trace, "spin")
    [main] = task_named(trace, "main")
    assert len(lines) == 2
    assert lines[0][0] == spinner["id"] and lines[0][1].endswith("\r" + " " * 10 + "\ranswer 42")
    assert lines[1] == (main["id"], "next line")


def test_a_step_that_yields_with_sleep_0_keeps_the_line_it_yielded_at(run_trace: RunTrace) -> None:
    trace = run_trace("""
        import asyncio, time

        counter = 0

        async def bump(pause):
            global counter
            value = counter
            time.sleep(pause)
            await asyncio.sleep(0)
            counter = value + 1

        async def nested():
            await bump(0)

        async def main():
            await asyncio.gather(bump(0), bump(0.06), nested())
            print(counter)

        asyncio.run(main())
    """)
    assert [line["text"] for line in trace["output"]] == ["1"], (trace["status"], trace["error"], trace["output"])
    by_task = {task["id"]: [s for s in trace["slices"] if s["task"] == task["id"]] for task in trace["tasks"]}
    [main] = task_named(trace, "main")
    assert all("yield_line" not in s for s in by_task[main["id"]])  # it waits on gather: no yield
    # Each bump's first step yields at line 10 (the innermost snippet line, also
    # under nested()), its second does not; a blocking step (time.sleep(0.06))
    # keeps its yield line beside its own line.
    workers = task_named(trace, "bump") + task_named(trace, "nested")
    assert len(workers) == 3
    for task in workers:
        first, second = by_task[task["id"]]
        assert first["yield_line"] == 10 and "yield_line" not in second, (first, second)
    # (Its reason is its own time.sleep's: the time.sleep(0) of the steps before it did not block.)
    [blocked] = [s for s in trace["slices"] if s["reason"] == "time.sleep(0.06)"]
    assert blocked["blocking"] and blocked["line"] == 9 and blocked["yield_line"] == 10
