"""The JSON API of URL mode: fetch a list of URLs, and the equivalent code.

``POST /api/fetch`` answers with a trace (contract v1) whose tasks carry
``url``, ``http`` and ``phases``; a URL that fails is that URL's result, so a
run with failing URLs is still a 200. Errors of the request itself (no URLs,
too many, an unknown strategy, a bad limit) are 400s like the rest of the API.
``POST /api/fetch/code`` gives the Python code of a strategy: the real aiohttp
code, and a runnable twin for code mode.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify

from . import metrics
from .api import json_body
from .errors import RETRY_AFTER_SECONDS, APIError
from .fetch import DEFAULT_SEMAPHORE, STRATEGIES, Busy, Fetcher, Strategy
from .urlcode import MAX_OUTCOME, real_code, runnable_code
from .urllimits import BAD_LIMIT, BUSY, NO_URLS, TOO_MANY_URLS, FetchLimits

bp = Blueprint("urlmode", __name__, url_prefix="/api")

FETCH_FIELDS = {"urls", "strategy", "limit"}
CODE_FIELDS = {"urls", "strategy", "limit", "took", "outcomes"}
MAX_URL_FIELD_CHARS = 8192


def fetcher() -> Fetcher:
    return current_app.extensions["playground.fetch"]  # type: ignore[no-any-return]


def urls_field(body: dict[str, Any], limits: FetchLimits) -> list[str]:
    """The URLs: a list of strings; blank ones are skipped."""
    value = body.get("urls")
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise APIError(400, "wrong_fields", "Field 'urls' must be a list of strings, one URL each.")
    urls = []
    for item in value:
        text = item.strip()
        if not text:
            continue
        if len(text) > MAX_URL_FIELD_CHARS:
            raise APIError(413, "too_large", f"A URL is {len(text)} characters long; the limit is "
                                             f"{MAX_URL_FIELD_CHARS}.")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise APIError(400, "wrong_fields", "A URL holds invalid Unicode (a lone surrogate).") from None
        urls.append(text)
    if not urls:
        raise APIError(400, "no_urls", NO_URLS)
    if len(urls) > limits.max_urls:
        raise APIError(400, "too_many_urls", TOO_MANY_URLS.format(count=len(urls), max_urls=limits.max_urls))
    return urls


def strategy_field(body: dict[str, Any]) -> Strategy:
    strategy = body.get("strategy", "gather")
    if strategy not in STRATEGIES:
        raise APIError(400, "wrong_fields", f"Field 'strategy' must be one of {', '.join(STRATEGIES)}.")
    return strategy  # type: ignore[no-any-return]


def limit_field(body: dict[str, Any], limits: FetchLimits) -> int:
    limit = body.get("limit", DEFAULT_SEMAPHORE)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= limits.concurrency:
        raise APIError(400, "wrong_fields", BAD_LIMIT.format(concurrency=limits.concurrency))
    return limit


def took_field(body: dict[str, Any], count: int) -> list[float | None] | None:
    took = body.get("took")
    if took is None:
        return None
    if (not isinstance(took, list) or len(took) != count or not all(
            t is None or (not isinstance(t, bool) and isinstance(t, (int, float)) and 0 <= t <= 3600)
            for t in took)):
        raise APIError(400, "wrong_fields",
                       "Field 'took' must be a list of seconds (0 to 3600, or null), one for each URL.")
    return [None if t is None else float(t) for t in took]


def outcomes_field(body: dict[str, Any], count: int) -> list[str | None] | None:
    outcomes = body.get("outcomes")
    if outcomes is None:
        return None
    if (not isinstance(outcomes, list) or len(outcomes) != count or not all(
            o is None or (isinstance(o, str) and len(o) <= MAX_OUTCOME) for o in outcomes)):
        raise APIError(400, "wrong_fields",
                       f"Field 'outcomes' must be a list of short strings (up to {MAX_OUTCOME} characters, "
                       "or null), one for each URL.")
    try:
        "".join(o or "" for o in outcomes).encode("utf-8")
    except UnicodeEncodeError:
        raise APIError(400, "wrong_fields", "Field 'outcomes' holds invalid Unicode (a lone surrogate).") from None
    return outcomes


@bp.post("/fetch")
async def fetch() -> Response:
    service = fetcher()
    body = json_body(FETCH_FIELDS)
    urls = urls_field(body, service.limits)
    strategy = strategy_field(body)
    limit = limit_field(body, service.limits)
    try:
        trace = await service.run(urls, strategy, limit)
    except Busy:
        raise APIError(503, "busy", BUSY, retry_after=RETRY_AFTER_SECONDS) from None
    metrics.FETCHES.labels(trace.status).inc()
    g.run_status = trace.status
    response = jsonify(trace.to_json())
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/fetch/code")
def code() -> Response:
    limits = fetcher().limits
    body = json_body(CODE_FIELDS)
    urls = urls_field(body, limits)
    strategy = strategy_field(body)
    limit = limit_field(body, limits)
    took = took_field(body, len(urls))
    outcomes = outcomes_field(body, len(urls))
    return jsonify(
        strategy=strategy,
        code=real_code(urls, strategy, limit),
        runnable=runnable_code(urls, strategy, limit, took, outcomes),
    )
