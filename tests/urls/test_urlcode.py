"""The Python code shown beside a URL run: the aiohttp code compiles, and its
runnable twin runs in the tracer with the concurrency of its strategy."""

from __future__ import annotations

from typing import Any

import pytest

from playground import create_app
from playground.urls.codegen import real_code, runnable_code
from playground.urls.fetcher import STRATEGIES
from tests.support.traces import task_named

URLS = ["https://example.com/a", "https://example.com/b'\"", "https://example.org/"]
TOOK = [0.5, 0.5, 0.5]
# Virtual-clock loop time of the twin for three 0.5 s requests.
EXPECTED_DURATION = {"sequential": 1.5, "gather": 0.5, "semaphore": 1.0, "as_completed": 0.5, "taskgroup": 0.5}


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_real_code_compiles_and_names_its_strategy(strategy: str) -> None:
    code = real_code(URLS, strategy, limit=2)  # type: ignore[arg-type]
    compile(code, "<url-code>", "exec")
    assert "import aiohttp" in code
    assert "aiohttp.ClientSession()" in code
    for url in URLS:
        assert repr(url) in code
    marker = {"sequential": "for url in URLS:", "gather": "asyncio.gather(", "semaphore": "asyncio.Semaphore(2)",
              "as_completed": "asyncio.as_completed(", "taskgroup": "asyncio.TaskGroup()"}[strategy]
    assert marker in code


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_runnable_twin_runs_with_the_strategys_concurrency(run_trace: Any, strategy: str) -> None:
    code = runnable_code(URLS, strategy, limit=2, took=TOOK)  # type: ignore[arg-type]
    assert "aiohttp" not in code.replace("aiohttp.ClientSession()", "")
    trace = run_trace(code)
    assert trace["status"] == "ok", trace["error"]
    # The virtual clock also counts the time the code takes to run: a few
    # milliseconds here, above 10 on a loaded machine; the strategies differ by 0.5 s.
    assert trace["duration"] == pytest.approx(EXPECTED_DURATION[strategy], abs=0.05)
    printed = [line["text"] for line in trace["output"]]
    assert sorted(printed[:-1]) == sorted(f"{url}: simulated after 0.5 s" for url in URLS)
    assert printed[-1].startswith("3 URLs in ")
    lanes = task_named(trace, "main.<locals>.limited" if strategy == "semaphore" else "fetch")
    assert len(lanes) == (0 if strategy == "sequential" else 3)


def test_strategy_text_is_the_same_in_both_versions() -> None:
    for strategy in STRATEGIES:
        real = real_code(URLS, strategy)  # type: ignore[arg-type]
        twin = runnable_code(URLS, strategy)  # type: ignore[arg-type]
        body = real.split("as session:\n", 1)[1].split("\n\nstart =", 1)[0]
        dedented = "\n".join(line[4:] for line in body.splitlines())
        assert dedented in twin, strategy


def test_runnable_twin_says_whether_times_were_measured(run_trace: Any) -> None:
    code = runnable_code(URLS, "gather", took=[0.2, None, 1.25], outcomes=["200", None, "Refused"])
    assert "in your last URL run" in code
    assert "'https://example.org/': (1.25, 'Refused')" in code
    assert "a guess of 0.5 s" in runnable_code(URLS, "gather")
    printed = sorted(line["text"] for line in run_trace(code)["output"][:-1])
    assert printed == sorted([f"{URLS[0]}: 200 after 0.2 s", f"{URLS[1]}: simulated after 0.5 s",
                              f"{URLS[2]}: Refused after 1.25 s"])


def test_api_code_answers_both_versions() -> None:
    client = create_app({"TESTING": True}).test_client()
    response = client.post("/api/fetch/code", json={"urls": URLS, "strategy": "semaphore", "limit": 2,
                                                    "took": [0.1, 0.2, None], "outcomes": ["200", "404", None]})
    assert response.status_code == 200
    body = response.get_json()
    assert body["strategy"] == "semaphore"
    assert "asyncio.Semaphore(2)" in body["code"] and "asyncio.Semaphore(2)" in body["runnable"]
    assert "(0.2, '404')" in body["runnable"]
    for bad_body in ({"urls": URLS, "took": [1]}, {"urls": URLS, "outcomes": ["x" * 41, None, None]},
                     {"urls": URLS, "took": [1, 2, True]}, {"urls": URLS, "outcomes": "200"}):
        bad = client.post("/api/fetch/code", json=bad_body)
        assert bad.status_code == 400
        assert "one for each URL" in bad.get_json()["error"]["message"]
