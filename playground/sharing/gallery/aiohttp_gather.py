import asyncio
import time

import aiohttp

URL = "https://example.com/"


async def fetch(session, n):
    async with session.get(URL) as response:
        body = await response.text()
        print(f"request {n}: status {response.status}, {len(body)} characters")
        return response.status


async def main():
    start = time.perf_counter()
    async with aiohttp.ClientSession() as session:
        statuses = await asyncio.gather(*(fetch(session, n) for n in range(1, 4)))
    print(f"{statuses} in {time.perf_counter() - start:.2f} s: the three requests waited at the same time")


asyncio.run(main())
