"""The asyncio playground: run asyncio snippets in a jail, see their timeline.

``create_app`` is the Flask application factory. Settings come from the
defaults below, then ``PLAYGROUND_*`` environment variables (Flask's
``from_prefixed_env``), then ``test_config``. The instance folder (where the
default SQLite database lives) is ``instance/`` beside the package, or
``PLAYGROUND_INSTANCE_PATH`` (``INSTANCE_PATH`` in ``test_config``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

ROOT = Path(__file__).resolve().parent.parent

DEFAULTS: dict[str, Any] = {
    "SANDBOX": "bwrap",
    "JAIL_PYTHON": "/usr/bin/python3",
    "JAIL_UID_BASE": 61000,
    "CONCURRENCY": os.cpu_count() or 2,
    # As many waiting as running: past that a run is refused at once, rather
    # than waiting behind runs that may each take the whole wall limit.
    "QUEUE_SIZE": os.cpu_count() or 2,
    "QUEUE_WAIT_SECONDS": 10.0,
    # Keep a jail started ahead for each slot (see playground/pool.py).
    "WARM_POOL": True,
    # Which of the node's gunicorn workers this process is (gunicorn.conf.py
    # sets it): worker k's jails use the k-th range of CONCURRENCY uids.
    "WORKER_INDEX": 0,
    "MAX_CONTENT_LENGTH": 256 * 1024,
    "RATELIMIT_STORAGE_URI": "memory://",
    # When the shared storage (Redis) cannot be reached, count in memory on
    # each node until it is back, rather than failing the request; and give
    # up on a call to it after this long, so a lost Redis is never a hang.
    "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
    "RATELIMIT_SWALLOW_ERRORS": True,
    "RATELIMIT_STORAGE_TIMEOUT_SECONDS": 0.5,
    "RATELIMIT_RUN": "30/minute;300/hour",
    "RATELIMIT_FETCH": "20/minute;200/hour",
    "RATELIMIT_SHARE": "30/minute;500/hour",
    # Proxies in front of the server that set X-Forwarded-For (0: none), so
    # the rate limits count the client's address, not the proxy's.
    "TRUSTED_PROXIES": 0,
    # Who may put the embed pages in an iframe: "*" any site, or origins.
    "EMBED_FRAME_ANCESTORS": "*",
}


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    from . import api, errors, headers, health, logs, metrics, pages, ratelimit, snippets, urlmode
    from .fetch import Fetcher
    from .runcache import RunCache
    from .sandbox import Sandbox

    instance_path = (test_config or {}).get("INSTANCE_PATH") or os.environ.get("PLAYGROUND_INSTANCE_PATH")
    app = Flask(
        __name__,
        instance_path=os.path.abspath(instance_path) if instance_path else None,
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("PLAYGROUND")
    if test_config is not None:
        app.config.from_mapping(test_config)

    app.extensions["playground.sandbox"] = Sandbox.from_config(app.config)
    app.extensions["playground.fetch"] = Fetcher.from_config(app.config)
    app.extensions["playground.runcache"] = RunCache.from_config(app.config)
    errors.register(app)
    headers.register(app)
    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(urlmode.bp)
    snippets.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(metrics.bp)
    ratelimit.register(app)
    proxies = int(app.config["TRUSTED_PROXIES"])
    logs.register(app, trust_proxy=proxies > 0)
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies)  # type: ignore[method-assign]
    return app
