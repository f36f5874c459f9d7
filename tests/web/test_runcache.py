"""The run cache: the same virtual-clock snippet runs once within the TTL.

Through the API with the real jail (a snippet that prints a random number
shows whether a trace was stored or run again), and the cache itself with
a fake clock for expiry, size bounds and concurrent requests."""

from __future__ import annotations

import gzip
import json
import threading
import time
from functools import partial
from typing import Any

import pytest
from flask import Flask

from playground import create_app
from playground.sandbox.service import Busy
from playground.services import services
from playground.sharing.runcache import RunCache
from tests.support.traces import how_it_ended

RANDOM = (
    "import asyncio, random\n"
    "async def main():\n"
    "    await asyncio.sleep(1)\n"
    "    print(random.random())\n"
    "asyncio.run(main())\n"
)


def run(app: Flask, code: str = RANDOM, clock: str = "virtual") -> dict[str, Any]:
    response = app.test_client().post("/api/run", json={"code": code, "clock": clock})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()  # type: ignore[no-any-return]


def output_of_ok_run(trace: dict[str, Any]) -> str:
    assert trace["status"] == "ok", how_it_ended(trace)
    return "".join(line["text"] for line in trace["output"])


# ------------------------------------------------------- through the API


def test_a_repeated_virtual_run_is_the_stored_trace_marked_cached(app: Flask) -> None:
    first = run(app)
    second = run(app)
    assert first["cached"] is False and second["cached"] is True
    assert output_of_ok_run(first) == output_of_ok_run(second)  # the same random number: not run again
    assert {k: v for k, v in first.items() if k != "cached"} == {k: v for k, v in second.items() if k != "cached"}
    cache = services(app).run_cache
    assert (cache.runs, cache.hits) == (1, 1)
    other = run(app, RANDOM + "\n")  # different code, its own run
    assert other["cached"] is False and output_of_ok_run(other) != output_of_ok_run(first)


def test_the_real_clock_is_never_cached(app: Flask) -> None:
    first = run(app, clock="real")
    second = run(app, clock="real")
    assert first["cached"] is False and second["cached"] is False
    assert output_of_ok_run(first) != output_of_ok_run(second)
    assert len(services(app).run_cache) == 0
    # ... and a real-clock run does not answer for the virtual clock.
    assert run(app)["cached"] is False


def test_entries_expire_after_the_configured_time() -> None:
    app = create_app({"TESTING": True, "RUN_CACHE_SECONDS": 1})
    first = run(app)
    assert run(app)["cached"] is True
    time.sleep(1.1)
    third = run(app)
    assert third["cached"] is False and output_of_ok_run(third) != output_of_ok_run(first)


def test_zero_seconds_turns_the_cache_off() -> None:
    app = create_app({"TESTING": True, "RUN_CACHE_SECONDS": 0})
    first, second = run(app), run(app)
    assert first["cached"] is False and second["cached"] is False
    assert output_of_ok_run(first) != output_of_ok_run(second)


def test_cached_answers_are_gzipped_like_fresh_ones(app: Flask) -> None:
    code = "import asyncio\nasync def main():\n    for i in range(400):\n        print('x' * 99)\n" \
           "asyncio.run(main())\n"
    client = app.test_client()
    answers = [client.post("/api/run", json={"code": code}, headers={"Accept-Encoding": "gzip"}) for _ in range(2)]
    for response in answers:
        assert response.headers["Content-Encoding"] == "gzip"
        assert response.headers["Cache-Control"] == "no-store"
    traces = [json.loads(gzip.decompress(r.get_data())) for r in answers]
    assert [t["cached"] for t in traces] == [False, True]


# -------------------------------------------------------- the cache itself


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def trace(status: str = "ok", text: str = "") -> dict[str, Any]:
    return {"version": 1, "status": status, "clock": "virtual", "output": [{"text": text}]}


class Counter:
    def __init__(self, status: str = "ok") -> None:
        self.calls = 0
        self.status = status

    def __call__(self) -> dict[str, Any]:
        self.calls += 1
        return trace(self.status, f"run {self.calls}")


def decode(body: bytes) -> dict[str, Any]:
    return json.loads(body)  # type: ignore[no-any-return]


def test_ttl_with_a_fake_clock() -> None:
    clock = FakeClock()
    cache = RunCache(seconds=60, now=clock)
    compute = Counter()
    assert decode(cache.run("a", "virtual", compute))["cached"] is False
    clock.now += 59.9
    hit = decode(cache.run("a", "virtual", compute))
    assert hit["cached"] is True and hit["output"][0]["text"] == "run 1"
    clock.now += 0.2
    miss = decode(cache.run("a", "virtual", compute))
    assert miss["cached"] is False and miss["output"][0]["text"] == "run 2"
    assert compute.calls == 2


def test_size_is_bounded_by_entries_least_recently_used_out() -> None:
    cache = RunCache(seconds=60, entries=2)
    compute = Counter()
    for code in ("a", "b"):
        cache.run(code, "virtual", compute)
    cache.run("a", "virtual", compute)  # a is now the most recently used
    cache.run("c", "virtual", compute)  # evicts b
    assert len(cache) == 2 and compute.calls == 3
    assert decode(cache.run("a", "virtual", compute))["cached"] is True
    assert decode(cache.run("b", "virtual", compute))["cached"] is False
    assert compute.calls == 4 and len(cache) == 2


def test_size_is_bounded_by_bytes() -> None:
    big = {"version": 1, "status": "ok", "output": [{"text": "x" * 1000}]}
    cache = RunCache(seconds=60, entries=1000, max_bytes=20_000)
    for n in range(50):
        cache.run(str(n), "virtual", lambda: big)
        assert cache.size_bytes <= 20_000
    assert 15 <= len(cache) <= 19  # one-off traces still take the room nothing more popular needs
    # A trace over a sixteenth of the budget is never kept.
    huge = {"version": 1, "status": "ok", "output": [{"text": "x" * 1300}]}
    cache.run("huge", "virtual", lambda: huge)
    assert decode(cache.run("huge", "virtual", lambda: huge))["cached"] is False


def sized(size: int, text: str = "x") -> dict[str, Any]:
    """A trace whose cached JSON is about ``size`` bytes (a little under)."""
    return trace(text=text * ((size - 100) // len(text)))


def test_a_popular_entry_survives_a_flood_of_large_one_off_traces() -> None:
    # Issue 14: one client's distinct large traces flushed everyone's entries.
    clock = FakeClock()
    cache = RunCache(seconds=60, entries=256, max_bytes=64_000, now=clock)  # entry cap 4000 bytes
    tutorial = Counter()
    for _ in range(10):  # many readers of one tutorial snippet
        cache.run("tutorial", "virtual", tutorial)
    assert tutorial.calls == 1
    for n in range(20):  # 20 x 3.9 KB: more than the whole budget, each under the entry cap
        clock.now += 1
        answer = decode(cache.run(f"flood {n}", "virtual", partial(sized, 3_900, str(n % 10))))
        assert answer["cached"] is False and answer["output"][0]["text"].startswith(str(n % 10))
        assert cache.size_bytes <= 64_000
    assert decode(cache.run("tutorial", "virtual", tutorial))["cached"] is True
    assert tutorial.calls == 1
    assert len(cache) > 10  # the flood still had the room the tutorial did not need


def test_a_trace_over_the_entry_cap_is_answered_but_not_kept() -> None:
    # The numbers: a 15 MiB trace in the default 64 MiB cache.
    cache = RunCache(seconds=60)
    huge = sized(15 * 1024 * 1024)
    calls = []

    def compute() -> dict[str, Any]:
        calls.append(1)
        return huge

    first = cache.run("huge", "virtual", compute)
    assert len(first) > 15_000_000 and decode(first)["output"] == huge["output"]
    assert (len(cache), cache.size_bytes) == (0, 0)
    assert decode(cache.run("huge", "virtual", compute))["cached"] is False
    assert len(calls) == 2
    # Just under the cap (a sixteenth of the bytes) is kept.
    cache.run("under", "virtual", lambda: sized(64 * 1024 * 1024 // 16))
    assert decode(cache.run("under", "virtual", Counter()))["cached"] is True


def test_a_new_entry_that_is_popular_gets_in() -> None:
    cache = RunCache(seconds=60, entries=4)
    residents = Counter()
    for _ in range(3):  # a, b, c, d each asked three times; a least recently used
        for code in "abcd":
            cache.run(code, "virtual", residents)
    newcomer = Counter()
    for _ in range(2):  # asked less often than any resident: answered, not kept
        assert decode(cache.run("x", "virtual", newcomer))["cached"] is False
        assert len(cache) == 4
    # Asked as often as the residents, it takes the least recently used one's place.
    assert decode(cache.run("x", "virtual", newcomer))["cached"] is False
    assert decode(cache.run("x", "virtual", newcomer))["cached"] is True
    assert newcomer.calls == 3 and residents.calls == 4
    assert [decode(cache.run(code, "virtual", residents))["cached"] for code in "bcd"] == [True] * 3
    assert decode(cache.run("a", "virtual", residents))["cached"] is False


def test_popularity_fades_so_an_old_favourite_can_leave() -> None:
    cache = RunCache(seconds=3600, entries=2)
    favourite = Counter()
    for _ in range(8):
        cache.run("favourite", "virtual", favourite)
    for n in range(200):  # long after, nobody asks for it; the counts halve as requests go by
        cache.run(f"new {n}", "virtual", Counter())
    assert decode(cache.run("favourite", "virtual", favourite))["cached"] is False


@pytest.mark.parametrize("status", ["timeout", "crashed"])
def test_load_dependent_outcomes_are_not_kept(status: str) -> None:
    cache = RunCache(seconds=60)
    compute = Counter(status)
    for _ in range(3):
        assert decode(cache.run("a", "virtual", compute))["cached"] is False
    assert compute.calls == 3 and len(cache) == 0


def test_code_outcomes_are_kept() -> None:
    for status in ("error", "deadlock", "cpu_limit", "memory_limit", "output_limit"):
        cache = RunCache(seconds=60)
        compute = Counter(status)
        cache.run("a", "virtual", compute)
        assert decode(cache.run("a", "virtual", compute))["cached"] is True, status


def test_concurrent_requests_for_one_snippet_run_it_once() -> None:
    cache = RunCache(seconds=60)
    release = threading.Event()
    calls = []

    def slow() -> dict[str, Any]:
        calls.append(1)
        release.wait(10)
        return trace(text="only run")

    answers: list[dict[str, Any]] = []
    threads = [threading.Thread(target=lambda: answers.append(decode(cache.run("a", "virtual", slow))))
               for _ in range(8)]
    for thread in threads:
        thread.start()
    time.sleep(0.3)  # every request is in: one runs, seven wait
    release.set()
    for thread in threads:
        thread.join(10)
    assert len(calls) == 1
    assert len(answers) == 8
    assert sorted(a["cached"] for a in answers) == [False] + [True] * 7
    assert {a["output"][0]["text"] for a in answers} == {"only run"}


def test_when_the_run_fails_waiting_requests_run_their_own() -> None:
    cache = RunCache(seconds=60)
    release = threading.Event()
    calls = []

    def busy_then_ok() -> dict[str, Any]:
        calls.append(1)
        if len(calls) == 1:
            release.wait(10)
            raise Busy()
        return trace(text="second")

    errors: list[BaseException] = []
    answers: list[dict[str, Any]] = []

    def leader() -> None:
        try:
            cache.run("a", "virtual", busy_then_ok)
        except Busy as exc:
            errors.append(exc)

    first = threading.Thread(target=leader)
    first.start()
    deadline = time.monotonic() + 10
    while not calls and time.monotonic() < deadline:  # the leader's run began: the next request follows it
        time.sleep(0.01)
    follower = threading.Thread(target=lambda: answers.append(decode(cache.run("a", "virtual", busy_then_ok))))
    follower.start()
    time.sleep(0.1)
    release.set()
    first.join(10)
    follower.join(10)
    assert len(errors) == 1  # the leader's Busy reaches its own request
    assert answers and answers[0]["output"][0]["text"] == "second" and answers[0]["cached"] is False
    assert len(calls) == 2
