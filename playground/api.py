"""The JSON API: run a snippet, list the examples.

Requests are checked before any work: JSON only (415), within the body size
(413), an object with exactly the documented fields (400). A snippet's own
failure, a limit or a timeout is a normal 200 whose trace ``status`` says so.
"""

from __future__ import annotations

import gzip
import json
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from . import metrics
from .errors import RETRY_AFTER_SECONDS, APIError
from .examples import EXAMPLES
from .runcache import RunCache
from .sandbox import Busy, JailUnavailable, Sandbox
from .trace import COLUMNAR

bp = Blueprint("api", __name__, url_prefix="/api")

CLOCKS = ("virtual", "real")
# Traces are repetitive JSON: above this size, gzip them for clients that
# accept it (a 20,000-task trace shrinks about eightfold).
COMPRESS_ABOVE_BYTES = 16 * 1024
RUN_FIELDS = {"code", "clock", "format"}
# The trace as contract v1 (the default), or in the compact columnar form a
# client asks for (see docs/trace.md).
FORMATS = ("v1", COLUMNAR)


def sandbox() -> Sandbox:
    return current_app.extensions["playground.sandbox"]  # type: ignore[no-any-return]


def run_cache() -> RunCache:
    return current_app.extensions["playground.runcache"]  # type: ignore[no-any-return]


def json_body(allowed: set[str]) -> dict[str, Any]:
    """The request's JSON object, or an APIError saying what is wrong."""
    if not request.is_json:
        raise APIError(415, "unsupported_media_type",
                       "Send the request as JSON, with Content-Type: application/json.")
    raw = request.get_data(cache=False)  # raises 413 past a declared MAX_CONTENT_LENGTH
    limit = request.max_content_length
    if request.content_length is None and limit is not None and len(raw) >= limit:
        # A body of unannounced length (chunked) is read only up to the limit;
        # reaching it means there was more.
        raise RequestEntityTooLarge()
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise APIError(400, "malformed_json", f"The body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise APIError(400, "wrong_fields", "The body must be a JSON object.")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise APIError(400, "wrong_fields",
                       f"Unknown field {unknown[0]!r}; this call takes {', '.join(sorted(allowed))}.")
    return body


def text_field(body: dict[str, Any], name: str, max_bytes: int) -> str:
    value = body.get(name)
    if not isinstance(value, str):
        raise APIError(400, "wrong_fields", f"Field {name!r} must be a string.")
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise APIError(400, "wrong_fields", f"Field {name!r} holds invalid Unicode (a lone surrogate).") from None
    if size > max_bytes:
        raise APIError(413, "too_large",
                       f"Field {name!r} is {size} bytes; the limit is {max_bytes} bytes.")
    return value


def clock_field(body: dict[str, Any]) -> str:
    clock = body.get("clock", "virtual")
    if clock not in CLOCKS:
        raise APIError(400, "wrong_fields", "Field 'clock' must be 'virtual' or 'real'.")
    return clock  # type: ignore[no-any-return]


def format_field(body: dict[str, Any]) -> str:
    answer_format = body.get("format", "v1")
    if answer_format not in FORMATS:
        raise APIError(400, "wrong_fields", "Field 'format' must be 'v1' or 'columnar'.")
    return answer_format  # type: ignore[no-any-return]


@bp.post("/run")
def run() -> Response:
    service = sandbox()
    body = json_body(RUN_FIELDS)
    code = text_field(body, "code", service.limits.code_bytes)
    clock = clock_field(body)
    answer_format = format_field(body)

    def compute() -> dict[str, Any]:
        trace = service.run(code, clock)  # type: ignore[arg-type]
        g.run_status = trace.status
        return trace.to_columnar() if answer_format == COLUMNAR else trace.to_json()

    try:
        # The same snippet on the virtual clock within RUN_CACHE_SECONDS runs once (per format).
        answer = run_cache().run(code, clock, compute, variant=answer_format)
    except Busy:
        raise APIError(503, "busy", "All jails are busy and the queue is full: try again in a few seconds.",
                       retry_after=RETRY_AFTER_SECONDS) from None
    except JailUnavailable as exc:
        raise APIError(503, "sandbox_unavailable", str(exc), retry_after=60) from None
    if "run_status" not in g:
        g.run_status = "cached"
        metrics.RUN_CACHE_ANSWERS.inc()
    response = current_app.response_class(answer, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return compressed(response)


def compressed(response: Response) -> Response:
    """The response gzipped, when it is large and the client accepts gzip."""
    response.vary.add("Accept-Encoding")
    body = response.get_data()
    if len(body) < COMPRESS_ABOVE_BYTES or not request.accept_encodings["gzip"]:
        return response
    response.set_data(gzip.compress(body, compresslevel=5))
    response.headers["Content-Encoding"] = "gzip"
    return response


@bp.get("/examples")
def examples() -> Response:
    return jsonify(examples=[example.to_json() for example in EXAMPLES])
