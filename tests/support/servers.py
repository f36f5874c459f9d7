"""Real servers for the tests, each on a free loopback port: gunicorn nodes
of the playground, and Debian's redis-server and PostgreSQL (installed by
``scripts/setup --test``), each started in a temporary directory of its own
and stopped after; never the machine's own services."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT

START_SECONDS = 30


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def request(url: str, method: str, path: str, body: Any = None, timeout: float = 30,
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
    """One HTTP request: status, headers and the JSON body (or text)."""
    data = None if body is None else json.dumps(body).encode()
    sent = {"Content-Type": "application/json"} if body is not None else {}
    req = urllib.request.Request(url + path, data=data, headers={**sent, **(headers or {})}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            status, answer_headers, raw = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, answer_headers, raw = error.code, dict(error.headers), error.read()
    try:
        return status, answer_headers, json.loads(raw)
    except ValueError:
        return status, answer_headers, raw.decode("utf-8", "replace")


@contextmanager
def gunicorn_node(env: dict[str, str], stderr: Any = subprocess.DEVNULL, root: Path = ROOT,
                  cgroup: Path | None = None) -> Iterator[tuple[str, int]]:
    """A playground node (gunicorn.conf.py) of the tree at ``root`` (this one
    by default) with ``env`` over ours, in ``cgroup`` (a cgroup folder) if
    given: its URL and the master's pid, once /healthz says it can run code."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"

    def enter_cgroup() -> None:
        if cgroup is not None:
            (cgroup / "cgroup.procs").write_text(str(os.getpid()))

    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=root, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=stderr, preexec_fn=enter_cgroup,
    )
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                if request(url, "GET", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("gunicorn did not become healthy")
            time.sleep(0.2)
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(30)


def _need(program: str) -> str:
    found = shutil.which(program)
    if found is None:
        pytest.fail(f"{program} is not installed: run `bash scripts/setup --test` (CI does)")
    return found


@contextmanager
def redis_server(directory: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A throwaway redis-server: its URL, and its process (a test may stop it)."""
    import redis

    port = free_port()
    process = subprocess.Popen(
        [_need("redis-server"), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(directory), "--daemonize", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1)
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                if client.ping():
                    break
            except redis.ConnectionError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.1)
        client.close()
        yield url, process
    finally:
        process.terminate()
        process.wait(10)


POSTGRES_BIN = Path("/usr/lib/postgresql/15/bin")


@contextmanager
def postgres_server() -> Iterator[str]:
    """A throwaway PostgreSQL (Debian's postgresql-15 binaries) in a fresh
    directory, trusting local connections: its SQLAlchemy URL. PostgreSQL
    refuses to run as root, so as root it runs as ``nobody``."""
    initdb, postgres = POSTGRES_BIN / "initdb", POSTGRES_BIN / "postgres"
    if not postgres.exists():
        pytest.fail(f"{postgres} is missing: run `bash scripts/setup --test` (CI does)")
    user = "nobody" if os.geteuid() == 0 else None
    directory = Path(tempfile.mkdtemp(prefix="pg-test-"))
    data = directory / "data"
    if user is not None:
        shutil.chown(directory, user)
    port = free_port()
    process: subprocess.Popen[bytes] | None = None
    try:
        subprocess.run([str(initdb), "-D", str(data), "-U", "playground", "-A", "trust", "-E", "UTF8",
                        "--locale=C", "--no-sync"],
                       check=True, capture_output=True, user=user, cwd=directory)
        process = subprocess.Popen(
            [str(postgres), "-D", str(data), "-p", str(port), "-k", str(directory),
             "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
             "-c", "full_page_writes=off"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, user=user, cwd=directory,
        )
        url = f"postgresql://playground@127.0.0.1:{port}/postgres"
        deadline = time.monotonic() + START_SECONDS
        while subprocess.run([str(POSTGRES_BIN / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(port)],
                             check=False).returncode != 0:
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("postgres did not start")
            time.sleep(0.1)
        yield url
    finally:
        if process is not None:
            process.send_signal(signal.SIGINT)  # fast shutdown: ends the sessions
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(directory, ignore_errors=True)
