"""The JSON API of URL mode: fetch a list of URLs, and the equivalent code.

``POST /api/fetch`` answers with a trace (contract v1) whose tasks carry
``url``, ``http`` and ``phases``; a URL that fails is that URL's result, so a
run with failing URLs is still a 200. Errors of the request itself (no URLs,
too many, an unknown strategy, a bad limit) are 400s like the rest of the API.
``POST /api/fetch/code`` gives the Python code of a strategy: the real aiohttp
code (with the block naming the Python it is for, ``python`` or the
default), and a runnable twin for code mode.
"""

from __future__ import annotations

from flask import Blueprint, Response, g, jsonify

from playground.ops import metrics
from playground.services import services
from playground.urls.codegen import real_script, runnable_code
from playground.urls.fetcher import Busy
from playground.urls.limits import BUSY
from playground.web.errors import RETRY_AFTER_SECONDS, APIError
from playground.web.requests import FetchCodeRequest, FetchRequest, json_body

bp = Blueprint("urlmode", __name__, url_prefix="/api")


@bp.post("/fetch")
async def fetch() -> Response:
    fetcher = services().fetcher
    asked = FetchRequest.parse(json_body(FetchRequest.FIELDS), fetcher.limits)
    try:
        trace = await fetcher.run(asked.urls, asked.strategy, asked.limit)
    except Busy:
        raise APIError(503, "busy", BUSY, retry_after=RETRY_AFTER_SECONDS) from None
    metrics.FETCHES.labels(trace.status).inc()
    g.run_status = trace.status
    response = jsonify(trace.to_json())
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/fetch/code")
def code() -> Response:
    found = services()
    asked = FetchCodeRequest.parse(json_body(FetchCodeRequest.FIELDS), found.fetcher.limits, found.sandbox.pythons)
    fetch = asked.fetch
    return jsonify(
        strategy=fetch.strategy,
        code=real_script(fetch.urls, fetch.strategy, fetch.limit, asked.python),
        runnable=runnable_code(fetch.urls, fetch.strategy, fetch.limit, asked.took, asked.outcomes),
    )
