"""Capacity: how many small runs per second one server answers, and how.

Starts gunicorn (the project's gunicorn.conf.py, default admission: one jail
per core and as many waiting) on a free loopback port, then for each number
of concurrent clients keeps that many clients posting a small snippet (the
gallery's "three say_hello with gather") back to back for a fixed time.
Prints, per level: completed runs per second, the p50 and p99 latency of the
answered runs, and how many were refused (503 busy) or failed otherwise.
Rate limits are off (every client here has the same address); they are a
per-client guard, not a capacity figure.

    python3 bench/load.py [--levels 1,2,4,8,16] [--seconds 10]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playground.examples import BY_NAME  # noqa: E402


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(env: dict[str, str]) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}",
         "--access-logfile", "/dev/null", "wsgi:app"],
        cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=5) as response:
                if response.status == 200:
                    return url, server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("gunicorn did not become healthy")


def post(url: str, code: str) -> tuple[str, float]:
    """One run: its outcome ("ok", "503", ...) and latency in seconds."""
    request = urllib.request.Request(f"{url}/api/run", data=json.dumps({"code": code}).encode(),
                                     headers={"Content-Type": "application/json"})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            outcome = json.load(response)["status"]
    except urllib.error.HTTPError as error:
        outcome = str(error.code)
    except OSError as error:
        outcome = type(error).__name__
    return outcome, time.perf_counter() - started


def level(url: str, code: str, clients: int, seconds: float) -> tuple[Counter[str], list[float], float]:
    outcomes: Counter[str] = Counter()
    latencies: list[float] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client() -> None:
        while time.monotonic() < stop_at:
            outcome, latency = post(url, code)
            with lock:
                outcomes[outcome] += 1
                if outcome == "ok":
                    latencies.append(latency)
            if outcome == "503":
                time.sleep(0.05)  # a polite client backs off a little

    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes, latencies, time.monotonic() - started


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="1,2,4,8,16")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()

    code = BY_NAME["gather"].code
    url, server = start_server({"PLAYGROUND_RATELIMIT_ENABLED": "false"})
    try:
        for _ in range(3):
            post(url, code)  # warm up
        cores = os.cpu_count()
        print(f"snippet: gallery 'gather'; {cores} cores; jails at once = cores, queue = cores; "
              f"{args.seconds:g} s per level")
        print(f"{'clients':>7} {'runs/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'ok':>6} {'503':>6} {'other':>6}")
        for clients in (int(n) for n in args.levels.split(",")):
            outcomes, latencies, elapsed = level(url, code, clients, args.seconds)
            ok = outcomes.pop("ok", 0)
            busy = outcomes.pop("503", 0)
            other = sum(outcomes.values())
            p50 = percentile(latencies, 0.50) * 1000 if latencies else float("nan")
            p99 = percentile(latencies, 0.99) * 1000 if latencies else float("nan")
            print(f"{clients:>7} {ok / elapsed:>7.1f} {p50:>7.0f} {p99:>7.0f} {ok:>6} {busy:>6} {other:>6}"
                  + (f"   other: {dict(outcomes)}" if other else ""))
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
