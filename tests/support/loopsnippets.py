"""Snippets whose tasks are woken each way the loop can wake one (a Queue's
put, a Lock's release, a TaskGroup's failure cancelling the others): the
tracer's tests of how a wait ended (tests/tracer/test_wakes.py) and the loop
view's browser tests (tests/browser/test_browser_loopview.py) run the same."""

QUEUE = """import asyncio

async def producer(queue):
    for n in range(2):
        await asyncio.sleep(1)
        await queue.put(n)

async def consumer(queue):
    for _ in range(2):
        print("got", await queue.get())

async def main():
    queue = asyncio.Queue()
    await asyncio.gather(producer(queue), consumer(queue))

asyncio.run(main())
"""

LOCK = """import asyncio

async def worker(lock, name):
    async with lock:
        print(name, "has the lock")
        await asyncio.sleep(1)

async def main():
    lock = asyncio.Lock()
    await asyncio.gather(worker(lock, "a"), worker(lock, "b"))

asyncio.run(main())
"""

TASKGROUP = """import asyncio

async def fail():
    await asyncio.sleep(0.5)
    raise ValueError("boom")

async def slow():
    await asyncio.sleep(5)

async def main():
    async with asyncio.TaskGroup() as group:
        group.create_task(fail())
        group.create_task(slow())

asyncio.run(main())
"""
