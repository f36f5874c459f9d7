"""The examples gallery: snippets written the way asyncio tutorials write them."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Example:
    name: str
    title: str
    code: str

    def to_json(self) -> dict[str, str]:
        return asdict(self)


EXAMPLES = [
    Example("hello", "Hello, World: one coroutine that sleeps", '''import asyncio

async def say_hello():
    print("Hello")
    await asyncio.sleep(1)
    print("World")

asyncio.run(say_hello())
'''),
    Example("gather", "Three at once with asyncio.gather", '''import asyncio

async def say_hello():
    print("Hello")
    await asyncio.sleep(1)
    print("World")

async def main():
    await asyncio.gather(say_hello(), say_hello(), say_hello())

asyncio.run(main())
'''),
    Example("create_task", "Start work early with create_task", '''import asyncio

async def brew_coffee():
    print("Start brewing coffee")
    await asyncio.sleep(3)
    print("Coffee is ready")
    return "coffee"

async def toast_bread():
    print("Start toasting bread")
    await asyncio.sleep(2)
    print("Toast is ready")
    return "toast"

async def main():
    coffee_task = asyncio.create_task(brew_coffee())
    toast_task = asyncio.create_task(toast_bread())
    print("Both started, doing other work")
    coffee = await coffee_task
    toast = await toast_task
    print(f"Breakfast: {coffee} and {toast}")

asyncio.run(main())
'''),
    Example("fetch", "Simulated fetches: three URLs in one second", '''import asyncio

async def fetch_data(url):
    print(f"Fetching {url}")
    await asyncio.sleep(1)  # simulate the network delay
    print(f"Got {url}")
    return f"data from {url}"

async def main():
    urls = ["https://example.com/a", "https://example.com/b", "https://example.com/c"]
    results = await asyncio.gather(*(fetch_data(url) for url in urls))
    print(results)

asyncio.run(main())
'''),
    Example("blocking", "The pitfall: time.sleep blocks the loop", '''import asyncio
import time

async def say_hello():
    print("Hello")
    time.sleep(1)  # blocks the whole event loop: nothing else can run
    print("World")

async def main():
    await asyncio.gather(say_hello(), say_hello(), say_hello())

asyncio.run(main())
'''),
    Example("shared_state", "Shared state: updates lost across an await", '''import asyncio

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
'''),
]

BY_NAME = {example.name: example for example in EXAMPLES}
