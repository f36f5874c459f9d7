"""What an operator sees: Prometheus metrics at /metrics (in one process, and
added up over gunicorn's workers), the request id on every answer, and one
JSON log line per request that never holds a snippet's code or output."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from playground import create_app
from playground.services import services
from tests.support import ROOT
from tests.support.metrics import value
from tests.support.servers import gunicorn_node, request

MARKER = "secret-snippet-text-4b1d"


def test_metrics_count_runs_refusals_and_jail_starts(app: Flask, client: FlaskClient) -> None:
    before = client.get("/metrics").get_data(as_text=True)
    # Each its own code, or the run cache would answer the repeats.
    for n in range(3):
        assert client.post("/api/run", json={"code": f"print({n})"}).status_code == 200
    assert client.post("/api/run", json={"code": "1/0"}).get_json()["status"] == "error"
    assert client.post("/api/run", json={"code": "print(0)"}).get_json()["cached"] is True
    assert client.post("/api/run", data="x", content_type="text/plain").status_code == 415
    pool = services(app).sandbox.pool
    assert pool is not None and pool.settle()
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    after = response.get_data(as_text=True)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("playground_runs_total", status="ok") == 3
    assert grew("playground_runs_total", status="error") == 1
    default = services(app).sandbox.pythons.default
    assert default is not None and grew("playground_python_runs_total", python=default) == 4
    assert grew("playground_run_cache_answers_total") == 1
    assert grew("playground_run_seconds_count") == 4
    assert grew("playground_queue_wait_seconds_count") == 4
    assert grew("playground_rejections_total", endpoint="api.run", code="unsupported_media_type") == 1
    assert grew("playground_http_requests_total", endpoint="api.run", status="200") == 5
    started = grew("playground_jail_start_seconds_count", how="warm") + grew(
        "playground_jail_start_seconds_count", how="cold")
    assert started >= 4  # every run's jail, and the warm ones started after
    # Every slot's warm run is back, and the gauge says so.
    assert value(after, "playground_warm_jails") == pool.ready() == services(app).sandbox.admission.slots
    assert "playground_runs_in_progress" in after
    assert MARKER not in after


def test_metrics_are_not_rate_limited_and_answers_carry_a_request_id() -> None:
    app = create_app({"TESTING": True, "RATELIMIT_RUN_SECONDS": "1/minute"})
    client = app.test_client()
    # A real-clock run of more than a second spends the second.
    assert client.post("/api/run", json={"code": "import time\ntime.sleep(1.1)", "clock": "real"}).status_code \
        == 200
    refused = client.post("/api/run", json={"code": "print(1)"})
    assert refused.status_code == 429
    metrics = [client.get("/metrics") for _ in range(20)]
    assert all(response.status_code == 200 for response in metrics)
    assert value(metrics[-1].get_data(as_text=True), "playground_rejections_total",
                 endpoint="api.run", code="rate_limited") >= 1
    ids = {response.headers["X-Request-Id"] for response in [refused, *metrics]}
    assert len(ids) == 21 and all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    # Without a trusted proxy, a client cannot choose the id that is logged.
    assert client.get("/healthz", headers={"X-Request-Id": "chosen-by-client"}).headers["X-Request-Id"] \
        != "chosen-by-client"


def test_a_trusted_proxys_request_id_is_kept() -> None:
    client = create_app({"TESTING": True, "TRUSTED_PROXIES": 1}).test_client()
    assert client.get("/healthz", headers={"X-Request-Id": "proxy-id-0123"}).headers["X-Request-Id"] \
        == "proxy-id-0123"
    assert client.get("/healthz", headers={"X-Request-Id": "bad id <>"}).headers["X-Request-Id"] != "bad id <>"


def test_under_gunicorn_logs_are_json_and_metrics_add_up_the_workers(tmp_path: Path) -> None:
    log_path = tmp_path / "server.log"
    env = {"PLAYGROUND_WORKERS": "2", "PLAYGROUND_CONCURRENCY": "1",
           "PLAYGROUND_RATELIMIT_ENABLED": "false"}
    code = f"import os\nprint(os.getuid())\nprint({MARKER!r})"
    with log_path.open("wb") as log, gunicorn_node(env, stderr=log) as (url, _):
        ids, uids = [], set()
        for n in range(12):
            status, headers, trace = request(url, "POST", "/api/run", {"code": f"{code}  # run {n}"})
            assert status == 200 and trace["status"] == "ok", trace
            ids.append(headers["X-Request-Id"])
            uids.add(int(trace["output"][0]["text"]))
        assert request(url, "POST", "/api/run", {"code": "print(1)"}, headers={"Content-Type": "text/plain"})[0] \
            == 415
        metrics = request(url, "GET", "/metrics")[2]
    # Each worker's jails use their own uids: worker k, slot 0 is 61000 + k.
    assert uids <= {61000, 61001}, uids
    assert value(metrics, "playground_runs_total", status="ok") == 12 + 1  # and the health check's
    assert value(metrics, "playground_http_requests_total", endpoint="api.run", status="200") == 12
    assert value(metrics, "playground_rejections_total", endpoint="api.run", code="unsupported_media_type") == 1

    text = log_path.read_text()
    assert MARKER not in text
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]  # every line is JSON
    requests = [line for line in lines if line.get("logger") == "playground.requests"]
    runs = [line for line in requests if line["path"] == "/api/run" and line["status"] == 200]
    assert [line["request_id"] for line in runs] == ids
    for line in runs:
        assert line["method"] == "POST" and line["client"] == "127.0.0.1" and line["run_status"] == "ok"
        assert isinstance(line["duration_ms"], float) and line["level"] == "INFO"
    assert len({line["pid"] for line in requests}) <= 2
    assert any(line.get("logger") == "gunicorn.error" for line in lines)


def test_the_gunicorn_settings_follow_the_limits(tmp_path: Path) -> None:
    env = {name: value for name, value in os.environ.items() if not name.startswith("PLAYGROUND_")}
    probe = subprocess.run(
        [sys.executable, "-c", "import runpy, json; c = runpy.run_path('gunicorn.conf.py'); "
         "print(json.dumps({k: c[k] for k in ('workers', 'threads', 'timeout', 'graceful_timeout', "
         "'max_requests', 'max_requests_jitter', 'worker_class')}))"],
        cwd=ROOT, capture_output=True, text=True, check=True,
        env={**env, "PLAYGROUND_LIMIT_WALL_SECONDS": "40", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)},
    )
    settings = json.loads(probe.stdout)
    assert settings["worker_class"] == "gthread" and settings["workers"] == 1
    assert settings["timeout"] > settings["graceful_timeout"] > 40 + 10  # the wall limit and the queue wait
    assert settings["max_requests"] > 0 and 0 < settings["max_requests_jitter"] < settings["max_requests"]
