"""Which connections and lookups a run may make, its caps, and what it is
told when one is refused.

The rules are URL mode's (``playground.urls.ssrf``): public addresses only,
ports 80 and 443 unless ``URL_PORTS`` says otherwise, and ``URL_ALLOW``'s
exact ``host:port`` exceptions, where the host is an IP address or a name
this server itself resolved for the run to that address. The caps per run
are URL mode's settings too (``URL_CODE_*``). A refusal is the error a
laptop gives for an unreachable host (``ENETUNREACH``), or for a loopback
port nothing listens on (``ECONNREFUSED``), with a message that names the
rule and the setting.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from dataclasses import dataclass

from playground.urls.limits import FetchLimits, size_text
from playground.urls.ssrf import address_problem, parse_ip

OFF = ("network access for code is turned off on this server (CODE_NETWORK=off): "
       "connections and name lookups are refused")
REFUSED_ADDRESS = ("{what} is {kind} address: code in the playground connects only to public internet "
                   "addresses (the server's operator can allow a host:port with URL_ALLOW)")
REFUSED_PORT = ("port {port} is refused: code in the playground connects only to port {ports} "
                "(the server's operator can allow others with URL_PORTS or URL_ALLOW)")
LOOPBACK = ("nothing in this run listens on port {port}: the run's loopback is its own "
            "(the server's operator can allow a host:port with URL_ALLOW)")
TOO_MANY_CONNECTIONS = "a run opens at most {max_connections} connections (URL_CODE_CONNECTIONS)"
TOO_MANY_LOOKUPS = "a run looks up at most {max_lookups} names (URL_CODE_LOOKUPS)"
BAD_NAME = "{host!r} is not a host name the playground looks up"
LOOKUP_TIMEOUT = "the name lookup took longer than {seconds:g} s"
CONNECT_TIMEOUT = "the connection took longer than {seconds:g} s to open"
BYTES_IN_CUT = ("The connection to {host}:{port} was closed: a run receives at most {size} "
                "from the network (URL_CODE_BYTES_IN).")
BYTES_OUT_CUT = ("The connection to {host}:{port} was closed: a run sends at most {size} "
                 "to the network (URL_CODE_BYTES_OUT).")
MAX_NAME_CHARS = 253


class Refusal(OSError):
    """A connection or lookup the policy refuses: an errno and a message for the run."""


@dataclass(frozen=True)
class EgressPolicy:
    enabled: bool
    allow: frozenset[tuple[str, int]]
    ports: frozenset[int]
    max_connections: int
    max_lookups: int
    bytes_in: int
    bytes_out: int
    connect_seconds: float
    lookup_seconds: float

    @classmethod
    def from_limits(cls, urls: FetchLimits, enabled: bool) -> EgressPolicy:
        return cls(enabled=enabled, allow=urls.allow, ports=urls.ports, max_connections=urls.code_connections,
                   max_lookups=urls.code_lookups, bytes_in=urls.code_bytes_in, bytes_out=urls.code_bytes_out,
                   connect_seconds=urls.code_connect_seconds, lookup_seconds=urls.code_connect_seconds)

    def check_lookup(self, host: str, done: int) -> None:
        """Refuse a lookup of ``host``, the run's ``done``-th and one."""
        if not self.enabled:
            raise Refusal(errno.ENETUNREACH, OFF)
        if done >= self.max_lookups:
            raise Refusal(errno.ENETUNREACH, TOO_MANY_LOOKUPS.format(max_lookups=self.max_lookups))
        if not host or len(host) > MAX_NAME_CHARS or not all(c.isalnum() or c in "-._" for c in host):
            raise Refusal(errno.ENETUNREACH, BAD_NAME.format(host=host[:80]))

    def check_connect(self, address: str, port: int, names: set[str], done: int) -> int:
        """The address family of a connection the run may make to
        ``address``:``port`` (looked up by this server from ``names``), its
        ``done``-th and one; else ``Refusal``."""
        if not self.enabled:
            raise Refusal(errno.ENETUNREACH, OFF)
        ip = parse_ip(address)
        if ip is None or not 0 < port < 65536:
            raise Refusal(errno.EINVAL, f"{address!r} port {port} is not an address to connect to")
        if done >= self.max_connections:
            raise Refusal(errno.ENETUNREACH, TOO_MANY_CONNECTIONS.format(max_connections=self.max_connections))
        family = socket.AF_INET if isinstance(ip, ipaddress.IPv4Address) else socket.AF_INET6
        if any((host, port) in self.allow for host in (str(ip), *names)):
            return family
        if ip.is_loopback:
            raise Refusal(errno.ECONNREFUSED, LOOPBACK.format(port=port))
        problem = address_problem(ip)
        if problem is not None:
            what, kind = problem
            raise Refusal(errno.ENETUNREACH, REFUSED_ADDRESS.format(what=what, kind=kind))
        if port not in self.ports:
            ports = sorted(self.ports)
            said = str(ports[0]) if len(ports) == 1 else ", ".join(map(str, ports[:-1])) + f" or {ports[-1]}"
            raise Refusal(errno.ENETUNREACH, REFUSED_PORT.format(port=port, ports=said))
        return family

    def cut_message(self, direction: str, host: str, port: int) -> str:
        if direction == "in":
            return BYTES_IN_CUT.format(host=host, port=port, size=size_text(self.bytes_in))
        return BYTES_OUT_CUT.format(host=host, port=port, size=size_text(self.bytes_out))
