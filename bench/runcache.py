"""What the run cache saves when many readers run one tutorial snippet.

Starts two gunicorns on free loopback ports, one with the run cache off
(``PLAYGROUND_RUN_CACHE_SECONDS=0``) and one with its defaults, each with a
temporary instance folder. Then, in rounds that alternate between the two so
the machine's noise hits both alike, a burst of readers (threads) press Run
on the same snippet at once (the gallery's gather example on the virtual
clock, made unique per round so each round starts cold). Prints, for each
server, how many jails ran, the median and 95th-percentile latency, requests
per second, and the ratios.

    python3 bench/runcache.py [--rounds 5] [--readers 24]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playground.sharing.examples import BY_NAME  # noqa: E402
from tests.support.servers import gunicorn_node  # noqa: E402


def node_env(cache_seconds: str | None, instance: str) -> dict[str, str]:
    # Every reader here is 127.0.0.1: lift the per-client run limit.
    env = {"PLAYGROUND_INSTANCE_PATH": instance, "PLAYGROUND_RATELIMIT_ENABLED": "false"}
    if cache_seconds is not None:
        env["PLAYGROUND_RUN_CACHE_SECONDS"] = cache_seconds
    return env


def burst(url: str, code: str, readers: int) -> tuple[list[float], int, int, float]:
    """Readers press Run at once: (latencies, jail runs, refusals, wall seconds)."""
    latencies: list[float] = []
    runs = refused = 0
    lock = threading.Lock()
    gate = threading.Barrier(readers)

    def reader() -> None:
        nonlocal runs, refused
        body = json.dumps({"code": code}).encode()
        request = urllib.request.Request(f"{url}/api/run", data=body, headers={"Content-Type": "application/json"})
        gate.wait()
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                trace = json.load(response)
        except urllib.error.HTTPError as error:
            with lock:
                refused += 1 if error.code == 503 else 0
            return
        elapsed = time.perf_counter() - started
        if trace["status"] != "ok":
            raise SystemExit(f"run failed: {trace['status']}")
        with lock:
            latencies.append(elapsed)
            runs += 0 if trace["cached"] else 1

    threads = [threading.Thread(target=reader) for _ in range(readers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, runs, refused, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--readers", type=int, default=24)
    args = parser.parse_args()
    code = BY_NAME["gather"].code
    results: dict[str, dict[str, list[float]]] = {
        name: {"latency": [], "runs": [], "refused": [], "wall": []} for name in ("off", "on")}
    with tempfile.TemporaryDirectory() as off_dir, tempfile.TemporaryDirectory() as on_dir, \
            gunicorn_node(node_env("0", off_dir)) as (off_url, _), \
            gunicorn_node(node_env(None, on_dir)) as (on_url, _):
        urls = {"off": off_url, "on": on_url}
        for n in range(args.rounds):
            snippet = f"{code}# round {n}\n"  # a cold cache each round
            for name in ("off", "on") if n % 2 == 0 else ("on", "off"):
                latencies, runs, refused, wall = burst(urls[name], snippet, args.readers)
                results[name]["latency"].extend(latencies)
                results[name]["runs"].append(runs)
                results[name]["refused"].append(refused)
                results[name]["wall"].append(wall)

    requests = args.rounds * args.readers
    print(f"{args.rounds} rounds of {args.readers} readers pressing Run on one snippet at once "
          f"({requests} requests per server)")
    summary = {}
    for name, label in (("off", "cache off"), ("on", "cache on ")):
        r = results[name]
        latency = sorted(r["latency"])
        p95 = latency[int(0.95 * (len(latency) - 1))] if latency else float("nan")
        median = statistics.median(latency) if latency else float("nan")
        rate = len(latency) / sum(r["wall"])
        summary[name] = (median, p95, rate, sum(r["runs"]))
        print(f"  {label}: jails run {int(sum(r['runs'])):4d}   refused (503) {int(sum(r['refused'])):3d}   "
              f"median {median * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms   {rate:6.1f} requests/s")
    off, on = summary["off"], summary["on"]
    print(f"  jails run: {off[3] / max(on[3], 1):.0f}x fewer with the cache; "
          f"median latency {off[0] / on[0]:.1f}x lower; throughput {on[2] / off[2]:.1f}x higher")


if __name__ == "__main__":
    main()
