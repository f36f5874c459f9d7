"""Every pattern an asyncio tutorial teaches, traced: what each wait is for,
lifecycles (cancellation and by whom, timeouts, TaskGroup, lost exceptions,
coroutines never awaited) and the per-task figures. Times are exact on the
virtual clock up to ``TOLERANCE`` (the real CPU time of the run)."""

from __future__ import annotations

import re
from typing import Any

from tests.support.traces import TOLERANCE, RunTrace, events, near, outputs, python_of, task_named, with_recorder
from tests.support.unloaded import run_unstalled, took


def waits_of(trace: dict[str, Any], task: dict[str, Any]) -> list[dict[str, Any]]:
    return [w for w in trace["waits"] if w["task"] == task["id"]]


def one_task(trace: dict[str, Any], name: str) -> dict[str, Any]:
    tasks: list[dict[str, Any]] = [t for t in trace["tasks"] if t["name"] == name]
    [task] = tasks
    return task


def test_lock_contention_is_a_wait_on_lock_acquire(run_trace: RunTrace) -> None:
    trace = run_trace("""
        import asyncio
        async def use(lock):
            async with lock:
                await asyncio.sleep(1)
        async def main():
            lock = asyncio.Lock()
            await asyncio.gather(use(lock), use(lock))
        asyncio.run(main())
    """)
    first, second = task_named(trace, "use")
    [blocked, held] = waits_of(trace, second)
    assert blocked["on"] == "Lock.acquire()" and blocked["line"] == 4
    assert near(blocked["start"], 0.0) and near(blocked["end"], 1.0)
    assert held["on"] == "asyncio.sleep(1)" and held["line"] == 5
    assert near(second["ended"], 2.0) and near(first["ended"], 1.0)


def test_primitives_and_queues_are_named_with_their_lines(run_trace: RunTrace) -> None:
    trace = run_trace("""
        import asyncio

        async def worker(name, sem, event, queue, cond):
            async with sem:
                await asyncio.sleep(0.1)
            await event.wait()
            async with cond:
                await cond.wait()
            item = await queue.get()
            print(name, item); await asyncio.sleep(0.1)  # running when main gathers them (3.13+)

        async def main():
            sem, event = asyncio.Semaphore(1), asyncio.Event()
            queue, cond = asyncio.Queue(maxsize=1), asyncio.Condition()
            tasks = [asyncio.create_task(worker(f"w{i}", sem, event, queue, cond), name=f"w{i}") for i in range(2)]
            await asyncio.sleep(1)
            event.set()
            await asyncio.sleep(0.1)
            async with cond:
                cond.notify_all()
            for item in range(3):
                await queue.put(item)
            await asyncio.gather(*tasks)

        asyncio.run(main())
    """)
    assert trace["status"] == "ok"
    w0, w1 = one_task(trace, "w0"), one_task(trace, "w1")
    assert [(w["on"], w["line"]) for w in waits_of(trace, w1)][:2] == [
        ("Semaphore.acquire()", 5), ("asyncio.sleep(0.1)", 6)]
    named = {(w["on"], w["line"]) for w in waits_of(trace, w0)}
    assert {("Event.wait()", 7), ("Condition.wait()", 9), ("Queue.get()", 10)} <= named | {
        (w["on"], w["line"]) for w in waits_of(trace, w1)}
    [main] = task_named(trace, "main")
    main_waits = [(w["on"], w["line"]) for w in waits_of(trace, main)]
    assert ("Queue.put()", 23) in main_waits and ("gather(2 tasks)", 24) in main_waits
    event_wait = next(w for w in waits_of(trace, w0) if w["on"] == "Event.wait()")
    assert near(event_wait["end"], 1.0)
    assert {line["text"] for line in trace["output"]} == {"w0 0", "w1 1"}


def test_await_chain_names_every_coroutine_down_to_the_awaitable(run_trace: RunTrace) -> None:
    trace = run_trace("""
        import asyncio
        async def fetch_data():
            await asyncio.sleep(2)
            return {"data": 1}
        async def main():
            result = await fetch_data()
            print(result)
        asyncio.run(main())
    """)
    [main] = task_named(trace, "main")
    [wait] = waits_of(trace, main)
    assert wait["chain"] == ["main", "fetch_data", "asyncio.sleep"]
    assert wait["on"] == "asyncio.sleep(2)" and wait["line"] == 4
    assert near(wait["end"], 2.0)


def deadline_named(on: str, awaited: str, source: str) -> float:
    """The deadline a wait's text gives: ``asyncio.sleep(2) (wait_for timeout at 0.750 s)``."""
    found = re.fullmatch(rf"{re.escape(awaited)} \({re.escape(source)} at (\d+\.\d+) s\)", on)
    assert found, on
    return float(found[1])


def test_timeouts_name_the_deadline_and_who_cancelled(run_trace: RunTrace) -> None:
    trace = run_trace("""
        import asyncio
        async def slow(n):
            await asyncio.sleep(n)
        async def main():
            try:
                async with asyncio.timeout(0.5):
                    await slow(3)
            except TimeoutError:
                print("timed out")
            try:
                await asyncio.wait_for(slow(2), timeout=0.25)
            except TimeoutError:
                print("wait_for timed out")
        asyncio.run(main())
    """)
    assert trace["status"] == "ok"
    [main] = task_named(trace, "main")
    first, second, *_ = waits_of(trace, main)
    assert near(deadline_named(first["on"], "asyncio.sleep(3)", "asyncio.timeout"), 0.5) and first["line"] == 4
    assert near(first["end"], 0.5)
    timeouts = events(trace, "timeout")
    assert [e["message"].split(":")[0] for e in timeouts] == ["asyncio.timeout() timed out", "wait_for() timed out"]
    assert near(timeouts[0]["t"], 0.5) and near(timeouts[1]["t"], 0.75)
    if python_of(trace) >= (3, 12):
        # wait_for awaits the coroutine itself inside an asyncio.timeout(): no task of its own.
        # Its deadline is 0.25 s after the first timeout fired, on a clock that
        # also counts the real time between (37 ms on a loaded machine).
        assert near(deadline_named(second["on"], "asyncio.sleep(2)", "wait_for timeout"), 0.75) and second["line"] == 4
        assert second["chain"] == ["main", "slow", "asyncio.sleep"]
        assert timeouts[1]["task"] == main["id"] and not task_named(trace, "slow")
        assert events(trace, "cancelled") == []
    else:
        assert second["on"] == "wait_for(slow() (Task-2), timeout=0.25)" and second["line"] == 12
        [inner] = [t for t in task_named(trace, "slow") if t["name"] == "Task-2"]
        assert inner["state"] == "cancelled" and near(inner["ended"], 0.75)
        [cancelled] = events(trace, "cancelled")
        assert cancelled["task"] == inner["id"]
        assert cancelled["message"] == "cancelled by wait_for(), whose timeout expired"
    assert [line["text"] for line in trace["output"]] == ["timed out", "wait_for timed out"]
    assert near(trace["output"][0]["t"], 0.5) and near(trace["output"][1]["t"], 0.75)


def test_taskgroup_failure_cancels_the_siblings(run_trace: RunTrace) -> None:
    trace = run_trace("""
        import asyncio
        async def slow():
            await asyncio.sleep(1)
        async def boom():
            await asyncio.sleep(0.2)
            raise ValueError("boom")
        async def main():
            try:
                async with asyncio.TaskGroup() as tg:
                    tg.create_task(slow(), name="sibling")
                    tg.create_task(boom(), name="boomer")
            except* ValueError:
                print("group failed")
        asyncio.run(main())
    """)
    sibling, boomer = one_task(trace, "sibling"), one_task(trace, "boomer")
    assert boomer["state"] == "error" and boomer["error"]["line"] == 7 and near(boomer["ended"], 0.2)
    assert sibling["state"] == "cancelled" and near(sibling["ended"], 0.2)
    [cancelled] = events(trace, "cancelled")
    assert cancelled["task"] == sibling["id"]
    assert cancelled["message"] == "cancelled by its TaskGroup, because boomer failed"
    [main] = task_named(trace, "main")
    assert waits_of(trace, main)[0]["on"] == "TaskGroup (2 tasks)"
    assert outputs(trace, "group failed")


def test_cancel_names_who_and_where_and_a_swallowed_cancel_is_flagged(run_trace: RunTrace) -> None:
    trace = run_trace("""
        import asyncio
        async def victim():
            await asyncio.sleep(100)
        async def stubborn():
            try:
                await asyncio.sleep(100)
            except asyncio.CancelledError:
                pass
            await asyncio.sleep(0.5)
        async def main():
            v = asyncio.create_task(victim(), name="victim")
            s = asyncio.create_task(stubborn(), name="stubborn")
            await asyncio.sleep(1)
            v.cancel()
            s.cancel()
            await asyncio.gather(v, s, return_exceptions=True)
        asyncio.run(main())
    """)
    victim, stubborn = one_task(trace, "victim"), one_task(trace, "stubborn")
    assert victim["state"] == "cancelled" and near(victim["ended"], 1.0)
    [cancelled] = events(trace, "cancelled")
    assert cancelled["task"] == victim["id"] and cancelled["line"] == 15
    assert cancelled["message"] == "cancelled by main() (Task-1) at line 15"
    assert stubborn["state"] == "done" and near(stubborn["ended"], 1.5)
    [warning] = [e for e in events(trace, "warning") if e["task"] == stubborn["id"]]
    assert "caught CancelledError" in warning["message"] and warning["line"] == 16


def test_return_exceptions_keeps_errors_as_results(run_trace: RunTrace) -> None:
    trace = run_trace("""
        import asyncio
        async def fail(n):
            await asyncio.sleep(n)
            raise ValueError(n)
        async def main():
            print(await asyncio.gather(fail(1), asyncio.sleep(2, "ok"), return_exceptions=True))
        asyncio.run(main())
    """)
    assert trace["status"] == "ok"
    [line] = trace["output"]
    assert line["text"] == "[ValueError(1), 'ok']" and near(line["t"], 2.0)
    [failed] = task_named(trace, "fail")
    assert failed["state"] == "error" and failed["error"]["line"] == 5
    assert not events(trace, "never_retrieved")


def test_never_retrieved_exception_is_an_event_with_its_line(run_trace: RunTrace) -> None:
    trace = run_trace("""
        import asyncio
        async def fail():
            raise KeyError("lost")
        async def main():
            asyncio.create_task(fail())
            await asyncio.sleep(0.1)
        asyncio.run(main())
    """)
    [lost] = events(trace, "never_retrieved")
    [fail] = task_named(trace, "fail")
    assert lost["task"] == fail["id"] and lost["line"] == 4
    assert "KeyError" in lost["message"] and "nothing awaited it" in lost["message"]


def test_coroutine_never_awaited_is_an_event_with_its_line(run_trace: RunTrace) -> None:
    trace = run_trace("""
        import asyncio
        async def say_hello():
            print("Hello")
        async def main():
            say_hello()
            await asyncio.sleep(0.1)
        asyncio.run(main())
    """)
    [event] = events(trace, "never_awaited")
    assert event["line"] == 6
    assert event["message"].startswith("coroutine 'say_hello' was never awaited")
    assert "await it" in event["message"]
    assert not outputs(trace, "Hello")


def test_threads_and_executors_are_named(run_trace: RunTrace) -> None:
    # The threads' time.sleep never blocks the loop; run again if the
    # machine stalled a step into blocking (unloaded.py).
    trace = run_unstalled(run_trace, """
        import asyncio, time
        def download(n):
            time.sleep(0.2)
            return n
        async def main():
            loop = asyncio.get_running_loop()
            await asyncio.to_thread(download, 1)
            await loop.run_in_executor(None, download, 2)
        asyncio.run(main(), debug=False)
    """)
    [main] = task_named(trace, "main")
    assert [(w["on"], w["line"]) for w in waits_of(trace, main)] == [
        ("to_thread(download)", 8), ("run_in_executor(download)", 9)]
    assert not any(s["blocking"] for s in trace["slices"])


def test_socket_io_is_named(run_trace: RunTrace) -> None:
    trace = run_trace("""
        import asyncio, socket
        async def read_line(reader):
            return await reader.readline()
        async def main():
            left, right = socket.socketpair()
            reader, writer = await asyncio.open_connection(sock=left)
            task = asyncio.create_task(read_line(reader))
            loop = asyncio.get_running_loop()
            await asyncio.sleep(0.1)
            await loop.sock_sendall(right, b"hello\\n")
            print(await task)
            writer.close()
        asyncio.run(main())
    """)
    assert trace["status"] == "ok"
    [reader] = task_named(trace, "read_line")
    [wait] = waits_of(trace, reader)
    assert wait["on"] == "socket read: StreamReader.readline()" and wait["line"] == 4
    [main] = task_named(trace, "main")
    assert waits_of(trace, main)[0]["on"] == "socket connect: open_connection()"
    assert outputs(trace, "b'hello\\n'")


def test_cpu_bound_blocking_names_the_busy_line(run_trace: RunTrace) -> None:
    # Busy for 0.2 s of CPU time (real: process_time is not virtual), four
    # times the threshold on a machine of any speed, nearly all of it in the
    # inner loop (lines 6 and 7), not in the clock's test (line 5).
    trace = run_trace("""
        import asyncio, time
        def crunch(seconds):
            total, start = 0, time.process_time()
            while time.process_time() - start < seconds:
                for i in range(10_000):
                    total += i * i
            return total
        async def main():
            await asyncio.sleep(0.1)
            crunch(0.2)
        asyncio.run(main())
    """)
    # main's second step crunches; another step that blocks would be the
    # machine's stall (unloaded.py).
    [main] = task_named(trace, "main")
    _, slice_ = [s for s in trace["slices"] if s["task"] == main["id"]]
    assert slice_["blocking"] and slice_["reason"].startswith("CPU-bound for ") and slice_["line"] in (6, 7)
    [event] = [e for e in events(trace, "blocking") if e["t"] == slice_["end"]]
    assert event["line"] == slice_["line"] and event["task"] == main["id"]


def test_per_task_figures_show_the_loops_contention(run_trace: RunTrace) -> None:
    trace = run_trace("""
        import asyncio, time
        async def job(start):
            await start.wait()
            time.sleep(0.2)
        async def main():
            start = asyncio.Event()
            jobs = asyncio.gather(job(start), job(start), job(start))
            await asyncio.sleep(1)
            start.set()
            await jobs
        asyncio.run(main())
    """)
    jobs = sorted(task_named(trace, "job"), key=lambda t: t["ended"])
    for index, job in enumerate(jobs):
        assert job["steps"] == 2
        assert abs(job["busy"] - 0.2) <= TOLERANCE
        assert abs(job["waiting"] - 1.0) <= TOLERANCE
        # Woken together at 1 s, they run one after another: the second is
        # ready but scheduled behind the first for 0.2 s, the third 0.4 s.
        assert abs(job["scheduled"] - 0.2 * index) <= TOLERANCE
        assert abs(job["busy"] + job["waiting"] + job["scheduled"] - (job["ended"] - job["created"])) < 1e-5
    [main] = task_named(trace, "main")
    assert main["steps"] == 3 and near(main["waiting"], 1.6)


def test_a_run_stopped_at_a_limit_keeps_everything_before_the_stop(run_trace: RunTrace) -> None:
    trace = run_trace("""
        import asyncio
        async def ticker():
            for i in range(3):
                print("tick", i)
                await asyncio.sleep(1)
        async def main():
            await asyncio.gather(ticker(), asyncio.sleep(5))
            print("spinning")
            while True:
                pass
        asyncio.run(main())
    """, wall_seconds=1.5, cpu_seconds=30)
    assert trace["status"] == "timeout"
    assert [line["text"] for line in trace["output"]] == ["tick 0", "tick 1", "tick 2", "spinning"]
    assert near(outputs(trace, "spinning")[0]["t"], 5.0)
    [ticker] = task_named(trace, "ticker")
    assert ticker["state"] == "done" and ticker["steps"] == 4 and near(ticker["waiting"], 3.0)
    [main] = task_named(trace, "main")
    assert main["state"] == "pending" and main["ended"] is None
    assert [e for e in events(trace, "limit") if "wall-clock" in e["message"]]


def test_a_broken_tracer_stops_tracing_not_the_run(run_trace: RunTrace) -> None:
    trace = run_trace(with_recorder("""
        import asyncio
        def take_steps_once():
            # A batch that cannot be packed, once (as a clock pushed past int64 ns would make).
            del recorder.take_steps
            raise OverflowError("int too big to convert")
        recorder.take_steps = take_steps_once
        async def main():
            await asyncio.sleep(1)
            print("still running")
        asyncio.run(main())
    """))
    assert trace["status"] == "ok"
    [warning] = events(trace, "warning")
    assert warning["message"].startswith("tracing stopped: flush failed (OverflowError")
    assert outputs(trace, "still running")


def test_a_blocking_call_that_waits_is_told_apart_from_computing(run_trace: RunTrace) -> None:
    trace = run_trace("""
        import asyncio, select
        async def main():
            await asyncio.sleep(0.1)
            select.select([], [], [], 0.3)
            await asyncio.sleep(0.1)
        asyncio.run(main())
    """)
    # main's second step waits in select; another step that blocks would be
    # the machine's stall (unloaded.py).
    [main] = task_named(trace, "main")
    _, slice_, _ = [s for s in trace["slices"] if s["task"] == main["id"]]
    assert slice_["blocking"] and slice_["reason"].startswith("a blocking call for ")
    # A real 0.3 s: no less, longer on a loaded machine.
    assert took(slice_["end"] - slice_["start"], 0.3)
    [event] = [e for e in events(trace, "blocking") if e["t"] == slice_["end"]]
    assert "waiting, not computing" in event["message"]
