"""Logs an operator can search: one JSON line per request, with a request id.

Every request gets an id (the trusted proxy's ``X-Request-Id`` when there is
one, else a new one), returned as the ``X-Request-Id`` header and written on
every log line made while it is answered. When it is answered, one line
says what it was: method, path, endpoint, status, duration, client address
and, for a run, the run's status. Never the snippet's code, its output, a
URL list, a query string or a request body: people's code is theirs, and
logs travel further than the server.

``LOGGING`` is the logging configuration (for ``logging.config.dictConfig``,
gunicorn's ``logconfig_dict``): everything, gunicorn's own lines too, as
JSON on standard error.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from flask import Flask, Response, g, has_request_context, request

from playground.ops import metrics

REQUEST_ID_HEADER = "X-Request-Id"
# An id from the proxy is kept when it looks like one; anything else is replaced.
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._-]{8,64}")

log = logging.getLogger("playground.requests")

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "playground.ops.logs.RequestIdFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": ["asctime", "levelname", "name", "process", "message"],
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger", "process": "pid"},
            "timestamp": False,
        },
    },
    "handlers": {
        "json": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
            "formatter": "json",
            "filters": ["request_id"],
        },
    },
    "root": {"level": "INFO", "handlers": ["json"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["json"], "propagate": False},
        # One line per request comes from the app, with the request id.
        "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": False},
    },
}


class RequestIdFilter(logging.Filter):
    """Puts the id of the request being answered on every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id") and has_request_context() and "request_id" in g:
            record.request_id = g.request_id
        return True


def register(app: Flask, trust_proxy: bool) -> None:
    @app.before_request
    def begin() -> None:
        g.request_started = time.perf_counter()
        given = request.headers.get(REQUEST_ID_HEADER, "") if trust_proxy else ""
        g.request_id = given if REQUEST_ID_PATTERN.fullmatch(given) else uuid.uuid4().hex

    @app.after_request
    def end(response: Response) -> Response:
        started = g.get("request_started")
        if started is None:  # failed before begin() (e.g. a routing error)
            begin()
            started = g.request_started
        seconds = time.perf_counter() - started
        response.headers[REQUEST_ID_HEADER] = g.request_id
        endpoint = request.endpoint or "none"
        if endpoint != "static":
            metrics.REQUESTS.labels(endpoint, str(response.status_code)).inc()
            metrics.REQUEST_SECONDS.labels(endpoint).observe(seconds)
        fields: dict[str, Any] = {
            "request_id": g.request_id,
            "method": request.method,
            "path": request.path,
            "endpoint": endpoint,
            "status": response.status_code,
            "duration_ms": round(seconds * 1000, 1),
            "client": request.remote_addr,
        }
        if "run_status" in g:
            fields["run_status"] = g.run_status
        log.info("request", extra=fields)
        return response
