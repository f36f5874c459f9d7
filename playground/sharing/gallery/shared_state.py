import asyncio

counter = 0

async def increment():
    global counter
    value = counter
    await asyncio.sleep(0.1)  # other tasks run here and read the old value
    counter = value + 1

async def main():
    await asyncio.gather(*(increment() for _ in range(5)))
    print(f"counter = {counter}, expected 5")

asyncio.run(main())
