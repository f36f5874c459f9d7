import asyncio
from asyncio import Lock

async def task(i, lock):
    while 1:
        async with lock:
            print("Acquired lock in task", i)
            await asyncio.sleep(0.5)

async def main():
    lock = Lock()  # The Lock instance
    tasks = [None] * 3  # For CPython compaibility must store a reference see 2.2 Note
    for n in range(1, 4):
        tasks[n - 1] = asyncio.create_task(task(n, lock))
    await asyncio.sleep(10)

asyncio.run(main())  # Run for 10s
