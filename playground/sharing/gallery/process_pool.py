import asyncio
import time
from concurrent.futures import ProcessPoolExecutor

def crunch(n):
    # CPU-bound: pure Python arithmetic holds the GIL the whole time.
    return sum(i * i for i in range(n))

async def main():
    loop = asyncio.get_running_loop()
    jobs = [2_000_000, 2_000_000]

    start = time.perf_counter()
    await asyncio.gather(*(asyncio.to_thread(crunch, n) for n in jobs))
    print(f"two threads:   {time.perf_counter() - start:.2f} s (one at a time: the GIL)")

    with ProcessPoolExecutor(max_workers=2) as pool:
        start = time.perf_counter()
        await asyncio.gather(*(loop.run_in_executor(pool, crunch, n) for n in jobs))
        print(f"two processes: {time.perf_counter() - start:.2f} s (side by side, one core each)")

if __name__ == "__main__":  # a process pool's workers may import this file
    asyncio.run(main())
