"""End-to-end latency of POST /api/run beside a bare interpreter start.

Starts two gunicorn servers on free loopback ports, one with the warm pool
(the default: each run takes a jail started ahead) and one without
(``PLAYGROUND_WARM_POOL=0``: each run starts its jail), then alternates, in
one run so the machine's noise hits all alike: a POST /api/run of the
gallery's "three say_hello with gather" example over HTTP to each server, and
a cold ``python3 -c "import asyncio"`` of the jail's interpreter. Prints the
medians and the ratios to the interpreter start (the goal: at most 0.5x with
the warm pool).

A run's jail is replaced in the background; here each request comes after
the other two steps (some 50-100 ms), as a person's runs come seconds apart.
The run cache is off on both servers, so every request is a run.

    python3 bench/latency.py [--runs 40]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playground.sharing.examples import BY_NAME  # noqa: E402
from tests.support.servers import gunicorn_node  # noqa: E402

JAIL_PYTHON = "/usr/bin/python3"


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

    # Every run here comes from one address (the per-client rate limit would
    # refuse most), and each must really run (no run cache). The second node
    # has its own jail uids, as any second node on a machine.
    bench_env = {"PLAYGROUND_RATELIMIT_ENABLED": "false", "PLAYGROUND_RUN_CACHE_SECONDS": "0"}
    cold_env = {**bench_env, "PLAYGROUND_WARM_POOL": "0", "PLAYGROUND_JAIL_UID_BASE": "61100"}
    with gunicorn_node(bench_env) as (warm_url, _), gunicorn_node(cold_env) as (cold_url, _):
        code = BY_NAME["gather"].code
        for _ in range(3):  # warm up: first-run caches, page cache
            post_run(warm_url, code)
            post_run(cold_url, code)
            bare_python()
        warm, cold, python = [], [], []
        for _ in range(args.runs):
            warm.append(post_run(warm_url, code))
            python.append(bare_python())
            cold.append(post_run(cold_url, code))

    python_median = statistics.median(python)

    def line(label: str, times: list[float]) -> str:
        median = statistics.median(times)
        return (f"{label:<44}{median * 1000:7.1f} ms   {median / python_median:5.2f}x"
                f"   (min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f})")

    print(f"runs each: {args.runs}; example: three say_hello with gather; ratio: to the interpreter start")
    print(f"{'':<44}{'median':>10}   {'ratio':>5}")
    print(line("POST /api/run, warm pool (default)", warm))
    print(line("POST /api/run, no warm pool (WARM_POOL=0)", cold))
    print(line("python3 -c 'import asyncio' (cold)", python))


if __name__ == "__main__":
    main()
