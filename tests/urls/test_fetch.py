"""URL mode against a real aiohttp server on loopback: strategies, phases,
caps and failures, through ``Fetcher.run`` and through ``POST /api/fetch``.

These tests check shapes and orderings (which phases, in which order, which
tasks overlap), never how fast anything was: timings are in bench/urlmode.py.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from playground import create_app
from playground.services import services
from playground.urls.fetcher import STRATEGIES, Fetcher
from playground.urls.limits import FetchLimits
from playground.urls.ssrf import parse_allow
from tests.support.certs import self_signed
from tests.support.resolvers import StaticResolver
from tests.support.urlserver import LocalServer, local_server

CONNECTION_PHASES = ["connect", "sent", "first_byte", "body"]


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with local_server() as running:
        yield running


def run(server: LocalServer, urls: list[str], strategy: str = "gather", limit: int = 3,
        **caps: Any) -> dict[str, Any]:
    resolver = caps.pop("resolver", None)
    limits = FetchLimits(allow=parse_allow(server.allow), **caps)
    trace = asyncio.run(Fetcher(limits, resolver).run(urls, strategy, limit))  # type: ignore[arg-type]
    return trace.to_json()


def names(task: dict[str, Any]) -> list[str]:
    return [phase["name"] for phase in task["phases"]]


def assert_phases_in_order(task: dict[str, Any]) -> None:
    phases = task["phases"]
    assert phases, task
    for phase in phases:
        assert task["created"] <= phase["start"] <= phase["end"] <= task["ended"], (task["url"], phase)
    for before, after in itertools.pairwise(phases):
        assert before["end"] <= after["start"] + 1e-6, (task["url"], before, after)


# ------------------------------------------------------------- strategies

def test_gather_overlaps_and_sequential_does_not(server: LocalServer) -> None:
    urls = [server.url(f"/delay/0.3?n={i}") for i in range(3)]
    gathered = run(server, urls, "gather")
    sequential = run(server, urls, "sequential")
    for trace in (gathered, sequential):
        assert trace["status"] == "ok"
        assert trace["clock"] == "real"
        assert [task["url"] for task in trace["tasks"]] == urls
        for task in trace["tasks"]:
            assert task["state"] == "done" and task["error"] is None
            assert task["http"]["status"] == 200
            assert task["http"]["bytes"] == len("waited\n")
            assert task["http"]["content_type"].startswith("text/plain")
            assert task["http"]["error"] is None
            assert_phases_in_order(task)
            # The server waits before answering: that shows as waiting for the first byte.
            longest = max(task["phases"], key=lambda phase: phase["end"] - phase["start"])
            assert longest["name"] == "first_byte"
    # gather: every request starts before any ends.
    tasks = gathered["tasks"]
    assert max(task["created"] for task in tasks) < min(task["ended"] for task in tasks)
    assert all(names(task) == CONNECTION_PHASES for task in tasks)
    # sequential: each starts after the previous one ended, and reuses its connection.
    tasks = sequential["tasks"]
    for before, after in itertools.pairwise(tasks):
        assert after["created"] >= before["ended"]
    assert names(tasks[0]) == CONNECTION_PHASES
    assert all(names(task) == ["sent", "first_byte", "body"] for task in tasks[1:])
    assert sequential["duration"] >= sum(task["ended"] - task["created"] for task in tasks) - 1e-3


def in_flight(tasks: list[dict[str, Any]]) -> int:
    """The most requests on the wire at once (not counting queued time)."""
    points = []
    for task in tasks:
        active = [phase for phase in task["phases"] if phase["name"] != "queued"]
        points.append((active[0]["start"], 1))
        points.append((active[-1]["end"], -1))
    most = current = 0
    for _, step in sorted(points, key=lambda point: (point[0], point[1])):
        current += step
        most = max(most, current)
    return most


def test_semaphore_queues_all_but_n(server: LocalServer) -> None:
    urls = [server.url(f"/delay/0.3?n={i}") for i in range(5)]
    trace = run(server, urls, "semaphore", limit=2)
    tasks = trace["tasks"]
    queued = [task for task in tasks if "queued" in names(task)]
    assert len(queued) == 3
    for task in queued:
        assert names(task)[0] == "queued"
        assert task["phases"][0]["start"] == pytest.approx(task["created"], abs=1e-3)
    assert in_flight(tasks) == 2
    for task in tasks:
        assert_phases_in_order(task)


def test_connection_cap_shows_as_queued_for_a_slot(server: LocalServer) -> None:
    urls = [server.url(f"/delay/0.3?n={i}") for i in range(4)]
    trace = run(server, urls, "gather", concurrency=2)
    tasks = trace["tasks"]
    assert sum("queued" in names(task) for task in tasks) == 2
    assert in_flight(tasks) == 2


def test_as_completed_records_the_completion_order(server: LocalServer) -> None:
    urls = [server.url("/delay/0.4"), server.url("/delay/0.05"), server.url("/delay/0.2")]
    tasks = run(server, urls, "as_completed")["tasks"]
    order = sorted(tasks, key=lambda task: task["ended"])
    assert [task["http"]["completed"] for task in order] == [1, 2, 3]
    assert [task["url"] for task in order] == [urls[1], urls[2], urls[0]]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_strategy_fetches_every_url_and_prints_a_line(server: LocalServer, strategy: str) -> None:
    urls = [server.url("/status/200"), server.url("/status/404"), server.url("/status/503")]
    trace = run(server, urls, strategy)
    assert trace["status"] == "ok"
    assert [task["http"]["status"] for task in trace["tasks"]] == [200, 404, 503]
    assert all(task["state"] == "done" for task in trace["tasks"])
    lines = sorted(line["text"] for line in trace["output"])
    assert lines == sorted(f"{url}: {code}, 7 bytes" for url, code in zip(urls, (200, 404, 503), strict=True))
    assert {line["task"] for line in trace["output"]} == {1, 2, 3}


# ------------------------------------------------------------- caps and failures

def test_body_is_read_up_to_the_cap_and_the_rest_is_not(server: LocalServer) -> None:
    cap = 256 * 1024
    urls = [server.url(f"/large/{4 * cap}"), server.url(f"/large/{cap}")]
    first, second = run(server, urls, body_bytes=cap)["tasks"]
    assert first["state"] == "done"
    assert first["http"]["bytes"] == cap
    assert first["http"]["truncated"] is True
    assert first["http"]["length"] == 4 * cap
    assert "Only the first 256 KiB of the body were read" in first["http"]["note"]
    assert second["http"]["bytes"] == cap
    assert second["http"]["truncated"] is False


def test_slow_answers_hit_the_per_request_limit_and_say_where(server: LocalServer) -> None:
    urls = [server.url("/drip?bytes=50&interval=0.1"), server.url("/delay/5"), server.url("/status/200")]
    drip, slow, quick = run(server, urls, request_seconds=0.6)["tasks"]
    assert drip["error"]["type"] == "Timeout"
    assert "0.6 s limit for one URL (stopped while reading the body)" in drip["http"]["error"]
    assert 0 < drip["http"]["bytes"] < 50
    assert names(drip)[-1] == "body"
    assert slow["error"]["type"] == "Timeout"
    assert "stopped while waiting for the first byte" in slow["http"]["error"]
    assert quick["state"] == "done"


def test_total_limit_stops_the_run_and_cancels_what_is_left(server: LocalServer) -> None:
    # Two quick URLs done with time to spare, even on a busy machine; the third
    # is cut while it waits, the fourth never starts.
    urls = [server.url("/delay/0.3?n=0"), server.url("/delay/0.3?n=1"), server.url("/delay/5?n=2"),
            server.url("/delay/5?n=3")]
    trace = run(server, urls, "sequential", total_seconds=1.5)
    assert trace["status"] == "timeout"
    states = [task["state"] for task in trace["tasks"]]
    assert states[:2] == ["done", "done"]
    assert states[2:] == ["cancelled", "cancelled"]
    for task in trace["tasks"][2:]:
        assert "1.5 s total limit" in task["http"]["error"]
    assert any(event["kind"] == "limit" for event in trace["events"])


def test_redirects_are_followed_by_hand_up_to_the_cap(server: LocalServer) -> None:
    ok, too_far = run(server, [server.url("/chain/3"), server.url("/chain/6")])["tasks"]
    assert ok["state"] == "done"
    assert ok["http"]["status"] == 200
    assert [hop["status"] for hop in ok["http"]["redirects"]] == [302, 302, 302]
    assert ok["http"]["final_url"].endswith("/chain/0")
    assert sorted({phase["hop"] for phase in ok["phases"]}) == [0, 1, 2, 3]
    assert_phases_in_order(ok)
    assert too_far["error"]["type"] == "TooManyRedirects"
    assert "More than 5 redirects" in too_far["http"]["error"]


def test_connection_failures_are_each_urls_result(server: LocalServer) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]  # nothing listens once the probe is closed
    closed = LocalServer()
    closed.port = closed_port
    limits = FetchLimits(allow=parse_allow(f"{server.allow} {closed.allow}"), ports=frozenset({80, 443}))
    urls = [
        f"http://127.0.0.1:{closed_port}/",
        "http://no-such-host.test/",
        server.url("/headers/20000"),
        server.url("/hangup"),
        server.url("/status/200"),
        "gopher://example.com/",
    ]
    trace = asyncio.run(Fetcher(limits, lambda: StaticResolver({})).run(urls, "gather")).to_json()
    assert trace["status"] == "ok"
    refused, dns, headers, hangup, fine, bad = trace["tasks"]
    assert refused["error"]["type"] == "ConnectionRefused"
    assert f"127.0.0.1:{closed_port} refused the connection" in refused["http"]["error"]
    assert names(refused) == ["connect"]
    assert dns["error"]["type"] == "DNSError"
    assert "Could not look up no-such-host.test: Name or service not known" in dns["http"]["error"]
    assert headers["error"]["type"] == "HeadersTooLarge"
    assert "8190 bytes a line" in headers["http"]["error"]
    assert hangup["error"]["type"] == "Disconnected"
    assert fine["state"] == "done"
    assert bad["error"]["type"] == "Refused"


# ------------------------------------------------------------- TLS

@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed(tmp_path_factory.mktemp("tls"))


def test_tls_handshake_is_its_own_phase_and_bad_certificates_fail(certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    with local_server(ssl_context=context) as tls_server:
        [trusted] = run(tls_server, [tls_server.url("/status/200")], ca_file=str(cert))["tasks"]
        [untrusted] = run(tls_server, [tls_server.url("/status/200")])["tasks"]
    assert trusted["state"] == "done", trusted["error"]
    assert names(trusted) == ["connect", "tls", "sent", "first_byte", "body"]
    assert_phases_in_order(trusted)
    assert untrusted["error"]["type"] == "TLSError"
    assert "certificate" in untrusted["http"]["error"]
    assert "was not accepted" in untrusted["http"]["error"]
    assert names(untrusted) == ["connect", "tls"]


# ------------------------------------------------------------- the API

@pytest.fixture
def url_app(server: LocalServer) -> Flask:
    return create_app({"TESTING": True, "URL_ALLOW": server.allow, "URL_MAX_URLS": 4, "URL_CONCURRENCY": 5})


def test_api_fetch_answers_with_a_trace(url_app: Flask, server: LocalServer) -> None:
    urls = [server.url("/delay/0.1"), server.url("/status/418"), "http://10.0.0.1/"]
    response = url_app.test_client().post("/api/fetch", json={"urls": urls, "strategy": "semaphore", "limit": 2})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    trace = response.get_json()
    assert trace["version"] == 1 and trace["status"] == "ok"
    assert [task["url"] for task in trace["tasks"]] == urls
    assert trace["tasks"][1]["http"]["status"] == 418
    assert "private address" in trace["tasks"][2]["http"]["error"]
    for task in trace["tasks"]:
        assert set(task["http"]) >= {"status", "bytes", "content_type", "error"}
        assert all(set(phase) >= {"name", "start", "end"} for phase in task["phases"])


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"urls": []}, 400, "no_urls"),
    ({"urls": ["  ", ""]}, 400, "no_urls"),
    ({"urls": "http://example.com/"}, 400, "wrong_fields"),
    ({"urls": [1]}, 400, "wrong_fields"),
    ({"urls": ["http://a.com/"] * 5}, 400, "too_many_urls"),
    ({"urls": ["http://a.com/"], "strategy": "threads"}, 400, "wrong_fields"),
    ({"urls": ["http://a.com/"], "limit": 0}, 400, "wrong_fields"),
    ({"urls": ["http://a.com/"], "limit": 6}, 400, "wrong_fields"),
    ({"urls": ["http://a.com/"], "limit": True}, 400, "wrong_fields"),
    ({"urls": ["http://a.com/"], "code": "x"}, 400, "wrong_fields"),
    ({"urls": ["http://a.com/\ud800"]}, 400, "wrong_fields"),
    ({"urls": ["http://a.com/" + "a" * 9000]}, 413, "too_large"),
])
def test_api_fetch_rejects_bad_requests(url_app: Flask, body: dict[str, Any], status: int, code: str) -> None:
    response = url_app.test_client().post("/api/fetch", json=body)
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code
    assert response.get_json()["error"]["message"]


def test_api_fetch_limits_are_in_the_messages(url_app: Flask) -> None:
    response = url_app.test_client().post("/api/fetch", json={"urls": ["http://a.com/"] * 5})
    assert response.get_json()["error"]["message"] == "This run has 5 URLs; the limit is 4 a run."
    response = url_app.test_client().post("/api/fetch", data="urls", content_type="text/plain")
    assert response.status_code == 415


def test_api_fetch_is_busy_past_the_runs_at_once(server: LocalServer) -> None:
    app = create_app({"TESTING": True, "URL_ALLOW": server.allow, "URL_RUNS": 1})
    fetcher = services(app).fetcher
    assert fetcher._runs.acquire(blocking=False)  # one run going on
    try:
        response = app.test_client().post("/api/fetch", json={"urls": [server.url("/status/200")]})
    finally:
        fetcher._runs.release()
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert response.get_json()["error"]["code"] == "busy"


def test_code_mode_traces_do_not_carry_url_fields(run_trace: Any) -> None:
    trace = run_trace("""
        import asyncio
        async def main():
            await asyncio.gather(asyncio.sleep(1), asyncio.sleep(2))
        asyncio.run(main())
    """)
    assert trace["tasks"]
    for task in trace["tasks"]:
        assert not {"url", "http", "phases"} & set(task)


def test_a_name_has_its_dns_phase_and_a_second_request_hits_the_cache(server: LocalServer) -> None:
    host = f"local.test:{server.port}"
    limits = FetchLimits(allow=parse_allow(host))
    resolver = lambda: StaticResolver({"local.test": ["127.0.0.1"]})  # noqa: E731
    urls = [f"http://{host}/status/200", f"http://{host}/status/201"]
    trace = asyncio.run(Fetcher(limits, resolver).run(urls, "sequential")).to_json()
    first, second = trace["tasks"]
    assert names(first) == ["dns", "connect", "sent", "first_byte", "body"]
    assert first["http"]["address"] == "127.0.0.1"
    assert names(second) == ["sent", "first_byte", "body"]  # connection reused
    assert second["http"]["status"] == 201
