"""Per-client rate limits on the calls that start work.

A client is its address (set ``TRUSTED_PROXIES`` behind a proxy so the
address is the client's, as Flask-Limiter's ``get_remote_address`` then
sees it). Counts live in ``RATELIMIT_STORAGE_URI``: ``memory://`` for one
process, ``redis://...`` shared by several nodes. When Redis cannot be
reached, each node counts in memory until it is back, so a lost Redis never
fails a request.

**Runs** are limited by what they use: seconds of a jail slot
(``RATELIMIT_RUN_SECONDS``, e.g. ``"60/minute;1800/hour"``, in the
notation of the ``limits`` library). A run counts the time it held its slot
(the trace's ``wall``), at least ``RUN_FLOOR_SECONDS``, the server's own
cost of a run (measured: ``bench/load.py`` prints it as CPU per run).
``check_run`` is called before a run starts: past a limit it answers 429
with ``Retry-After`` (until the window lets the client in again); else it
reserves the floor. ``charge_run`` charges the rest after the run. Only
real runs count: the run cache calls them around a run, never for a cached
answer or one shared with another request's run.

**URL-mode fetches and saved snippets** count requests
(``RATELIMIT_FETCH``, ``RATELIMIT_SHARE``), with Flask-Limiter's decorator.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Response, current_app
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, Storage
from limits.strategies import FixedWindowRateLimiter, RateLimiter

from playground.settings import Settings
from playground.web.errors import RETRY_AFTER_SECONDS, APIError, error_response

EXTENSION = "playground.limiter"
BUDGET = "playground.run_budget"
# The least a run counts: what any run costs the node. Measured on 2 cores
# with the gather example: its trace's wall is about 9 ms, it holds its slot
# about 13 ms (handing the code to a warm run, forking the next), and the
# server and the jail spend 12 to 15 ms of CPU on it (bench/load.py's "CPU
# ms/run"), 2 ms of it in the request's own thread.
RUN_FLOOR_SECONDS = 0.02
# Slot-seconds are counted in milliseconds (the storage counts integers).
_MILLIS = 1000
_SCOPE = "run_seconds"
# After the shared storage failed, count in memory this long before trying it again.
STORAGE_RETRY_SECONDS = 10.0

RATE_LIMITED_MESSAGE = "Too many requests from your address: the limit is {limit}."
RUN_LIMITED_MESSAGE = ("Runs from your network have used their share of the playground for now "
                       "(at most {limit} of running time).")

log = logging.getLogger(__name__)
T = TypeVar("T")


def limited_endpoints(settings: Settings) -> dict[str, str]:
    """Endpoints limited by a count of requests, and their limit (runs are
    limited by their time instead: ``check_run``)."""
    return {
        "urlmode.fetch": settings.ratelimit_fetch,
        "snippets.create": settings.ratelimit_share,
    }


class RunBudget:
    """The slot-seconds each client may use, in a storage of the ``limits``
    library (with one in memory while that one fails)."""

    def __init__(self, limits: str, storage: Storage, floor: float = RUN_FLOOR_SECONDS) -> None:
        self.items = parse_many(limits)
        self._counted = [type(item)(item.amount * _MILLIS, item.multiples) for item in self.items]
        self._floor = math.ceil(floor * _MILLIS)
        self._shared = FixedWindowRateLimiter(storage)
        self._local = FixedWindowRateLimiter(MemoryStorage())
        self._shared_again_at = 0.0
        self._lock = threading.Lock()

    def reserve(self, client: str) -> tuple[float, RateLimitItem] | None:
        """None when ``client`` may start a run (its floor is then counted);
        else how long until it may, and the limit it is past."""

        def check(limiter: RateLimiter) -> tuple[float, RateLimitItem] | None:
            past = [(limiter.get_window_stats(counted, _SCOPE, client).reset_time - time.time(), item)
                    for item, counted in zip(self.items, self._counted, strict=True)
                    if not limiter.test(counted, _SCOPE, client, cost=self._floor)]
            if past:
                return max(past, key=lambda wait_and_item: wait_and_item[0])
            for counted in self._counted:
                limiter.hit(counted, _SCOPE, client, cost=self._floor)
            return None

        return self._with_storage(check)

    def charge(self, client: str, seconds: float) -> None:
        """Count the rest of a run that held its slot ``seconds``."""
        rest = math.ceil(seconds * _MILLIS) - self._floor
        if rest <= 0:
            return

        def hit(limiter: RateLimiter) -> None:
            for counted in self._counted:
                limiter.hit(counted, _SCOPE, client, cost=rest)

        self._with_storage(hit)

    def _with_storage(self, action: Callable[[RateLimiter], T]) -> T:
        with self._lock:
            shared = time.monotonic() >= self._shared_again_at
        if shared:
            try:
                return action(self._shared)
            except Exception:  # the storage's own errors: connection, timeout, ...
                log.warning("rate-limit storage unreachable: counting runs in memory for %g s",
                            STORAGE_RETRY_SECONDS, exc_info=True)
                with self._lock:
                    self._shared_again_at = time.monotonic() + STORAGE_RETRY_SECONDS
        return action(self._local)


def register(app: Flask, settings: Settings) -> None:
    """Put the limits on ``app``; call after the blueprints are registered."""
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
    if settings.ratelimit_enabled:
        app.extensions[BUDGET] = RunBudget(settings.ratelimit_run_seconds, limiter.storage)

    @app.errorhandler(RateLimitExceeded)
    def rate_limited(error: RateLimitExceeded) -> Response:
        wait = retry_after(RETRY_AFTER_SECONDS)
        return error_response(429, "rate_limited", RATE_LIMITED_MESSAGE.format(limit=error.limit.limit), wait)


def client_address() -> str:
    """The address the limits and admission count a request under."""
    return get_remote_address()


def check_run(client: str) -> None:
    """Before a run: raise a 429 ``APIError`` when ``client`` has used its
    slot-seconds, with ``Retry-After`` until the window lets it in."""
    budget: RunBudget | None = current_app.extensions.get(BUDGET)
    refused = budget.reserve(client) if budget is not None else None
    if refused is not None:
        wait, item = refused
        raise APIError(429, "rate_limited", RUN_LIMITED_MESSAGE.format(limit=_seconds_per(item)),
                       retry_after=max(1, math.ceil(wait)))


def charge_run(client: str, seconds: float) -> None:
    """After a real run that held its slot ``seconds`` (the trace's ``wall``)."""
    budget: RunBudget | None = current_app.extensions.get(BUDGET)
    if budget is not None:
        budget.charge(client, seconds)


def _seconds_per(item: RateLimitItem) -> str:
    """``60 s per minute``, ``100 s per 10 minutes``."""
    window = item.GRANULARITY.name if item.multiples == 1 else f"{item.multiples} {item.GRANULARITY.name}s"
    return f"{item.amount} s per {window}"


def retry_after(default: int) -> int:
    """Seconds until the limit this request broke lets the client in again."""
    limiter: Limiter | None = current_app.extensions.get(EXTENSION)
    limit = limiter.current_limit if limiter is not None else None
    if limit is None or not limit.breached:
        return default
    reset_time = limit.window[0]  # when the breached window ends (epoch seconds)
    return max(1, math.ceil(reset_time - time.time()))
