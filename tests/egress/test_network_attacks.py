"""Attacks on code mode's network, in the real jail: every internal address
and its encodings refused, UDP and raw sockets refused, a run that abuses
its channel to the server stopped without harm, names it claims but did not
look up never allowed, and nothing of a run's connections left after it."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from playground.sandbox.service import Sandbox
from tests.support.codenet import RunCode, sandbox_for
from tests.support.urlserver import LocalServer

REFUSED_HOSTS = [
    "10.0.0.1", "172.16.0.1", "192.168.1.1", "100.64.0.1", "169.254.169.254", "0.0.0.0", "224.0.0.1",
    "255.255.255.255", "fe80::1", "fc00::1", "fd00:ec2::254", "::", "::ffff:10.0.0.1",
    "::ffff:169.254.169.254", "::ffff:127.0.0.1", "64:ff9b::a9fe:a9fe", "2002:a9fe:a9fe::1",
]
# The run's own loopback, however it is written: nothing listens there.
LOOPBACK_HOSTS = ["127.0.0.1", "127.1.2.3", "::1", "2130706433", "0x7f000001", "0x7f.1",
                  "017700000001", "127.1", "localhost"]


def test_every_internal_address_and_encoding_is_refused(run_code: RunCode) -> None:
    trace = run_code(f"""
        import asyncio, errno

        async def main():
            for host in {REFUSED_HOSTS + LOOPBACK_HOSTS!r}:
                try:
                    await asyncio.wait_for(asyncio.open_connection(host, 80), 10)
                    print(host, "CONNECTED")
                except OSError as exc:
                    print(host, errno.errorcode.get(exc.errno, exc.errno), str(exc))

        asyncio.run(main())
    """)
    assert trace["status"] == "ok", trace
    lines = [item["text"] for item in trace["output"]]
    assert len(lines) == len(REFUSED_HOSTS) + len(LOOPBACK_HOSTS)
    assert not any("CONNECTED" in line for line in lines)
    for host, line in zip(REFUSED_HOSTS, lines, strict=False):
        assert line.startswith(f"{host} ENETUNREACH"), line
        assert "address: code in the playground connects only to public internet addresses" in line, line
        assert "URL_ALLOW" in line
    for line in lines[len(REFUSED_HOSTS):]:
        assert "ECONNREFUSED" in line and "loopback is its own" in line, line


def test_udp_and_raw_sockets_are_refused_with_a_message(run_code: RunCode) -> None:
    trace = run_code("""
        import asyncio, socket

        for family, kind in [(socket.AF_INET, socket.SOCK_DGRAM), (socket.AF_INET6, socket.SOCK_DGRAM),
                             (socket.AF_INET, socket.SOCK_RAW), (socket.AF_PACKET, socket.SOCK_RAW),
                             (socket.AF_NETLINK, socket.SOCK_RAW)]:
            try:
                socket.socket(family, kind)
                print("made")
            except OSError as exc:
                print(type(exc).__name__, "TCP connections only" in str(exc))

        async def main():
            loop = asyncio.get_running_loop()
            await loop.create_datagram_endpoint(asyncio.DatagramProtocol, remote_addr=("8.8.8.8", 53))

        asyncio.run(main())
    """)
    lines = [item["text"] for item in trace["output"]]
    assert lines == ["PermissionError True"] * 3 + ["PermissionError False"] * 2
    assert trace["status"] == "error" and "TCP connections only" in trace["error"]["message"]


def test_a_run_that_abuses_its_channel_is_cut_off_and_harms_nothing(run_code: RunCode, server: LocalServer,
                                                                     sandbox: Sandbox) -> None:
    trace = run_code("""
        import json, os, socket, time

        channel = socket.socket(fileno=4)
        def ask(data, fds=(), flags=socket.MSG_DONTWAIT):
            try:
                socket.send_fds(channel, [data], list(fds), flags)
                return "sent"
            except OSError as exc:
                return type(exc).__name__

        mine, theirs = socket.socketpair()
        read_end, write_end = os.pipe()
        print(ask(b"not json"), ask(b"{}", [theirs.fileno()]), ask(b"x" * 5000, [theirs.fileno()]),
              ask(json.dumps({"op": "connect", "id": 1, "host": "127.0.0.1", "port": PORT}).encode(),
                  [read_end]))
        # A well-formed request on a socket of its own: refused with a reason.
        print(mine.recv(1000).decode().strip()[:40])
        # Then a flood: past its caps the channel closes, and asking fails at once.
        request = json.dumps({"op": "resolve", "host": "localhost", "port": 80, "family": 0, "type": 0,
                              "proto": 0, "flags": 0}).encode()
        sent, closed = 0, None
        while closed is None and sent < 1000:
            result = ask(request, [theirs.fileno()])
            if result == "sent":
                sent += 1
            elif result in ("BrokenPipeError", "ConnectionResetError"):
                closed = result
            else:
                time.sleep(0.002)  # descriptors in flight: the server is behind
        print(closed, 100 < sent < 300)
        start = time.monotonic()
        try:
            socket.create_connection(("127.0.0.1", PORT), timeout=5)
        except OSError as exc:
            print("after the flood:", "not available to this run" in str(exc), time.monotonic() - start < 1)
    """, "real")
    lines = [item["text"] for item in trace["output"]]
    assert lines[0] == "sent sent sent sent"
    assert lines[1].startswith('{"errno": 22')
    assert lines[2] == "BrokenPipeError True", lines[2]
    assert lines[3] == "after the flood: True True"
    # The server is unharmed: the next run reaches the network as usual.
    after = run_code("""
        import socket
        with socket.create_connection(("127.0.0.1", PORT), timeout=5) as sock:
            sock.sendall(b"GET /status/200 HTTP/1.0\\r\\n\\r\\n")
            print(sock.recv(12).decode())
    """)
    assert [item["text"] for item in after["output"]] == ["HTTP/1.0 200"]


@pytest.fixture(scope="module")
def names_only(server: LocalServer) -> Iterator[Sandbox]:
    """A guard that allows the test server by its name only."""
    running = sandbox_for(URL_ALLOW=f"localhost:{server.port}")
    yield running
    running.close()


def test_a_name_the_run_claims_but_did_not_look_up_is_not_allowed(run_code: RunCode, names_only: Sandbox) -> None:
    trace = run_code("""
        import json, socket

        channel = socket.socket(fileno=4)
        mine, theirs = socket.socketpair()
        socket.send_fds(channel, [json.dumps({"op": "connect", "id": 7, "host": "127.0.0.1", "port": PORT,
                                              "name": "localhost"}).encode()], [theirs.fileno()])
        print(mine.recv(1000).decode().strip()[:60])
        with socket.create_connection(("localhost", PORT), timeout=5) as sock:
            sock.sendall(b"GET /status/200 HTTP/1.0\\r\\n\\r\\n")
            print(sock.recv(12).decode())
    """, box=names_only)
    lines = [item["text"] for item in trace["output"]]
    assert lines[0].startswith('{"errno": 111'), lines
    assert lines[1] == "HTTP/1.0 200"


def _open_sockets() -> int:
    count = 0
    for name in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{name}").startswith("socket:")
        except OSError:
            pass
    return count


@pytest.mark.parametrize("ending", ["os._exit(0)", "while True: pass"])
def test_nothing_of_a_run_s_connections_outlives_it(run_code: RunCode, ending: str) -> None:
    run_code("print('warm')")
    before = _open_sockets()
    trace = run_code(f"""
        import os, socket
        socks = []
        for _ in range(3):
            sock = socket.create_connection(("127.0.0.1", PORT), timeout=5)
            sock.sendall(b"GET /delay/30 HTTP/1.0\\r\\n\\r\\n")
            socks.append(sock)
        print("open")
        {ending}
    """, "real")
    assert [item["text"] for item in trace["output"]] == ["open"]
    assert len(trace["connections"]) == 3
    # Still open when the run ended without closing them: drawn up to its end, cut off.
    assert all(connection.get("cut_off") for connection in trace["connections"]), trace["connections"]
    assert _open_sockets() <= before, "the server kept sockets of a run that is over"
