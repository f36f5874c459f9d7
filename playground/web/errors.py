"""Request errors as JSON: ``{"error": {"code": ..., "message": ...}}``.

Everything under ``/api/`` answers this way, never with an HTML page or a
traceback; the messages say what to do next.
"""

from __future__ import annotations

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException, InternalServerError

from playground.ops import metrics

RETRY_AFTER_SECONDS = 5

MESSAGES = {
    400: "The request is not valid.",
    404: "There is nothing at this address.",
    405: "This address does not take that method.",
    413: "The request body is too large.",
    415: "Send the request as JSON (Content-Type: application/json).",
    429: "Too many requests from your address.",
    500: "The server failed on this request. It has been logged; try again.",
    503: "The playground is busy right now.",
}


class APIError(HTTPException):
    """An error of the request itself, with a stable code and a message."""

    def __init__(self, status: int, code: str, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.code = status
        self.error_code = code
        self.message = message
        self.retry_after = retry_after


def error_response(status: int, code: str, message: str, retry_after: int | None = None) -> Response:
    metrics.REJECTIONS.labels(request.endpoint or "none", code).inc()
    response = jsonify(error={"code": code, "message": message})
    response.status_code = status
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def register(app: Flask) -> None:
    @app.errorhandler(APIError)
    def api_error(error: APIError) -> Response:
        return error_response(error.code or 500, error.error_code, error.message, error.retry_after)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response | HTTPException:
        if not _wants_json():
            return error
        status = error.code or 500
        name = (error.name or "error").lower().replace(" ", "_")
        retry = RETRY_AFTER_SECONDS if status in (429, 503) else None
        return error_response(status, name, MESSAGES.get(status, error.description or name), retry)

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception) -> Response | HTTPException:
        app.logger.exception("unhandled error on %s", request.path)
        if not _wants_json():
            return InternalServerError()
        return error_response(500, "internal_error", MESSAGES[500])
