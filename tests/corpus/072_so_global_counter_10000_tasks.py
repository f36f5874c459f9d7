import asyncio
import random

counter = 0

async def increment(name: str):
    global counter
    await asyncio.sleep(random.uniform(0, 5))  # yield control to event loop
    counter = counter + 1      # write (based on possibly stale value)
    print(f"{name}: counter → {counter}")

async def main():
    await asyncio.gather(*[increment(f"{i}") for i in range(10000)])
    print(f"Final counter (should be 10000): {counter}")

if __name__ == "__main__":
    asyncio.run(main())
