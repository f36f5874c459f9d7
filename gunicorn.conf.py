"""gunicorn settings: ``gunicorn -c gunicorn.conf.py wsgi:app``.

Runs wait on jails, not on the CPU of the web process, so one worker with
threads serves them; the jails themselves are bounded by admission.
"""

import os

bind = os.environ.get("PLAYGROUND_BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = 1
threads = int(os.environ.get("PLAYGROUND_THREADS", "8"))
# Above the run's wall-clock limit plus the queue wait, so no run is cut by gunicorn.
timeout = 60
graceful_timeout = 30
accesslog = "-"
