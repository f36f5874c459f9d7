"""The SSRF guard: every refused form, through the real fetch path.

Each case goes through ``Fetcher.run`` (aiohttp with the guarded resolver and
socket factory) and must come back as that URL's result, refused with a clear
message, while the run itself succeeds. As a safety net, the ``loopback_only``
fixture makes any connection attempt to a non-loopback address fail the test
instead of leaving the machine: a guard that let one through must never
send traffic to a private or public address from a test.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp.abc import ResolveResult

from playground.urls import ssrf
from playground.urls.fetcher import Fetcher
from playground.urls.limits import FetchLimits
from playground.urls.ssrf import Guard, parse_allow, parse_ports
from tests.support.resolvers import StaticResolver
from tests.support.urlserver import LocalServer, local_server

NAMES = {
    "rebind.test": ["127.0.0.1"],
    "private.test": ["10.1.2.3"],
    "metadata.test": ["169.254.169.254"],
    "cgnat.test": ["100.64.1.1"],
    "mixed.test": ["192.168.0.10", "::1"],
    "mapped.test": ["::ffff:127.0.0.1"],
    "nat64.test": ["64:ff9b::a9fe:a9fe"],
}


def fetch(urls: list[str], server: LocalServer | None = None, *, extra_ports: tuple[int, ...] = (),
          names: dict[str, list[str]] | None = None, strategy: str = "gather") -> list[dict[str, Any]]:
    limits = FetchLimits(
        allow=parse_allow(server.allow) if server else frozenset(),
        ports=frozenset({80, 443, *extra_ports}),
        request_seconds=5, total_seconds=20,
    )
    resolver = (lambda: StaticResolver(names)) if names is not None else None
    trace = asyncio.run(Fetcher(limits, resolver).run(urls, strategy))  # type: ignore[arg-type]
    data = trace.to_json()
    assert data["status"] == "ok"
    assert [task["url"] for task in data["tasks"]] == [url[:ssrf.MAX_URL_CHARS] for url in urls]
    return data["tasks"]  # type: ignore[no-any-return]


def refused(task: dict[str, Any], status: int | None = None) -> str:
    """The refusal message of a task, after checking it is a refusal (with
    ``status`` the last answer's status: a redirect's, or None)."""
    assert task["state"] == "error", task
    assert task["error"]["type"] == "Refused", task
    assert task["http"]["error"] == task["error"]["message"]
    assert task["http"]["status"] == status
    return str(task["error"]["message"])


# ------------------------------------------------------------- IP literals

INTERNAL_LITERALS = [
    ("http://127.0.0.1/", "127.0.0.1 is a loopback address"),
    ("http://127.8.9.10/", "127.8.9.10 is a loopback address"),
    ("http://10.0.0.1/", "10.0.0.1 is a private address"),
    ("http://172.16.5.4/", "172.16.5.4 is a private address"),
    ("http://192.168.1.1/", "192.168.1.1 is a private address"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
    ("http://100.64.0.1/", "100.64.0.1 is a shared (CGNAT) address"),
    ("http://100.127.255.254/", "a shared (CGNAT) address"),
    ("http://224.0.0.1/", "224.0.0.1 is a multicast address"),
    ("http://239.255.255.250/", "a multicast address"),
    ("http://240.0.0.1/", "240.0.0.1 is a reserved address"),
    ("http://255.255.255.255/", "a reserved address"),
    ("http://0.0.0.0/", "0.0.0.0 is an unspecified address"),
    ("http://0.1.2.3/", "an unspecified address"),
    ("http://[::1]/", "::1 is a loopback address"),
    ("http://[::]/", ":: is an unspecified address"),
    ("http://[fe80::1]/", "fe80::1 is a link-local address"),
    ("http://[fe80::1%25eth0]/", "a link-local address"),
    ("http://[fc00::1]/", "fc00::1 is a private address"),
    ("http://[fd12:3456::1]/", "a private address"),
    ("http://[ff02::1]/", "ff02::1 is a multicast address"),
    ("http://[fec0::1]/", "a site-local address"),
    ("http://[::ffff:127.0.0.1]/", "IPv4-mapped form of 127.0.0.1) is a loopback address"),
    ("http://[::ffff:10.0.0.1]/", "IPv4-mapped form of 10.0.0.1) is a private address"),
    ("http://[::ffff:169.254.169.254]/", "IPv4-mapped form of 169.254.169.254) is a link-local address"),
    ("http://[64:ff9b::7f00:1]/", "NAT64 form of 127.0.0.1) is a loopback address"),
    ("http://[64:ff9b::a00:1]/", "NAT64 form of 10.0.0.1) is a private address"),
    ("http://[64:ff9b::6440:1]/", "NAT64 form of 100.64.0.1) is a shared (CGNAT) address"),
    ("http://[64:ff9b:1::a9fe:a9fe]/", "NAT64 form of 169.254.169.254) is a link-local address"),
    ("http://[2002:7f00:1::]/", "6to4 form of 127.0.0.1) is a loopback address"),
    ("http://[::7f00:1]/", "is a reserved address"),
]


def test_internal_ip_literals_are_refused() -> None:
    tasks = fetch([url for url, _ in INTERNAL_LITERALS])
    for (url, expected), task in zip(INTERNAL_LITERALS, tasks, strict=True):
        message = refused(task)
        assert expected in message, (url, message)
        assert "public internet addresses" in message
        assert task["phases"] == [], f"{url} got as far as {task['phases']}"


NUMERIC_TRICKS = [
    ("http://2130706433/", "127.0.0.1"),
    ("http://0x7f000001/", "127.0.0.1"),
    ("http://0X7F000001/", "127.0.0.1"),
    ("http://127.1/", "127.0.0.1"),
    ("http://127.0.1/", "127.0.0.1"),
    ("http://0177.0.0.1/", "127.0.0.1"),
    ("http://017700000001/", "127.0.0.1"),
    ("http://0x7f.0.0.1/", "127.0.0.1"),
    ("http://127.0.0.1./", "127.0.0.1"),
    ("http://167772161/", "10.0.0.1"),
    ("http://0xa9fea9fe/", "169.254.169.254"),
    ("http://0/", "0.0.0.0"),
]


def test_numeric_host_tricks_are_refused_naming_the_address() -> None:
    tasks = fetch([url for url, _ in NUMERIC_TRICKS])
    for (url, address), task in zip(NUMERIC_TRICKS, tasks, strict=True):
        message = refused(task)
        assert "non-standard way of writing the IP address " + address in message, (url, message)


def test_unicode_digits_are_normalised_and_then_refused() -> None:
    [task] = fetch(["http://①②⑦.0.0.1/"])
    assert "127.0.0.1 is a loopback address" in refused(task)


# ------------------------------------------------------------- URL forms

def test_schemes_other_than_http_and_https_are_refused() -> None:
    urls = ["ftp://example.com/file", "file:///etc/passwd", "gopher://example.com/", "javascript:alert(1)",
            "data:text/plain,hi", "ws://example.com/"]
    for url, task in zip(urls, fetch(urls), strict=True):
        message = refused(task)
        assert "Only http and https URLs are fetched" in message, (url, message)
        assert f"this one is {url.split(':')[0]}:" in message


def test_credentials_in_urls_are_refused() -> None:
    urls = ["http://user:secret@example.com/", "https://user@example.com/", "http://:pw@example.com/"]
    for task in fetch(urls):
        assert "user name or password are refused" in refused(task)


def test_ports_other_than_80_and_443_are_refused_before_any_lookup() -> None:
    urls = ["http://example.com:8080/", "https://example.com:22/", "http://93.184.215.14:6379/"]
    for url, task in zip(urls, fetch(urls, names={}), strict=True):
        message = refused(task)
        assert f"Port {url.rsplit(':', 1)[1].strip('/')} is refused" in message
        assert "only from port 80 or 443" in message
        assert task["phases"] == []


def test_malformed_urls_are_that_urls_result() -> None:
    urls = ["not a url", "http://", "http://exa mple.com/", "http://%31%32%37.0.0.1/", "example.com/path",
            "http://" + "a" * 3000 + ".com/"]
    tasks = fetch(urls)
    for url, task in zip(urls, tasks, strict=True):
        assert task["state"] == "error"
        assert task["error"]["type"] in ("BadURL", "Refused"), (url, task["error"])
        assert task["http"]["error"], url
    assert "full URL" in tasks[0]["http"]["error"]
    assert "not a valid host name" in tasks[2]["http"]["error"]
    assert "characters long; the limit is 2048" in tasks[5]["http"]["error"]


# ------------------------------------------------------------- names

def test_a_name_resolving_to_loopback_is_refused_at_resolution() -> None:
    # localhost is not in the allow list, only 127.0.0.1:<port> is; the real
    # resolver (no network: /etc/hosts) answers with loopback addresses.
    with local_server() as server:
        tasks = fetch([f"http://localhost:{server.port}/status/200", "http://localhost/"], server,
                      extra_ports=(server.port,))
    assert server.requests == []
    for task in tasks:
        message = refused(task)
        assert message.startswith("localhost resolves to ")
        assert "a loopback address" in message
        assert [phase["name"] for phase in task["phases"]] == ["dns"]


def test_requests_sharing_a_refused_lookup_are_all_refused() -> None:
    tasks = fetch([f"http://rebind.test/{i}" for i in range(4)], names=NAMES)
    for task in tasks:
        assert refused(task).startswith("rebind.test resolves to 127.0.0.1, a loopback address")


def test_names_resolving_to_internal_addresses_are_refused() -> None:
    urls = [f"http://{name}/" for name in NAMES]
    tasks = fetch(urls, names=NAMES)
    expected = {
        "rebind.test": "127.0.0.1, a loopback",
        "private.test": "10.1.2.3, a private",
        "metadata.test": "169.254.169.254, a link-local",
        "cgnat.test": "100.64.1.1, a shared (CGNAT)",
        "mixed.test": "192.168.0.10, a private",
        "mapped.test": "IPv4-mapped form of 127.0.0.1), a loopback",
        "nat64.test": "NAT64 form of 169.254.169.254), a link-local",
    }
    for name, task in zip(NAMES, tasks, strict=True):
        message = refused(task)
        assert message.startswith(f"{name} resolves to "), message
        assert expected[name] in message, message


def test_the_connection_itself_is_checked_even_if_resolution_were_not(monkeypatch: pytest.MonkeyPatch) -> None:
    """DNS rebinding, or a resolver that slipped: the exact address of the
    connection is checked by the socket factory."""

    async def unchecked(self: ssrf.GuardedResolver, host: str, port: int = 0,
                        family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        return await self.base.resolve(host, port, family)

    monkeypatch.setattr(ssrf.GuardedResolver, "resolve", unchecked)
    with local_server() as server:
        names = {"rebind.test": ["127.0.0.1"], "metadata.test": ["169.254.169.254"]}
        tasks = fetch([f"http://rebind.test:{server.port}/status/200", "http://metadata.test/"], server,
                      names=names, extra_ports=(server.port,))
    assert server.requests == []
    assert "127.0.0.1 is a loopback address" in refused(tasks[0])
    assert "169.254.169.254 is a link-local address" in refused(tasks[1])


def test_socket_factory_refuses_without_a_request_context() -> None:
    guard = Guard()
    with pytest.raises(ssrf.Refused, match="loopback"):
        guard.socket_factory((socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 80)))
    with pytest.raises(ssrf.Refused, match="IPv4-mapped"):
        guard.socket_factory((socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::ffff:10.0.0.1", 80, 0, 0)))


# ------------------------------------------------------------- redirects

def test_redirects_to_refused_places_are_refused_from_an_allowed_server() -> None:
    with local_server() as server, local_server() as other:
        targets = [
            f"http://127.0.0.1:{other.port}/status/200",       # loopback, another port: not allowed
            f"http://localhost:{server.port}/status/200",      # the same server by a name not allowed
            f"http://[::1]:{server.port}/status/200",
            "http://169.254.169.254/latest/meta-data/",
            "http://2130706433/",
            "http://10.0.0.1/",
            "file:///etc/passwd",
            f"http://user:pw@127.0.0.1:{server.port}/status/200",
            "http://[::ffff:127.0.0.1]/",
        ]
        urls = [server.url("/redirect?to=" + quote(target, safe="")) for target in targets]
        tasks = fetch(urls, server, extra_ports=(server.port,))
        assert other.requests == []
        assert [request["path"].split("?")[0] for request in server.requests] == ["/redirect"] * len(targets)
    for target, task in zip(targets, tasks, strict=True):
        message = refused(task, status=302)
        assert task["http"]["redirects"][0]["status"] == 302
        if target.startswith("http://localhost"):
            assert message.startswith("After 1 redirect: localhost resolves to"), message
        else:
            assert message.startswith("The redirect to "), message
            assert "was refused" in message


def test_allowed_server_and_allowed_redirects_work() -> None:
    """The positive control: the allow list lets the local server through,
    redirects included, and the request carries the playground's User-Agent
    and no cookies."""
    with local_server() as server:
        tasks = fetch([server.url("/cookie"), server.url("/chain/2"), server.url("/status/204")], server,
                      strategy="sequential")
        assert all(task["state"] == "done" for task in tasks), tasks
        assert tasks[1]["http"]["status"] == 200
        assert len(tasks[1]["http"]["redirects"]) == 2
        assert all("asyncio-playground" in request["User-Agent"] for request in server.requests)
        assert all("Cookie" not in request for request in server.requests), server.requests


# ------------------------------------------------------------- settings

def test_allow_and_ports_settings_parse() -> None:
    assert parse_allow("127.0.0.1:8080, localhost:9000 [::1]:81") == {
        ("127.0.0.1", 8080), ("localhost", 9000), ("::1", 81)}
    assert parse_allow(["Example.com:443"]) == {("example.com", 443)}
    assert parse_allow("") == frozenset()
    for bad in ("127.0.0.1", "host:0", "host:http", ":80"):
        with pytest.raises(ValueError):
            parse_allow(bad)
    assert parse_ports("80,443 8080") == {80, 443, 8080}
    assert parse_ports(8443) == {8443}
    with pytest.raises(ValueError):
        parse_ports("0")


def test_allow_list_is_per_host_and_port() -> None:
    guard = Guard(parse_allow("127.0.0.1:8080"))
    assert guard.check_url("http://127.0.0.1:8080/x").allowed
    with pytest.raises(ssrf.Refused, match="Port 8081"):
        guard.check_url("http://127.0.0.1:8081/x")
    with pytest.raises(ssrf.Refused, match="loopback"):
        guard.check_url("http://127.0.0.1/x")
    with pytest.raises(ssrf.Refused, match="user name or password"):
        guard.check_url("http://u:p@127.0.0.1:8080/x")
    assert not guard.check_url("https://example.com/").allowed
