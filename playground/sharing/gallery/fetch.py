import asyncio

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
