"""Threads are part of the truth: a loop waiting on thread work is never a
deadlock, the virtual clock never jumps past a timer while a thread is still
working toward it, and a real deadlock is still caught."""

from __future__ import annotations

from tests.support.traces import RunTrace, events, near, printed


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
    assert near(trace["duration"], 1.0)


def test_a_timer_does_not_jump_ahead_of_a_working_thread(run_trace: RunTrace) -> None:
    trace = run_trace("""
        import asyncio, time

        async def tick():
            await asyncio.sleep(0.5)
            print("tick at", round(asyncio.get_running_loop().time() - start, 1))

        async def main():
            global start
            start = asyncio.get_running_loop().time()
            await asyncio.gather(tick(), asyncio.to_thread(time.sleep, 1))
            print("all at", round(asyncio.get_running_loop().time() - start, 1))

        asyncio.run(main())
    """)
    assert printed(trace) == ["tick at 0.5", "all at 1.0"]


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
    assert near(trace["duration"], 0.5)


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
