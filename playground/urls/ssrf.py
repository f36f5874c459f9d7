"""The SSRF guard of URL mode: which URLs and which addresses the server may fetch.

People paste URLs and the server fetches them, so without a guard the page
would be a way into the server's own network. The guard works in three
places, each of which refuses on its own:

1. ``Guard.check_url`` before a request (and before each redirect hop):
   http and https only, no credentials, ports 80 and 443 unless allowed, a
   host that is a plain name or a plain IP address (numeric tricks such as
   ``2130706433``, ``0x7f000001`` or ``127.1`` are refused), and an IP
   literal that is not internal.
2. ``GuardedResolver``: every address a name resolves to is checked; only
   the public ones are handed to the connector.
3. ``Guard.socket_factory``: the exact address of every connection attempt
   is checked again just before the socket is created, so neither a cache,
   an IP literal, a redirect nor DNS rebinding can reach an internal address.

``PLAYGROUND_URL_ALLOW`` lists ``host:port`` pairs (the host as written in
the URL) that are fetched despite the guard; the tests use it for their
local server. Which request a connection belongs to travels in a context
variable (``hop``), set by the fetcher around each request.
"""

from __future__ import annotations

import contextvars
import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

SCHEMES = ("http", "https")
DEFAULT_PORTS = frozenset({80, 443})
MAX_URL_CHARS = 2048

NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
HOSTNAME = re.compile(r"^(?=.{1,253}\.?$)([a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*"
                      r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.?$")

# What people read when a URL is refused (one sentence says why, one what to do).
NOT_ABSOLUTE = "Not a full URL: write it as http://host/path or https://host/path."
BAD_SCHEME = "Only http and https URLs are fetched; this one is {scheme}:."
CREDENTIALS = "URLs with a user name or password are refused: the playground sends no credentials."
BAD_PORT = "Port {port} is refused: the playground fetches only from port {ports}."
BAD_HOST = "The host {host!r} is not a valid host name or IP address."
NUMERIC_TRICK = (
    "The host {host!r} is a non-standard way of writing the IP address {address}; "
    "write addresses in the usual dotted form (and internal addresses are refused anyway)."
)
TOO_LONG = "The URL is {length} characters long; the limit is {limit}."
REFUSED_ADDRESS = (
    "{what} is {kind} address; the playground fetches only from public internet addresses."
)
REFUSED_RESOLVED = (
    "{host} resolves to {what}, {kind} address; the playground fetches only from public internet addresses."
)


class Refused(OSError):
    """A URL or a connection the guard refuses; ``message`` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadURL(ValueError):
    """A URL that cannot be fetched at all (not a URL, a bad host, too long)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# ------------------------------------------------------------------ addresses

def _kind_v4(ip: ipaddress.IPv4Address) -> str | None:
    if ip.is_unspecified or ip in ipaddress.IPv4Network("0.0.0.0/8"):
        return "an unspecified"
    if ip.is_loopback:
        return "a loopback"
    if ip.is_link_local:
        return "a link-local"
    if ip in CGNAT:
        return "a shared (CGNAT)"
    return _kind_either(ip, reserved=ip.is_reserved or ip == ipaddress.IPv4Address("255.255.255.255"))


def _kind_either(ip: IPAddress, reserved: bool) -> str | None:
    """The kinds both families name alike, in the order they are checked."""
    if ip.is_multicast:
        return "a multicast"
    if reserved:
        return "a reserved"
    if ip.is_private:
        return "a private"
    if not ip.is_global:
        return "a special-purpose"
    return None


def _embedded_v4(ip: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    """An IPv4 address carried inside an IPv6 one, and the name of the form."""
    if ip.ipv4_mapped is not None:
        return "an IPv4-mapped form of", ip.ipv4_mapped
    if ip in NAT64 or ip in NAT64_LOCAL:
        return "a NAT64 form of", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return "a 6to4 form of", ip.sixtofour
    if ip.teredo is not None:
        return "a Teredo form of", ip.teredo[1]
    return None


def _kind_v6(ip: ipaddress.IPv6Address) -> str | None:
    if ip.is_unspecified:
        return "an unspecified"
    if ip.is_loopback:
        return "a loopback"
    if ip.is_link_local:
        return "a link-local"
    if ip.is_site_local:
        return "a site-local"
    return _kind_either(ip, reserved=ip.is_reserved)


def address_problem(ip: IPAddress) -> tuple[str, str] | None:
    """``(what, kind)`` when ``ip`` must not be reached, e.g. ``("127.0.0.1", "a loopback")``;
    ``None`` for a public address."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            ip = ipaddress.IPv6Address(str(ip).split("%", 1)[0])
        embedded = _embedded_v4(ip)
        if embedded is not None:
            form, inner = embedded
            kind = _kind_v4(inner)
            return None if kind is None else (f"{ip} ({form} {inner})", kind)
        kind = _kind_v6(ip)
    else:
        kind = _kind_v4(ip)
    return None if kind is None else (str(ip), kind)


def parse_ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def legacy_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The address a numeric host means to the C library (``inet_aton``), for
    forms other than a plain dotted quad: ``2130706433``, ``0x7f000001``,
    ``0177.0.0.1``, ``127.1``, ``127.0.0.1.``."""
    name = host.rstrip(".")
    if not name or not re.fullmatch(r"[0-9a-fA-FxX.]+", name):
        return None
    try:
        packed = socket.inet_aton(name)
    except OSError:
        return None
    return ipaddress.IPv4Address(packed)


def refusal_for(ip_text: str) -> str | None:
    """The message refusing a connection to ``ip_text``, or None if it is public."""
    ip = parse_ip(ip_text)
    if ip is None:
        return f"{ip_text!r} is not an IP address; refused."
    problem = address_problem(ip)
    if problem is None:
        return None
    what, kind = problem
    return REFUSED_ADDRESS.format(what=what, kind=kind)


# ------------------------------------------------------------------ settings

def parse_allow(value: Any) -> frozenset[tuple[str, int]]:
    """``host:port`` pairs from a setting: a string split on commas or spaces,
    or a list. IPv6 hosts are written in brackets: ``[::1]:8080``."""
    if value is None or value == "":
        return frozenset()
    items: Iterable[Any] = re.split(r"[,\s]+", value.strip()) if isinstance(value, str) else value
    pairs = set()
    for item in items:
        text = str(item).strip()
        if not text:
            continue
        host, sep, port = text.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"URL_ALLOW entry {text!r} is not host:port")
        pairs.add((host.strip("[]").lower(), int(port)))
    return frozenset(pairs)


def parse_ports(value: Any) -> frozenset[int]:
    if value is None or value == "":
        return DEFAULT_PORTS
    items: Iterable[Any] = re.split(r"[,\s]+", value.strip()) if isinstance(value, str) else (
        [value] if isinstance(value, int) else value)
    ports = frozenset(int(item) for item in items if str(item).strip())
    if not ports or not all(0 < port < 65536 for port in ports):
        raise ValueError(f"URL_PORTS {value!r} is not a list of ports")
    return ports


def _either(ports: list[int]) -> str:
    words = [str(port) for port in ports]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


# ------------------------------------------------------------------ per request

@dataclass
class Hop:
    """One request (one redirect hop): its host as written, its port, whether
    the allow list lets it through, and the guard's refusal if there was one."""

    host: str
    port: int
    allowed: bool
    refusal: str | None = None


hop: contextvars.ContextVar[Hop | None] = contextvars.ContextVar("playground_fetch_hop", default=None)


@dataclass(frozen=True)
class Checked:
    url: URL
    allowed: bool


class Guard:
    """The guard's policy: which URLs and addresses may be fetched."""

    def __init__(self, allow: frozenset[tuple[str, int]] = frozenset(),
                 ports: frozenset[int] = DEFAULT_PORTS) -> None:
        self.allow = allow
        self.ports = ports

    def check_url(self, text: str | URL) -> Checked:
        """The URL, parsed, if it may be requested; ``BadURL`` or ``Refused`` if not."""
        if isinstance(text, URL):
            url = text
        else:
            if len(text) > MAX_URL_CHARS:
                raise BadURL(TOO_LONG.format(length=len(text), limit=MAX_URL_CHARS))
            try:
                url = URL(text.strip())
            except (ValueError, TypeError) as exc:
                raise BadURL(f"Not a valid URL: {exc}.") from None
        scheme = (url.scheme or "").lower()
        if scheme and scheme not in SCHEMES:
            raise Refused(BAD_SCHEME.format(scheme=scheme))
        if not url.is_absolute() or not scheme or not url.raw_host:
            raise BadURL(NOT_ABSOLUTE)
        if url.raw_user or url.raw_password is not None:
            raise Refused(CREDENTIALS)
        host = url.raw_host.lower()
        port = url.port
        if port is None or not 0 < port < 65536:
            raise BadURL(f"The URL has no valid port: {url.explicit_port!r}.")
        allowed = (host, port) in self.allow
        ip = parse_ip(host)
        if ip is None:
            numeric = legacy_ipv4(host)
            if numeric is not None:
                raise Refused(NUMERIC_TRICK.format(host=host, address=numeric))
            if not HOSTNAME.match(host):
                raise BadURL(BAD_HOST.format(host=host))
        if allowed:
            return Checked(url, True)
        if port not in self.ports:
            raise Refused(BAD_PORT.format(port=port, ports=_either(sorted(self.ports))))
        if ip is not None:
            refusal = refusal_for(host)
            if refusal is not None:
                raise Refused(refusal)
        return Checked(url, False)

    def socket_factory(self, addr_info: Any) -> socket.socket:
        """aiohttp's ``socket_factory``: the last check, on the exact address
        a connection is about to be made to."""
        family, type_, proto, _, sockaddr = addr_info
        current = hop.get()
        if current is None or not current.allowed:
            refusal = refusal_for(str(sockaddr[0]))
            if refusal is not None:
                if current is not None:
                    current.refusal = refusal
                raise Refused(refusal)
        return socket.socket(family=family, type=type_, proto=proto)


class GuardedResolver(AbstractResolver):
    """Resolves with ``base`` and keeps only the addresses the guard allows."""

    def __init__(self, base: AbstractResolver) -> None:
        self.base = base

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        results = await self.base.resolve(host, port, family)
        current = hop.get()
        if current is not None and current.allowed:
            return results
        kept = []
        first_refusal: tuple[str, str] | None = None
        for result in results:
            ip = parse_ip(result["host"])
            problem = ("?", "an unusable") if ip is None else address_problem(ip)
            if problem is None:
                kept.append(result)
            elif first_refusal is None:
                first_refusal = problem
        if not kept:
            what, kind = first_refusal or ("nothing", "no")
            refusal = REFUSED_RESOLVED.format(host=host, what=what, kind=kind)
            if current is not None:
                current.refusal = refusal
            raise Refused(refusal)
        return kept

    async def close(self) -> None:
        await self.base.close()
