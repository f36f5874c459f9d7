"""Capacity: how many runs per second one server answers, and how it refuses.

Starts gunicorn (the project's gunicorn.conf.py and its defaults: one jail
per core, admission by predicted wait, the warm pool) on a free loopback
port, then for each number of concurrent clients keeps that many clients
posting the gallery's "three say_hello with gather" example back to back
(closed loop), each on its own keep-alive connection, for a fixed time. Per
level it prints: completed runs per second, the p50 and p99 latency of the
answered runs, the refusals (429 or 503) with their ``Retry-After`` (the
lowest and highest) and the slowest refusal, and the failures: timeouts,
500s, other statuses, refusals without Retry-After, and runs whose trace was
not "ok". Beside them, the wait the server predicted for the runs that
asked (mean and p99, from its ``playground_queue_predicted_wait_seconds``
histogram), against ``QUEUE_WAIT_SECONDS``, past which it refuses. Rate
limits are off (every client here has the same address); they are a
per-client guard, not a capacity figure. The run cache is off too, so every
answer is a run in a jail of its own (with it, the same snippet would be
answered from memory; ``--run-cache`` leaves it on, to see that).

Then fairness: eight real-clock spinners (each spins ``--spin`` seconds)
posted at once from 127.0.0.2, and half a second later a quick run from
127.0.0.3 (``http.client``'s source address), which honours ``Retry-After``
when refused; it prints when the quick run was answered and, from its own
run's time, when it started, and what became of the spinners.

It also prints what a run costs: the CPU time the server's workers and
their jails used per completed run (read from /proc; the kernel's own
workers, e.g. tearing down a run's namespaces, are not in it), the idle
share of the whole machine (on a shared machine, other work takes the rest),
and the CPU time of one cold ``python3 -c "import asyncio"``, measured in the
same run.

    python3 bench/load.py [--levels 1,2,4,8,16,32,64] [--seconds 10] [--workers 1] [--spin 3]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playground.settings import Settings  # noqa: E402
from playground.sharing.examples import BY_NAME  # noqa: E402
from tests.support.pace import import_asyncio_cpu  # noqa: E402
from tests.support.servers import gunicorn_node  # noqa: E402

CLIENT_TIMEOUT = 60.0  # far above anything the server should take
REFUSALS = ("429", "503")
PREDICTED = "playground_queue_predicted_wait_seconds"


@dataclass
class Answer:
    outcome: str  # "ok", "503", "timeout", "trace timeout", ...
    latency: float
    retry_after: str | None = None  # a refusal's header
    wall: float = 0.0  # the run's own time, from its trace


class Client:
    """One client on one keep-alive connection (reopened when closed), from
    ``source`` (a loopback address) when given."""

    def __init__(self, url: str, source: str | None = None) -> None:
        self.host, port = url.removeprefix("http://").split(":")
        self.port = int(port)
        self.source = (source, 0) if source else None
        self.connection: http.client.HTTPConnection | None = None

    def post(self, body: bytes) -> Answer:
        started = time.perf_counter()
        try:
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=CLIENT_TIMEOUT,
                                                             source_address=self.source)
            self.connection.request("POST", "/api/run", body, {"Content-Type": "application/json"})
            response = self.connection.getresponse()
            data = response.read()
            if response.getheader("Connection", "").lower() == "close":
                self.close()
            elapsed = time.perf_counter() - started
            if response.status != 200:
                return Answer(str(response.status), elapsed, response.getheader("Retry-After"))
            trace = json.loads(data)
            return Answer("ok" if trace["status"] == "ok" else f"trace {trace['status']}", elapsed,
                          wall=trace["wall"])
        except TimeoutError:
            self.close()
            return Answer("timeout", time.perf_counter() - started)
        except (OSError, http.client.HTTPException) as error:
            self.close()
            return Answer(type(error).__name__, time.perf_counter() - started)

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


@dataclass
class Level:
    outcomes: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    retry_afters: list[int] = field(default_factory=list)
    slowest_refusal: float = 0.0
    refusals_without_retry_after: int = 0
    elapsed: float = 0.0
    cpu_busy: float = 0.0  # seconds of CPU the machine spent, all cores
    cpu_idle: float = 0.0
    server_cpu: float = 0.0  # seconds of CPU of the workers and their jails
    predicted: tuple[float, float] | None = None  # mean and p99 of the predicted waits, seconds


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


def predicted_waits(url: str) -> dict[str, float] | None:
    """The server's histogram of predicted waits: bucket bound (and "sum",
    "count") -> value; None when the server has no such metric."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=CLIENT_TIMEOUT)
    try:
        connection.request("GET", "/metrics")
        text = connection.getresponse().read().decode()
    finally:
        connection.close()
    found = {}
    for line in text.splitlines():
        match = re.match(rf'{PREDICTED}_(bucket\{{le="([^"]+)"\}}|sum|count) (\S+)$', line)
        if match:
            found[match.group(2) or match.group(1)] = float(match.group(3))
    return found or None


def mean_and_p99(before: dict[str, float] | None, after: dict[str, float] | None) -> tuple[float, float] | None:
    if before is None or after is None:
        return None
    count = after["count"] - before["count"]
    if not count:
        return None
    buckets = sorted((float(bound), after[bound] - before.get(bound, 0.0))
                     for bound in after if bound not in ("sum", "count"))
    p99 = next(bound for bound, cumulative in buckets if cumulative >= 0.99 * count)
    return (after["sum"] - before["sum"]) / count, p99


def run_level(url: str, master: int, body: bytes, clients: int, seconds: float) -> Level:
    level = Level()
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client() -> None:
        connection = Client(url)
        while time.monotonic() < stop_at:
            answer = connection.post(body)
            with lock:
                level.outcomes[answer.outcome] += 1
                if answer.outcome == "ok":
                    level.latencies.append(answer.latency)
                elif answer.outcome in REFUSALS:
                    level.slowest_refusal = max(level.slowest_refusal, answer.latency)
                    if answer.retry_after is None:
                        level.refusals_without_retry_after += 1
                    else:
                        level.retry_afters.append(int(answer.retry_after))
            if answer.outcome in REFUSALS:
                time.sleep(0.05)  # a closed loop that backs off only a little: the hardest case
        connection.close()

    busy, idle = machine_cpu()
    served = server_cpu(master)
    waits = predicted_waits(url)
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
    level.predicted = mean_and_p99(waits, predicted_waits(url))
    return level


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def fairness(url: str, spin: float) -> None:
    """Eight spinners from 127.0.0.2, then a quick run from 127.0.0.3."""
    answers: dict[int, Answer] = {}
    go = threading.Barrier(8)

    def spinner(number: int) -> None:
        code = f"import time\nstarted = time.monotonic()\nwhile time.monotonic() - started < {spin}: pass  # {number}"
        client = Client(url, "127.0.0.2")
        go.wait()
        answers[number] = client.post(json.dumps({"code": code, "clock": "real"}).encode())
        client.close()

    threads = [threading.Thread(target=spinner, args=(number,)) for number in range(8)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    quick = Client(url, "127.0.0.3")
    asked = time.perf_counter()
    refused: list[str] = []
    while True:
        answer = quick.post(json.dumps({"code": "print('quick')"}).encode())
        if answer.outcome not in REFUSALS:
            break
        refused.append(f"{answer.outcome} after {answer.latency:.2f} s, Retry-After {answer.retry_after}")
        time.sleep(float(answer.retry_after or 1))  # a client that honours Retry-After
    answered = time.perf_counter() - asked
    quick.close()
    for thread in threads:
        thread.join()
    print(f"\nfairness: 8 spinners of {spin:g} s (real clock) posted at once from 127.0.0.2; 0.5 s later "
          f"a quick run from 127.0.0.3")
    print(f"  quick run: {answer.outcome}, answered {answered:.2f} s after it asked, so it started about "
          f"{answered - answer.wall:.2f} s after (its run took {answer.wall * 1000:.0f} ms); "
          f"refused {len(refused)} time(s) first" + (f": {'; '.join(refused)}" if refused else ""))
    outcomes = Counter(a.outcome for a in answers.values())
    refusals = sorted((a.latency, a.retry_after) for a in answers.values() if a.outcome in REFUSALS)
    print(f"  spinners: {dict(outcomes)}" + ("; refusals (after, Retry-After): "
                                             + ", ".join(f"{t:.2f} s, {r}" for t, r in refusals) if refusals else ""))


def print_level(clients: int, level: Level, queue_wait: float) -> tuple[float, float, float]:
    outcomes = Counter(level.outcomes)
    ok = outcomes.pop("ok", 0)
    refused = sum(outcomes.pop(code, 0) for code in REFUSALS)
    failed = sum(outcomes.values())
    rate = ok / level.elapsed
    p50 = percentile(level.latencies, 0.50) * 1000 if level.latencies else float("nan")
    p99 = percentile(level.latencies, 0.99) * 1000 if level.latencies else float("nan")
    cpu_per_run = level.server_cpu / ok * 1000 if ok else float("nan")
    idle = 100 * level.cpu_idle / (level.cpu_idle + level.cpu_busy)
    retry = f"{min(level.retry_afters)}-{max(level.retry_afters)}" if level.retry_afters else "-"
    predicted = (f"{level.predicted[0] * 1000:.0f} / {level.predicted[1] * 1000:.0f}" if level.predicted
                 else "n/a")
    print(f"{clients:>7} {rate:>7.1f} {p50:>7.0f} {p99:>7.0f} {ok:>6} {refused:>7} {retry:>11} "
          f"{level.slowest_refusal * 1000:>8.0f} {failed:>6} {predicted:>17} {queue_wait * 1000:>8.0f} "
          f"{cpu_per_run:>10.0f} {idle:>6.0f}" + (f"   failed: {dict(outcomes)}" if failed else ""))
    return rate, p50, p99


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="1,2,4,8,16,32,64", help="client counts, comma-separated ('' for none)")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=1, help="gunicorn workers (PLAYGROUND_WORKERS)")
    parser.add_argument("--run-cache", action="store_true", help="leave the run cache on")
    parser.add_argument("--spin", type=float, default=3.0, help="seconds each spinner spins (0: no fairness figure)")
    args = parser.parse_args()

    body = json.dumps({"code": BY_NAME["gather"].code}).encode()
    env = {"PLAYGROUND_RATELIMIT_ENABLED": "false", "PLAYGROUND_WORKERS": str(args.workers)}
    if not args.run_cache:
        env["PLAYGROUND_RUN_CACHE_SECONDS"] = "0"
    queue_wait = Settings.load({**os.environ, **env}).queue_wait_seconds
    failures_total: Counter[str] = Counter()
    best = (0.0, 0, 0.0, 0.0)
    with gunicorn_node(env) as (url, server_pid):
        warm_up = Client(url)
        for _ in range(5):
            warm_up.post(body)
        warm_up.close()
        print(f"example: three say_hello with gather; {os.cpu_count()} cores; {args.workers} worker(s); "
              f"jails at once = cores, warm pool on, run cache {'on' if args.run_cache else 'off'}; "
              f"{args.seconds:g} s per level")
        print(f"{'clients':>7} {'runs/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'ok':>6} {'refused':>7} "
              f"{'Retry-After':>11} {'slowest':>8} {'failed':>6} {'predicted wait ms':>17} {'limit ms':>8} "
              f"{'CPU ms/run':>10} {'idle %':>6}")
        print(f"{'':>50}{'refusal ms':>10} {'mean / p99':>24} {'':>8} (server+jails) (machine)")
        for clients in (int(n) for n in args.levels.split(",") if n):
            level = run_level(url, server_pid, body, clients, args.seconds)
            rate, p50, p99 = print_level(clients, level, queue_wait)
            failures_total.update({k: v for k, v in level.outcomes.items() if k != "ok" and k not in REFUSALS})
            failures_total["refusal without Retry-After"] += level.refusals_without_retry_after
            if rate > best[0]:
                best = (rate, clients, p50, p99)
        if args.spin > 0:
            fairness(url, args.spin)

    failures = +failures_total
    if args.levels:
        print(f"\nbest: {best[0]:.1f} runs/s at {best[1]} clients (p50 {best[2]:.0f} ms, p99 {best[3]:.0f} ms)")
        print("errors, timeouts, 500s, refusals without Retry-After: "
              + (", ".join(f"{name} x{count}" for name, count in failures.items()) if failures else "none"))
        print(f"one cold python3 -c 'import asyncio': {import_asyncio_cpu() * 1000:.0f} ms of CPU")


if __name__ == "__main__":
    main()
