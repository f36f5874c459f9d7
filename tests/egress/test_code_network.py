"""Code mode reaches the network through the server's guard: aiohttp, streams,
plain sockets and name lookups, against a loopback server that URL_ALLOW
lets through, in the real jail, on both clocks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from tests.support.codenet import RunCode, sandbox_for
from tests.support.traces import how_it_ended, near
from tests.support.urlserver import LocalServer

CLOCKS = ("virtual", "real")


def printed(trace: dict[str, Any]) -> list[str]:
    return [item["text"] for item in trace["output"]]


def phase_names(connection: dict[str, Any]) -> list[str]:
    return [phase["name"] for phase in connection["phases"]]


@pytest.mark.parametrize("clock", CLOCKS)
def test_open_connection_reaches_an_allowed_server_and_is_drawn(run_code: RunCode, clock: str) -> None:
    trace = run_code("""
        import asyncio

        async def main():
            reader, writer = await asyncio.open_connection("127.0.0.1", PORT)
            writer.write(b"GET /status/200 HTTP/1.0\\r\\nHost: test\\r\\n\\r\\n")
            await writer.drain()
            answer = await reader.read()
            print(answer.split(b"\\r\\n")[0].decode())
            writer.close()
            await writer.wait_closed()

        asyncio.run(main())
    """, clock)
    assert trace["status"] == "ok", how_it_ended(trace)
    assert printed(trace) == ["HTTP/1.0 200 OK"]
    [connection] = trace["connections"]
    assert connection["task"] == trace["tasks"][0]["id"] and connection["line"] == 5
    assert connection["host"] == "127.0.0.1" and connection["error"] is None
    assert phase_names(connection)[:2] == ["connect", "first_byte"]
    # The server counted the bytes: the request as written, the whole answer.
    assert connection["sent"] == len(b"GET /status/200 HTTP/1.0\r\nHost: test\r\n\r\n")
    assert connection["received"] > len("HTTP/1.0 200 OK")


def test_the_operator_sees_code_connections_in_the_metrics(run_code: RunCode) -> None:
    opened = REGISTRY.get_sample_value("playground_code_connections_total", {"outcome": "opened"}) or 0.0
    refused = REGISTRY.get_sample_value("playground_code_connections_total", {"outcome": "refused"}) or 0.0
    received = REGISTRY.get_sample_value("playground_code_network_bytes_total", {"direction": "in"}) or 0.0
    trace = run_code("""
        import socket
        with socket.create_connection(("127.0.0.1", PORT)) as sock:
            sock.sendall(b"GET /status/200 HTTP/1.0\\r\\n\\r\\n")
            sock.recv(100)
        try:
            socket.create_connection(("10.0.0.1", 80))
        except OSError:
            pass
    """)
    assert trace["status"] == "ok", how_it_ended(trace)
    assert REGISTRY.get_sample_value("playground_code_connections_total", {"outcome": "opened"}) == opened + 1
    assert REGISTRY.get_sample_value("playground_code_connections_total", {"outcome": "refused"}) == refused + 1
    assert (REGISTRY.get_sample_value("playground_code_network_bytes_total", {"direction": "in"}) or 0) > received


AIOHTTP_GATHER = """
    import asyncio
    import time
    import aiohttp

    async def fetch(session, url):
        async with session.get(url) as response:
            return response.status

    async def main():
        async with aiohttp.ClientSession() as session:
            start = time.perf_counter()
            print(await asyncio.gather(*(fetch(session, "BASE/delay/0.5") for _ in range(3))))
            print(f"gather {time.perf_counter() - start:.2f}")
        async with aiohttp.ClientSession() as session:
            start = time.perf_counter()
            for _ in range(3):
                await fetch(session, "BASE/delay/0.5")
            print(f"sequential {time.perf_counter() - start:.2f}")

    asyncio.run(main())
"""


@pytest.mark.parametrize("clock", CLOCKS)
def test_aiohttp_gather_takes_the_slowest_answer_and_sequential_the_sum(run_code: RunCode, clock: str) -> None:
    trace = run_code(AIOHTTP_GATHER, clock)
    assert trace["status"] == "ok", how_it_ended(trace)
    first, gather, sequential = printed(trace)
    assert first == "[200, 200, 200]"
    assert 0.45 <= float(gather.split()[1]) < 0.9, gather
    assert 1.45 <= float(sequential.split()[1]) < 2.2, sequential
    connections = trace["connections"]
    assert len(connections) == 4  # three at once, then one kept alive for the three in turn
    fetchers = {task["id"] for task in trace["tasks"] if task["coro"] == "fetch"}
    assert {connection["task"] for connection in connections[:3]} <= fetchers
    assert phase_names(connections[3]).count("first_byte") == 3


def test_the_virtual_clock_never_jumps_over_a_timer_while_a_connection_waits(run_code: RunCode) -> None:
    trace = run_code("""
        import asyncio
        import time
        import aiohttp

        async def sleeper():
            begun = time.perf_counter()
            await asyncio.sleep(5)
            print(f"slept {time.perf_counter() - begun:.3f}")

        async def main():
            async with aiohttp.ClientSession() as session:
                task = asyncio.create_task(sleeper())
                async with session.get("BASE/delay/0.5") as response:
                    await response.read()
                print(f"answered {time.perf_counter() - start:.1f}")
                await task

        start = time.perf_counter()
        asyncio.run(main())
    """)
    assert trace["status"] == "ok", how_it_ended(trace)
    answered, slept = printed(trace)
    # aiohttp's import is not counted (start is after it); the answer came
    # after half a second of real waiting, the sleep's five seconds were skipped.
    assert answered in ("answered 0.5", "answered 0.6", "answered 0.7"), answered
    assert slept.startswith("slept ") and near(float(slept.removeprefix("slept ")), 5.0), slept
    assert trace["wall"] < 3


def test_plain_socket_clients_and_lookups_go_through_the_server(run_code: RunCode) -> None:
    trace = run_code("""
        import socket

        print(socket.gethostbyname("localhost"))
        print(sorted({info[4][0] for info in socket.getaddrinfo("localhost", PORT, type=socket.SOCK_STREAM)}))
        with socket.create_connection(("localhost", PORT), timeout=5) as sock:
            sock.sendall(b"GET /status/201 HTTP/1.0\\r\\n\\r\\n")
            print(sock.recv(100).split(b"\\r\\n")[0].decode())
            print(sock.family.name, sock.getpeername()[1] == PORT)
        try:
            socket.getaddrinfo("no-such-host.invalid", 80)
        except socket.gaierror as exc:
            print("gaierror", exc.errno is not None)
    """)
    assert trace["status"] == "ok", how_it_ended(trace)
    lines = printed(trace)
    assert lines[0] == "127.0.0.1" and "127.0.0.1" in lines[1]
    assert lines[2:] == ["HTTP/1.0 201 Created", "AF_INET True", "gaierror True"]
    [connection] = trace["connections"]
    assert connection["host"] == "localhost"  # the name it was looked up from
    assert [phase["name"] for phase in connection["phases"]][:2] == ["dns", "connect"]


def test_tls_is_done_in_the_run_end_to_end(run_code: RunCode, tls_server: LocalServer,
                                            certificate: tuple[Path, Path]) -> None:
    pem = certificate[0].read_text()
    trace = run_code(f"""
        import asyncio, ssl
        import aiohttp

        PEM = {pem!r}

        async def main():
            trusting = ssl.create_default_context(cadata=PEM)
            async with aiohttp.ClientSession() as session:
                async with session.get("{tls_server.url('/status/200')}", ssl=trusting) as response:
                    print(response.status, response.url.scheme)
                try:
                    await session.get("{tls_server.url('/status/200')}")
                except aiohttp.ClientConnectorCertificateError as exc:
                    print("untrusted:", "certificate verify failed" in str(exc))

        asyncio.run(main())
    """)
    assert trace["status"] == "ok", how_it_ended(trace)
    assert printed(trace) == ["200 https", "untrusted: True"]
    trusted = trace["connections"][0]
    assert phase_names(trusted)[:3] == ["connect", "tls", "first_byte"]
    # The server moved the encrypted bytes: more than the plain request and answer.
    assert trusted["sent"] > 300 and trusted["received"] > 500


def test_a_run_serves_itself_on_its_own_loopback(run_code: RunCode) -> None:
    """The TCP echo server and client of asyncio's docs, in one run."""
    trace = run_code("""
        import asyncio

        async def handle_echo(reader, writer):
            data = await reader.read(100)
            writer.write(data)
            await writer.drain()
            writer.close()
            await writer.wait_closed()

        async def main():
            server = await asyncio.start_server(handle_echo, "127.0.0.1", 8888)
            addr = server.sockets[0].getsockname()
            print(f"Serving on {addr}")
            async with server:
                reader, writer = await asyncio.open_connection("127.0.0.1", 8888)
                writer.write(b"Hello World!")
                await writer.drain()
                print(f"Received: {(await reader.read(100)).decode()!r}")
                writer.close()
                await writer.wait_closed()
            try:
                await asyncio.open_connection("127.0.0.1", 8899)
            except ConnectionRefusedError as exc:
                print("refused:", "nothing in this run listens on port 8899" in str(exc))

        asyncio.run(main())
    """)
    assert trace["status"] == "ok", how_it_ended(trace)
    assert printed(trace) == ["Serving on ('127.0.0.1', 8888)", "Received: 'Hello World!'", "refused: True"]


def test_a_server_on_every_address_is_reached_on_both_loopbacks(run_code: RunCode) -> None:
    trace = run_code("""
        import asyncio

        async def handle(reader, writer):
            writer.write(await reader.read(100))
            await writer.drain()
            writer.close()

        async def main():
            server = await asyncio.start_server(handle, port=8888)
            print(sorted(sock.getsockname()[:2] for sock in server.sockets))
            async with server:
                for host in ("127.0.0.1", "::1"):
                    reader, writer = await asyncio.open_connection(host, 8888)
                    writer.write(host.encode())
                    print((await reader.read(100)).decode())
                    writer.close()

        asyncio.run(main())
    """)
    assert trace["status"] == "ok", how_it_ended(trace)
    assert printed(trace) == ["[('0.0.0.0', 8888), ('::', 8888)]", "127.0.0.1", "::1"]
    assert trace["connections"] == []  # the run's own loopback is not the network


def test_the_caps_of_a_run_hold(run_code: RunCode, server: LocalServer) -> None:
    capped = sandbox_for(URL_ALLOW=server.allow, URL_CODE_CONNECTIONS=2, URL_CODE_BYTES_IN=20_000)
    try:
        trace = run_code("""
            import asyncio

            async def get(path):
                reader, writer = await asyncio.open_connection("127.0.0.1", PORT)
                writer.write(f"GET {path} HTTP/1.0\\r\\n\\r\\n".encode())
                return len(await reader.read())

            async def main():
                print(await get("/status/200") > 0)
                print(await get("/large/100000") < 25_000)
                try:
                    await get("/status/200")
                except OSError as exc:
                    print(type(exc).__name__, "URL_CODE_CONNECTIONS" in str(exc))

            asyncio.run(main())
        """, box=capped)
    finally:
        capped.close()
    assert trace["status"] == "ok", how_it_ended(trace)
    assert printed(trace) == ["True", "True", "OSError True"]
    cut = [event["message"] for event in trace["events"] if event["kind"] == "limit"]
    assert any("URL_CODE_BYTES_IN" in message and "20000 bytes" in message for message in cut), cut
    assert sum(connection["received"] for connection in trace["connections"]) <= 20_000


def test_code_network_off_refuses_and_says_so(server: LocalServer, run_code: RunCode) -> None:
    closed = sandbox_for(URL_ALLOW=server.allow, CODE_NETWORK="off")
    try:
        trace = run_code("""
            import asyncio, socket

            try:
                socket.getaddrinfo("localhost", 80)
            except socket.gaierror as exc:
                print("lookup:", exc)

            async def main():
                await asyncio.open_connection("127.0.0.1", PORT)

            asyncio.run(main())
        """, box=closed)
    finally:
        closed.close()
    assert trace["status"] == "error"
    assert "CODE_NETWORK=off" in printed(trace)[0]
    assert trace["error"]["type"] == "OSError" and "CODE_NETWORK=off" in trace["error"]["message"]
    assert trace["error"]["line"] == 10
    assert "Network is unreachable" not in trace["error"]["message"]
    assert trace["connections"][0]["error"] is not None
