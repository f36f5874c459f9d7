"""What an operator sees of the server: the Prometheus metrics (served at
``/metrics`` by :mod:`playground.ops.endpoints`).

The metrics (prometheus_client) count runs by status, time runs, queue
waits and jail starts, and show the warm runs waiting and the requests
refused. Under gunicorn, every worker writes its figures to files in
``PROMETHEUS_MULTIPROC_DIR`` (gunicorn.conf.py makes a fresh one per server
start, before any worker imports this module) and ``/metrics`` adds up all
the workers', past and present. Without that variable (the test client, a
single process) the figures live in this process.

``/metrics`` holds counts and timings only: no code, output, address or
request id. It is not rate-limited; keep it off the public side of the
reverse proxy (see docs/deploy.md).
"""

from __future__ import annotations

import os

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
)
from prometheus_client import multiprocess as _multiprocess

MULTIPROC_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

RUN_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
WAIT_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
START_BUCKETS = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 10.0)
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

RUNS = Counter("playground_runs", "Code runs that ended, by the trace's status.", ["status"])
RUNS_BY_PYTHON = Counter("playground_python_runs", "Code runs that ended, by the Python they ran on (its id).",
                         ["python"])
RUN_SECONDS = Histogram("playground_run_seconds",
                        "Real time of a run, from handing the snippet over to the run's processes gone.",
                        buckets=RUN_BUCKETS)
QUEUE_WAIT_SECONDS = Histogram("playground_queue_wait_seconds",
                               "Time a run waited for a free jail slot (admitted runs only).",
                               buckets=WAIT_BUCKETS)
QUEUE_PREDICTED_WAIT_SECONDS = Histogram("playground_queue_predicted_wait_seconds",
                                         ("Predicted wait for a jail slot of each run that asked (0: a slot "
                                          "was free); past QUEUE_WAIT_SECONDS the run is refused."),
                                         buckets=WAIT_BUCKETS)
JAIL_START_SECONDS = Histogram("playground_jail_start_seconds",
                               ("Time from asking for a run to its process waiting for a snippet "
                                "(a jail's start included when one had to start)."),
                               ["how"], buckets=START_BUCKETS)
JAIL_START_FAILURES = Counter("playground_jail_start_failures", "Jails that could not start.")
WARM_JAILS = Gauge("playground_warm_jails", "Warm runs waiting for a snippet.", multiprocess_mode="livesum")
WARM_MISSES = Counter("playground_warm_misses",
                      "Runs that found no warm run for their slot and set one up themselves.")
RUNS_IN_PROGRESS = Gauge("playground_runs_in_progress", "Runs holding a jail slot now.",
                         multiprocess_mode="livesum")
REJECTIONS = Counter("playground_rejections", "Requests refused before any work, by error code.",
                     ["endpoint", "code"])
REQUESTS = Counter("playground_http_requests", "HTTP requests answered, by endpoint and status.",
                   ["endpoint", "status"])
REQUEST_SECONDS = Histogram("playground_http_request_seconds", "Time to answer an HTTP request, by endpoint.",
                            ["endpoint"], buckets=REQUEST_BUCKETS)
RUN_CACHE_ANSWERS = Counter("playground_run_cache_answers",
                            "POST /api/run answered from the run cache (or by waiting for the same "
                            "snippet's run), without a jail of its own.")
CODE_CONNECTIONS = Counter("playground_code_connections",
                           "Connections code-mode runs asked the server for, by outcome (opened, refused by the "
                           "guard or a cap, failed).", ["outcome"])
CODE_NETWORK_BYTES = Counter("playground_code_network_bytes",
                             "Bytes the server moved for code-mode runs, by direction (in: to the run).",
                             ["direction"])
FETCHES = Counter("playground_fetch_runs", "URL-mode runs that ended, by the trace's status.", ["status"])

def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_DIR_VARIABLE) or None


def registry() -> CollectorRegistry:
    """Every worker's figures under gunicorn, else this process's."""
    if multiprocess_dir() is None:
        return REGISTRY
    collected = CollectorRegistry()
    _multiprocess.MultiProcessCollector(collected)  # type: ignore[no-untyped-call]
    return collected


def mark_process_dead(pid: int) -> None:
    """For gunicorn's ``child_exit``: drop a dead worker's live gauges."""
    if multiprocess_dir() is not None:
        _multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
