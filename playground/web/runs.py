"""``POST /api/run`` (run a snippet, answer its trace), ``GET /api/pythons``
(the Pythons a run can pick) and ``GET /api/examples``.

A snippet's own failure, a limit or a timeout is a normal 200 whose trace
``status`` says so; only errors of the request itself are 4xx, and a server
that cannot run code now is a 503 with ``Retry-After``. The trace is encoded
once, as UTF-8 JSON of at most ``LIMIT_ANSWER_BYTES``, and the run cache
keeps those bytes.
"""

from __future__ import annotations

import gzip
import math

from flask import Blueprint, Response, current_app, g, jsonify, request

from playground.model.answer import EncodedTrace
from playground.model.columnar import COLUMNAR, to_columnar
from playground.model.trace import Event, Trace
from playground.ops import metrics
from playground.sandbox.limits import ANSWER_MESSAGE, Limits, limit_message
from playground.sandbox.service import Busy, JailUnavailable, LiveRun, UnknownPython
from playground.services import Services, services
from playground.sharing.examples import EXAMPLES
from playground.web import live
from playground.web.errors import APIError
from playground.web.ratelimit import charge_run, check_run, client_address
from playground.web.requests import RunRequest, json_body

bp = Blueprint("api", __name__, url_prefix="/api")

# Traces are repetitive JSON: above this size, gzip them for clients that
# accept it (a 20,000-task trace shrinks about eightfold).
COMPRESS_ABOVE_BYTES = 16 * 1024
# Read by learners; the page adds when it tries again (Retry-After).
BUSY_MESSAGE = "Many people are running code right now, so yours cannot start yet."
SANDBOX_RETRY_SECONDS = 60


@bp.post("/run")
def run() -> Response:
    found = services()
    asked = RunRequest.parse(json_body(RunRequest.FIELDS), found.sandbox.limits, found.sandbox.pythons)
    client = client_address()
    if live.wants_event_stream():
        g.run_status = "live"
        return live.event_stream(lambda run: answer(found, asked, client, run), api_error)
    try:
        body, ran = answer(found, asked, client)
    except Exception as exc:
        raise api_error(exc) from None
    if not ran:
        metrics.RUN_CACHE_ANSWERS.inc()
    g.run_status = ran.status if ran else "cached"
    response = current_app.response_class(body, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return compressed(response)


def answer(found: Services, asked: RunRequest, client: str,
           live_run: LiveRun | None = None) -> tuple[bytes, Trace | None]:
    """The answer's JSON for ``asked`` from ``client`` (its address), and the
    trace of the run made for it (None: the run cache answered, or another
    request's run did), told to ``live_run`` as it goes on; raises what
    ``Sandbox.run`` raises, and the 429 of the client's rate limit."""
    ran: list[Trace] = []

    def compute() -> EncodedTrace:
        # Only a real run counts against the client's slot-seconds: never a
        # cached answer, nor one shared with another request's run.
        check_run(client)
        trace = found.sandbox.run(asked.code, asked.clock, python=asked.python, live=live_run, client=client)
        charge_run(client, trace.wall)
        ran.append(trace)
        return encoded(trace, asked.answer_format, found.sandbox.limits)

    # The same snippet on the virtual clock within RUN_CACHE_SECONDS runs
    # once (per format and per Python: the default is resolved, so a new
    # default never answers with another version's trace).
    body = found.run_cache.run(asked.code, asked.clock, compute, variant=asked.answer_format,
                               python=asked.python or "")
    return body, (ran[0] if ran else None)


def api_error(exc: Exception) -> Exception:
    """The API's error for what ``Sandbox.run`` raised (anything else as it is)."""
    if isinstance(exc, Busy):  # the predicted wait for a slot is too long
        return APIError(503, "busy", BUSY_MESSAGE, retry_after=max(1, math.ceil(exc.retry_after)))
    if isinstance(exc, UnknownPython):  # the request named a Python, and there are none
        return APIError(400, "unknown_python", str(exc))
    if isinstance(exc, JailUnavailable):
        return APIError(503, "sandbox_unavailable", str(exc), retry_after=SANDBOX_RETRY_SECONDS)
    return exc


def encoded(trace: Trace, answer_format: str, limits: Limits) -> EncodedTrace:
    """The trace as the answer's JSON, encoded once, in the format asked for.
    The stream parser keeps it within ``LIMIT_ANSWER_BYTES`` as it builds
    the trace; should an answer pass that all the same, it goes without its
    items, cut, rather than whole."""

    def encode(trace: Trace) -> EncodedTrace:
        return EncodedTrace(to_columnar(trace) if answer_format == COLUMNAR else trace.to_answer())

    answer = encode(trace)
    if len(answer.body) <= limits.answer_bytes:
        return answer
    cut = Trace(status=trace.status, clock=trace.clock, duration=trace.duration, wall=trace.wall, truncated=True,
                limits=[*trace.limits, {"name": "answer_bytes", "value": limits.answer_bytes}])
    cut.events.append(Event(trace.duration, "limit", None, limit_message(ANSWER_MESSAGE, limits)))
    return encode(cut)


def compressed(response: Response) -> Response:
    """The response gzipped, when it is large and the client accepts gzip."""
    response.vary.add("Accept-Encoding")
    body = response.get_data()
    if len(body) < COMPRESS_ABOVE_BYTES or not request.accept_encodings["gzip"]:
        return response
    response.set_data(gzip.compress(body, compresslevel=5))
    response.headers["Content-Encoding"] = "gzip"
    return response


@bp.get("/pythons")
def pythons() -> Response:
    """The Pythons a run can pick, oldest first, the default marked."""
    response = jsonify(pythons=services().sandbox.pythons.listing())
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/examples")
def examples() -> Response:
    return jsonify(examples=[example.to_json() for example in EXAMPLES])
