"""A client of live runs (docs/live.md) for tests and benchmarks: posts a
run asking for the event stream and reads its events as they come, each
with the moment it arrived."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Told:
    """One event: its name, its data (JSON, read), seconds since the post,
    and the bytes of its data."""

    name: str
    data: Any
    at: float
    size: int


class LiveClient:
    """One live run on its own connection to the node at ``url``."""

    def __init__(self, url: str, body: dict[str, Any], timeout: float = 60.0,
                 source: str | None = None) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.connection = http.client.HTTPConnection(
            host, int(port), timeout=timeout, source_address=(source, 0) if source else None)
        self.posted = time.monotonic()
        self.connection.request("POST", "/api/run", json.dumps(body),
                                {"Content-Type": "application/json", "Accept": "text/event-stream"})
        self.response = self.connection.getresponse()
        self.status = self.response.status
        self.content_type = self.response.getheader("Content-Type", "")

    def events(self) -> Iterator[Told]:
        """The events as they come, until the stream ends."""
        name, data = "message", b""
        while True:
            line = self.response.readline()
            if not line:
                return
            line = line.rstrip(b"\r\n")
            if line.startswith(b"event: "):
                name = line[len(b"event: "):].decode()
            elif line.startswith(b"data: "):
                data += line[len(b"data: "):]
            elif not line and data:
                yield Told(name, json.loads(data), time.monotonic() - self.posted, len(data))
                name, data = "message", b""

    def all_events(self) -> list[Told]:
        return list(self.events())

    def close(self) -> None:
        self.connection.close()


def merged(batches: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """``trace`` events merged as a live view would: tasks replaced by id,
    the other lists appended."""
    lists: dict[str, list[dict[str, Any]]] = {}
    tasks: dict[int, dict[str, Any]] = {}
    for batch in batches:
        for task in batch.get("tasks", []):
            tasks[task["id"]] = task
        for name, items in batch.items():
            if name not in ("tasks", "duration"):
                lists.setdefault(name, []).extend(items)
    lists["tasks"] = list(tasks.values())
    return lists


def print_sleep_print(seconds: float, last: str = "second line") -> str:
    """A snippet that prints "first line" at once, sleeps ``seconds`` on its
    clock (``asyncio.sleep``), then prints ``last``."""
    return (
        "import asyncio\n\n"
        "async def main():\n"
        '    print("first line")\n'
        f"    await asyncio.sleep({seconds})\n"
        f"    print({last!r})\n\n"
        "asyncio.run(main())\n"
    )
