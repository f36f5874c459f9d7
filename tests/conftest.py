"""Shared fixtures: the Flask app and client (flaskr style), a tracer runner,
and the browser tests' live server, browser and page."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Browser, Page

from playground import create_app
from playground.sandbox.jail import Unsandboxed
from playground.sandbox.limits import Limits
from playground.sandbox.pool import open_pools
from playground.sandbox.runner import run_snippet
from playground.services import services
from tests.support.browsing import BROWSER_ENV, checked_page, chromium
from tests.support.servers import gunicorn_node
from tests.support.traces import RunTrace
from tests.support.urlserver import LocalServer, local_server


def _closing_new_pools() -> Iterator[None]:
    """End the warm jails of apps made meanwhile, once done with them."""
    before = set(open_pools())
    yield
    for pool in open_pools():
        if pool not in before:
            pool.close()


@pytest.fixture(autouse=True)
def close_new_pools() -> Iterator[None]:
    """The warm jails of apps a test made."""
    yield from _closing_new_pools()


@pytest.fixture(scope="module", autouse=True)
def close_new_pools_of_module() -> Iterator[None]:
    """The warm jails of apps a module's fixtures made."""
    yield from _closing_new_pools()


@pytest.fixture(scope="session", autouse=True)
def instance_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Every app the tests make, here or in a live gunicorn they start, keeps
    its instance folder (the snippets database) in a temporary directory."""
    path = str(tmp_path_factory.mktemp("instance"))
    before = os.environ.get("PLAYGROUND_INSTANCE_PATH")
    os.environ["PLAYGROUND_INSTANCE_PATH"] = path
    yield path
    if before is None:
        del os.environ["PLAYGROUND_INSTANCE_PATH"]
    else:
        os.environ["PLAYGROUND_INSTANCE_PATH"] = before


@pytest.fixture
def app() -> Iterator[Flask]:
    # Rate limits have their own tests; here they would only get in the way.
    app = create_app({"TESTING": True, "SANDBOX": "bwrap", "RATELIMIT_ENABLED": False})
    yield app
    services(app).sandbox.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def run_trace() -> RunTrace:
    """Run a snippet through the tracer (no jail: these tests are about the
    tracer) and return the trace as JSON, the way the API would."""

    def run(code: str, clock: str = "virtual", **limits: Any) -> dict[str, Any]:
        trace = run_snippet(Unsandboxed(), textwrap.dedent(code), clock, Limits(**limits))  # type: ignore[arg-type]
        return trace.to_json()

    return run


# The browser tests: a live gunicorn for the session, Chromium per module
# (see tests/browsing.py), a fresh page per test. A module may set VIEWPORT.


@pytest.fixture(scope="session")
def live_server() -> Iterator[str]:
    with gunicorn_node(BROWSER_ENV) as (url, _):
        yield url


@pytest.fixture(scope="module")
def target() -> Iterator[LocalServer]:
    """A real aiohttp server on loopback for URL mode to fetch from."""
    with local_server() as server:
        yield server


@pytest.fixture(scope="module")
def url_server(target: LocalServer) -> Iterator[str]:
    """A live gunicorn whose allow list lets URL mode fetch from ``target``."""
    with gunicorn_node({**BROWSER_ENV, "PLAYGROUND_URL_ALLOW": target.allow}) as (url, _):
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    width, height = getattr(request.module, "VIEWPORT", (1280, 900))
    with checked_page(browser, width, height) as page:
        yield page
