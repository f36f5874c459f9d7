"""Under load, through a live gunicorn with the real jail: eight busy loops
submitted at the same moment from one address do not keep a quick run from
another address waiting behind them (it takes the first slot that frees),
the server stays healthy, and nothing outlives its run."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.support import ROOT
from tests.support.jails import jail_processes, leftover_jails
from tests.support.traces import printed

SLOTS = 2
WALL = 4
CPU = 2


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, int]]:
    with serve() as started:
        yield started


@contextmanager
def serve() -> Iterator[tuple[str, int]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PLAYGROUND_CONCURRENCY": str(SLOTS),
        "PLAYGROUND_LIMIT_WALL_SECONDS": str(WALL), "PLAYGROUND_LIMIT_CPU_SECONDS": str(CPU),
        "PLAYGROUND_RATELIMIT_ENABLED": "false",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}",
         "--access-logfile", "/dev/null", "wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if request(url, "GET", "/healthz")[0] == 200:
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("gunicorn did not become healthy") from None
                time.sleep(0.2)
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(10)


def request(url: str, method: str, path: str, body: Any = None, timeout: float = 30) -> tuple[int, dict[str, str], Any]:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"} if body is not None else {}
    req = urllib.request.Request(url + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return response.status, dict(response.headers), json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.load(error)



def post_from(url: str, source: str, body: Any, timeout: float = 60) -> tuple[int, dict[str, str], Any]:
    """``POST /api/run`` from the loopback address ``source``."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=timeout, source_address=(source, 0))
    try:
        connection.request("POST", "/api/run", json.dumps(body), {"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), json.loads(response.read())
    finally:
        connection.close()


def temporary_dirs() -> set[str]:
    return {name for name in os.listdir(tempfile.gettempdir()) if name.startswith("playground")}


def test_busy_loops_do_not_starve_another_clients_quick_run(server: tuple[str, int]) -> None:
    url, gunicorn_pid = server
    before = temporary_dirs()
    start = threading.Barrier(8)
    answers: list[tuple[str, int, dict[str, str], Any]] = []  # in the order they came
    lock = threading.Lock()

    def busy_client(number: int) -> None:
        start.wait()
        # Each its own code: the run cache would let identical snippets share one run.
        answer = post_from(url, "127.0.0.2", {"code": f"while True: pass  # client {number}"})
        with lock:
            answers.append((f"busy {number}", *answer))

    clients = [threading.Thread(target=busy_client, args=(number,)) for number in range(8)]
    for client in clients:
        client.start()
    time.sleep(0.5)  # two run, six wait

    status, _, body = post_from(url, "127.0.0.3", {"code": "print('quick')"})
    assert status == 200 and body["status"] == "ok" and printed(body) == ["quick"], body
    with lock:
        answers.append(("quick", status, {}, body))

    started = time.monotonic()
    health = request(url, "GET", "/healthz")
    assert health[0] == 200 and health[2]["status"] == "ok"
    assert time.monotonic() - started < 1.0

    for client in clients:
        client.join(60)
    names = [name for name, _, _, _ in answers]
    # The quick run took the first slot that freed: at most the two busy
    # loops running when it came had ended before it.
    assert names.index("quick") <= SLOTS, names
    ran = [body for _, status, _, body in answers if status == 200 and body is not None]
    refused = [(headers, body) for _, status, headers, body in answers if status == 503]
    assert len(ran) + len(refused) == 9
    # Each stopped by the CPU limit, or by the wall limit when the machine's
    # cores are shared with more than these jails. Admitted when they asked,
    # the last ones may be refused at their deadline when the loops before
    # them took longer than predicted.
    assert all(body["status"] in ("cpu_limit", "timeout") for body in ran if "quick" not in printed(body)), ran
    assert len(ran) >= SLOTS + 1
    assert all(body["error"]["code"] == "busy" and int(headers["Retry-After"]) >= 1 for headers, body in refused)

    status, _, trace = request(url, "POST", "/api/run", {"code": "print('after')"})
    assert status == 200 and printed(trace) == ["after"]
    assert request(url, "GET", "/healthz")[0] == 200
    # Nothing of a run is left: only the warm jails, at most one per slot.
    time.sleep(1)  # the slots' next jails get ready
    leftover, warm = leftover_jails(ancestor=gunicorn_pid)
    assert leftover == [] and warm <= SLOTS
    assert temporary_dirs() == before


def test_stopping_the_server_ends_its_warm_jails() -> None:
    with serve() as (url, gunicorn_pid):
        assert request(url, "POST", "/api/run", {"code": "print('hi')"})[0] == 200
        time.sleep(1)
        assert leftover_jails(ancestor=gunicorn_pid) == ([], SLOTS)
        jails = jail_processes(ancestor=gunicorn_pid)
        os.kill(gunicorn_pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(os.path.exists(f"/proc/{pid}") for pid in jails):
            time.sleep(0.1)
        assert jails and not any(os.path.exists(f"/proc/{pid}") for pid in jails)


def test_a_chunked_body_past_the_limit_is_refused(server: tuple[str, int]) -> None:
    url, _ = server
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(b"POST /api/run HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                           b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
        chunk = b"#" * 65536
        try:
            for _ in range(160):  # 10 MiB, never announced
                connection.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            connection.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server may stop reading once it has refused
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'"request_entity_too_large"' in answer
