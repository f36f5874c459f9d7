"""Admission through the API and real jails: a client's many long runs do not
keep another client's quick run waiting behind them, a burst of quick runs
that fits the predicted wait is never refused, and a run whose predicted
wait is too long is refused at once with that wait as ``Retry-After``.

The assertions are about order and counts, with generous margins on times:
the machine may be loaded."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from playground import create_app
from playground.services import services
from tests.support.traces import printed

PATIENCE = 60.0


def sleeper(seconds: float, number: int) -> dict[str, Any]:
    # Each its own code: the run cache would let identical snippets share one run.
    return {"code": f"import time\ntime.sleep({seconds})  # run {number}", "clock": "real"}


def warmed(app: Flask) -> Flask:
    """``app`` once its slots' warm jails are up: on a loaded machine, a
    burst that comes while they start can find a slot's jail unable to fork
    a run (503 ``sandbox_unavailable``, "it exited"; the queue by count did
    the same when it let a burst wait), which is not what these tests are
    about."""
    sandbox = services(app).sandbox
    sandbox.start()
    assert sandbox.pool is not None and sandbox.pool.settle()
    return app


@pytest.fixture
def two_slots() -> Iterator[Flask]:
    app = create_app({"TESTING": True, "SANDBOX": "bwrap", "RATELIMIT_ENABLED": False, "CONCURRENCY": 2,
                      "QUEUE_WAIT_SECONDS": 30})
    yield warmed(app)
    services(app).sandbox.close()


class Answers:
    """Requests posted in threads; their answers in the order they came."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.order: list[tuple[str, int, dict[str, str], Any]] = []
        self.threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def post(self, name: str, body: dict[str, Any], address: str) -> None:
        def send() -> None:
            answer = self.app.test_client().post("/api/run", json=body, environ_base={"REMOTE_ADDR": address})
            with self._lock:
                self.order.append((name, answer.status_code, dict(answer.headers), answer.get_json()))

        thread = threading.Thread(target=send)
        self.threads.append(thread)
        thread.start()

    def join(self) -> None:
        for thread in self.threads:
            thread.join(PATIENCE)
        assert not any(thread.is_alive() for thread in self.threads)


def until(condition: Any) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_one_clients_long_runs_leave_another_clients_quick_run_the_next_slot(two_slots: Flask) -> None:
    admission = services(two_slots).sandbox.admission
    answers = Answers(two_slots)
    for number in range(8):
        answers.post(f"long {number}", sleeper(1.5, number), "198.51.100.2")
    until(lambda: admission.waiting == 6)  # two run, six wait
    answers.post("quick", {"code": "print('quick')"}, "198.51.100.3")
    answers.join()
    names = [name for name, _, _, _ in answers.order]
    assert [body for _, status, _, body in answers.order if status != 200] == []
    # The quick run took the first slot that freed: at most the two long
    # runs that were running when it came ended before it.
    assert names.index("quick") <= 2, names
    quick = next(body for name, _, _, body in answers.order if name == "quick")
    assert quick["status"] == "ok" and printed(quick) == ["quick"]


def test_a_burst_of_quick_runs_that_fits_the_wait_is_never_refused(two_slots: Flask) -> None:
    answers = Answers(two_slots)
    for number in range(24):
        answers.post(f"quick {number}", {"code": f"print({number})"}, f"198.51.100.{10 + number % 4}")
    answers.join()
    refused = [body for _, status, _, body in answers.order if status != 200]
    assert refused == []
    assert sorted(int(printed(body)[0]) for _, _, _, body in answers.order) == list(range(24))


def test_a_run_whose_predicted_wait_is_too_long_is_refused_at_once() -> None:
    app = create_app({"TESTING": True, "SANDBOX": "bwrap", "RATELIMIT_ENABLED": False, "CONCURRENCY": 1,
                      "QUEUE_WAIT_SECONDS": 3})
    admission = services(warmed(app)).sandbox.admission
    try:
        admission.cost = 6.0  # runs lately held their slot six seconds each
        answers = Answers(app)
        answers.post("long", sleeper(4, 0), "198.51.100.2")
        until(lambda: admission.predicted_wait() > 0)  # it holds the one slot
        started = time.monotonic()
        refused = app.test_client().post("/api/run", json={"code": "print(1)"},
                                         environ_base={"REMOTE_ADDR": "198.51.100.3"})
        took = time.monotonic() - started
        assert refused.status_code == 503, refused.get_json()
        error = refused.get_json()["error"]
        assert error["code"] == "busy" and "try again" not in error["message"].lower()
        # The predicted wait: the long run's start plus six seconds, from now.
        assert 3 <= int(refused.headers["Retry-After"]) <= 6
        assert took < 2.0 and not answers.order  # decided at once, while the long run runs
        answers.join()
        assert answers.order[0][1] == 200
    finally:
        services(app).sandbox.close()
