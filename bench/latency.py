"""End-to-end latency of POST /api/run on every Python, beside a bare interpreter start.

Starts gunicorn servers on free loopback ports: one per Python with the warm
pool (the default: each run takes a jail started ahead; the server's
``DEFAULT_PYTHON`` is that Python, so its slots keep it warm) and one
without (``PLAYGROUND_WARM_POOL=0``: each run starts its jail, the Python
named in the request). Then, in rounds, for each Python in turn, so the
machine's noise hits all alike: a POST /api/run of the gallery's "three
say_hello with gather" example to its warm server and to the cold one, and a
cold ``python -c "import asyncio"`` of that interpreter (for the root's,
through ``rootview.inside``, so that start includes a bubblewrap's, a few
milliseconds). Prints the medians and the ratios to the interpreter start
(the goal: at most 0.5x with the warm pool).

A run's jail is replaced in the background; here each request comes after
the other steps of the round, as a person's runs come seconds apart. The run
cache is off on every server, so every request is a run.

    python3 bench/latency.py [--runs 40] [--python 3.14 ...]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playground.sandbox.jail import DEFAULT_JAIL_PYTHON  # noqa: E402
from playground.sandbox.pythons import DEFAULT_ROOT, Python, Pythons  # noqa: E402
from playground.sandbox.rootview import inside  # noqa: E402
from playground.sharing.examples import BY_NAME  # noqa: E402
from tests.support.servers import gunicorn_node  # noqa: E402


def post_run(url: str, code: str, python: str) -> float:
    body = json.dumps({"code": code, "python": python}).encode()
    request = urllib.request.Request(f"{url}/api/run", data=body, headers={"Content-Type": "application/json"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as response:
        trace = json.load(response)
    elapsed = time.perf_counter() - started
    if trace["status"] != "ok" or not trace["python"].startswith(python + "."):
        raise SystemExit(f"run on {python} failed: {trace['status']} on {trace.get('python')}")
    return elapsed


def bare_python(python: Python) -> float:
    started = time.perf_counter()
    subprocess.run(inside(python, [python.executable, "-c", "import asyncio"]), check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--python", action="append", help="a Python id (repeatable; default: all)")
    args = parser.parse_args()
    every = Pythons.discover(DEFAULT_JAIL_PYTHON, DEFAULT_ROOT)
    pythons = [every.get(id_) for id_ in (args.python or every.by_id)]

    # Every run here comes from one address (the per-client rate limit would
    # refuse most), and each must really run (no run cache). Each node has
    # its own jail uids, as any second node on a machine.
    bench_env = {"PLAYGROUND_RATELIMIT_ENABLED": "false", "PLAYGROUND_RUN_CACHE_SECONDS": "0"}
    cold_env = {**bench_env, "PLAYGROUND_WARM_POOL": "0", "PLAYGROUND_JAIL_UID_BASE": "61900"}
    code = BY_NAME["gather"].code
    with contextlib.ExitStack() as nodes:
        warm_urls = {}
        for index, python in enumerate(pythons):
            env = {**bench_env, "PLAYGROUND_DEFAULT_PYTHON": python.id,
                   "PLAYGROUND_JAIL_UID_BASE": str(61100 + 100 * index)}
            warm_urls[python.id] = nodes.enter_context(gunicorn_node(env))[0]
        cold_url = nodes.enter_context(gunicorn_node(cold_env))[0]
        for python in pythons:  # warm up: first-run caches, page cache
            for _ in range(3):
                post_run(warm_urls[python.id], code, python.id)
                post_run(cold_url, code, python.id)
                bare_python(python)
        times = {python.id: {"warm": [], "cold": [], "bare": []} for python in pythons}
        for _ in range(args.runs):
            for python in pythons:
                times[python.id]["warm"].append(post_run(warm_urls[python.id], code, python.id))
                times[python.id]["bare"].append(bare_python(python))
                times[python.id]["cold"].append(post_run(cold_url, code, python.id))

    print(f"runs each: {args.runs}; example: three say_hello with gather; ratio: to that interpreter's start")
    print(f"{'Python':<10}{'warm pool':>12}{'ratio':>8}{'no warm pool':>15}{'ratio':>8}{'import asyncio':>17}")
    for python in pythons:
        warm, cold, bare = (statistics.median(times[python.id][kind]) for kind in ("warm", "cold", "bare"))
        print(f"{python.version:<10}{warm * 1000:9.1f} ms{warm / bare:7.2f}x{cold * 1000:12.1f} ms"
              f"{cold / bare:7.2f}x{bare * 1000:14.1f} ms")


if __name__ == "__main__":
    main()
