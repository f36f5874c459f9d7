"""The tracer on every Python the server offers: the same snippet traced
alike on each, the gallery's examples on each, and eager tasks (3.12+),
whose first step runs inside ``create_task`` without a loop step."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from playground.sandbox.jail import Bubblewrap
from playground.sharing.examples import BY_NAME, EXAMPLES
from tests.support.pythonruns import PYTHON_IDS, PYTHONS, JailedRuns
from tests.support.traces import RunTrace, Trace, near, python_of
from tests.support.unloaded import LATE

SAME_EVERYWHERE = """
    import asyncio, platform, threading

    async def fetch(n):
        await asyncio.sleep(n / 10)
        print("fetched", n)
        return n

    async def main():
        print(platform.python_version())
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(fetch(n), name=f"fetch-{n}") for n in range(3)]
        try:
            async with asyncio.timeout(0.5):
                await asyncio.sleep(1)
        except TimeoutError:
            print("timed out")
        # A job that ends only once the loop awaits it (3.14 sets a job's
        # future at once when it is already done: no wait to trace).
        ready = threading.Event()
        asyncio.get_running_loop().call_soon(ready.set)
        await asyncio.to_thread(ready.wait)
        print(sum(task.result() for task in tasks))

    asyncio.run(main())
"""


def shape(trace: Trace) -> dict[str, Any]:
    """What must not differ between versions: tasks, slices per task, waits,
    output, events. Not which steps block: the snippet blocks nowhere, and a
    loaded machine can stall any step past the threshold (unloaded.py)."""
    return {
        "status": trace["status"],
        "tasks": [(t["id"], t["name"], t["coro"], t["parent"], t["line"], t["state"], t["steps"])
                  for t in trace["tasks"]],
        "slices": sorted(s["task"] for s in trace["slices"] if s["task"] is not None),  # blocking: the machine's
        "waits": [(w["task"], w["on"].split(" (")[0], w["line"], w["chain"]) for w in trace["waits"]],
        "output": [(line["task"], line["text"]) for line in trace["output"][1:]],
        "events": [(e["kind"], e["task"], e["line"]) for e in trace["events"] if e["kind"] != "blocking"],
        "jobs": [(j["fn"], j["task"], j["line"]) for j in trace["jobs"]],
    }


def test_every_python_runs_the_snippet_and_says_which_it_is(tracer_jail: Bubblewrap) -> None:
    traces = {}
    for python_id in PYTHON_IDS:
        runs = JailedRuns(tracer_jail, PYTHONS.get(python_id))
        try:
            traces[python_id] = runs.run(SAME_EVERYWHERE)
        finally:
            runs.close()
    for python_id, trace in traces.items():
        assert trace["status"] == "ok", (python_id, trace["error"])
        assert trace["python"] == trace["output"][0]["text"] == PYTHONS.get(python_id).version
        assert python_of(trace) == PYTHONS.get(python_id).minor
        # 0.7 s of virtual sleeps, then the thread's job, which a loaded
        # machine can make longer (by LATE at most).
        assert 0.7 <= trace["duration"] < 0.7 + LATE
    shapes = {python_id: shape(trace) for python_id, trace in traces.items()}
    first = shapes[PYTHON_IDS[0]]
    assert first["output"] == [(2, "fetched 0"), (3, "fetched 1"), (4, "fetched 2"), (1, "timed out"), (1, "3")]
    for python_id, found in shapes.items():
        assert found == first, python_id


# The gallery's examples (those that use the network run against a loopback
# server in tests/egress; those that start processes run in tests/sandbox too).
GALLERY = [example.name for example in EXAMPLES if example.url is None]


@pytest.mark.parametrize("name", GALLERY)
def test_every_gallery_example_runs_on_every_python(name: str, run_trace: RunTrace, python_runs: JailedRuns) -> None:
    if not BY_NAME[name].runs_on(python_runs.python.id):
        pytest.skip(f"{name} needs Python {BY_NAME[name].python}")
    clock = "real" if name == "fetch" else "virtual"
    trace = run_trace(BY_NAME[name].code, clock)
    assert trace["status"] == "ok", trace["error"]
    assert trace["tasks"] and trace["output"]
    # 3.12 and 3.13 warn, as python3 does, when a process pool forks beside threads.
    assert not [event for event in trace["events"] if event["kind"] == "warning"
                and "use of fork() may lead to deadlocks" not in event["message"]], trace["events"]


EAGER = """
    import asyncio

    async def quick(n):
        print("quick", n)
        return n

    async def parked(n):
        print("parked", n)
        await asyncio.sleep(0.2)
        print("woke", n)

    async def nesting():
        print("outer")
        inner = asyncio.create_task(quick(9), name="inner")
        print("outer again", inner.done())
        await asyncio.sleep(0.1)

    async def main():
        asyncio.get_running_loop().set_task_factory(asyncio.eager_task_factory)
        print("main")
        done = asyncio.create_task(quick(1), name="done-eagerly")
        later = asyncio.create_task(parked(2), name="parked")
        outer = asyncio.create_task(nesting(), name="outer")
        print("main again", done.done(), later.done())
        await asyncio.gather(later, outer)

    asyncio.run(main())
"""


def eager_python(run_trace: RunTrace, python_runs: JailedRuns) -> None:
    if python_runs.python.minor < (3, 12):
        pytest.skip("eager tasks are Python 3.12+")


def by_name(trace: Trace) -> dict[str, dict[str, Any]]:
    return {task["name"]: task for task in trace["tasks"]}


def slices_of(trace: Trace, task: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in trace["slices"] if s["task"] == task["id"]]


def no_slices_overlap(trace: Trace) -> None:
    ordered = sorted(trace["slices"], key=lambda s: (s["start"], s["end"]))
    for before, after in itertools.pairwise(ordered):
        assert before["end"] <= after["start"], (before, after)


@pytest.mark.parametrize("clock", ["virtual", "real"])
def test_an_eager_task_has_its_first_step_output_and_lane(run_trace: RunTrace, python_runs: JailedRuns,
                                                          clock: str) -> None:
    eager_python(run_trace, python_runs)
    trace = run_trace(EAGER, clock)
    assert trace["status"] == "ok", trace["error"]
    tasks = by_name(trace)
    main = tasks["Task-1"]
    done, parked, outer, inner = tasks["done-eagerly"], tasks["parked"], tasks["outer"], tasks["inner"]
    assert [done["parent"], parked["parent"], outer["parent"], inner["parent"]] == [main["id"]] * 3 + [outer["id"]]
    assert [done["line"], parked["line"], outer["line"], inner["line"]] == [22, 23, 24, 15]
    # Each line printed by the task that printed it, in the order printed.
    assert [(line["task"], line["text"]) for line in trace["output"]] == [
        (main["id"], "main"), (done["id"], "quick 1"), (parked["id"], "parked 2"), (outer["id"], "outer"),
        (inner["id"], "quick 9"), (outer["id"], "outer again True"), (main["id"], "main again True False"),
        (parked["id"], "woke 2")]
    # A task that finished eagerly: one slice, its own, and it ended there.
    [only] = slices_of(trace, done)
    assert done["state"] == "done" and done["steps"] == 1 and done["ended"] == only["end"]
    assert inner["state"] == "done" and len(slices_of(trace, inner)) == 1
    # One that parked: its first step, then a wait, then its second step.
    first, second = slices_of(trace, parked)
    [wait] = [w for w in trace["waits"] if w["task"] == parked["id"]]
    assert wait["on"] == "asyncio.sleep(0.2)" and wait["line"] == 10
    assert first["end"] <= wait["start"] and near(wait["end"] - wait["start"], 0.2) and wait["end"] <= second["start"]
    # The creating step pauses while an eager step runs: slices never overlap,
    # and main's first step is cut in pieces around its eager children's.
    no_slices_overlap(trace)
    main_first = [s for s in slices_of(trace, main) if s["end"] <= slices_of(trace, outer)[-1]["start"]]
    assert len(main_first) == 4
    for task in trace["tasks"]:
        assert task["steps"] == len(slices_of(trace, task)), task
        assert task["state"] == "done"


def test_an_eager_step_that_blocks_is_the_eager_tasks(run_trace: RunTrace, python_runs: JailedRuns) -> None:
    eager_python(run_trace, python_runs)
    trace = run_trace("""
        import asyncio, time
        async def blocker():
            time.sleep(0.3)
        async def main():
            asyncio.get_running_loop().set_task_factory(asyncio.eager_task_factory)
            await asyncio.create_task(blocker())
        asyncio.run(main())
    """)
    assert trace["status"] == "ok", trace["error"]
    [blocker] = [task for task in trace["tasks"] if task["coro"] == "blocker"]
    # The step of the time.sleep (any other step that blocks was stalled by
    # the machine, unloaded.py): the eager task's, not main's around it.
    [blocking] = [s for s in trace["slices"] if s["reason"] == "time.sleep(0.3)"]
    assert blocking["task"] == blocker["id"] and blocking["blocking"] and blocking["line"] == 4
    no_slices_overlap(trace)


def test_eager_start_and_a_custom_eager_factory(run_trace: RunTrace, python_runs: JailedRuns) -> None:
    eager_python(run_trace, python_runs)
    trace = run_trace("""
        import asyncio, sys
        class Loud(asyncio.Task):
            pass
        async def child(n):
            print("child", n, type(asyncio.current_task()).__name__)
        async def main():
            loop = asyncio.get_running_loop()
            if sys.version_info >= (3, 14):
                asyncio.create_task(child(0), eager_start=True)
            else:
                loop.create_task(child(0), eager_start=True)
            loop.set_task_factory(asyncio.create_eager_task_factory(Loud))
            asyncio.create_task(child(1))
            print("main")
        asyncio.run(main())
    """)
    assert trace["status"] == "ok", trace["error"]
    children = [task for task in trace["tasks"] if task["coro"] == "child"]
    assert [(line["task"], line["text"]) for line in trace["output"]] == [
        (children[0]["id"], "child 0 Task"), (children[1]["id"], "child 1 Loud"), (1, "main")]
    assert [task["line"] for task in children] == [10 if python_runs.python.minor >= (3, 14) else 12, 14]
    no_slices_overlap(trace)


def test_queue_shutdown_and_the_call_graph(run_trace: RunTrace, python_runs: JailedRuns) -> None:
    if python_runs.python.minor < (3, 13):
        pytest.skip("Queue.shutdown is Python 3.13+")
    trace = run_trace("""
        import asyncio, sys
        async def worker(queue):
            try:
                while True:
                    print("got", await queue.get())
            except asyncio.QueueShutDown:
                print("shut down")
        async def leaf():
            await asyncio.sleep(0.1)
        async def main():
            queue = asyncio.Queue()
            task = asyncio.create_task(worker(queue))
            await queue.put(1)
            await asyncio.sleep(0.1)
            queue.shutdown()
            await task
            if sys.version_info >= (3, 14):
                child = asyncio.create_task(leaf())
                await asyncio.sleep(0)
                print(asyncio.format_call_graph(child).splitlines()[0].split(",")[0])
                await child
        asyncio.run(main())
    """)
    assert trace["status"] == "ok", trace["error"]
    [worker] = [task for task in trace["tasks"] if task["coro"] == "worker"]
    [wait] = [w for w in trace["waits"] if w["task"] == worker["id"]]
    assert wait["on"] == "Queue.get()" and near(wait["end"], 0.1)
    expected = ["got 1", "shut down"] + (["* Task(name='Task-3'"] if python_runs.python.minor >= (3, 14) else [])
    assert [line["text"] for line in trace["output"]] == expected
