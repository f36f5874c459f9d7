"""A real aiohttp server on loopback for the URL-mode tests and benchmark.

Endpoints: ``/delay/<seconds>``, ``/status/<code>``, ``/large/<bytes>``,
``/drip?bytes=N&interval=S`` (one byte at a time), ``/redirect?to=URL``
(``&status=30x``), ``/chain/<n>`` (n redirects, then an answer),
``/headers/<bytes>`` (one header line that long), ``/hangup`` (closes the
connection without answering), ``/cookie`` (sets a cookie). Every request's
headers are kept in ``server.requests``. It runs in a thread with its own
event loop, over TLS when given an SSL context.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from aiohttp import web

CHUNK = 64 * 1024


async def delay(request: web.Request) -> web.Response:
    await asyncio.sleep(float(request.match_info["seconds"]))
    return web.Response(text="waited\n")


async def status(request: web.Request) -> web.Response:
    return web.Response(status=int(request.match_info["code"]), text="status\n")


async def large(request: web.Request) -> web.StreamResponse:
    total = int(request.match_info["size"])
    response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
    response.content_length = total
    await response.prepare(request)
    sent = 0
    try:
        while sent < total:
            part = min(CHUNK, total - sent)
            await response.write(b"x" * part)
            sent += part
    except (ConnectionError, RuntimeError):
        pass  # the client stopped reading: expected past its cap
    return response


async def drip(request: web.Request) -> web.StreamResponse:
    count = int(request.query.get("bytes", "10"))
    interval = float(request.query.get("interval", "0.1"))
    response = web.StreamResponse(headers={"Content-Type": "text/plain"})
    await response.prepare(request)
    try:
        for _ in range(count):
            await response.write(b".")
            await asyncio.sleep(interval)
    except (ConnectionError, RuntimeError):
        pass
    return response


async def redirect(request: web.Request) -> web.Response:
    code = int(request.query.get("status", "302"))
    return web.Response(status=code, headers={"Location": request.query["to"]})


async def chain(request: web.Request) -> web.Response:
    left = int(request.match_info["n"])
    if left <= 0:
        return web.Response(text="end of the chain\n", content_type="text/plain")
    return web.Response(status=302, headers={"Location": f"/chain/{left - 1}"})


async def big_header(request: web.Request) -> web.Response:
    return web.Response(text="ok\n", headers={"X-Big": "y" * int(request.match_info["size"])})


async def hangup(request: web.Request) -> web.Response:
    assert request.transport is not None
    request.transport.close()
    return web.Response(text="never sent\n")


async def cookie(request: web.Request) -> web.Response:
    response = web.Response(text="have a cookie\n")
    response.set_cookie("session", "secret-value")
    return response


def make_app(requests: list[dict[str, str]]) -> web.Application:
    @web.middleware
    async def record(request: web.Request, handler: web.Handler) -> web.StreamResponse:
        requests.append({"path": request.path_qs, **dict(request.headers)})
        return await handler(request)

    app = web.Application(middlewares=[record])
    app.router.add_get("/cookie", cookie)
    app.router.add_get("/delay/{seconds}", delay)
    app.router.add_get("/status/{code}", status)
    app.router.add_get("/large/{size}", large)
    app.router.add_get("/drip", drip)
    app.router.add_get("/redirect", redirect)
    app.router.add_get("/chain/{n}", chain)
    app.router.add_get("/headers/{size}", big_header)
    app.router.add_get("/hangup", hangup)
    return app


class LocalServer:
    """The test app served on ``host`` (loopback) at a free port, in a thread."""

    def __init__(self, host: str = "127.0.0.1", ssl_context: ssl.SSLContext | None = None) -> None:
        self.host = host
        self.ssl_context = ssl_context
        self.scheme = "https" if ssl_context else "http"
        self.requests: list[dict[str, str]] = []
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="url-test-server", daemon=True)
        self._runner: web.AppRunner | None = None

    @property
    def base(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    @property
    def allow(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    async def _start(self) -> None:
        self._runner = web.AppRunner(make_app(self.requests), access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0, ssl_context=self.ssl_context)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    def start(self) -> LocalServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


@contextmanager
def local_server(host: str = "127.0.0.1", ssl_context: ssl.SSLContext | None = None) -> Iterator[LocalServer]:
    server = LocalServer(host, ssl_context).start()
    try:
        yield server
    finally:
        server.stop()
