"""Fixtures of the code-mode network tests: a loopback HTTP server (and a
TLS one), and a real sandbox (bubblewrap) whose guard allows exactly them."""

from __future__ import annotations

import ssl
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from playground.sandbox.service import Sandbox
from tests.support import loopback
from tests.support.certs import self_signed
from tests.support.codenet import RunCode, sandbox_for
from tests.support.urlserver import LocalServer, local_server


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """The server connects for the runs from this process: to loopback only."""
    yield from loopback.loopback_only(monkeypatch)


@pytest.fixture(scope="package")
def server() -> Iterator[LocalServer]:
    with local_server() as running:
        yield running


@pytest.fixture(scope="package")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="package")
def tls_server(certificate: tuple[Path, Path]) -> Iterator[LocalServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    with local_server(ssl_context=context) as running:
        yield running


@pytest.fixture(scope="package")
def sandbox(server: LocalServer, tls_server: LocalServer) -> Iterator[Sandbox]:
    running = sandbox_for(URL_ALLOW=f"{server.allow},{tls_server.allow},localhost:{server.port}")
    yield running
    running.close()


@pytest.fixture(scope="package")
def run_code(sandbox: Sandbox, server: LocalServer) -> RunCode:
    """Run a snippet in the real jail; ``BASE`` and ``PORT`` in it name the loopback server."""

    def run(code: str, clock: str = "virtual", box: Sandbox | None = None) -> dict[str, Any]:
        snippet = textwrap.dedent(code).replace("BASE", server.base).replace("PORT", str(server.port))
        return (box or sandbox).run(snippet, clock).to_json()  # type: ignore[arg-type]

    return run
