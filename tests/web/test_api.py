"""The HTTP API through Flask's test client, with the real jail behind it."""

from __future__ import annotations

import gzip
import json

import pytest
from flask import Flask
from flask.testing import FlaskClient

from playground import create_app
from playground.model.columnar import expand_columnar
from playground.sandbox.jail import Unsandboxed
from playground.sandbox.limits import Limits
from playground.sandbox.runner import run_snippet
from playground.services import services
from playground.sharing.examples import BY_NAME, EXAMPLES


def test_run_returns_the_trace(client: FlaskClient) -> None:
    response = client.post("/api/run", json={"code": BY_NAME["gather"].code})
    assert response.status_code == 200
    trace = response.get_json()
    assert trace["version"] == 1
    assert trace["status"] == "ok"
    assert trace["clock"] == "virtual"
    assert len(trace["tasks"]) == 4
    assert [line["text"] for line in trace["output"]] == ["Hello"] * 3 + ["World"] * 3
    for field in ("duration", "wall", "slices", "waits", "events", "error", "truncated"):
        assert field in trace
    assert response.headers["Cache-Control"] == "no-store"


def test_real_clock_on_request(client: FlaskClient) -> None:
    response = client.post("/api/run", json={"code": "import asyncio\nasyncio.run(asyncio.sleep(0.2))",
                                             "clock": "real"})
    trace = response.get_json()
    assert trace["clock"] == "real" and trace["wall"] >= 0.2


def test_snippet_error_is_a_normal_result(client: FlaskClient) -> None:
    response = client.post("/api/run", json={"code": "x = 1\nprint(y)\n"})
    assert response.status_code == 200
    trace = response.get_json()
    assert trace["status"] == "error"
    assert trace["error"]["type"] == "NameError" and trace["error"]["line"] == 2


def error_of(response) -> dict:  # type: ignore[no-untyped-def]
    body = response.get_json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    assert body["error"]["message"]
    return body["error"]  # type: ignore[no-any-return]


def test_not_json_is_415(client: FlaskClient) -> None:
    response = client.post("/api/run", data="print(1)", content_type="text/plain")
    assert response.status_code == 415
    assert error_of(response)["code"] == "unsupported_media_type"


@pytest.mark.parametrize("body", ["{", "{'code': 1}", "", "\xff\xfe", "[1,2"])
def test_malformed_json_is_400(client: FlaskClient, body: str) -> None:
    response = client.post("/api/run", data=body.encode("latin-1"), content_type="application/json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "malformed_json"


@pytest.mark.parametrize("payload", [
    [], "code", 42, None,
    {}, {"code": 1}, {"code": None}, {"code": ["print(1)"]},
    {"code": "print(1)", "clock": "sundial"}, {"code": "print(1)", "clock": 1},
    {"code": "print(1)", "extra": True},
    {"code": "print(1)", "format": "csv"}, {"code": "print(1)", "format": None},
])
def test_wrong_fields_are_400(client: FlaskClient, payload: object) -> None:
    response = client.post("/api/run", data=json.dumps(payload), content_type="application/json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "wrong_fields"


def test_lone_surrogate_is_400(client: FlaskClient) -> None:
    response = client.post("/api/run", data=b'{"code": "print(\\"\\ud800\\")"}', content_type="application/json")
    assert response.status_code == 400
    assert "surrogate" in error_of(response)["message"]


def test_huge_body_is_413(client: FlaskClient) -> None:
    response = client.post("/api/run", json={"code": "#" * 1_000_000})
    assert response.status_code == 413
    error_of(response)


def test_code_over_the_limit_is_413(client: FlaskClient) -> None:
    response = client.post("/api/run", json={"code": "#" * (64 * 1024 + 1)})
    assert response.status_code == 413
    assert "65536" in error_of(response)["message"]


def test_unknown_api_path_is_json_404(client: FlaskClient) -> None:
    response = client.get("/api/nothing-here")
    assert response.status_code == 404
    error_of(response)


def test_wrong_method_is_json_405(client: FlaskClient) -> None:
    response = client.get("/api/run")
    assert response.status_code == 405
    error_of(response)


def test_examples_gallery(client: FlaskClient) -> None:
    response = client.get("/api/examples")
    assert response.status_code == 200
    examples = response.get_json()["examples"]
    assert [e["name"] for e in examples] == [e.name for e in EXAMPLES]
    assert all(e["title"] and "asyncio" in e["code"] for e in examples)


# The examples that use the network run against a loopback server in tests/egress;
# one that needs a newer Python runs on the Python it needs.
@pytest.mark.parametrize("name", [example.name for example in EXAMPLES if example.url is None])
def test_every_example_runs(client: FlaskClient, name: str) -> None:
    pythons = client.get("/api/pythons").get_json()["pythons"]  # the default if it suits, else the oldest that does
    suited = [p["id"] for p in sorted(pythons, key=lambda p: not p["default"]) if BY_NAME[name].runs_on(p["id"])]
    trace = client.post("/api/run", json={"code": BY_NAME[name].code, "python": suited[0]}).get_json()
    assert trace["status"] == "ok", trace["error"]
    assert trace["tasks"] and trace["output"]


def test_healthz_when_a_jail_starts(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ok"


def test_page_holds_the_first_example(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    assert 'data-testid="editor"' in page
    assert "say_hello" in page
    assert "unsandboxed" not in page.lower()


def test_without_bwrap_the_server_refuses_to_run(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap on this PATH
    app = create_app({"TESTING": True})
    client = app.test_client()
    response = client.post("/api/run", json={"code": "print(1)"})
    assert response.status_code == 503
    assert "bubblewrap" in error_of(response)["message"]
    assert "Retry-After" in response.headers
    health = client.get("/healthz")
    assert health.status_code == 503 and "bubblewrap" in health.get_json()["reason"]


def test_unsandboxed_mode_says_so_on_every_page() -> None:
    app: Flask = create_app({"TESTING": True, "SANDBOX": "none"})
    client = app.test_client()
    assert "unsandboxed" in client.get("/").get_data(as_text=True).lower()
    trace = client.post("/api/run", json={"code": "print('hi')"}).get_json()
    assert trace["status"] == "ok"


def test_security_headers(client: FlaskClient) -> None:
    for path in ("/", "/api/examples"):
        response = client.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"


def test_large_traces_are_gzipped_for_clients_that_accept_it(client: FlaskClient) -> None:
    code = (
        "import asyncio\n"
        "async def main():\n"
        "    await asyncio.gather(*(asyncio.sleep(0.1) for _ in range(300)))\n"
        "asyncio.run(main())\n"
    )
    plain = client.post("/api/run", json={"code": code})
    assert plain.status_code == 200 and "Content-Encoding" not in plain.headers
    assert plain.get_json()["status"] == "ok", (plain.get_json()["limits"], plain.get_json()["events"])
    packed = client.post("/api/run", json={"code": code}, headers={"Accept-Encoding": "gzip, br"})
    assert packed.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in packed.headers["Vary"]
    trace = json.loads(gzip.decompress(packed.get_data()))
    assert trace["status"] == "ok" and len(trace["tasks"]) == 301, (trace["status"], trace["limits"], trace["events"])
    assert len(packed.get_data()) < len(plain.get_data()) / 3


# A run with a blocking slice (its line), an error, output, waits and a
# thread's job; the same stopped at the wall-clock limit with steps, waits
# and a job cut off.
COLUMNAR_CASES = {
    "ended": (
        "import asyncio, time\n"
        "async def work(i):\n"
        "    await asyncio.sleep(i / 100)\n"
        "    if i == 3:\n"
        "        await asyncio.to_thread(time.sleep, 0.01)\n"
        "    if i == 7:\n"
        "        time.sleep(0.1)\n"
        "        raise ValueError(i)\n"
        "    print(i)\n"
        "async def main():\n"
        "    await asyncio.gather(*(work(i) for i in range(200)), return_exceptions=True)\n"
        "asyncio.run(main())\n"
    ),
    "stopped": (
        "import asyncio, time\n"
        "async def work(i):\n"
        "    await asyncio.sleep(i / 100)\n"
        "    if i == 3:\n"
        "        await asyncio.to_thread(time.sleep, 30)\n"
        "    if i == 150:\n"
        "        while True:\n"
        "            pass\n"
        "async def main():\n"
        "    await asyncio.gather(*(work(i) for i in range(200)), return_exceptions=True)\n"
        "asyncio.run(main())\n"
    ),
}


@pytest.mark.parametrize("case", sorted(COLUMNAR_CASES))
def test_the_columnar_form_expands_to_the_v1_trace(app: Flask, client: FlaskClient,
                                                   monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    code = COLUMNAR_CASES[case]
    trace = run_snippet(Unsandboxed(), code, "virtual", Limits(wall_seconds=2, cpu_seconds=30))
    assert trace.jobs and (case == "ended") == (trace.status == "ok")
    assert (case == "stopped") == any(item.cut_off for item in (*trace.slices, *trace.waits, *trace.jobs))
    monkeypatch.setattr(services(app).sandbox, "run", lambda *args, **kwargs: trace)
    v1 = client.post("/api/run", json={"code": code}).get_json()
    compact = client.post("/api/run", json={"code": code, "format": "columnar"},
                          headers={"Accept-Encoding": "gzip"})
    assert compact.status_code == 200 and compact.headers["Content-Encoding"] == "gzip"
    body = json.loads(gzip.decompress(compact.get_data()))
    assert body["format"] == "columnar" and body["version"] == 1
    assert len(body["slices"]["start"]) == len(v1["slices"]) > 300
    assert case == "stopped" or any("line" in item for item in v1["slices"])
    assert v1.pop("cached") is False and body.pop("cached") is False
    assert expand_columnar(body) == v1
    assert len(compact.get_data()) < len(client.post("/api/run", json={"code": code},
                                                     headers={"Accept-Encoding": "gzip"}).get_data())
