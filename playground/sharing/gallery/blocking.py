import asyncio
import time

async def say_hello():
    print("Hello")
    time.sleep(1)  # blocks the whole event loop: nothing else can run
    print("World")

async def main():
    await asyncio.gather(say_hello(), say_hello(), say_hello())

asyncio.run(main())
