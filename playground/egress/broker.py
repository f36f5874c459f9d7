"""The server's side of every run's network channel (see "the network
channel" in ``playground.tracer.protocol``).

``Egress`` runs one asyncio loop in a thread of its own for all runs. The
runner ``attach``es a run's channel when the snippet is handed over and
``close``s it when the run is over: every connection of the run ends then,
and the run's ``NetworkReport`` says how many bytes went each way on each
connection and which caps were reached. What the run sends is untrusted: a
request that breaks the contract is refused, requests in flight are capped,
and past the run's caps (plus a margin for refusals) the channel is no
longer read, so what a run costs the server is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import os
import re
import socket
import threading
from dataclasses import dataclass, field
from typing import Any

from playground.egress.policy import CONNECT_TIMEOUT, LOOKUP_TIMEOUT, EgressPolicy, Refusal
from playground.ops import metrics
from playground.tracer.protocol import MAX_NETWORK_REQUEST_BYTES

# A port as a service name ("https") or number, in a lookup.
SERVICE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,31}")
# Bytes moved at a time, each way.
CHUNK_BYTES = 64 * 1024
# Requests of one run served at once; past it, more are refused at once.
MAX_IN_FLIGHT = 32
# Requests a run may make beyond its caps (refused ones, bad ones) before
# the server stops reading its channel.
SPARE_REQUESTS = 64
CLOSE_SECONDS = 2.0
REFUSED_REQUEST = json.dumps({"errno": errno.EINVAL, "message": "the playground's network refused this request "
                              "(more at once than it serves, or not one it understands)"}).encode() + b"\n"


@dataclass
class Counted:
    """One connection as the server saw it."""

    host: str
    port: int
    received: int = 0
    sent: int = 0


@dataclass
class NetworkReport:
    """What a run did on the network, as the server counted it."""

    connections: dict[int, Counted] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


class RunNetwork:
    """One run's channel: its requests served within its caps."""

    def __init__(self, policy: EgressPolicy, channel: socket.socket, loop: asyncio.AbstractEventLoop) -> None:
        self.policy = policy
        self.channel = channel
        # Kept: the loop watches this number until close(), the socket's own
        # fileno() is -1 once it is closed.
        self.fd = channel.fileno()
        self.loop = loop
        self.report = NetworkReport()
        self.resolved: dict[str, set[str]] = {}
        self.lookups = 0
        self.requests = 0
        self.received = 0
        self.sent = 0
        self.tasks: set[asyncio.Task[None]] = set()
        self.closing = False

    def start(self) -> None:
        self.channel.setblocking(False)
        self.loop.add_reader(self.fd, self._on_request)

    def _stop_reading(self) -> None:
        with contextlib.suppress(ValueError, OSError):
            self.loop.remove_reader(self.fd)

    def _close_channel(self) -> None:
        """Past its caps: the run's further requests fail at once, unread."""
        self._stop_reading()
        with contextlib.suppress(OSError):
            self.channel.shutdown(socket.SHUT_RDWR)

    def _on_request(self) -> None:
        limit = self.policy.max_connections + self.policy.max_lookups + SPARE_REQUESTS
        for _ in range(MAX_IN_FLIGHT):
            try:
                data, fds, flags, _ = socket.recv_fds(self.channel, MAX_NETWORK_REQUEST_BYTES, 1)
            except BlockingIOError:
                return
            except OSError:
                self._stop_reading()
                return
            if not data and not fds:
                self._stop_reading()  # the run is gone
                return
            self.requests += 1
            answer = _answer_socket(fds)
            request = _parse(data) if flags & (socket.MSG_TRUNC | socket.MSG_CTRUNC) == 0 else None
            if self.requests > limit:
                if answer is not None:
                    answer.close()
                self._close_channel()
                return
            if answer is None:
                continue
            if request is None or len(self.tasks) >= MAX_IN_FLIGHT:
                with contextlib.suppress(OSError):
                    answer.setblocking(False)
                    answer.send(REFUSED_REQUEST)
                answer.close()
                continue
            answer.setblocking(False)
            task = self.loop.create_task(self._serve(request, answer))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _serve(self, request: dict[str, Any], answer: socket.socket) -> None:
        try:
            if request["op"] == "resolve":
                await self._resolve(request, answer)
            else:
                await self._connect(request, answer)
        except (TimeoutError, OSError):
            pass
        finally:
            answer.close()

    async def _reply(self, answer: socket.socket, message: dict[str, Any]) -> None:
        await asyncio.wait_for(self.loop.sock_sendall(answer, json.dumps(message).encode() + b"\n"), 1.0)

    async def _resolve(self, request: dict[str, Any], answer: socket.socket) -> None:
        host = request["host"]
        try:
            self.policy.check_lookup(host, self.lookups)
            self.lookups += 1
            found = await asyncio.wait_for(
                self.loop.getaddrinfo(host, request["port"], family=request["family"], type=socket.SOCK_STREAM,
                                      proto=request["proto"], flags=request["flags"]),
                self.policy.lookup_seconds)
        except TimeoutError:
            await self._reply(answer, {"errno": socket.EAI_AGAIN, "message": LOOKUP_TIMEOUT.format(
                seconds=self.policy.lookup_seconds), "gai": True})
            return
        except Refusal as exc:
            await self._reply(answer, {"errno": socket.EAI_FAIL, "message": exc.strerror, "gai": True})
            return
        except OSError as exc:
            await self._reply(answer, {"errno": exc.errno or socket.EAI_FAIL,
                                       "message": exc.strerror or str(exc), "gai": True})
            return
        results: list[list[Any]] = []
        for af, kind, proto, canon, address in found:
            if af in (socket.AF_INET, socket.AF_INET6):
                results.append([int(af), int(kind), proto, canon, [str(address[0]), int(address[1])]])
                self.resolved.setdefault(str(address[0]), set()).add(host.lower().rstrip("."))
        await self._reply(answer, {"ok": results[:32]})

    async def _connect(self, request: dict[str, Any], answer: socket.socket) -> None:
        number, host, port = request["id"], request["host"], request["port"]
        if number in self.report.connections:
            return
        names = self.resolved.get(host, set())
        claimed = request["name"]
        names = {claimed} if isinstance(claimed, str) and claimed in names else set()
        try:
            family = self.policy.check_connect(host, port, names, len(self.report.connections))
        except Refusal as exc:
            metrics.CODE_CONNECTIONS.labels("refused").inc()
            await self._reply(answer, {"errno": exc.errno, "message": exc.strerror})
            return
        counted = self.report.connections[number] = Counted(next(iter(names), host), port)
        remote = socket.socket(family, socket.SOCK_STREAM)
        remote.setblocking(False)
        try:
            await asyncio.wait_for(self.loop.sock_connect(remote, (host, port)), self.policy.connect_seconds)
        except TimeoutError:
            remote.close()
            await self._reply(answer, {"errno": 110, "message": CONNECT_TIMEOUT.format(
                seconds=self.policy.connect_seconds)})
            return
        except OSError as exc:
            remote.close()
            metrics.CODE_CONNECTIONS.labels("failed").inc()
            await self._reply(answer, {"errno": exc.errno or 111, "message": exc.strerror or str(exc)})
            return
        metrics.CODE_CONNECTIONS.labels("opened").inc()
        try:
            await self._reply(answer, {"ok": [host, port]})
            await self._relay(counted, answer, remote)
        finally:
            remote.close()

    async def _relay(self, counted: Counted, local: socket.socket, remote: socket.socket) -> None:
        pumps = [self.loop.create_task(self._pump(counted, local, remote, "out")),
                 self.loop.create_task(self._pump(counted, remote, local, "in"))]
        try:
            done, _ = await asyncio.wait(pumps, return_when=asyncio.FIRST_EXCEPTION)
            if any(task.exception() is not None for task in done if not task.cancelled()):
                return
            await asyncio.gather(*pumps)
        finally:
            for task in pumps:
                task.cancel()

    async def _pump(self, counted: Counted, source: socket.socket, target: socket.socket, direction: str) -> None:
        cap = self.policy.bytes_in if direction == "in" else self.policy.bytes_out
        while True:
            data = await self.loop.sock_recv(source, CHUNK_BYTES)
            if not data:
                with contextlib.suppress(OSError):
                    target.shutdown(socket.SHUT_WR)
                return
            total = (self.received if direction == "in" else self.sent) + len(data)
            if total > cap:
                self.report.notes.append(self.policy.cut_message(direction, counted.host, counted.port))
                raise ConnectionAbortedError(direction)
            if direction == "in":
                self.received = total
                counted.received += len(data)
            else:
                self.sent = total
                counted.sent += len(data)
            metrics.CODE_NETWORK_BYTES.labels(direction).inc(len(data))
            await self.loop.sock_sendall(target, data)

    async def close(self) -> NetworkReport:
        self._stop_reading()
        for task in list(self.tasks):
            task.cancel()
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=CLOSE_SECONDS)
        self.channel.close()
        return self.report


_OPS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "resolve": {"host": str, "port": (int, str, type(None)), "family": int, "type": int, "proto": int,
                "flags": int},
    "connect": {"id": int, "host": str, "port": int, "name": (str, type(None))},
}


def _answer_socket(fds: list[int]) -> socket.socket | None:
    """The one descriptor a request carries, if it is an AF_UNIX stream
    socket; any other descriptor, and any more of them, are closed."""
    answer = None
    for index, fd in enumerate(fds):
        try:
            sock = socket.socket(fileno=fd)
        except OSError:
            os.close(fd)
            continue
        if index == 0 and sock.family == socket.AF_UNIX and sock.type == socket.SOCK_STREAM:
            answer = sock
        else:
            sock.close()
    return answer


def _parse(data: bytes) -> dict[str, Any] | None:
    """A request that keeps the contract, or None."""
    try:
        request = json.loads(data)
    except ValueError:
        return None
    if not isinstance(request, dict):
        return None
    op = request.get("op")
    fields = _OPS.get(op) if isinstance(op, str) else None
    if fields is None or set(request) != {"op", *fields}:
        return None
    for name, kind in fields.items():
        value = request[name]
        if isinstance(value, bool) or not isinstance(value, kind):
            return None
        if isinstance(value, str) and len(value) > 300:
            return None
    port = request.get("port")
    if isinstance(port, str) and not SERVICE.fullmatch(port):
        return None
    return request


class Egress:
    """The loop that serves every run's channel, started at the first run."""

    def __init__(self, policy: EgressPolicy) -> None:
        self.policy = policy
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the loop now, if it is not running (the first run does, so
        its thread and descriptors belong to the server, not to a run)."""
        self._running_loop()

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="playground-egress", daemon=True).start()
                self._loop = loop
            return self._loop

    def attach(self, channel: socket.socket) -> RunNetwork:
        """Serve ``channel``, a run's network channel, from now on."""
        loop = self._running_loop()
        run = RunNetwork(self.policy, channel, loop)
        loop.call_soon_threadsafe(run.start)
        return run

    def detach(self, run: RunNetwork) -> NetworkReport:
        """End the run's connections and stop watching its channel (before the
        channel is closed, so the loop never watches a number reused since);
        what the run did on the network."""
        loop = self._running_loop()
        future = asyncio.run_coroutine_threadsafe(run.close(), loop)
        try:
            return future.result(CLOSE_SECONDS + 1.0)
        except TimeoutError:
            return run.report

    def close(self) -> None:
        with self._lock:
            loop, self._loop = self._loop, None
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)


class RunChannel:
    """A run's network channel, served by ``egress`` from the run's first
    request on. Most runs never ask for the network, and serving a channel
    wakes the egress loop's thread three times (to watch it, at the run's
    end, to stop watching), so the run's watcher watches it until then and
    calls ``readable``."""

    def __init__(self, egress: Egress, channel: socket.socket) -> None:
        self.egress = egress
        self.channel = channel
        self.network: RunNetwork | None = None

    def fileno(self) -> int:
        return self.channel.fileno()

    def readable(self) -> None:
        """The run sent a request, or closed the channel (its end): serve it
        from now on if it asked. Peeked, not read: the egress loop reads it,
        and a peek with no room for descriptors installs none."""
        if self.network is not None:
            return
        try:
            asked = self.channel.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except BlockingIOError:
            return
        except OSError:
            asked = b""
        if asked:
            self.network = self.egress.attach(self.channel)

    def detach(self) -> NetworkReport:
        """What the run did on the network, its connections ended (see ``Egress.detach``)."""
        return self.egress.detach(self.network) if self.network is not None else NetworkReport()
