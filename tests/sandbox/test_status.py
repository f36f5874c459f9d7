"""How a run ended, from the server's evidence (playground.sandbox.status):
the table of cases, without a jail."""

from __future__ import annotations

import signal

import pytest

from playground.sandbox.limits import Limits
from playground.sandbox.status import Evidence, Verdict, decide
from playground.tracer.protocol import EXIT_BAD_SETTINGS, EXIT_NO_FILTER

LIMITS = Limits()


def evidence(**changes: object) -> Evidence:
    base: dict[str, object] = {"stop_reason": None, "returncode": 0, "claimed_status": "ok", "wall": 0.1,
                               "truncated": False, "task_count": 3, "errors": ()}
    return Evidence(**{**base, **changes})  # type: ignore[arg-type]


@pytest.mark.parametrize(("seen", "status", "limits"), [
    (evidence(), "ok", ()),
    (evidence(stop_reason="timeout", claimed_status=None, returncode=None), "timeout", ("wall_seconds",)),
    (evidence(stop_reason="output_limit", claimed_status="ok"), "output_limit", ("output_bytes",)),
    (evidence(stop_reason="channel"), "output_limit", ("channel_bytes",)),
    # Too much of the stream could not be read: stopped, and cut there (not at max_events).
    (evidence(stop_reason="rejected", claimed_status=None, returncode=None, truncated=True), "output_limit",
     ("max_rejected",)),
    (evidence(returncode=-signal.SIGXCPU, claimed_status=None), "cpu_limit", ("cpu_seconds",)),
    (evidence(returncode=-signal.SIGKILL, claimed_status=None, wall=6.0), "cpu_limit", ("cpu_seconds",)),
    (evidence(claimed_status="memory_limit"), "memory_limit", ("memory_bytes",)),
    (evidence(claimed_status="timeout"), "timeout", ("horizon_seconds",)),
    (evidence(claimed_status="deadlock"), "deadlock", ()),
    (evidence(claimed_status="error", errors=({"type": "OSError", "message": "[Errno 24] Too many"},)),
     "error", ("open_files",)),
    (evidence(claimed_status="error", errors=({"type": "ValueError", "message": "boom"},)), "error", ()),
    (evidence(truncated=True, task_count=2), "ok", ("max_events",)),
    (evidence(truncated=True, task_count=LIMITS.max_tasks), "ok", ("max_tasks",)),
    (evidence(truncated=True, answer_cut=True), "ok", ("answer_bytes",)),
    # A claim the exit contradicts is not taken.
    (evidence(returncode=3, claimed_status="ok"), "crashed", ()),
])
def test_the_status_table(seen: Evidence, status: str, limits: tuple[str, ...]) -> None:
    verdict = decide(seen, LIMITS)
    assert (verdict.status, verdict.limits) == (status, limits)


def test_a_crash_says_how() -> None:
    verdict = decide(evidence(returncode=-signal.SIGSEGV, claimed_status=None), LIMITS)
    assert verdict.status == "crashed" and "signal SIGSEGV" in (verdict.crash or "")
    vanished = decide(evidence(returncode=None, claimed_status=None), LIMITS)
    assert "vanished" in (vanished.crash or "")


@pytest.mark.parametrize("code", [EXIT_NO_FILTER, EXIT_BAD_SETTINGS])
def test_a_snippet_that_never_ran_is_the_servers_problem(code: int) -> None:
    verdict = decide(evidence(returncode=code, claimed_status=None), LIMITS)
    assert verdict == Verdict("crashed", (), verdict.crash, "sandbox") and verdict.crash
