"""End-to-end latency of POST /api/run beside a bare interpreter start.

Starts gunicorn on a free loopback port, then alternates, in one run so the
machine's noise hits both alike: a POST /api/run of the gallery's "three
say_hello with gather" example over HTTP, and a cold
``python3 -c "import asyncio"`` of the jail's interpreter. Prints the medians
and their ratio.

    python3 bench/latency.py [--runs 40]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playground.examples import BY_NAME  # noqa: E402

JAIL_PYTHON = "/usr/bin/python3"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_healthy(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not become healthy")


def post_run(url: str, code: str) -> float:
    body = json.dumps({"code": code}).encode()
    request = urllib.request.Request(f"{url}/api/run", data=body, headers={"Content-Type": "application/json"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as response:
        trace = json.load(response)
    elapsed = time.perf_counter() - started
    if trace["status"] != "ok":
        raise SystemExit(f"run failed: {trace['status']}")
    return elapsed


def bare_python() -> float:
    started = time.perf_counter()
    subprocess.run([JAIL_PYTHON, "-c", "import asyncio"], check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}",
         "--access-logfile", "/dev/null", "wsgi:app"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        # Every run here comes from one address: the per-client rate limit would refuse most.
        env={**os.environ, "PLAYGROUND_RATELIMIT_ENABLED": "false"},
    )
    try:
        wait_healthy(url)
        code = BY_NAME["gather"].code
        for _ in range(3):  # warm up: first-run caches, page cache
            post_run(url, code)
            bare_python()
        api, python = [], []
        for _ in range(args.runs):
            api.append(post_run(url, code))
            python.append(bare_python())
    finally:
        server.terminate()
        server.wait(10)

    api_median = statistics.median(api)
    python_median = statistics.median(python)
    print(f"runs each:                          {args.runs}")
    print(f"POST /api/run (gather example) p50: {api_median * 1000:7.1f} ms"
          f"   (min {min(api) * 1000:.1f}, max {max(api) * 1000:.1f})")
    print(f"python3 -c 'import asyncio' p50:    {python_median * 1000:7.1f} ms"
          f"   (min {min(python) * 1000:.1f}, max {max(python) * 1000:.1f})")
    print(f"ratio api/python:                   {api_median / python_median:7.2f}x")


if __name__ == "__main__":
    main()
