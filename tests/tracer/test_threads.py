"""Threads are part of the truth: a loop waiting on thread work is never a
deadlock, the virtual clock never jumps past a timer while a thread is still
working toward it, and a real deadlock is still caught."""

from __future__ import annotations

from typing import Any

from tests.support.traces import RunTrace, events, printed
from tests.support.unloaded import LATE, took


def test_wrap_future_on_a_thread_pool_job_waits_for_it(run_trace: RunTrace) -> None:
    trace = run_trace("""
        import asyncio, time
        from concurrent.futures import ThreadPoolExecutor

        def blocking():
            time.sleep(1)
            return "done in a thread"

        async def main():
            with ThreadPoolExecutor() as pool:
                print(await asyncio.wrap_future(pool.submit(blocking)))

        asyncio.run(main())
    """)
    assert trace["status"] == "ok" and events(trace, "deadlock") == []
    assert printed(trace) == ["done in a thread"]
    # The thread's real second, which the virtual clock waited out (no less).
    assert took(trace["duration"], 1.0)


def test_a_timer_does_not_jump_ahead_of_a_working_thread(run_trace: RunTrace) -> None:
    trace = run_trace("""
        import asyncio, time

        async def tick():
            await asyncio.sleep(0.5)
            print("tick at", round(asyncio.get_running_loop().time() - start, 3))

        async def main():
            global start
            start = asyncio.get_running_loop().time()
            await asyncio.gather(tick(), asyncio.to_thread(time.sleep, 1))
            print("all at", round(asyncio.get_running_loop().time() - start, 3))

        asyncio.run(main())
    """)
    [tick, done] = printed(trace)
    assert tick.startswith("tick at ") and done.startswith("all at ")
    # With the thread working, the loop waits for the timer in real time, and
    # for the thread after it; a wake-up can come late on a loaded machine,
    # never early. Had the clock jumped to the timer, the thread's real
    # second would have ended at 1.5.
    assert took(float(tick.split()[-1]), 0.5) and took(float(done.split()[-1]), 1.0)


def test_other_threads_may_call_the_loop_back(run_trace: RunTrace) -> None:
    trace = run_trace("""
        import asyncio, threading, time

        async def main():
            loop = asyncio.get_running_loop()
            done = asyncio.Event()

            def worker():
                time.sleep(0.3)
                loop.call_soon_threadsafe(done.set)

            threading.Thread(target=worker).start()
            await done.wait()
            print("woken by a thread")

            async def answer():
                await asyncio.sleep(0.2)
                return 42

            result = await loop.run_in_executor(
                None, lambda: asyncio.run_coroutine_threadsafe(answer(), loop).result())
            print("answered", result)

        asyncio.run(main())
    """)
    assert trace["status"] == "ok", trace["error"]
    assert printed(trace) == ["woken by a thread", "answered 42"]
    # A thread's real 0.3 s, then answer()'s 0.2 s: no less, and a thread's
    # wake-up can come late on a loaded machine.
    assert took(trace["duration"], 0.5)


def test_a_loop_in_another_thread_waits_for_the_main_one(run_trace: RunTrace) -> None:
    """The CPython docs' loop-in-a-thread: the main thread stops it."""
    trace = run_trace("""
        import asyncio, threading, time

        ready = threading.Event()

        async def serve():
            global loop, stop
            loop, stop = asyncio.get_running_loop(), asyncio.Event()
            ready.set()
            await stop.wait()
            print("stopped by the main thread")

        thread = threading.Thread(target=asyncio.run, args=(serve(),))
        thread.start()
        ready.wait()
        time.sleep(0.2)
        loop.call_soon_threadsafe(stop.set)
        thread.join()
    """)
    assert trace["status"] == "ok", (trace["status"], trace["events"])
    assert printed(trace) == ["stopped by the main thread"]


def test_a_real_deadlock_is_still_caught_beside_an_idle_pool(run_trace: RunTrace) -> None:
    trace = run_trace("""
        import asyncio
        from concurrent.futures import ThreadPoolExecutor

        async def main():
            with ThreadPoolExecutor() as pool:
                await asyncio.wrap_future(pool.submit(print, "quick job"))
                await asyncio.get_running_loop().create_future()  # nobody will set it

        asyncio.run(main())
    """)
    assert trace["status"] == "deadlock"
    assert printed(trace) == ["quick job"]


def test_each_executor_job_is_told_with_its_thread_function_task_and_line(run_trace: RunTrace) -> None:
    trace = run_trace("""
        import asyncio, time
        from concurrent.futures import ThreadPoolExecutor

        def blocking_io(seconds):
            time.sleep(seconds)
            return seconds

        def fails():
            raise ValueError("no")

        async def main():
            await asyncio.to_thread(blocking_io, 0.3)
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, blocking_io, 0.2)
            with ThreadPoolExecutor(thread_name_prefix="mine") as pool:
                try:
                    await asyncio.wrap_future(pool.submit(fails))
                except ValueError:
                    print("it failed")

        asyncio.run(main())
    """)
    assert trace["status"] == "ok" and printed(trace) == ["it failed"]
    jobs = [(job["thread"], job["fn"], job["task"], job["line"], job["error"]) for job in trace["jobs"]]
    # The second job runs on the first thread when that thread told the pool
    # it was idle before the job came (as a rule), else on a new one.
    second_thread = jobs[1][0] if jobs[1][0] in ("asyncio_0", "asyncio_1") else "asyncio_0"
    assert jobs == [("asyncio_0", "blocking_io", 1, 13, None), (second_thread, "blocking_io", 1, 15, None),
                    ("mine_0", "fails", 1, 18, "ValueError")]
    first, second = trace["jobs"][:2]
    assert took(first["end"] - first["start"], 0.3) and took(second["end"] - second["start"], 0.2)
    # The task waits on each job from the end of the step that submitted it
    # (the thread starts on it at once, even before that end) until the job
    # is done. How soon the thread starts is the machine's: LATE at most.
    waits = [wait for wait in trace["waits"] if wait["on"] and "blocking_io" in wait["on"]]
    assert [wait["on"] for wait in waits] == ["to_thread(blocking_io)", "run_in_executor(blocking_io)"]
    for wait, job in zip(waits, trace["jobs"], strict=False):
        [step] = [step for step in trace["slices"] if step["task"] == 1 and step["end"] == wait["start"]]
        assert step["start"] <= job["start"] < wait["start"] + LATE and job["end"] <= wait["end"]


def test_the_time_functions_keep_their_names(run_trace: RunTrace) -> None:
    trace = run_trace("""
        import time
        print(time.sleep.__name__, time.time.__qualname__, time.monotonic.__module__, time.strftime.__name__)
    """)
    assert printed(trace) == ["sleep time time strftime"]


# A run stopped at a limit shows what was open up to the moment it was stopped.

def cut_off(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [item for item in items if item.get("cut_off")]


def test_waits_open_at_the_wall_limit_run_to_the_stop(run_trace: RunTrace) -> None:
    trace = run_trace("""
        import asyncio
        async def nap(i):
            await asyncio.sleep(20)
        async def main():
            await asyncio.gather(nap(1), nap(2))
        asyncio.run(main())
    """, clock="real", wall_seconds=1.5)
    # Stopped at the limit, 1.5 s on the server's clock: the duration is the
    # stop on the run's clock, far past the last thing the run told (its
    # waits, at 1 ms), never past the real time the run took (wall, to the
    # jail gone). About 1.5 s, but the run's clock starts after the server's
    # (the jail takes the snippet first) and the server places the stop on it
    # from what it heard last, both later on a loaded machine (1.12 s seen);
    # and the server may see the limit pass a little late (1.52 s seen).
    assert trace["status"] == "timeout" and 0.75 <= trace["duration"] <= trace["wall"]
    waits = cut_off(trace["waits"])
    assert sorted(wait["on"] for wait in waits) == ["asyncio.sleep(20)", "asyncio.sleep(20)", "gather(2 tasks)"]
    assert all(wait["end"] == trace["duration"] for wait in waits)
    # Each task waited from its first step to the stop.
    assert all(task["waiting"] > trace["duration"] / 2 for task in trace["tasks"])


def test_a_step_holding_the_loop_at_the_stop_runs_to_it(run_trace: RunTrace) -> None:
    trace = run_trace("""
        import asyncio
        async def spin():
            while True:
                pass
        async def patient():
            await asyncio.sleep(5)
        async def main():
            await asyncio.gather(patient(), spin())
        asyncio.run(main())
    """, wall_seconds=3, cpu_seconds=30)
    assert trace["status"] == "timeout"
    # Told once it has held the loop for a second (TELL_OPEN_AFTER_NS).
    [running] = cut_off(trace["slices"])
    spinner = next(task for task in trace["tasks"] if task["coro"] == "spin")
    # The busy line: the loop's test (3.11 to 3.13) or its body (3.14+ counts the jump back to it).
    assert running["task"] == spinner["id"] and running["line"] in (4, 5) and running["blocking"]
    assert running["end"] == trace["duration"] and running["end"] - running["start"] > 1.0
    assert running["reason"] == "still running when the run was stopped"
    assert sorted(wait["on"] for wait in cut_off(trace["waits"])) == ["asyncio.sleep(5)", "gather(2 tasks)"]


def test_a_thread_job_running_at_the_stop_runs_to_it(run_trace: RunTrace) -> None:
    trace = run_trace("""
        import asyncio, time
        async def main():
            await asyncio.to_thread(time.sleep, 30)
        asyncio.run(main())
    """, wall_seconds=1.5)
    assert trace["status"] == "timeout"
    [job] = trace["jobs"]
    assert (job["fn"], job["task"], job["cut_off"], job["end"]) == ("sleep", 1, True, trace["duration"])
    [wait] = trace["waits"]
    assert wait["on"] == "to_thread(sleep)" and wait["cut_off"]


def test_a_run_that_ends_by_itself_has_nothing_cut_off(run_trace: RunTrace) -> None:
    trace = run_trace("""
        import asyncio, time
        async def main():
            time.sleep(0.2)
            await asyncio.to_thread(time.sleep, 0.1)
            await asyncio.sleep(1)
        asyncio.run(main())
    """, clock="real")
    assert trace["status"] == "ok"
    assert not cut_off(trace["slices"]) and not cut_off(trace["waits"]) and not cut_off(trace["jobs"])
