"""gunicorn settings: ``gunicorn -c gunicorn.conf.py wsgi:app``.

Runs wait on jails, not on the CPU of the web process, so one worker with
threads serves them; the jails themselves are bounded by admission. There
are more threads than admission lets runs hold (a running and a waiting run
per core, by default), so the health check, the page and a refusal with 503
are always answered at once.
"""

import os

bind = os.environ.get("PLAYGROUND_BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = 1
threads = int(os.environ.get("PLAYGROUND_THREADS", 2 * (os.cpu_count() or 2) + 8))
# Above the run's wall-clock limit plus the queue wait, so no run is cut by gunicorn.
timeout = 60
graceful_timeout = 30
accesslog = "-"
