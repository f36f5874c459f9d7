"""Per-client rate limits on the calls that start work (Flask-Limiter).

Each client (by address; set ``TRUSTED_PROXIES`` behind a proxy so the
address is the client's) may start ``RATELIMIT_RUN`` runs, e.g.
``"30/minute;300/hour"``. Counts live in ``RATELIMIT_STORAGE_URI``:
``memory://`` for one process, ``redis://...`` shared by several nodes.
Past a limit the call answers 429 with ``Retry-After`` (see errors.py).
When Redis cannot be reached, each node counts in memory until it is back
(Flask-Limiter's in-memory fallback), so a lost Redis never fails a request.
"""

from __future__ import annotations

import math
import time
from typing import Any

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from playground.settings import Settings

EXTENSION = "playground.limiter"


def limited_endpoints(settings: Settings) -> dict[str, str]:
    """Endpoints that start work (a jail, fetches from the server, a write
    to the database), and their limit."""
    return {
        "api.run": settings.ratelimit_run,
        "urlmode.fetch": settings.ratelimit_fetch,
        "snippets.create": settings.ratelimit_share,
    }


def register(app: Flask, settings: Settings) -> None:
    """Put the limiter on ``app``; call after the blueprints are registered."""
    uri = settings.ratelimit_storage_uri
    options: dict[str, Any] = {}
    if uri.startswith(("redis://", "rediss://", "redis+unix://")):
        timeout = settings.ratelimit_storage_timeout_seconds
        options = {"socket_connect_timeout": timeout, "socket_timeout": timeout}
    limiter = Limiter(get_remote_address, app=app, storage_uri=uri, storage_options=options)
    app.extensions[EXTENSION] = limiter
    for endpoint, limit in limited_endpoints(settings).items():
        # Flask-Limiter checks a decorated limit in the view's wrapper, so the
        # registered view is replaced by the wrapped one.
        view: Any = app.view_functions[endpoint]
        app.view_functions[endpoint] = limiter.limit(limit)(view)


def retry_after(default: int) -> int:
    """Seconds until the limit this request broke lets the client in again."""
    limiter: Limiter | None = current_app.extensions.get(EXTENSION)
    limit = limiter.current_limit if limiter is not None else None
    if limit is None or not limit.breached:
        return default
    reset_time = limit.window[0]  # when the breached window ends (epoch seconds)
    return max(1, math.ceil(reset_time - time.time()))
