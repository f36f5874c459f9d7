import asyncio

# Python 3.14+: asyncio can tell who awaits whom. capture_call_graph()
# walks from a task up through the tasks awaiting it (here: a TaskGroup
# waiting in main); print_call_graph() prints that chain, the way a stack
# trace prints the calls.

async def read_sensor(name, seconds):
    await asyncio.sleep(seconds)
    if name == "humidity":
        asyncio.print_call_graph()  # who is waiting for me, right now
    return f"{name}: ok"

async def poll(name, seconds):
    return await read_sensor(name, seconds)

async def dump_later(tasks):
    await asyncio.sleep(0.5)
    graph = asyncio.capture_call_graph(tasks[0])
    print("waiting on", graph.future.get_name(), "are:",
          [entry.future.get_name() for entry in graph.awaited_by])

async def main():
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(poll(name, seconds), name=f"poll {name}")
                 for name, seconds in [("temperature", 1), ("humidity", 2)]]
        group.create_task(dump_later(tasks), name="dump")
    print([task.result() for task in tasks])

asyncio.run(main())
