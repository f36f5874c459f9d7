import asyncio

# Python 3.12+: with the eager task factory, a task starts running as soon
# as it is created, inside create_task(). One that never has to wait (a
# cache hit here) is done before create_task() returns: it never takes a
# turn on the loop. One that must wait (a miss) goes on like any task.

CACHE = {"a": 1, "b": 2}

async def lookup(key):
    if key in CACHE:
        return CACHE[key]  # done at once: no await, no turn on the loop
    await asyncio.sleep(1)  # a miss: fetch it, as slowly as usual
    CACHE[key] = len(key)
    return CACHE[key]

async def look_up_all(keys):
    tasks = [asyncio.create_task(lookup(key), name=f"lookup {key}") for key in keys]
    print("done before the first await:", [t.get_name() for t in tasks if t.done()])
    return await asyncio.gather(*tasks)

async def main():
    keys = ["a", "b", "slow"]
    print("lazy tasks:", await look_up_all(keys))
    del CACHE["slow"]
    asyncio.get_running_loop().set_task_factory(asyncio.eager_task_factory)
    print("eager tasks:", await look_up_all(keys))

asyncio.run(main())
