"""The run's network: TCP connections and name lookups, through the server.

A run's network namespace is empty. ``install`` makes ``socket.socket`` a
``GuardedSocket``: an AF_INET or AF_INET6 stream socket is, underneath, an
AF_UNIX stream socket that says it is the family it was asked for. Its
``connect`` sends the other end of a fresh socket pair, with the address, to
the server over ``protocol.NETWORK_FD`` ("the network channel" in the
protocol); the server checks the address against its guard, connects,
answers one line, then moves the bytes. TLS is done here, over those bytes:
the server never reads what they say. ``getaddrinfo``, ``gethostbyname`` and
``gethostbyname_ex`` ask the server the same way. The event loop's
``sock_connect`` waits for the answer without blocking the loop
(``connect_async``). UDP and raw sockets are refused with a message.

The loopback is the run's own: a socket bound to 127.0.0.1, ::1 or any
address listens on an abstract AF_UNIX name of the run's network namespace,
and a connection to a loopback port something in the run listens on goes
there, as on a laptop (the TCP echo server and client of asyncio's docs).

Each connection is told to the recorder (``netrecords``).
"""

from __future__ import annotations

import errno
import ipaddress
import json
import os
import select
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import protocol
from .netrecords import Connections
from .sockets import GuardedSocket, address_text, is_loopback

if TYPE_CHECKING:
    import asyncio

    from .recorder import Recorder

_RealSocket = socket.socket
_real_getaddrinfo = socket.getaddrinfo
# How long a blocking lookup or connect waits for the server's answer at
# most (the server answers within its own, shorter, timeouts).
ANSWER_SECONDS = 30.0

NO_CHANNEL = "The playground's network is not available to this run (or no longer: too many requests)."
BROKEN_ANSWER = "The playground's network gave an answer it could not read."


class Channel:
    """The run's side of the network channel: one request, one answer socket."""

    def __init__(self, fd: int) -> None:
        try:
            self.sock: socket.socket | None = _RealSocket(fileno=fd)
        except OSError:
            self.sock = None
        self.token = f"{os.getpid()}-{os.urandom(4).hex()}"

    def request(self, message: dict[str, Any], theirs: socket.socket | None = None) -> socket.socket | None:
        """Send ``message`` with ``theirs``, the socket the server answers on
        (a new pair's end when None, and then the other end is returned)."""
        if self.sock is None:
            raise OSError(errno.ENETUNREACH, NO_CHANNEL)
        mine = None
        if theirs is None:
            mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        data = json.dumps(message).encode()
        try:
            socket.send_fds(self.sock, [data], [theirs.fileno()], socket.MSG_DONTWAIT)
        except OSError as exc:
            raise OSError(errno.ENETUNREACH, f"{NO_CHANNEL} ({exc.strerror})") from None
        finally:
            theirs.close()
        return mine

    def listen_name(self, family: int, port: int) -> bytes:
        """The abstract AF_UNIX name a run's loopback listener of ``family`` on ``port`` has."""
        return f"\0playground-{self.token}-tcp{6 if family == socket.AF_INET6 else 4}-{port}".encode()


def read_answer(fd: int, blocking: bool = True, timeout: float | None = None) -> dict[str, Any] | None:
    """The server's one JSON line on ``fd``: consumed only once whole (None
    when it has not all come yet and ``blocking`` is False; ``TimeoutError``
    past ``timeout`` seconds, a blocking socket's own timeout)."""
    while True:
        try:
            peeked: bytes | None = _peek(fd)
        except BlockingIOError:
            peeked = None
        if peeked == b"":
            raise OSError(errno.ECONNRESET, BROKEN_ANSWER)
        end = peeked.find(b"\n") if peeked else -1
        if end >= 0:
            try:
                answer = json.loads(_read_exactly(fd, end + 1))
            except ValueError:
                answer = None
            if not isinstance(answer, dict):
                raise OSError(errno.EPROTO, BROKEN_ANSWER)
            return answer
        if peeked is not None and len(peeked) >= protocol.MAX_NETWORK_ANSWER_BYTES:
            raise OSError(errno.EPROTO, BROKEN_ANSWER)
        if not blocking:
            return None
        readable, _, _ = select.select([fd], [], [], ANSWER_SECONDS if timeout is None else timeout)
        if not readable:
            if timeout is not None:
                raise TimeoutError("timed out")
            raise OSError(errno.ETIMEDOUT, "The playground's network did not answer in time.")


def _peek(fd: int) -> bytes:
    probe = _RealSocket(fileno=fd)
    try:
        return probe.recv(protocol.MAX_NETWORK_ANSWER_BYTES, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    finally:
        probe.detach()


def _read_exactly(fd: int, count: int) -> bytes:
    probe = _RealSocket(fileno=fd)
    try:
        return probe.recv(count, socket.MSG_WAITALL)
    finally:
        probe.detach()


def _error_of(answer: dict[str, Any]) -> OSError:
    number = answer.get("errno")
    message = answer.get("message")
    number = number if isinstance(number, int) else errno.EPROTO
    message = message if isinstance(message, str) else BROKEN_ANSWER
    if answer.get("gai"):
        return socket.gaierror(number, message)
    return OSError(number, message)


class Network:
    """Lookups and connections through the channel, and what each one did."""

    def __init__(self, recorder: Recorder | None) -> None:
        self.channel = Channel(protocol.NETWORK_FD)
        self.connections = Connections(recorder)
        # The run's loopback listeners: (family, port).
        self.listening: set[tuple[int, int]] = set()
        # Descriptors of the run's own loopback: its listeners and their connections.
        self.local: set[int] = set()

    def real_wait(self, fd: int) -> float | None:
        """How long the loop must wait in real time for ``fd``: None when it
        is not one of the run's network sockets (as long as it takes), 0 for
        an idle connection or the run's own loopback, ``math.inf`` while a
        connection opens or waits for an answer, and the rest of
        ``RECEIVING_SECONDS`` after bytes last came (an answer still coming)."""
        if fd in self.local:
            return 0.0
        record = self.connections.by_fd.get(fd)
        if record is None:
            return None
        return self.connections.real_wait(record)

    # -- name lookups

    def getaddrinfo(self, host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0,
                    flags: int = 0) -> list[Any]:
        if host is None or (isinstance(host, (bytes, bytearray)) and not host):
            return _real_getaddrinfo(None, port, family, type, proto, flags)
        name = host.decode("idna") if isinstance(host, (bytes, bytearray)) else str(host)
        try:
            return _real_getaddrinfo(name, port, family, type, proto, flags | socket.AI_NUMERICHOST)
        except socket.gaierror:
            pass
        if isinstance(port, bytes):
            port = port.decode()
        started = self.connections.now()
        answer = self._ask({"op": "resolve", "host": name, "port": port, "family": int(family),
                            "type": int(type), "proto": int(proto), "flags": int(flags)})
        if "ok" not in answer or not isinstance(answer["ok"], list):
            raise _error_of(answer)
        results = []
        for item in answer["ok"]:
            af, kind, number, canonname, address = item
            results.append((socket.AddressFamily(af), socket.SocketKind(kind), number, canonname, tuple(address)))
            self.connections.looked_up(str(address[0]), name, started)
        return results

    def gethostbyname(self, host: str) -> str:
        return str(self.getaddrinfo(host, None, socket.AF_INET, socket.SOCK_STREAM)[0][4][0])

    def gethostbyname_ex(self, host: str) -> tuple[str, list[str], list[str]]:
        found = self.getaddrinfo(host, None, socket.AF_INET, socket.SOCK_STREAM)
        return host, [], sorted({str(item[4][0]) for item in found})

    def _ask(self, message: dict[str, Any]) -> dict[str, Any]:
        mine = self.channel.request(message)
        assert mine is not None
        try:
            answer = read_answer(mine.fileno())
        finally:
            mine.close()
        assert answer is not None
        return answer

    # -- connections

    def start_connect(self, sock: GuardedSocket, address: Any) -> None:
        """Ask the server for a connection to ``address`` on ``sock``'s
        descriptor; the answer then comes on it (``finish_connect``)."""
        host, port = str(address[0]), int(address[1])
        if is_loopback(host) and (sock.family, port) in self.listening:
            sock.connect_loopback(self.channel.listen_name(sock.family, port), address)
            return
        record = self.connections.opened(host, port, sock.fileno())
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        mine.setblocking(sock.getblocking())
        os.dup2(mine.fileno(), sock.fileno(), inheritable=False)
        mine.close()
        message = {"op": "connect", "id": record.number, "host": host, "port": port,
                   "name": self.connections.name_of(host)}
        try:
            self.channel.request(message, theirs)
        except OSError as exc:
            self.connections.failed(sock.fileno(), str(exc))
            raise
        sock.connecting = True

    def finish_connect(self, sock: GuardedSocket, address: Any, blocking: bool) -> bool:
        """Read the server's answer on ``sock``: True once connected, False
        when it has not come yet (``blocking`` False); the refusal raised."""
        try:
            answer = read_answer(sock.fileno(), blocking, (sock.gettimeout() or None) if blocking else None)
        except OSError as exc:
            self.connections.failed(sock.fileno(), f"Connect call failed {address_text(address)}: {exc}")
            raise
        if answer is None:
            return False
        sock.connecting = False
        if "ok" in answer and isinstance(answer["ok"], list):
            sock.peer = tuple(answer["ok"][:2])
            self.connections.connected(sock.fileno())
            return True
        error = _error_of(answer)
        text = f"Connect call failed {address_text(address)}: {error.strerror}"
        self.connections.failed(sock.fileno(), text)
        raise OSError(error.errno, text)


network: Network | None = None


async def connect_async(loop: asyncio.AbstractEventLoop, sock: GuardedSocket, address: Any) -> None:
    """``loop.sock_connect`` for a guarded socket: ask, then wait for the
    server's answer on the socket without blocking the loop."""
    assert network is not None
    if not (isinstance(address, tuple) and len(address) >= 2):
        raise TypeError("address must be a tuple (host, port)")
    try:
        ipaddress.ip_address(str(address[0]).split("%")[0])
    except ValueError:
        found = await loop.getaddrinfo(address[0], address[1], family=sock.family, type=socket.SOCK_STREAM)
        address = found[0][4]
    network.start_connect(sock, address)
    if not sock.connecting:
        return
    if network.finish_connect(sock, address, blocking=False):
        return
    answered = loop.create_future()
    fd = sock.fileno()

    def on_readable() -> None:
        if answered.done():
            return
        try:
            done = network is not None and network.finish_connect(sock, address, blocking=False)
        except OSError as exc:
            answered.set_exception(exc)
        else:
            if done:
                answered.set_result(None)

    loop.add_reader(fd, on_readable)
    try:
        await answered
    finally:
        loop.remove_reader(fd)


def _wrap_tls(recorder_hook: Callable[[str, int], None]) -> None:
    """Note the TLS handshake of a connection, in asyncio's SSL protocol and ssl.SSLSocket."""
    import asyncio.sslproto as sslproto
    import ssl

    start, complete = sslproto.SSLProtocol._start_handshake, sslproto.SSLProtocol._on_handshake_complete

    def fd_of(protocol_: Any) -> int:
        transport = getattr(protocol_, "_transport", None)
        sock = transport.get_extra_info("socket") if transport is not None else None
        return sock.fileno() if sock is not None else -1

    def started(self: Any) -> None:
        recorder_hook("tls_start", fd_of(self))
        start(self)

    def completed(self: Any, handshake_exc: Any) -> None:
        recorder_hook("tls_end", fd_of(self))
        complete(self, handshake_exc)

    sslproto.SSLProtocol._start_handshake = started  # type: ignore[method-assign]
    sslproto.SSLProtocol._on_handshake_complete = completed  # type: ignore[method-assign]
    handshake = ssl.SSLSocket.do_handshake

    def do_handshake(self: Any, *args: Any) -> None:
        recorder_hook("tls_start", self.fileno())
        handshake(self, *args)
        recorder_hook("tls_end", self.fileno())

    ssl.SSLSocket.do_handshake = do_handshake  # type: ignore[method-assign,assignment]
    real_close = ssl.SSLSocket._real_close  # type: ignore[attr-defined]

    def closed(self: Any) -> None:
        recorder_hook("closed", self.fileno())
        real_close(self)

    ssl.SSLSocket._real_close = closed  # type: ignore[attr-defined]


def install(recorder: Recorder | None) -> Network:
    """Route the snippet's sockets and lookups through the server."""
    global network
    network = Network(recorder)
    GuardedSocket.network = network
    socket.socket = GuardedSocket  # type: ignore[misc,assignment]
    socket.SocketType = GuardedSocket  # type: ignore[misc,assignment]
    socket.getaddrinfo = network.getaddrinfo  # type: ignore[assignment]
    socket.gethostbyname = network.gethostbyname
    socket.gethostbyname_ex = network.gethostbyname_ex
    _wrap_tls(network.connections.tls)
    return network
