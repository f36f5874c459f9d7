"""Shared snippets through the Flask test client and a real SQLite file:
the API, content-addressed ids, validation, the 64 KiB cap, concurrent
writers, restarts, the pages (/s/<id>, download, embed) and oEmbed."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from playground import create_app
from playground.services import services
from playground.sharing.store import (
    ID_LENGTH,
    SnippetStore,
    canonical,
    database_url,
    make_engine,
    snippet_id,
    snippets,
)

CODE = "import asyncio\n\nasync def main():\n    await asyncio.sleep(1)\n    print('done')\n\nasyncio.run(main())\n"


@pytest.fixture
def instance(tmp_path: Path) -> str:
    return str(tmp_path / "instance")


@pytest.fixture
def app(instance: str) -> Iterator[Flask]:
    app = create_app({"TESTING": True, "SANDBOX": "none", "INSTANCE_PATH": instance, "RATELIMIT_ENABLED": False})
    yield app
    services(app).snippets.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def share(client: FlaskClient, **body: Any) -> dict[str, Any]:
    response = client.post("/api/snippets", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def error_code(response: Any) -> str:
    return str(response.get_json()["error"]["code"])


# ------------------------------------------------------------------ API


def test_share_and_get_back(client: FlaskClient) -> None:
    response = client.post("/api/snippets", json={"mode": "code", "code": CODE, "clock": "real"})
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"id", "url"}
    assert re.fullmatch(r"[0-9A-Za-z]{10}", body["id"])
    assert body["url"] == f"http://localhost/s/{body['id']}"
    assert response.headers["Location"] == body["url"]

    got = client.get(f"/api/snippets/{body['id']}")
    assert got.status_code == 200
    data = got.get_json()
    assert {k: data[k] for k in ("id", "url", "mode", "code", "clock")} == {
        "id": body["id"], "url": body["url"], "mode": "code", "code": CODE, "clock": "real"}
    assert datetime.fromisoformat(data["created"]).tzinfo is not None
    assert abs((datetime.now(UTC) - datetime.fromisoformat(data["created"])).total_seconds()) < 60


def test_ids_are_content_addressed(client: FlaskClient, app: Flask) -> None:
    first = share(client, mode="code", code=CODE)
    assert share(client, mode="code", code=CODE, clock="virtual") == first  # the default clock is part of it
    assert share(client, mode="code", code=CODE)["id"] == first["id"]
    others = {
        share(client, mode="code", code=CODE, clock="real")["id"],
        share(client, mode="code", code=CODE + " ")["id"],
        share(client, mode="urls", urls=["https://example.com/"])["id"],
    }
    assert first["id"] not in others and len(others) == 3
    assert first["id"] == snippet_id(canonical({"mode": "code", "code": CODE, "clock": "virtual"}))
    assert services(app).snippets.count() == 4


def test_url_lists_are_shared_with_their_strategy(client: FlaskClient) -> None:
    body = share(client, mode="urls", urls=[" https://example.com/a ", "", "https://example.com/b"],
                 strategy="semaphore", limit=2)
    data = client.get(f"/api/snippets/{body['id']}").get_json()
    assert data["mode"] == "urls"
    assert data["urls"] == ["https://example.com/a", "https://example.com/b"]
    assert (data["strategy"], data["limit"]) == ("semaphore", 2)
    assert "code" not in data and "clock" not in data
    # Blank lines and spaces do not make it a different snippet.
    assert share(client, mode="urls", urls=["https://example.com/a", "https://example.com/b"],
                 strategy="semaphore", limit=2)["id"] == body["id"]


def test_unknown_and_malformed_ids_are_404(client: FlaskClient) -> None:
    for path in ("/api/snippets/0000000000", "/api/snippets/short", "/api/snippets/has-dash-in-it",
                 "/api/snippets/" + "a" * 44):
        response = client.get(path)
        assert response.status_code == 404, path
        assert error_code(response) == "not_found"
    assert client.get("/s/0000000000").status_code == 404
    assert client.get("/embed/0000000000").status_code == 404
    assert client.get("/s/0000000000.py").status_code == 404


@pytest.mark.parametrize(("body", "code"), [
    ({"code": CODE}, "wrong_fields"),                                    # no mode
    ({"mode": "python", "code": CODE}, "wrong_fields"),
    ({"mode": "code"}, "wrong_fields"),                                  # no code
    ({"mode": "code", "code": 12}, "wrong_fields"),
    ({"mode": "code", "code": CODE, "clock": "fast"}, "wrong_fields"),
    ({"mode": "code", "code": CODE, "urls": ["https://example.com/"]}, "wrong_fields"),
    ({"mode": "code", "code": CODE, "title": "x"}, "wrong_fields"),
    ({"mode": "code", "code": "\ud800"}, "wrong_fields"),
    ({"mode": "urls", "urls": []}, "no_urls"),
    ({"mode": "urls", "urls": "https://example.com/"}, "wrong_fields"),
    ({"mode": "urls", "urls": ["https://example.com/"], "clock": "real"}, "wrong_fields"),
    ({"mode": "urls", "urls": ["https://example.com/"], "strategy": "random"}, "wrong_fields"),
    ({"mode": "urls", "urls": ["https://example.com/"], "limit": 0}, "wrong_fields"),
    ({"mode": "urls", "urls": [f"https://example.com/{i}" for i in range(21)]}, "too_many_urls"),
])
def test_bad_snippets_are_400_and_store_nothing(client: FlaskClient, app: Flask, body: dict[str, Any],
                                                code: str) -> None:
    response = client.post("/api/snippets", json=body)
    assert response.status_code == 400, response.get_json()
    assert error_code(response) == code
    assert response.get_json()["error"]["message"]
    assert services(app).snippets.count() == 0


def test_not_json_and_malformed_json(client: FlaskClient) -> None:
    response = client.post("/api/snippets", data="mode=code", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415 and error_code(response) == "unsupported_media_type"
    response = client.post("/api/snippets", data="{", content_type="application/json")
    assert response.status_code == 400 and error_code(response) == "malformed_json"
    response = client.post("/api/snippets", json=[CODE])
    assert response.status_code == 400 and error_code(response) == "wrong_fields"


def test_snippets_are_at_most_64_kib(client: FlaskClient, app: Flask) -> None:
    line = "# " + "x" * 61 + "\n"  # 64 bytes
    exactly = line * 1024
    assert len(exactly.encode()) == 64 * 1024
    body = share(client, mode="code", code=exactly)
    assert client.get(f"/api/snippets/{body['id']}").get_json()["code"] == exactly

    response = client.post("/api/snippets", json={"mode": "code", "code": exactly + "x"})
    assert response.status_code == 413 and error_code(response) == "too_large"
    # Bytes, not characters: 32,769 two-byte characters are over.
    response = client.post("/api/snippets", json={"mode": "code", "code": "é" * (32 * 1024 + 1)})
    assert response.status_code == 413
    # URL lists too: 20 URLs of 4,000 characters are 80,000 bytes.
    urls = [f"https://example.com/{i:02d}/" + "a" * 3975 for i in range(20)]
    response = client.post("/api/snippets", json={"mode": "urls", "urls": urls})
    assert response.status_code == 413 and error_code(response) == "too_large"
    assert services(app).snippets.count() == 1


def test_the_cap_is_a_setting(instance: str) -> None:
    app = create_app({"TESTING": True, "SANDBOX": "none", "INSTANCE_PATH": instance, "SNIPPET_MAX_BYTES": 100})
    client = app.test_client()
    assert client.post("/api/snippets", json={"mode": "code", "code": "x" * 100}).status_code == 201
    assert client.post("/api/snippets", json={"mode": "code", "code": "x" * 101}).status_code == 413


# ------------------------------------------------------------ storage


def test_the_default_database_is_sqlite_in_the_instance_folder(app: Flask, instance: str) -> None:
    engine = services(app).snippets.engine
    assert engine.url.get_backend_name() == "sqlite"
    assert Path(engine.url.database) == Path(instance) / "playground.db"
    assert (Path(instance) / "playground.db").exists()
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_database_url_setting(tmp_path: Path) -> None:
    path = tmp_path / "elsewhere" / "snippets.sqlite"
    path.parent.mkdir()
    app = create_app({"TESTING": True, "SANDBOX": "none", "INSTANCE_PATH": str(tmp_path / "unused"),
                      "DATABASE_URL": f"sqlite:///{path}"})
    body = share(app.test_client(), mode="code", code=CODE)
    assert path.exists()
    assert not (tmp_path / "unused" / "playground.db").exists()
    assert SnippetStore(make_engine(database_url(f"sqlite:///{path}", ""))).load(body["id"])


def test_postgresql_urls_use_psycopg(tmp_path: Path) -> None:
    for given in ("postgresql://play:secret@db.internal:5432/playground", "postgres://play@db.internal/playground",
                  "postgresql+psycopg://play@db.internal/playground"):
        url = database_url(given, str(tmp_path))
        assert url.drivername == "postgresql+psycopg"
        engine = make_engine(url)  # no connection is made until first use
        assert engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg"
        engine.dispose()


def test_a_collision_lengthens_the_id(app: Flask, client: FlaskClient) -> None:
    data = {"mode": "code", "code": CODE, "clock": "virtual"}
    short = snippet_id(canonical(data))
    store = services(app).snippets
    with store.engine.begin() as connection:  # another snippet already holds the short id
        connection.execute(snippets.insert().values(
            id=short, mode="code", body=canonical({**data, "code": "print('other')\n"}), created=datetime.now(UTC)))
    body = share(client, mode="code", code=CODE)
    assert body["id"] != short and body["id"].startswith(short)
    assert len(body["id"]) == ID_LENGTH + 1
    assert body["id"] == snippet_id(canonical(data), ID_LENGTH + 1)
    assert client.get(f"/api/snippets/{body['id']}").get_json()["code"] == CODE
    assert client.get(f"/api/snippets/{short}").get_json()["code"] == "print('other')\n"
    assert share(client, mode="code", code=CODE)["id"] == body["id"]  # still the same snippet, same id


def test_concurrent_writers(app: Flask, instance: str) -> None:
    """Threads of two apps (like two gunicorn workers) on one SQLite file,
    each sharing the same snippet and one of its own, all at once."""
    other = create_app({"TESTING": True, "SANDBOX": "none", "INSTANCE_PATH": instance, "RATELIMIT_ENABLED": False})
    threads_per_app = 8
    rounds = 5
    start = threading.Barrier(2 * threads_per_app)
    results: list[tuple[str, str]] = []
    errors: list[str] = []
    lock = threading.Lock()

    def writer(flask_app: Flask, n: int) -> None:
        client = flask_app.test_client()
        start.wait()
        for r in range(rounds):
            for code in (CODE, f"print({n}, {r})\n"):
                response = client.post("/api/snippets", json={"mode": "code", "code": code})
                with lock:
                    if response.status_code != 201:
                        errors.append(f"{response.status_code} {response.get_data(as_text=True)}")
                    else:
                        results.append((code, response.get_json()["id"]))

    threads = [threading.Thread(target=writer, args=(flask_app, n))
               for n, flask_app in enumerate([app, other] * threads_per_app)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert len(results) == 2 * threads_per_app * rounds * 2
    ids = {code: set() for code, _ in results}  # type: dict[str, set[str]]
    for code, sid in results:
        ids[code].add(sid)
    assert all(len(found) == 1 for found in ids.values())  # one id per snippet, whoever saved it
    assert len(ids) == 1 + 2 * threads_per_app * rounds
    store = services(app).snippets
    assert store.count() == len(ids)
    for code, (sid,) in ids.items():
        loaded = store.load(sid)
        assert loaded is not None and loaded.data["code"] == code
    services(other).snippets.close()


def test_snippets_survive_a_restart(instance: str) -> None:
    first = create_app({"TESTING": True, "SANDBOX": "none", "INSTANCE_PATH": instance})
    body = share(first.test_client(), mode="code", code=CODE, clock="real")
    services(first).snippets.close()
    del first

    second = create_app({"TESTING": True, "SANDBOX": "none", "INSTANCE_PATH": instance})
    data = second.test_client().get(f"/api/snippets/{body['id']}").get_json()
    assert (data["code"], data["clock"]) == (CODE, "real")
    # Schema creation on a second start leaves the rows alone.
    assert services(second).snippets.count() == 1
    services(second).snippets.close()


# -------------------------------------------------------------- pages


def test_shared_page_opens_the_snippet_and_links_oembed(client: FlaskClient) -> None:
    hostile = "print('</script><script>alert(1)</script>')\n"
    body = share(client, mode="code", code=hostile)
    page = client.get(f"/s/{body['id']}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert '<script type="application/json" id="snippet-data">' in html
    assert "</script><script>alert(1)" not in html  # the code is JSON with <, > escaped
    assert "\\u003c/script\\u003e" in html
    link = re.search(r'<link rel="alternate" type="application/json\+oembed" href="([^"]+)"', html)
    assert link is not None
    oembed = urlsplit(link.group(1).replace("&amp;", "&"))
    assert oembed.path == "/oembed"
    assert parse_qs(oembed.query) == {"url": [body["url"]], "format": ["json"]}
    assert f'<link rel="canonical" href="{body["url"]}">' in html


def test_download_as_a_python_file(client: FlaskClient) -> None:
    body = share(client, mode="code", code=CODE)
    response = client.get(f"/s/{body['id']}.py")
    assert response.status_code == 200
    assert response.mimetype == "text/x-python"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{body["id"]}.py"'
    # The file says which Python the snippet is for (PEP 723); the default, here.
    assert response.get_data(as_text=True) == '# /// script\n# requires-python = ">=3.11"\n# ///\n\n' + CODE
    # A URL list downloads as the aiohttp code that fetches it.
    urls = share(client, mode="urls", urls=["https://example.com/"], strategy="taskgroup")
    text = client.get(f"/s/{urls['id']}.py").get_data(as_text=True)
    assert "import aiohttp" in text and "'https://example.com/'" in text and "TaskGroup" in text
    compile(text, "download.py", "exec")


def test_embed_pages_may_be_framed_by_anyone_and_nothing_else_may(client: FlaskClient) -> None:
    body = share(client, mode="code", code=CODE)
    for path in (f"/embed/{body['id']}", "/embed"):
        response = client.get(path)
        assert response.status_code == 200
        csp = response.headers["Content-Security-Policy"]
        assert "frame-ancestors *" in csp
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert 'data-testid="timeline"' in response.get_data(as_text=True)
    embedded = client.get(f"/embed/{body['id']}").get_data(as_text=True)
    assert '"code": "import asyncio' in embedded
    for path in ("/", f"/s/{body['id']}", "/api/examples", "/healthz", "/static/embed.js"):
        assert "frame-ancestors 'none'" in client.get(path).headers["Content-Security-Policy"], path


def test_oembed(client: FlaskClient) -> None:
    body = share(client, mode="code", code=CODE)
    response = client.get("/oembed", query_string={"url": body["url"], "format": "json"})
    assert response.status_code == 200
    data = response.get_json()
    assert data["version"] == "1.0" and data["type"] == "rich"
    assert data["provider_name"] == "asyncio playground" and data["provider_url"] == "http://localhost/"
    assert isinstance(data["width"], int) and isinstance(data["height"], int)
    src = re.fullmatch(r'<iframe src="([^"]+)" width="(\d+)" height="(\d+)" [^<>]*></iframe>', data["html"])
    assert src is not None
    assert src.group(1) == f"http://localhost/embed/{body['id']}"
    assert (int(src.group(2)), int(src.group(3))) == (data["width"], data["height"])
    # The embed link works as well as the share link.
    assert client.get("/oembed", query_string={"url": f"http://localhost/embed/{body['id']}"}).status_code == 200

    small = client.get("/oembed", query_string={"url": body["url"], "maxwidth": 300, "maxheight": 200}).get_json()
    assert (small["width"], small["height"]) == (300, 200)

    assert client.get("/oembed", query_string={"url": body["url"], "format": "xml"}).status_code == 501
    for url in ("http://localhost/s/0000000000", "http://elsewhere.example/s/" + body["id"],
                "javascript:alert(1)", "", f"http://localhost/api/snippets/{body['id']}"):
        response = client.get("/oembed", query_string={"url": url})
        assert response.status_code == 404, url
        assert error_code(response) == "not_found"
    response = client.get("/oembed", query_string={"url": body["url"], "maxwidth": "wide"})
    assert response.status_code == 400
