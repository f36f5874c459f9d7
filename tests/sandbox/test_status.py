"""How a run ended, from the server's evidence (playground.sandbox.status):
the table of cases, without a jail."""

from __future__ import annotations

import signal

import pytest

from playground.sandbox.cgroups import Usage
from playground.sandbox.limits import Limits
from playground.sandbox.status import Evidence, Verdict, decide
from playground.tracer.protocol import EXIT_BAD_SETTINGS, EXIT_NO_FILTER, RunReport

LIMITS = Limits()
MEMORY_ERROR = {"type": "MemoryError", "message": ""}
THREADS = {"type": "RuntimeError", "message": "can't start new thread"}
# A peak resident memory that shows the run reached its memory limit.
NEAR_THE_LIMIT_KIB = int(LIMITS.memory_bytes * 0.8) // 1024
NO_SPACE = {"type": "OSError", "message": "[Errno 28] No space left on device"}


def report(**changes: object) -> RunReport:
    base: dict[str, object] = {"wait_status": 0, "max_rss_kib": 20 * 1024, "cpu_seconds": 0.1,
                               "tmp_free_bytes": 8 << 20, "tmp_free_files": 4000}
    return RunReport(**{**base, **changes})  # type: ignore[arg-type]


def usage(memory: int = 0, oom: int = 0, pids: int = 0) -> Usage:
    return Usage(memory_peak=0, memory_refusals=memory, oom_kills=oom, pids_refusals=pids)


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
    (evidence(returncode=-signal.SIGKILL, claimed_status=None, wall=LIMITS.cpu_seconds + 1.0), "cpu_limit",
     ("cpu_seconds",)),
    # A MemoryError is the memory limit's with evidence: the run's peak, or
    # the cgroup's refusals; the cgroup's OOM kill needs no claim at all.
    (evidence(claimed_status="memory_limit", errors=(MEMORY_ERROR,), report=report(max_rss_kib=NEAR_THE_LIMIT_KIB)),
     "memory_limit", ("memory_bytes",)),
    (evidence(claimed_status="memory_limit", errors=(MEMORY_ERROR,), report=report(), cgroup=usage(memory=1)),
     "memory_limit", ("memory_bytes",)),
    (evidence(claimed_status="memory_limit", errors=(MEMORY_ERROR,), report=report()), "error", ()),
    (evidence(returncode=-signal.SIGKILL, claimed_status=None, cgroup=usage(oom=1)), "memory_limit",
     ("memory_bytes",)),
    (evidence(claimed_status="error", errors=(THREADS,), cgroup=usage(pids=1)), "error", ("processes",)),
    (evidence(claimed_status="error", errors=(THREADS,), cgroup=usage()), "error", ()),
    (evidence(claimed_status="error", errors=(NO_SPACE,), report=report(tmp_free_bytes=4096)), "error",
     ("tmp_bytes",)),
    (evidence(claimed_status="error", errors=(NO_SPACE,), report=report(tmp_free_files=0)), "error",
     ("tmp_bytes",)),
    (evidence(claimed_status="error", errors=(NO_SPACE,), report=report()), "error", ()),
    (evidence(claimed_status="timeout"), "timeout", ("horizon_seconds",)),
    (evidence(claimed_status="deadlock"), "deadlock", ()),
    # No outside evidence exists for open files: never a limit.
    (evidence(claimed_status="error", errors=({"type": "OSError", "message": "[Errno 24] Too many"},)),
     "error", ()),
    (evidence(returncode=-signal.SIGKILL, claimed_status=None, report=report(cpu_seconds=LIMITS.cpu_seconds + 0.2)),
     "cpu_limit",
     ("cpu_seconds",)),
    (evidence(returncode=-signal.SIGKILL, claimed_status=None, wall=6.0, report=report(cpu_seconds=0.1)),
     "crashed", ()),
    (evidence(claimed_status="error", errors=({"type": "ValueError", "message": "boom"},)), "error", ()),
    # Out of memory in the tracer or while ending, where the snippet could not catch it.
    (evidence(returncode=87, claimed_status=None, report=report(max_rss_kib=NEAR_THE_LIMIT_KIB)), "memory_limit",
     ("memory_bytes",)),
    (evidence(returncode=87, claimed_status=None, report=report()), "crashed", ()),
    (evidence(truncated=True, task_count=2), "ok", ("max_events",)),
    (evidence(truncated=True, task_count=LIMITS.max_tasks), "ok", ("max_tasks",)),
    (evidence(truncated=True, answer_cut=True), "ok", ("answer_bytes",)),
    # A claim the exit contradicts is not taken.
    (evidence(returncode=3, claimed_status="ok"), "crashed", ()),
])
def test_the_status_table(seen: Evidence, status: str, limits: tuple[str, ...]) -> None:
    verdict = decide(seen, LIMITS)
    assert (verdict.status, verdict.limits) == (status, limits)


@pytest.mark.parametrize(("error", "hint"), [
    (MEMORY_ERROR, "memory_bytes"), (THREADS, "processes"), (NO_SPACE, "tmp_bytes"),
    ({"type": "OSError", "message": "[Errno 24] Too many open files"}, "open_files"),
    ({"type": "OSError", "message": "[Errno 27] File too large"}, "file_size_bytes"),
])
def test_an_error_that_reads_like_a_limit_without_evidence_is_a_hint(error: dict[str, str], hint: str) -> None:
    verdict = decide(evidence(claimed_status="error", errors=(error,), report=report()), LIMITS)
    assert (verdict.status, verdict.limits, verdict.hints) == ("error", (), (hint,))


def test_a_crash_says_how() -> None:
    verdict = decide(evidence(returncode=-signal.SIGSEGV, claimed_status=None), LIMITS)
    assert verdict.status == "crashed" and "signal SIGSEGV" in (verdict.crash or "")
    vanished = decide(evidence(returncode=None, claimed_status=None), LIMITS)
    assert "vanished" in (vanished.crash or "")


@pytest.mark.parametrize("code", [EXIT_NO_FILTER, EXIT_BAD_SETTINGS])
def test_a_snippet_that_never_ran_is_the_servers_problem(code: int) -> None:
    verdict = decide(evidence(returncode=code, claimed_status=None), LIMITS)
    assert verdict == Verdict("crashed", (), verdict.crash, "sandbox") and verdict.crash
