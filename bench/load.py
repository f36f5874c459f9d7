"""Capacity: how many runs per second one server answers, and how it refuses.

Starts gunicorn (the project's gunicorn.conf.py and its defaults: one jail
per core, as many waiting, the warm pool) on a free loopback port, then for
each number of concurrent clients keeps that many clients posting the
gallery's "three say_hello with gather" example back to back, each on its
own keep-alive connection, for a fixed time. Per level it prints: completed
runs per second, the p50 and p99 latency of the answered runs, the refusals
(429 or 503) with the slowest refusal and whether each carried Retry-After,
and the failures: timeouts, 500s, other statuses, and runs whose trace was
not "ok". Rate limits are off (every client here has the same address); they
are a per-client guard, not a capacity figure. The run cache is off too, so
every answer is a run in a jail of its own (with it, the same snippet would
be answered from memory; ``--run-cache`` leaves it on, to see that).

It also prints what a run costs: the CPU time the server's workers and
their jails used per completed run (read from /proc; the kernel's own
workers, e.g. tearing down a run's namespaces, are not in it), the idle
share of the whole machine (on a shared machine, other work takes the rest),
and the CPU time of one cold ``python3 -c "import asyncio"``, measured in the
same run.

    python3 bench/load.py [--levels 1,2,4,8,16,32] [--seconds 10] [--workers 1]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import resource
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playground.sharing.examples import BY_NAME  # noqa: E402
from tests.support.servers import gunicorn_node  # noqa: E402

CLIENT_TIMEOUT = 60.0  # far above anything the server should take
REFUSALS = ("429", "503")


class Client:
    """One client on one keep-alive connection (reopened when closed)."""

    def __init__(self, url: str) -> None:
        self.host, port = url.removeprefix("http://").split(":")
        self.port = int(port)
        self.connection: http.client.HTTPConnection | None = None

    def post(self, body: bytes) -> tuple[str, float, bool]:
        """One run: its outcome ("ok", "503", "timeout", ...), its latency,
        and whether a refusal said Retry-After."""
        started = time.perf_counter()
        try:
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=CLIENT_TIMEOUT)
            self.connection.request("POST", "/api/run", body, {"Content-Type": "application/json"})
            response = self.connection.getresponse()
            data = response.read()
            if response.getheader("Connection", "").lower() == "close":
                self.close()
            elapsed = time.perf_counter() - started
            if response.status != 200:
                return str(response.status), elapsed, response.getheader("Retry-After") is not None
            status = json.loads(data)["status"]
            return ("ok" if status == "ok" else f"trace {status}"), elapsed, False
        except TimeoutError:
            self.close()
            return "timeout", time.perf_counter() - started, False
        except (OSError, http.client.HTTPException) as error:
            self.close()
            return type(error).__name__, time.perf_counter() - started, False

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


@dataclass
class Level:
    outcomes: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    slowest_refusal: float = 0.0
    refusals_without_retry_after: int = 0
    elapsed: float = 0.0
    cpu_busy: float = 0.0  # seconds of CPU the machine spent, all cores
    cpu_idle: float = 0.0
    server_cpu: float = 0.0  # seconds of CPU of the workers and their jails


def machine_cpu() -> tuple[float, float]:
    """Busy and idle CPU seconds of the whole machine so far."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    ticks = os.sysconf("SC_CLK_TCK")
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values) - idle) / ticks, idle / ticks


def server_cpu(master: int) -> float:
    """CPU seconds the master's workers and their jails used: every live
    process under the master (the workers, and each jail's bubblewrap and
    fork server), each with the children it reaped (a run's processes are
    reaped inside its jail; a killed jail by its worker, the subreaper)."""
    parents: dict[int, int] = {}
    times: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        times[int(entry)] = sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    total = 0
    for pid, ticks in times.items():
        ancestor = parents.get(pid)
        while ancestor is not None and ancestor > 1 and ancestor != master:
            ancestor = parents.get(ancestor)
        if ancestor == master:
            total += ticks
    return total / os.sysconf("SC_CLK_TCK")


def run_level(url: str, master: int, body: bytes, clients: int, seconds: float) -> Level:
    level = Level()
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client() -> None:
        connection = Client(url)
        while time.monotonic() < stop_at:
            outcome, latency, retry_after = connection.post(body)
            with lock:
                level.outcomes[outcome] += 1
                if outcome == "ok":
                    level.latencies.append(latency)
                elif outcome in REFUSALS:
                    level.slowest_refusal = max(level.slowest_refusal, latency)
                    level.refusals_without_retry_after += not retry_after
            if outcome in REFUSALS:
                time.sleep(0.05)  # a polite client backs off a little
        connection.close()

    busy, idle = machine_cpu()
    served = server_cpu(master)
    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    level.elapsed = time.monotonic() - started
    busy_after, idle_after = machine_cpu()
    level.cpu_busy, level.cpu_idle = busy_after - busy, idle_after - idle
    level.server_cpu = server_cpu(master) - served
    return level


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def import_asyncio_cpu(times: int = 10) -> float:
    """CPU seconds (user + system) of one cold ``python3 -c "import asyncio"``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    for _ in range(times):
        subprocess.run(["/usr/bin/python3", "-c", "import asyncio"], check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) / times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="1,2,4,8,16,32")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=1, help="gunicorn workers (PLAYGROUND_WORKERS)")
    parser.add_argument("--run-cache", action="store_true", help="leave the run cache on")
    args = parser.parse_args()

    body = json.dumps({"code": BY_NAME["gather"].code}).encode()
    env = {"PLAYGROUND_RATELIMIT_ENABLED": "false", "PLAYGROUND_WORKERS": str(args.workers)}
    if not args.run_cache:
        env["PLAYGROUND_RUN_CACHE_SECONDS"] = "0"
    failures_total: Counter[str] = Counter()
    best = (0.0, 0, 0.0, 0.0)
    with gunicorn_node(env) as (url, server_pid):
        warm_up = Client(url)
        for _ in range(5):
            warm_up.post(body)
        warm_up.close()
        cores = os.cpu_count()
        print(f"example: three say_hello with gather; {cores} cores; {args.workers} worker(s); "
              f"jails at once = cores, queue = cores, warm pool on, run cache {'on' if args.run_cache else 'off'}; "
              f"{args.seconds:g} s per level")
        print(f"{'clients':>7} {'runs/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'ok':>6} {'refused':>7} "
              f"{'slowest refusal ms':>18} {'failed':>6} {'CPU ms/run':>10} {'idle %':>6}")
        print(f"{'':>68}(server and jails) (machine)")
        for clients in (int(n) for n in args.levels.split(",")):
            level = run_level(url, server_pid, body, clients, args.seconds)
            outcomes = Counter(level.outcomes)
            ok = outcomes.pop("ok", 0)
            refused = sum(outcomes.pop(code, 0) for code in REFUSALS)
            failed = sum(outcomes.values())
            failures_total.update(outcomes)
            failures_total["refusal without Retry-After"] += level.refusals_without_retry_after
            rate = ok / level.elapsed
            p50 = percentile(level.latencies, 0.50) * 1000 if level.latencies else float("nan")
            p99 = percentile(level.latencies, 0.99) * 1000 if level.latencies else float("nan")
            cpu_per_run = level.server_cpu / ok * 1000 if ok else float("nan")
            idle = 100 * level.cpu_idle / (level.cpu_idle + level.cpu_busy)
            print(f"{clients:>7} {rate:>7.1f} {p50:>7.0f} {p99:>7.0f} {ok:>6} {refused:>7} "
                  f"{level.slowest_refusal * 1000:>18.0f} {failed:>6} {cpu_per_run:>10.0f} {idle:>6.0f}"
                  + (f"   failed: {dict(outcomes)}" if failed else ""))
            if rate > best[0]:
                best = (rate, clients, p50, p99)

    failures = +failures_total
    print(f"best: {best[0]:.1f} runs/s at {best[1]} clients (p50 {best[2]:.0f} ms, p99 {best[3]:.0f} ms)")
    print("errors, timeouts, 500s, refusals without Retry-After: "
          + (", ".join(f"{name} x{count}" for name, count in failures.items()) if failures else "none"))
    print(f"one cold python3 -c 'import asyncio': {import_asyncio_cpu() * 1000:.0f} ms of CPU")


if __name__ == "__main__":
    main()
