"""gunicorn settings: ``gunicorn -c gunicorn.conf.py wsgi:app``.

Runs wait on jails, not on the CPU of the web process (each jail is a
process of its own), so by default one worker with threads serves a node:
its admission sees every jail slot, so a run is refused only when the whole
node is busy, and each run's work in the server is small. Each running or
waiting run holds a thread, so there are more threads than admission lets
runs hold (``CONCURRENCY`` running and at most ``QUEUE_SIZE``
waiting, plus 16), and the health check, the page, ``/metrics`` and a
refusal with 503 are always answered at once: 64 clients pressing Run in a
loop, and the pages around them, are served together.

``PLAYGROUND_WORKERS`` > 1 runs more workers; each then has its own
admission (``PLAYGROUND_CONCURRENCY`` jails, per worker) and its own range
of jail uids: worker *k* of the
workers alive at once uses ``JAIL_UID_BASE + k * CONCURRENCY + slot``, so no
two jails of the node share a uid, also while a graceful restart (HUP,
``max_requests``) runs old and new workers side by side.
A live run's stop reaches it whichever worker it reaches: each server start
gets a fresh directory (``PLAYGROUND_LIVE_DIR``) for the runs' FIFOs.

Each server start gets a fresh directory for the workers' Prometheus figures
(``PROMETHEUS_MULTIPROC_DIR``); a dead worker's live gauges are dropped and
its counts kept. Logs are JSON lines on standard error (playground/logs.py);
the app writes the line per request, so gunicorn's access log is off.
"""

from __future__ import annotations

import glob
import math
import os
import shutil
import tempfile
from typing import Any

# Before anything imports prometheus_client: it picks its storage on import.
_OWN_METRICS_DIR = "PROMETHEUS_MULTIPROC_DIR" not in os.environ
if _OWN_METRICS_DIR:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="prometheus-asyncio-playground-")

# Where each live run of the node can be stopped from, whichever worker a
# stop reaches (playground.sandbox.live.LiveRuns).
_OWN_LIVE_DIR = "PLAYGROUND_LIVE_DIR" not in os.environ
if _OWN_LIVE_DIR:
    os.environ["PLAYGROUND_LIVE_DIR"] = tempfile.mkdtemp(prefix="asyncio-playground-live-")

from playground.ops.logs import LOGGING  # noqa: E402
from playground.sandbox.forkclient import KILL_WAIT_SECONDS, START_SECONDS  # noqa: E402
from playground.settings import Settings  # noqa: E402


def _setting(name: str, default: float) -> float:
    """A gunicorn setting of ours (playground.settings.OTHER_ENV_KEYS)."""
    return float(os.environ.get(f"PLAYGROUND_{name}", default))


# Read once here too, so that a setting the app would refuse stops the
# server before any worker starts.
SETTINGS = Settings.load()


bind = os.environ.get("PLAYGROUND_BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = int(_setting("WORKERS", 1))
# Threads beyond the runs admission lets in: pages, /healthz, /metrics, URL
# mode, refusals.
SPARE_THREADS = 16
threads = int(_setting("THREADS", SETTINGS.concurrency + SETTINGS.queue_size + SPARE_THREADS))

# The longest a request can take: a wait in the queue (at most the predicted
# wait, itself at most QUEUE_WAIT_SECONDS, plus QUEUE_WAIT_SECONDS), a jail's
# start, the run's wall-clock limit, and the kill. gunicorn must never cut
# one short, and a graceful restart lets every run in progress finish.
_LONGEST_REQUEST = (2 * SETTINGS.queue_wait_seconds + START_SECONDS
                    + SETTINGS.limits.wall_seconds + KILL_WAIT_SECONDS)
timeout = math.ceil(_LONGEST_REQUEST) + 30
graceful_timeout = math.ceil(_LONGEST_REQUEST) + 5

# A worker is replaced, gracefully, after about this many requests (the
# jitter keeps several workers from restarting at once).
max_requests = int(_setting("MAX_REQUESTS", 20000))
max_requests_jitter = int(_setting("MAX_REQUESTS_JITTER", max_requests // 10))
keepalive = 5

accesslog = None
errorlog = "-"
logconfig_dict = LOGGING
# gunicorn's control socket is one path per user: two nodes on one machine
# (the tests, a blue/green switch) would fight over it. Signals do its work.
control_socket_disable = True


def on_starting(server: Any) -> None:
    """A directory the operator chose may hold a previous run's figures."""
    if not _OWN_METRICS_DIR:
        for path in glob.glob(os.path.join(os.environ["PROMETHEUS_MULTIPROC_DIR"], "*.db")):
            os.remove(path)


def on_exit(server: Any) -> None:
    if _OWN_METRICS_DIR:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
    if _OWN_LIVE_DIR:
        shutil.rmtree(os.environ["PLAYGROUND_LIVE_DIR"], ignore_errors=True)


def pre_fork(server: Any, worker: Any) -> None:
    """Give the new worker the lowest index no live worker holds."""
    taken = {getattr(other, "playground_index", None) for other in server.WORKERS.values()}
    worker.playground_index = next(index for index in range(len(taken) + 1) if index not in taken)


def post_fork(server: Any, worker: Any) -> None:
    # Read by create_app, which runs after this in the worker.
    os.environ["PLAYGROUND_WORKER_INDEX"] = str(worker.playground_index)


def post_worker_init(worker: Any) -> None:
    """Warm the jails before the first request rather than at it."""
    from playground.services import services

    services(worker.wsgi).sandbox.start()


def worker_exit(server: Any, worker: Any) -> None:
    from playground.sandbox.pool import close_all

    close_all()


def child_exit(server: Any, worker: Any) -> None:
    from playground.ops.metrics import mark_process_dead

    mark_process_dead(worker.pid)
