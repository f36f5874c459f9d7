"""The gallery's examples that use the network run through the web API,
against the loopback server in place of their public URL (URL_ALLOW), on
every Python the server offers (its aiohttp is that version's)."""

from __future__ import annotations

import pytest

from playground import create_app
from playground.services import services
from playground.sharing.examples import EXAMPLES, Example
from tests.support.pythonruns import PYTHON_IDS
from tests.support.urlserver import LocalServer

NETWORK_EXAMPLES = [example for example in EXAMPLES if example.url is not None]


def test_the_gallery_has_a_network_example() -> None:
    assert any("aiohttp" in example.code for example in NETWORK_EXAMPLES)


@pytest.mark.parametrize("python", PYTHON_IDS)
@pytest.mark.parametrize("example", NETWORK_EXAMPLES, ids=[example.name for example in NETWORK_EXAMPLES])
def test_a_network_example_runs_and_draws_its_connections(example: Example, server: LocalServer, python: str) -> None:
    app = create_app({"TESTING": True, "RATELIMIT_ENABLED": False, "WARM_POOL": False, "URL_ALLOW": server.allow,
                      "DEFAULT_PYTHON": python})
    try:
        assert example.url is not None
        code = example.code.replace(example.url, server.url("/delay/0.5"))
        assert code != example.code
        trace = app.test_client().post("/api/run", json={"code": code}).get_json()
    finally:
        services(app).sandbox.close()
    assert trace["status"] == "ok", trace["error"]
    assert len(trace["output"]) == 4 and "waited at the same time" in trace["output"][-1]["text"]
    assert len(trace["connections"]) == 3
    assert {connection["task"] for connection in trace["connections"]} == {
        task["id"] for task in trace["tasks"] if task["coro"] == "fetch"}
    assert 0.5 <= trace["duration"] < 1.5
