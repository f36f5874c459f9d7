"""How a run ended, decided from the evidence: a pure function, no I/O.

The runner gathers what it saw from outside (why it stopped the run, the
run's exit code, how long it took) and what the tracer claimed, and
``decide`` turns that into the run's status, the limits it hit and, for a
run that ended abruptly, how. Only the server's own evidence (a stop it
made, an exit code) can overrule the tracer's claim; the claim is taken only
when the run exited normally.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass
from typing import Any, Literal

from playground.sandbox.limits import (
    BAD_SETTINGS_MESSAGE,
    CRASH_MESSAGE,
    LIMIT_STATUS,
    NO_FILTER_MESSAGE,
    Limits,
    limit_message,
)
from playground.tracer.protocol import EXIT_BAD_SETTINGS, EXIT_NO_FILTER

# Exit codes of a run whose snippet never ran, and what to tell.
NOT_RUN = {EXIT_NO_FILTER: NO_FILTER_MESSAGE, EXIT_BAD_SETTINGS: BAD_SETTINGS_MESSAGE}

StopReason = Literal["timeout", "output_limit", "channel", "rejected"]

# Why the runner stopped a run, and the limit that made it.
STOPPED_AT: dict[StopReason, str] = {
    "timeout": "wall_seconds",
    "output_limit": "output_bytes",
    "channel": "channel_bytes",
    "rejected": "max_rejected",
}
# Stops that cut the stream itself: the trace is cut there, whatever else cut it.
STREAM_CUT: frozenset[StopReason | None] = frozenset({"channel", "rejected"})
# A status the tracer claims, and the limit behind it.
CLAIMED_LIMIT = {"memory_limit": "memory_bytes", "timeout": "horizon_seconds"}
# How an error that escaped the snippet shows which limit made a call fail:
# (exception type or None for any, the start of its message, the limit).
ERROR_LIMITS = (
    ("RuntimeError", "can't start new thread", "processes"),
    (None, "[Errno 24]", "open_files"),  # EMFILE
    (None, "[Errno 27]", "file_size_bytes"),  # EFBIG
    (None, "[Errno 28]", "tmp_bytes"),  # ENOSPC
)


@dataclass(frozen=True)
class Evidence:
    stop_reason: StopReason | None
    returncode: int | None
    claimed_status: str | None
    wall: float
    truncated: bool
    task_count: int
    # The run's error and its failed tasks' errors, as the trace holds them.
    errors: tuple[dict[str, Any], ...]
    # The trace was cut to keep the answer within answer_bytes.
    answer_cut: bool = False


@dataclass(frozen=True)
class Verdict:
    status: str
    # The limits the run hit, in the order they are reported.
    limits: tuple[str, ...] = ()
    # A run that ended abruptly: what to tell, and the kind of its event.
    crash: str | None = None
    crash_kind: Literal["limit", "sandbox"] = "limit"


def decide(evidence: Evidence, limits: Limits) -> Verdict:
    verdict = _decide(evidence, limits)
    if evidence.truncated and evidence.stop_reason not in STREAM_CUT:
        cut = ("answer_bytes" if evidence.answer_cut
               else "max_tasks" if evidence.task_count >= limits.max_tasks else "max_events")
        verdict = Verdict(verdict.status, (*verdict.limits, cut), verdict.crash, verdict.crash_kind)
    return verdict


def _decide(evidence: Evidence, limits: Limits) -> Verdict:
    if evidence.stop_reason is not None:
        return _hit(STOPPED_AT[evidence.stop_reason])
    returncode = evidence.returncode
    claimed = evidence.claimed_status
    if returncode in NOT_RUN and claimed is None:
        return Verdict("crashed", crash=NOT_RUN[returncode], crash_kind="sandbox")
    if (returncode is not None and returncode != 0) or claimed is None:
        number = _signal_of(returncode)
        # SIGXCPU comes from the CPU rlimit's soft limit, SIGKILL from its
        # hard one a second later when SIGXCPU was ignored.
        if number == signal.SIGXCPU or (number == signal.SIGKILL and evidence.wall >= limits.cpu_seconds):
            return _hit("cpu_seconds")
        if number:
            how = f"signal {_signal_name(number)}"
        elif returncode is None:
            how = "an unknown cause (its process vanished)"
        else:
            how = f"exit code {returncode}"
        return Verdict("crashed", crash=limit_message(CRASH_MESSAGE, limits, how=how))
    behind = CLAIMED_LIMIT.get(claimed) if claimed != "error" else _limit_behind_error(evidence.errors)
    return Verdict(claimed, (behind,) if behind is not None else ())


def _hit(name: str) -> Verdict:
    status = LIMIT_STATUS[name]
    assert status is not None, f"{name} stops no run"
    return Verdict(status, (name,))


def _limit_behind_error(errors: tuple[dict[str, Any], ...]) -> str | None:
    """The limit whose failed call the run's error (or a task's) reports."""
    for error in errors:
        for error_type, start, name in ERROR_LIMITS:
            if (error_type is None or error["type"] == error_type) and error["message"].startswith(start):
                return name
    return None


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:  # a real-time signal, or an exit code that looks like one
        return str(number)


def _signal_of(returncode: int | None) -> int | None:
    """The signal that ended the run (its exit code is then negative)."""
    if returncode is None or returncode >= 0:
        return None
    return -returncode
