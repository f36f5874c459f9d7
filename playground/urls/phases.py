"""URL mode's measurements: each URL's record of phases, and the hooks
that fill it.

A ``UrlRecord`` is one URL of a run: its task in the trace and the phases
measured so far. The phases come from aiohttp's ``TraceConfig``
(``trace_config``), plus two hooks of our own: the guard's socket factory
(a connection attempt starts; see :mod:`playground.urls.fetcher`) and an SSL
context whose ``wrap_bio`` marks the start of the TLS handshake
(``tls_context``).
"""

from __future__ import annotations

import contextvars
import ssl
from collections.abc import Callable, Coroutine
from types import SimpleNamespace
from typing import Any, Literal

import aiohttp

from playground.model.trace import MAX_NAME, MAX_TEXT, TaskRecord
from playground.urls import ssrf

PHASES = ("queued", "dns", "connect", "tls", "sent", "first_byte", "body")
PHASE_WORDS = {
    "queued": "waiting for a connection slot", "dns": "looking up the name", "connect": "connecting",
    "tls": "in the TLS handshake", "sent": "sending the request", "first_byte": "waiting for the first byte",
    "body": "reading the body",
}
NEXT_PHASE = {"queued": "connect", "dns": "connect", "connect": "sent", "tls": "sent", "sent": "first_byte",
              "first_byte": "body", "body": "body"}
# The request whose connection is being made, for the socket factory and the
# TLS context (aiohttp's trace context does not reach them).
current_record: contextvars.ContextVar[UrlRecord | None] = contextvars.ContextVar(
    "playground_fetch_record", default=None)



def rounded(t: float) -> float:
    return round(max(t, 0.0), 6)


def short_name(url: str) -> str:
    """The lane name of a URL: without the scheme, capped."""
    for prefix in ("https://", "http://"):
        if url.lower().startswith(prefix):
            url = url[len(prefix):]
            break
    return url if len(url) <= MAX_NAME else url[: MAX_NAME - 1] + "\u2026"


class UrlRecord:
    """One URL of a run: its task in the trace and the phases measured so far."""

    def __init__(self, index: int, url: str, clock: Callable[[], float],
                 peers: dict[tuple[str, int], str] | None = None) -> None:
        self.clock = clock
        # The address each (host, port) of the run last connected to, shared by
        # the run's records: a reused connection has no connect of its own.
        self.peers = {} if peers is None else peers
        self.url = url
        self.task = TaskRecord(
            id=index + 1, name=short_name(url) or "(empty)", coro="fetch", parent=None, line=None, created=0.0,
            url=url[: ssrf.MAX_URL_CHARS],
            http={"status": None, "bytes": 0, "content_type": None, "error": None},
            phases=[],
        )
        self.started = False
        self.finished = False
        self.hop_index = 0
        self.hop: ssrf.Hop | None = None
        self._open: dict[str, float] = {}
        self._last = 0.0

    @property
    def http(self) -> dict[str, Any]:
        assert self.task.http is not None
        return self.task.http

    @property
    def phases(self) -> list[dict[str, Any]]:
        assert self.task.phases is not None
        return self.task.phases

    def start(self) -> None:
        if not self.started:
            self.started = True
            self.task.created = rounded(self.clock())
            self._last = self.clock()

    def begin(self, name: str, at: float | None = None) -> None:
        if name not in self._open:
            self._open[name] = self.clock() if at is None else at

    def end(self, name: str) -> None:
        start = self._open.pop(name, None)
        if start is not None:
            self.add(name, start, self.clock())

    def add(self, name: str, start: float, end: float) -> None:
        self.phases.append({"name": name, "start": rounded(start), "end": rounded(max(end, start)),
                            "hop": self.hop_index})
        self._last = max(self._last, end)

    def since_last(self, name: str) -> None:
        """A phase from the end of the previous one until now."""
        self.add(name, self._last, self.clock())

    def current_phase(self) -> str:
        """Where the request is, in words: the phase open or, between two
        measured phases, the one that comes next."""
        if self._open:
            name = max(self._open.items(), key=lambda item: item[1])[0]
        elif self.phases:
            name = NEXT_PHASE.get(self.phases[-1]["name"], "connect")
        else:
            name = "connect"
        return PHASE_WORDS[name]

    def close_open(self) -> None:
        for name in list(self._open):
            self.end(name)

    def fail(self, kind: str, message: str, state: Literal["error", "cancelled"] = "error") -> None:
        self.close_open()
        message = message[:MAX_TEXT]
        self.http["error"] = message
        self.task.error = {"type": kind, "message": message, "line": None}
        self.task.state = state

    def finish(self) -> None:
        if self.finished:
            return
        self.finished = True
        self.close_open()
        if not self.started:
            self.start()
        self.task.ended = rounded(self.clock())
        if self.task.state == "pending":
            self.task.state = "done"


# ------------------------------------------------------------------ tracing hooks

def _record(ctx: SimpleNamespace) -> UrlRecord | None:
    record = getattr(ctx, "trace_request_ctx", None)
    return record if isinstance(record, UrlRecord) else None


def _on(action: Callable[[UrlRecord], None]) -> Callable[..., Coroutine[Any, Any, None]]:
    async def callback(session: Any, ctx: SimpleNamespace, params: Any) -> None:
        record = _record(ctx)
        if record is not None:
            action(record)
    return callback


def _request_start(record: UrlRecord) -> None:
    record._last = record.clock()


def _create_end(record: UrlRecord) -> None:
    if "tls" in record._open:
        record.end("tls")
    else:
        record.end("connect")


async def _request_end(session: Any, ctx: SimpleNamespace, params: aiohttp.TraceRequestEndParams) -> None:
    record = _record(ctx)
    if record is None:
        return
    record.since_last("first_byte")
    if record.hop is not None:
        record.http["address"] = record.peers.get((record.hop.host, record.hop.port))


def trace_config() -> aiohttp.TraceConfig:
    config = aiohttp.TraceConfig()
    config.on_request_start.append(_on(_request_start))
    config.on_connection_queued_start.append(_on(lambda r: r.begin("queued")))
    config.on_connection_queued_end.append(_on(lambda r: r.end("queued")))
    config.on_dns_resolvehost_start.append(_on(lambda r: r.begin("dns")))
    config.on_dns_resolvehost_end.append(_on(lambda r: r.end("dns")))
    config.on_connection_create_end.append(_on(_create_end))
    config.on_request_headers_sent.append(_on(lambda r: r.since_last("sent")))
    config.on_request_end.append(_request_end)
    config.freeze()
    return config


class TimedTLSContext(ssl.SSLContext):
    """A client SSL context that marks when a TLS handshake starts: asyncio
    calls ``wrap_bio`` once the TCP connection is up, before the handshake."""

    def wrap_bio(self, *args: Any, **kwargs: Any) -> ssl.SSLObject:
        record = current_record.get()
        if record is not None:
            record.end("connect")
            record.begin("tls")
        return super().wrap_bio(*args, **kwargs)


def tls_context(ca_file: str = "") -> ssl.SSLContext:
    context = TimedTLSContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_default_certs()
    if ca_file:
        context.load_verify_locations(ca_file)
    return context
