"""Admission on its own, no jail: who is served next (the client holding
the fewest slots, then round-robin), the predicted wait, a refusal decided
at once, cancelling, the safety deadline, the thread guard, and the slot a
run prefers. A clock of the test's own makes predictions exact; the waits
themselves are real threads."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from playground.sandbox.admission import Admission, Busy, Cancelled

PATIENCE = 10.0  # seconds a test waits for a thread before it fails


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


class Runner:
    """Runs that ask for a slot in threads and hold it until released."""

    def __init__(self, admission: Admission) -> None:
        self.admission = admission
        self.started: list[str] = []  # names, in the order they got a slot
        self.told: dict[str, list[tuple[int, float]]] = {}
        self.outcome: dict[str, str] = {}
        self._release: dict[str, threading.Event] = {}
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def ask(self, name: str, client: str, cancelled: threading.Event | None = None) -> None:
        """``name`` asks for a slot for ``client``; returns once it holds one or waits."""
        release = self._release[name] = threading.Event()
        self.told[name] = []
        waiting_before = self.admission.waiting

        def run() -> None:
            try:
                with self.admission.slot(client=client, cancelled=cancelled,
                                         on_queued=lambda p, w: self.told[name].append((p, w))):
                    with self._lock:
                        self.started.append(name)
                    release.wait(PATIENCE)
                self.outcome[name] = "ran"
            except Busy as busy:
                self.outcome[name] = f"busy {busy.retry_after:.2f}"
            except Cancelled:
                self.outcome[name] = "cancelled"

        thread = threading.Thread(target=run)
        self._threads.append(thread)
        thread.start()
        until(lambda: name in self.started or self.admission.waiting > waiting_before or name in self.outcome)

    def release(self, name: str) -> None:
        count = len(self.started)
        self._release[name].set()
        until(lambda: name in self.outcome and (self.admission.waiting == 0 or len(self.started) > count))

    def finish(self) -> None:
        for event in self._release.values():
            event.set()
        for thread in self._threads:
            thread.join(PATIENCE)


@contextmanager
def runner(admission: Admission) -> Iterator[Runner]:
    runs = Runner(admission)
    try:
        yield runs
    finally:
        runs.finish()


def test_a_free_slot_is_taken_at_once_the_preferred_one_first() -> None:
    admission = Admission(slots=3, wait_seconds=1)
    with admission.slot(prefer=lambda n: n == 2) as preferred:
        assert preferred == 2
        with admission.slot() as longest_free:
            assert longest_free == 0  # free the longest
    with admission.slot(prefer=lambda n: False) as none_preferred:
        assert none_preferred == 1  # 0 and 2 were given back since


def test_waiting_runs_are_served_round_robin_by_client() -> None:
    admission = Admission(slots=1, wait_seconds=30, now=Clock())
    with runner(admission) as runs:
        runs.ask("x", "X")
        for name, client in [("a1", "A"), ("a2", "A"), ("a3", "A"), ("b1", "B"), ("c1", "C"), ("b2", "B")]:
            runs.ask(name, client)
        assert [told[0][0] for name, told in runs.told.items() if name != "x"] == [0, 1, 2, 1, 2, 4]
        for name in ["x", "a1", "b1", "c1", "a2", "b2", "a3"]:
            runs.release(name)
        assert runs.started == ["x", "a1", "b1", "c1", "a2", "b2", "a3"]


def test_a_client_holding_every_slot_lets_another_go_first() -> None:
    admission = Admission(slots=2, wait_seconds=30, prior_cost=2.0, now=Clock())
    with runner(admission) as runs:
        for n in range(8):  # eight spinners of one client: two run, six wait
            runs.ask(f"spin{n}", "A")
        runs.ask("quick", "B")
        assert runs.told["quick"] == [(0, 2.0)]  # next, when the first slot frees
        runs.release("spin0")
        assert runs.started[-1] == "quick"
        runs.ask("quick2", "B")  # B holds one slot and A one: round-robin
        assert runs.told["quick2"][0][0] == 1
        runs.release("spin1")
        assert runs.started[-1] == "spin2"


def test_the_predicted_wait_simulates_the_slots() -> None:
    clock = Clock()
    admission = Admission(slots=2, wait_seconds=30, prior_cost=1.0, now=clock)
    assert admission.predicted_wait() == 0
    with runner(admission) as runs:
        runs.ask("x", "X")
        clock.now += 0.5
        runs.ask("y", "Y")  # slots free at 1.0 and 1.5 from x's start
        assert admission.predicted_wait("A") == pytest.approx(0.5)
        runs.ask("a", "A")
        assert runs.told["a"] == [(0, pytest.approx(0.5))]
        runs.ask("b", "B")
        assert runs.told["b"] == [(1, pytest.approx(1.0))]
        assert admission.predicted_wait("C") == pytest.approx(1.5)  # a's slot, at 0.5 + 1
        clock.now += 5  # every run is late: a slot frees now at the earliest
        assert admission.predicted_wait("C") == pytest.approx(1.0)


def test_the_recent_cost_is_measured() -> None:
    clock = Clock()
    admission = Admission(slots=1, wait_seconds=30, prior_cost=1.0, now=clock)
    with admission.slot():
        clock.now += 3.0
    assert admission.cost == pytest.approx(1.0 + 0.2 * (3.0 - 1.0))
    for _ in range(40):
        with admission.slot():
            clock.now += 0.01
    assert admission.cost == pytest.approx(0.01, abs=0.001)


def test_a_run_whose_wait_is_too_long_is_refused_at_once() -> None:
    admission = Admission(slots=1, wait_seconds=1.5, prior_cost=1.0, now=Clock())
    with runner(admission) as runs:
        runs.ask("x", "X")
        runs.ask("a", "A")  # 1 s
        started = time.monotonic()
        with pytest.raises(Busy) as refused, admission.slot(client="B"):
            pass
        assert time.monotonic() - started < 1.0
        assert refused.value.retry_after == pytest.approx(2.0)
        assert admission.waiting == 1
        with pytest.raises(Busy), admission.slot(wait=False):  # a health check never queues
            pass
        assert admission.waiting == 1


def test_the_thread_guard_caps_waiting_runs_whatever_they_cost() -> None:
    admission = Admission(slots=1, wait_seconds=30, max_waiting=2, prior_cost=0.01, now=Clock())
    with runner(admission) as runs:
        for name in ("x", "a", "b"):
            runs.ask(name, name)
        with pytest.raises(Busy), admission.slot(client="c"):
            pass
        assert admission.waiting == 2


def test_a_cancelled_run_leaves_the_queue_promptly() -> None:
    admission = Admission(slots=1, wait_seconds=30, now=Clock())
    cancel = threading.Event()
    with runner(admission) as runs:
        runs.ask("x", "X")
        runs.ask("a", "A", cancelled=cancel)
        runs.ask("b", "B")
        assert runs.told["b"][0][0] == 1
        started = time.monotonic()
        cancel.set()
        until(lambda: "a" in runs.outcome)
        assert time.monotonic() - started < 1.0
        assert runs.outcome["a"] == "cancelled" and admission.waiting == 1
        runs.release("x")
        assert runs.started == ["x", "b"]


def test_an_admitted_run_is_refused_past_its_deadline() -> None:
    admission = Admission(slots=1, wait_seconds=0.3, prior_cost=0.1)  # the real clock
    with runner(admission) as runs:
        runs.ask("x", "X")  # holds its slot far longer than predicted
        started = time.monotonic()
        runs.ask("a", "A")
        until(lambda: "a" in runs.outcome)
        waited = time.monotonic() - started
        assert runs.outcome["a"].startswith("busy") and admission.waiting == 0
        assert 0.3 <= waited < PATIENCE  # its predicted 0.1 s and the 0.3 s allowed
        runs.release("x")
    with admission.slot() as number:
        assert number == 0


def test_a_waiting_run_hears_when_its_place_changes() -> None:
    admission = Admission(slots=1, wait_seconds=30, prior_cost=1.0)  # the real clock
    with runner(admission) as runs:
        runs.ask("x", "X")
        runs.ask("a", "A")
        runs.ask("b", "B")
        assert [place for place, _ in runs.told["b"]] == [1]
        runs.release("x")
        until(lambda: len(runs.told["b"]) >= 2)
        assert runs.told["b"][-1][0] == 0


def test_a_slot_handed_to_a_cancelled_run_goes_to_the_next() -> None:
    admission = Admission(slots=1, wait_seconds=30, now=Clock())
    cancel = threading.Event()
    with runner(admission) as runs:
        runs.ask("x", "X")
        runs.ask("a", "A", cancelled=cancel)
        runs.ask("b", "B")
        cancel.set()
        runs.release("x")  # the slot may reach a before it sees the cancel
        until(lambda: runs.started[-1] == "b")
        assert runs.outcome["a"] == "cancelled" and "a" not in runs.started
