"""``socket.socket`` as the snippet sees it: ``GuardedSocket`` (see
:mod:`playground.tracer.network`, which installs it). An AF_INET or
AF_INET6 stream socket is an AF_UNIX one underneath that says it is the
family it was asked for; its ``connect`` goes through the server, its
``bind`` and ``listen`` to the run's own loopback. Any other socket is a
plain one (and the filter allows only AF_UNIX).
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from .network import Network

_RealSocket = socket.socket
INET = (socket.AF_INET, socket.AF_INET6)
_FLAGS = socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC

NOT_TCP = ("The playground's network carries TCP connections only: UDP and raw sockets are not available "
           "(use a TCP client such as aiohttp or asyncio.open_connection).")
NOT_LISTENING = "Connect call failed {address}: nothing in this run listens on port {port}"
NOT_HERE = ("Cannot assign requested address: a run listens on its own loopback only "
            "(127.0.0.1, ::1 or all addresses)")


def address_text(address: Any) -> str:
    return repr(tuple(address[:2])) if isinstance(address, tuple) else repr(address)


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return host == "localhost"


def _unspecified(host: str) -> bool:
    return host in ("", "0.0.0.0", "::", "localhost") or is_loopback(host)


class GuardedSocket(socket.socket):
    """``socket.socket`` for the snippet: TCP through the server (see above)."""

    network: ClassVar[Network | None] = None

    def __init__(self, family: int = -1, type: int = -1, proto: int = -1, fileno: int | None = None) -> None:
        self.pretend: tuple[int, int] | None = None
        self.connecting = False
        self.peer: tuple[Any, ...] | None = None
        self.bound: tuple[Any, ...] | None = None
        self.options: dict[tuple[int, int], Any] = {}
        if fileno is None:
            family = socket.AF_INET if family == -1 else family
            type = socket.SOCK_STREAM if type == -1 else type
            if family in INET:
                if type & ~_FLAGS != socket.SOCK_STREAM:
                    raise OSError(errno.EPERM, NOT_TCP)
                self.pretend = (family, 0 if proto == -1 else proto)
                super().__init__(socket.AF_UNIX, type, 0)
                return
        elif family in INET:
            probe = _RealSocket(fileno=fileno)
            real = probe.getsockopt(socket.SOL_SOCKET, socket.SO_DOMAIN)
            probe.detach()
            if real == socket.AF_UNIX:
                self.pretend = (family, 0 if proto == -1 else proto)
                super().__init__(socket.AF_UNIX, socket.SOCK_STREAM, 0, fileno)
                self.peer = ("127.0.0.1", 0)
                return
        super().__init__(family, type, proto, fileno)

    @property
    def family(self) -> socket.AddressFamily:
        return socket.AddressFamily(self.pretend[0]) if self.pretend else super().family

    @property
    def proto(self) -> int:
        return self.pretend[1] if self.pretend else super().proto

    def connect(self, address: Any) -> None:
        if not self.pretend:
            return super().connect(address)
        network = GuardedSocket.network
        assert network is not None
        address = _resolved(self, address)
        network.start_connect(self, address)
        if not self.connecting:
            return None
        if self.gettimeout() == 0:
            raise BlockingIOError(errno.EINPROGRESS, "Operation now in progress")
        network.finish_connect(self, address, blocking=True)
        return None

    def connect_ex(self, address: Any) -> int:
        try:
            self.connect(address)
        except OSError as exc:
            return exc.errno or errno.EIO
        return 0

    def connect_loopback(self, name: bytes, address: Any) -> None:
        try:
            _RealSocket.connect(self, name)
        except OSError as exc:
            raise OSError(exc.errno, NOT_LISTENING.format(address=address_text(address), port=address[1])) from None
        self.peer = tuple(address[:2])
        if self.network is not None:
            self.network.local.add(self.fileno())

    def getsockopt(self, level: int, option: int, *args: Any) -> Any:
        if not self.pretend:
            return super().getsockopt(level, option, *args)
        if level == socket.SOL_SOCKET and option == socket.SO_ERROR and self.connecting:
            network = GuardedSocket.network
            assert network is not None
            try:
                network.finish_connect(self, self.peer or ("?", 0), blocking=True)
            except OSError as exc:
                return exc.errno or errno.EIO
            return 0
        if level != socket.SOL_SOCKET:
            return self.options.get((level, option), 0)
        return super().getsockopt(level, option, *args)

    def setsockopt(self, level: int, option: int, value: Any, *args: Any) -> None:
        if self.pretend and level != socket.SOL_SOCKET:
            self.options[(level, option)] = value  # TCP and IP options: the server's connection has its own
            return
        super().setsockopt(level, option, value, *args)

    def getpeername(self) -> Any:
        if not self.pretend:
            return super().getpeername()
        if self.peer is None:
            raise OSError(errno.ENOTCONN, "Transport endpoint is not connected")
        return self.peer

    def getsockname(self) -> Any:
        if not self.pretend:
            return super().getsockname()
        if self.bound is not None:
            return self.bound
        return ("::", 0, 0, 0) if self.pretend[0] == socket.AF_INET6 else ("0.0.0.0", 0)

    def bind(self, address: Any) -> None:
        if not self.pretend:
            return super().bind(address)
        host, port = str(address[0]), int(address[1])
        if not _unspecified(host):
            raise OSError(errno.EADDRNOTAVAIL, NOT_HERE)
        network = GuardedSocket.network
        assert network is not None
        if port == 0:
            port = 49152 + int.from_bytes(os.urandom(2), "big") % 16000
        family = self.pretend[0]
        super().bind(network.channel.listen_name(family, port))
        network.listening.add((family, port))
        network.local.add(self.fileno())
        self.bound = (host or "0.0.0.0", port) if self.pretend[0] == socket.AF_INET else (host or "::", port, 0, 0)
        return None

    def accept(self) -> tuple[socket.socket, Any]:
        conn, _ = super().accept()
        if self.pretend and self.network is not None:
            self.network.local.add(conn.fileno())
        return conn, ("127.0.0.1", 0) if not self.pretend or self.pretend[0] == socket.AF_INET else ("::1", 0, 0, 0)

    def send(self, data: Any, *args: Any) -> int:
        sent = super().send(data, *args)
        if self.pretend and self.network is not None:
            self.network.connections.sent(self.fileno())
        return sent

    def sendall(self, data: Any, *args: Any) -> None:
        super().sendall(data, *args)
        if self.pretend and self.network is not None:
            self.network.connections.sent(self.fileno())

    def recv(self, size: int, *args: Any) -> bytes:
        data = super().recv(size, *args)
        if self.pretend and self.network is not None:
            self.network.connections.received(self.fileno(), len(data))
        return data

    def recv_into(self, buffer: Any, *args: Any) -> int:
        count = super().recv_into(buffer, *args)
        if self.pretend and self.network is not None:
            self.network.connections.received(self.fileno(), count)
        return count

    def _real_close(self, _ss: Any = socket._socket.socket) -> None:  # type: ignore[attr-defined]
        network = self.network
        if self.pretend and network is not None and self.fileno() >= 0:
            network.connections.closed(self.fileno())
            network.local.discard(self.fileno())
        super()._real_close(_ss)  # type: ignore[misc]


def _resolved(sock: GuardedSocket, address: Any) -> tuple[Any, ...]:
    """``address`` with its host an IP address (``connect`` takes names too)."""
    if not isinstance(address, tuple) or len(address) < 2:
        raise TypeError(f"{sock.family.name} address must be a tuple (host, port)")
    host, port = address[0], address[1]
    if not isinstance(port, int):
        raise TypeError("'port' must be an integer")
    try:
        ipaddress.ip_address(str(host).split("%")[0])
        return (str(host), port, *address[2:])
    except ValueError:
        network = GuardedSocket.network
        assert network is not None
        found = network.getaddrinfo(host, port, sock.family, socket.SOCK_STREAM)
        return tuple(found[0][4])
