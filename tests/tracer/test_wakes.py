"""How each wait ended, on every Python: the due time of a timer, what woke
the task (``wake``), the task behind it (``waker``) and its snippet line
(``waker_line``), as the step-by-step view of the loop reads them
(docs/trace.md)."""

from __future__ import annotations

from typing import Any

from playground.sharing.examples import BY_NAME
from tests.support.loopsnippets import LOCK, QUEUE, TASKGROUP
from tests.support.traces import RunTrace, Trace, near, task_named


def waits_of(trace: Trace, task: dict[str, Any]) -> list[dict[str, Any]]:
    return [wait for wait in trace["waits"] if wait["task"] == task["id"]]


def test_a_sleep_is_woken_by_its_timer_and_gather_by_its_last_task(run_trace: RunTrace) -> None:
    trace = run_trace(BY_NAME["gather"].code)
    hellos = task_named(trace, "say_hello")
    for task in hellos:
        [wait] = waits_of(trace, task)
        assert wait["wake"] == "timer" and "waker" not in wait and "waker_line" not in wait
        assert near(wait["due"] - wait["start"], 1.0) and wait["due"] <= wait["end"]
    [main] = task_named(trace, "main")
    [gathered] = waits_of(trace, main)
    last = max(hellos, key=lambda task: task["ended"])
    assert gathered["wake"] == "done" and gathered["waker"] == last["id"]
    assert "due" not in gathered


def test_an_event_set_by_a_task_names_it_and_its_line(run_trace: RunTrace) -> None:
    trace = run_trace("""
        import asyncio

        async def waiter(event):
            await event.wait()
            print("woken")

        async def setter(event):
            await asyncio.sleep(0.5)
            event.set()

        async def main():
            event = asyncio.Event()
            await asyncio.gather(waiter(event), setter(event))

        asyncio.run(main())
    """)
    [waiter], [setter] = task_named(trace, "waiter"), task_named(trace, "setter")
    [wait] = waits_of(trace, waiter)
    assert wait["on"] == "Event.wait()"
    assert (wait["wake"], wait["waker"], wait["waker_line"]) == ("task", setter["id"], 10)
    assert near(wait["end"], 0.5) and "due" not in wait


def test_a_queue_consumer_is_woken_by_the_producers_put(run_trace: RunTrace) -> None:
    trace = run_trace(QUEUE)
    [producer], [consumer] = task_named(trace, "producer"), task_named(trace, "consumer")
    gets = waits_of(trace, consumer)
    assert [wait["on"] for wait in gets] == ["Queue.get()", "Queue.get()"]
    assert all((wait["wake"], wait["waker"], wait["waker_line"]) == ("task", producer["id"], 6) for wait in gets)
    assert all(wait["wake"] == "timer" for wait in waits_of(trace, producer))


def test_a_lock_waiter_is_woken_by_the_holder_releasing_it(run_trace: RunTrace) -> None:
    trace = run_trace(LOCK)
    first, second = task_named(trace, "worker")
    [acquire] = [wait for wait in waits_of(trace, second) if wait["on"] == "Lock.acquire()"]
    assert acquire["wake"] == "task" and acquire["waker"] == first["id"]
    assert acquire["waker_line"] in (4, 6)  # the async with (its __aexit__), by version


def test_a_taskgroup_failure_cancels_the_others_through_the_failed_task(run_trace: RunTrace) -> None:
    trace = run_trace(TASKGROUP)
    [failed], [slow] = task_named(trace, "fail"), task_named(trace, "slow")
    [sleep] = waits_of(trace, slow)
    assert sleep["on"] == "asyncio.sleep(5)" and near(sleep["due"], 5.0)
    assert (sleep["wake"], sleep["waker"]) == ("cancel", failed["id"])
    assert near(sleep["end"], 0.5)


def test_a_cancel_from_a_task_names_its_line(run_trace: RunTrace) -> None:
    trace = run_trace("""
        import asyncio

        async def sleeper():
            await asyncio.sleep(10)

        async def main():
            task = asyncio.create_task(sleeper())
            await asyncio.sleep(1)
            task.cancel()
            await asyncio.sleep(0.1)

        asyncio.run(main())
    """)
    [main], [sleeper] = task_named(trace, "main"), task_named(trace, "sleeper")
    [wait] = waits_of(trace, sleeper)
    assert (wait["wake"], wait["waker"], wait["waker_line"]) == ("cancel", main["id"], 10)


def test_awaiting_a_task_is_woken_by_its_end_and_a_thread_by_its_job(run_trace: RunTrace) -> None:
    trace = run_trace("""
        import asyncio, threading

        async def child():
            await asyncio.sleep(1)

        async def main():
            await asyncio.create_task(child())
            # The job ends only once main awaits it (a job already done is
            # never waited for: 3.14 sets its future at once).
            ready = threading.Event()
            asyncio.get_running_loop().call_soon(ready.set)
            await asyncio.to_thread(ready.wait)

        asyncio.run(main())
    """)
    [main], [child] = task_named(trace, "main"), task_named(trace, "child")
    awaited, threaded = waits_of(trace, main)
    assert (awaited["wake"], awaited["waker"]) == ("done", child["id"])
    assert threaded["on"] == "to_thread(Event.wait)" and threaded["wake"] == "thread" and "waker" not in threaded


def test_a_timeout_is_due_at_its_deadline_and_fires_as_a_timer(run_trace: RunTrace) -> None:
    trace = run_trace("""
        import asyncio

        async def main():
            try:
                async with asyncio.timeout(0.25):
                    await asyncio.sleep(1)
            except TimeoutError:
                print("timed out")

        asyncio.run(main())
    """)
    [main] = task_named(trace, "main")
    [wait] = waits_of(trace, main)
    assert near(wait["due"], 0.25) and wait["wake"] == "cancel" and near(wait["end"], 0.25)


def test_wait_for_is_due_at_its_timeout_on_every_python(run_trace: RunTrace) -> None:
    trace = run_trace("""
        import asyncio

        async def main():
            try:
                await asyncio.wait_for(asyncio.sleep(1), 0.25)
            except TimeoutError:
                print("timed out")

        asyncio.run(main())
    """)
    [main] = task_named(trace, "main")
    wait, *after = waits_of(trace, main)  # 3.11's wait_for then waits for the task it cancelled
    assert wait["on"].startswith("wait_for(") and near(wait["due"], 0.25) and near(wait["end"], 0.25)
    assert all("due" not in other for other in after)


def test_a_call_soon_callback_wakes_as_a_callback(run_trace: RunTrace) -> None:
    trace = run_trace("""
        import asyncio

        async def main():
            future = asyncio.get_running_loop().create_future()
            asyncio.get_running_loop().call_later(0.5, future.set_result, 1)
            print(await future)

        asyncio.run(main())
    """)
    [main] = task_named(trace, "main")
    [wait] = waits_of(trace, main)
    assert wait["on"] == "a Future" and wait["wake"] == "timer" and near(wait["end"], 0.5)
    assert "due" not in wait  # a future's own timer is not known to be its wake-up
