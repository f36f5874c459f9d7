import asyncio

# Python 3.13+: Queue.shutdown() ends the workers. Once the queue is shut
# down and empty, get() raises QueueShutDown in every worker waiting on it,
# so each worker's loop ends by itself: no sentinel values, no cancel().

async def producer(queue):
    for job in range(6):
        await asyncio.sleep(0.5)
        await queue.put(job)
        print(f"put job {job}")
    queue.shutdown()  # no more jobs; the workers finish what is queued
    print("queue shut down")

async def worker(name, queue):
    while True:
        try:
            job = await queue.get()
        except asyncio.QueueShutDown:
            print(f"{name}: queue shut down, stopping")
            return
        await asyncio.sleep(1.2)
        print(f"{name} did job {job}")

async def main():
    queue = asyncio.Queue(maxsize=2)
    async with asyncio.TaskGroup() as group:
        group.create_task(producer(queue), name="producer")
        for n in range(3):
            group.create_task(worker(f"worker {n}", queue), name=f"worker {n}")
    print("every worker has stopped")

asyncio.run(main())
