"""Code mode's network: the time from a connect to the first byte of the
answer through the server's guard, beside the same client connecting
directly, on loopback.

A loopback HTTP server answers ``GET /status/200``. In one run, rounds
alternate so the machine's noise hits both alike: a snippet in the real jail
(real clock) that opens ``--connections`` connections one after another,
each timed from ``asyncio.open_connection`` to the first byte of the answer,
and the same client code in this process, straight to the server. Prints
the medians of both, their ratio, and the connect part alone.

    python3 bench/network.py [--rounds 10] [--connections 20]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playground.sandbox.service import Sandbox  # noqa: E402
from playground.settings import Settings  # noqa: E402
from tests.support.urlserver import local_server  # noqa: E402

CLIENT = """
import asyncio, time

async def timed(host, port):
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection(host, port)
    connected = time.perf_counter()
    writer.write(b"GET /status/200 HTTP/1.1\\r\\nHost: bench\\r\\nConnection: close\\r\\n\\r\\n")
    await reader.read(1)
    first_byte = time.perf_counter()
    writer.close()
    await writer.wait_closed()
    return connected - started, first_byte - started

async def main(host, port, count):
    return [await timed(host, port) for _ in range(count)]
"""


def run_guarded(sandbox: Sandbox, port: int, count: int) -> list[tuple[float, float]]:
    code = CLIENT + f"\nfor pair in asyncio.run(main('127.0.0.1', {port}, {count})):\n    print(*pair)\n"
    trace = sandbox.run(code, "real").to_json()
    if trace["status"] != "ok":
        raise SystemExit(f"the jailed client failed: {trace['error']}")
    return [(float(a), float(b)) for a, b in (item["text"].split() for item in trace["output"])]


def run_direct(port: int, count: int) -> list[tuple[float, float]]:
    namespace: dict[str, object] = {}
    exec(CLIENT, namespace)
    result: list[tuple[float, float]] = asyncio.run(namespace["main"]("127.0.0.1", port, count))  # type: ignore[operator]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=20)
    args = parser.parse_args()
    with local_server() as server:
        sandbox = Sandbox.from_settings(Settings.load({}, {"URL_ALLOW": server.allow,
                                                           "URL_CODE_CONNECTIONS": args.connections}))
        try:
            guarded: list[tuple[float, float]] = []
            direct: list[tuple[float, float]] = []
            run_guarded(sandbox, server.port, 2)  # warm: the first run starts the server's egress loop
            for _ in range(args.rounds):
                guarded += run_guarded(sandbox, server.port, args.connections)
                direct += run_direct(server.port, args.connections)
                time.sleep(0.05)
        finally:
            sandbox.close()
    first_guarded = statistics.median(b for _, b in guarded) * 1000
    first_direct = statistics.median(b for _, b in direct) * 1000
    connect_guarded = statistics.median(a for a, _ in guarded) * 1000
    connect_direct = statistics.median(a for a, _ in direct) * 1000
    print(f"connections: {len(guarded)} through the guard, {len(direct)} direct (loopback, {args.rounds} rounds)")
    print(f"connect to first byte: guard {first_guarded:.3f} ms, direct {first_direct:.3f} ms, "
          f"ratio {first_guarded / first_direct:.2f}x")
    print(f"connect alone:         guard {connect_guarded:.3f} ms, direct {connect_direct:.3f} ms, "
          f"ratio {connect_guarded / connect_direct:.2f}x")


if __name__ == "__main__":
    main()
