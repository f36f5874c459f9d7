"""Several nodes: two gunicorn nodes of the playground on one machine share a
real redis-server for the rate limits and a real PostgreSQL for the shared
snippets (Debian's, each started here on a free loopback port), so a client's
runs count the same, and a link works, whichever node answers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from subprocess import Popen
from typing import Any

import pytest
import redis
import sqlalchemy

from tests.support.servers import gunicorn_node, postgres_server, redis_server, request

LIMIT = 3


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Popen[bytes]]]:
    with redis_server(Path(tmp_path_factory.mktemp("redis"))) as started:
        yield started


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture(scope="module")
def nodes(redis_url: tuple[str, Popen[bytes]], database_url: str) -> Iterator[tuple[str, str]]:
    shared = {
        "PLAYGROUND_RATELIMIT_STORAGE_URI": redis_url[0],
        "PLAYGROUND_DATABASE_URL": database_url,
        # Each run below holds its slot a little over a second.
        "PLAYGROUND_RATELIMIT_RUN_SECONDS": f"{LIMIT}/hour",
        # The tests play several clients through X-Forwarded-For, as a proxy would.
        "PLAYGROUND_TRUSTED_PROXIES": "1",
        "PLAYGROUND_CONCURRENCY": "1",
    }
    # Two nodes on one machine: each its own range of jail uids.
    with gunicorn_node(shared) as (first, _), \
            gunicorn_node({**shared, "PLAYGROUND_JAIL_UID_BASE": "61100"}) as (second, _):
        yield first, second


def run(node: str, client: str) -> tuple[int, dict[str, str], Any]:
    return request(node, "POST", "/api/run", {"code": "import time\ntime.sleep(1.05)\nprint('hi')", "clock": "real"},
                   headers={"X-Forwarded-For": client})


def test_the_nodes_share_each_clients_rate_limit(nodes: tuple[str, str],
                                                  redis_url: tuple[str, Popen[bytes]]) -> None:
    first, second = nodes
    client = "203.0.113.7"
    answers = [run(node, client) for node in (first, second, first)]
    assert [status for status, _, _ in answers] == [200] * LIMIT
    assert all(body["status"] == "ok" for _, _, body in answers)
    # Each node alone has seen fewer than the limit: only the shared count refuses.
    for node in (second, first):
        status, headers, body = run(node, client)
        assert status == 429, body
        assert body["error"]["code"] == "rate_limited"
        assert int(headers["Retry-After"]) > 0
    assert run(second, "203.0.113.8")[0] == 200  # another client counts apart
    with redis.Redis.from_url(redis_url[0]) as store:
        keys = store.keys("*")
    assert any(b"203.0.113.7" in key for key in keys), keys


def test_a_snippet_shared_on_one_node_opens_on_the_other(nodes: tuple[str, str], database_url: str) -> None:
    first, second = nodes
    snippet = {"mode": "code", "code": "import asyncio\nprint('shared across nodes')\n", "clock": "real"}
    status, _, saved = request(first, "POST", "/api/snippets", snippet)
    assert status == 201, saved
    status, _, loaded = request(second, "GET", f"/api/snippets/{saved['id']}")
    assert status == 200 and (loaded["code"], loaded["clock"]) == (snippet["code"], "real")
    assert request(second, "POST", "/api/snippets", snippet)[2]["id"] == saved["id"]  # content-addressed
    status, _, page = request(second, "GET", f"/s/{saved['id']}")
    assert status == 200 and "shared across nodes" in page
    # Both nodes wrote to PostgreSQL itself, one row for the one snippet.
    engine = sqlalchemy.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as connection:
        rows = connection.execute(sqlalchemy.text("SELECT id FROM snippets")).scalars().all()
    engine.dispose()
    assert rows == [saved["id"]]


def test_without_redis_each_node_counts_alone_and_answers(nodes: tuple[str, str],
                                                          redis_url: tuple[str, Popen[bytes]]) -> None:
    first, second = nodes
    server = redis_url[1]
    server.terminate()
    server.wait(10)
    client = "203.0.113.9"
    for node in (first, second):
        started = time.monotonic()
        status, _, body = run(node, client)
        assert status == 200 and body["status"] == "ok", body
        assert time.monotonic() - started < 5
    # The in-memory fallback still limits, per node.
    for _ in range(LIMIT - 1):
        assert run(first, client)[0] == 200
    assert run(first, client)[0] == 429
