"""URL mode: fetch a list of URLs under a strategy and trace every request's phases.

The server itself fetches (aiohttp, never the jail), behind the SSRF guard of
:mod:`playground.urls.ssrf` and within the caps of :mod:`playground.urls.limits`. Each URL becomes one task
of an ordinary trace (contract v1) carrying ``url``, ``http`` and ``phases``,
so the page's timeline draws a run as a waterfall:

- ``queued``: waiting for the semaphore or for a free connection slot;
- ``dns``, ``connect``, ``tls``: opening a connection (absent when one is reused);
- ``sent``: writing the request; ``first_byte``: waiting for the answer's head;
- ``body``: reading the body (at most ``body_bytes``; the rest is not read).

The phases are measured by :mod:`playground.urls.phases`. Redirects are
followed by hand, each hop checked by the guard; every hop's phases are kept.
A failing URL is that URL's result (``http.error`` and the task's ``error``),
never a failed run.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, Literal

import aiohttp
from aiohttp.abc import AbstractResolver
from yarl import URL

from playground.model.trace import MAX_NAME, Event, Output, Trace
from playground.urls import ssrf
from playground.urls.limits import (
    BODY_CUT,
    HEADERS_TOO_LARGE,
    REQUEST_TIMEOUT,
    TOO_MANY_REDIRECTS,
    TOTAL_TIMEOUT,
    FetchLimits,
    size_text,
)
from playground.urls.phases import UrlRecord, current_record, rounded, tls_context, trace_config

log = logging.getLogger(__name__)

Strategy = Literal["sequential", "gather", "semaphore", "as_completed", "taskgroup"]
STRATEGIES: tuple[Strategy, ...] = ("sequential", "gather", "semaphore", "as_completed", "taskgroup")
DEFAULT_SEMAPHORE = 3
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
READ_CHUNK = 64 * 1024
MAX_CONTENT_TYPE = 200

class Busy(Exception):
    """Too many URL-mode runs at once in this process."""


class TooManyRedirects(Exception):
    pass


# ------------------------------------------------------------------ failures

def describe_failure(exc: BaseException, record: UrlRecord, limits: FetchLimits) -> tuple[str, str]:
    """``(type, message)`` for a URL that failed: what happened, in words."""
    hop = record.hop
    if hop is not None and hop.refusal is not None:
        return "Refused", _redirect_prefix(record) + hop.refusal
    # A refusal met by another request (a lookup shared by two requests for
    # one host) reaches this one wrapped in aiohttp's connection error.
    inner = getattr(exc, "os_error", None) or exc.__cause__
    if isinstance(inner, ssrf.Refused) and not isinstance(exc, ssrf.Refused):
        return "Refused", _redirect_prefix(record) + inner.message
    host = f"{hop.host}:{hop.port}" if hop is not None else "the server"
    # The guard's word on a URL already names the redirect it came from.
    if isinstance(exc, ssrf.Refused):
        return "Refused", exc.message
    if isinstance(exc, ssrf.BadURL):
        return "BadURL", exc.message
    if isinstance(exc, TooManyRedirects):
        return "TooManyRedirects", TOO_MANY_REDIRECTS.format(max_redirects=limits.max_redirects)
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return "DNSError", f"Could not look up {hop.host if hop else 'the host'}: {_os_reason(exc)}."
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return "TLSError", f"The TLS certificate of {host} was not accepted: {exc.certificate_error}."
    if isinstance(exc, aiohttp.ClientSSLError):
        return "TLSError", f"The TLS handshake with {host} failed: {_os_reason(exc)}."
    if isinstance(exc, aiohttp.ClientConnectorError):
        if exc.os_error.errno == errno.ECONNREFUSED:
            return "ConnectionRefused", f"{host} refused the connection (nothing listens there)."
        return "ConnectError", f"Could not connect to {host}: {_os_reason(exc)}."
    if isinstance(exc, aiohttp.ClientResponseError):
        text = str(exc.message)
        if any(sign in text.lower() for sign in ("too long", "too many headers", "too large", "got more than")):
            return "HeadersTooLarge", HEADERS_TOO_LARGE.format(header_bytes=limits.header_bytes,
                                                               max_headers=limits.max_headers)
        return "BadResponse", f"The answer of {host} is not valid HTTP: {text}."
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "Disconnected", f"{host} closed the connection before answering completely."
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "BadBody", f"The body from {host} could not be read: {exc}."
    if isinstance(exc, aiohttp.InvalidURL):
        return "BadURL", f"Not a valid URL: {exc}."
    if isinstance(exc, aiohttp.ClientError):
        return type(exc).__name__, f"The request to {host} failed: {exc or type(exc).__name__}."
    log.warning("unexpected failure fetching %r", record.url, exc_info=exc)
    return "Error", f"The request failed: {type(exc).__name__}: {exc}."


def _os_reason(exc: aiohttp.ClientConnectorError) -> str:
    error = exc.os_error
    if error.strerror:
        return str(error.strerror)
    return str(error) or type(error).__name__


def _redirect_prefix(record: UrlRecord) -> str:
    if record.hop_index == 0:
        return ""
    return f"After {record.hop_index} redirect{'s' if record.hop_index > 1 else ''}: "


# ------------------------------------------------------------------ the run

class Fetcher:
    """Runs URL-mode fetches: one ``ClientSession`` per run, no cookies kept."""

    def __init__(self, limits: FetchLimits,
                 resolver_factory: Callable[[], AbstractResolver] | None = None) -> None:
        self.limits = limits
        self.guard = ssrf.Guard(limits.allow, limits.ports)
        self.resolver_factory = resolver_factory or aiohttp.ThreadedResolver
        self._runs = threading.BoundedSemaphore(limits.runs)
        self._tls = tls_context(limits.ca_file)  # loading the CA store takes tens of ms: once

    def socket_factory(self, addr_info: Any) -> Any:
        sock = self.guard.socket_factory(addr_info)
        record = current_record.get()
        if record is not None:
            record.begin("connect")
            if record.hop is not None:
                record.peers[(record.hop.host, record.hop.port)] = str(addr_info[4][0])
        return sock

    async def run(self, urls: list[str], strategy: Strategy = "gather", limit: int = DEFAULT_SEMAPHORE) -> Trace:
        """Fetch ``urls`` under ``strategy``; raises ``Busy`` when too many runs are going on."""
        if not self._runs.acquire(blocking=False):
            raise Busy()
        try:
            return await self._run(urls, strategy, limit)
        finally:
            self._runs.release()

    async def _run(self, urls: list[str], strategy: Strategy, limit: int) -> Trace:
        loop = asyncio.get_running_loop()
        wall_started = time.perf_counter()
        connector = aiohttp.TCPConnector(
            limit=self.limits.concurrency,
            resolver=ssrf.GuardedResolver(self.resolver_factory()),
            ssl=self._tls,
            socket_factory=self.socket_factory,
        )
        session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            trace_configs=[trace_config()],
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=self.limits.request_seconds),
            headers={"User-Agent": self.limits.user_agent},
            auto_decompress=False,
            max_line_size=self.limits.header_bytes,
            max_field_size=self.limits.header_bytes,
            max_headers=self.limits.max_headers,
            trust_env=False,
        )
        started = loop.time()

        def clock() -> float:
            return loop.time() - started

        peers: dict[tuple[str, int], str] = {}
        records = [UrlRecord(i, url, clock, peers) for i, url in enumerate(urls)]
        trace = Trace(status="ok", clock="real")
        async with session:
            try:
                async with asyncio.timeout(self.limits.total_seconds):
                    await self._strategy(session, records, strategy, limit, trace)
            except TimeoutError:
                trace.status = "timeout"
                trace.events.append(Event(rounded(clock()), "limit", None,
                                          TOTAL_TIMEOUT.format(total_seconds=self.limits.total_seconds)))
        for record in records:
            if not record.finished:
                record.start()
                record.fail("Cancelled", TOTAL_TIMEOUT.format(total_seconds=self.limits.total_seconds), "cancelled")
                record.finish()
        trace.tasks = [record.task for record in records]
        trace.output.sort(key=lambda line: line.t)
        trace.duration = max([0.0, *(record.task.ended or 0.0 for record in records)])
        trace.wall = rounded(time.perf_counter() - wall_started)
        return trace

    async def _strategy(self, session: aiohttp.ClientSession, records: list[UrlRecord],
                        strategy: Strategy, limit: int, trace: Trace) -> None:
        def one(record: UrlRecord) -> Coroutine[Any, Any, UrlRecord]:
            return self.fetch_one(session, record, trace)

        if strategy == "sequential":
            for record in records:
                await one(record)
        elif strategy == "gather":
            await asyncio.gather(*(one(record) for record in records))
        elif strategy == "semaphore":
            semaphore = asyncio.Semaphore(limit)

            async def guarded(record: UrlRecord) -> None:
                record.start()
                if semaphore.locked():
                    record.begin("queued")
                async with semaphore:
                    record.end("queued")
                    await one(record)

            await asyncio.gather(*(guarded(record) for record in records))
        elif strategy == "as_completed":
            tasks = [asyncio.create_task(one(record)) for record in records]
            try:
                for order, next_done in enumerate(asyncio.as_completed(tasks), 1):
                    record = await next_done
                    record.http["completed"] = order
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        elif strategy == "taskgroup":
            async with asyncio.TaskGroup() as group:
                for record in records:
                    group.create_task(one(record))
        else:  # pragma: no cover - the API checks the name
            raise ValueError(f"unknown strategy {strategy!r}")

    async def fetch_one(self, session: aiohttp.ClientSession, record: UrlRecord, trace: Trace) -> UrlRecord:
        """Fetch one URL, following redirects; every failure ends up in the record."""
        record.start()
        try:
            async with asyncio.timeout(self.limits.request_seconds):
                await self._follow(session, record)
        except TimeoutError:
            record.fail("Timeout", REQUEST_TIMEOUT.format(request_seconds=self.limits.request_seconds,
                                                          phase=record.current_phase()))
        except asyncio.CancelledError:
            record.fail("Cancelled", TOTAL_TIMEOUT.format(total_seconds=self.limits.total_seconds), "cancelled")
            record.finish()
            raise
        except Exception as exc:
            record.fail(*describe_failure(exc, record, self.limits))
        record.finish()
        trace.output.append(Output(record.task.ended or 0.0, record.task.id, "stdout", self._summary(record)))
        return record

    @staticmethod
    def _summary(record: UrlRecord) -> str:
        http = record.http
        if http["error"]:
            return f"{record.url}: {record.task.error['type'] if record.task.error else 'error'}: {http['error']}"
        size = f"{http['bytes']} bytes" + (" (cut)" if http.get("truncated") else "")
        return f"{record.url}: {http['status']}, {size}"

    async def _follow(self, session: aiohttp.ClientSession, record: UrlRecord) -> None:
        checked = self.guard.check_url(record.url)
        redirects: list[dict[str, Any]] = []
        while True:
            url = checked.url
            hop = ssrf.Hop(host=(url.raw_host or "").lower(), port=url.port or 0, allowed=checked.allowed)
            record.hop = hop
            hop_token = ssrf.hop.set(hop)
            record_token = current_record.set(record)
            try:
                location = await self._request(session, record, url)
            finally:
                ssrf.hop.reset(hop_token)
                current_record.reset(record_token)
            if location is None:
                return
            redirects.append({"url": str(url)[: ssrf.MAX_URL_CHARS], "status": record.http["status"]})
            record.http["redirects"] = redirects
            if len(redirects) > self.limits.max_redirects:
                raise TooManyRedirects()
            record.hop_index += 1
            try:
                target = url.join(URL(location))
            except (ValueError, TypeError):
                raise ssrf.BadURL(f"The redirect to {location[:200]!r} is not a valid URL.") from None
            try:
                checked = self.guard.check_url(target)
            except (ssrf.Refused, ssrf.BadURL) as exc:
                exc.message = f"The redirect to {str(target)[:300]} was refused: {exc.message}"
                raise

    async def _request(self, session: aiohttp.ClientSession, record: UrlRecord, url: URL) -> str | None:
        """One request; the redirect's Location when it is a redirect, else None."""
        http = record.http
        async with session.get(url, allow_redirects=False, trace_request_ctx=record) as response:
            http["status"] = response.status
            http["reason"] = (response.reason or "")[:MAX_NAME]
            content_type = response.headers.get("Content-Type")
            http["content_type"] = content_type[:MAX_CONTENT_TYPE] if content_type else None
            http["length"] = response.content_length
            location = response.headers.get("Location")
            if response.status in REDIRECT_STATUSES and location:
                return location
            record.begin("body")
            cut = await self._read_body(response, http)
            record.end("body")
            http["truncated"] = cut
            if cut:
                http["note"] = BODY_CUT.format(size=size_text(self.limits.body_bytes))
                response.close()
            http["final_url"] = str(url)[: ssrf.MAX_URL_CHARS]
            return None

    async def _read_body(self, response: aiohttp.ClientResponse, http: dict[str, Any]) -> bool:
        """Read at most ``body_bytes`` (one more, to know whether there was
        more), counting into ``http["bytes"]``; True when the body was cut."""
        cap = self.limits.body_bytes
        size = 0
        while True:
            chunk = await response.content.read(min(READ_CHUNK, cap + 1 - size))
            if not chunk:
                return False
            size += len(chunk)
            http["bytes"] = min(size, cap)
            if size > cap:
                return True
