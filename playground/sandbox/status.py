"""How a run ended, decided from the evidence: a pure function, no I/O.

The runner gathers what it saw from outside (why it stopped the run, the
run's exit code, how long it took), what the run's init reported (the wait
status, peak memory, CPU time, what was left of ``/tmp``), what the slot's
cgroup counted, and what the tracer claimed; ``decide`` turns that into the
run's status, the limits it hit and, for a run that ended abruptly, how.

A limit is reported only from the server's own evidence: the snippet runs
in the tracer's process and can write any claim or error text it likes
(``raise OSError(24, ...)``, ``raise MemoryError``). Where an error reads
like a limit but nothing outside confirms it, the run keeps the status its
error earns and gets a hint instead (``Verdict.hints``), worded as a
possibility. The one limit the tracer itself enforces is the virtual
clock's horizon, which only the tracer's clock can see.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass, replace
from typing import Any, Literal

from playground.sandbox.cgroups import Usage
from playground.sandbox.limits import (
    BAD_SETTINGS_MESSAGE,
    CRASH_MESSAGE,
    LIMIT_STATUS,
    NO_FILTER_MESSAGE,
    Limits,
    limit_message,
)
from playground.tracer.protocol import EXIT_BAD_SETTINGS, EXIT_NO_FILTER, RunReport

# Exit codes of a run whose snippet never ran, and what to tell.
NOT_RUN = {EXIT_NO_FILTER: NO_FILTER_MESSAGE, EXIT_BAD_SETTINGS: BAD_SETTINGS_MESSAGE}

StopReason = Literal["timeout", "output_limit", "channel", "rejected", "parse_cost", "stopped"]

# Why the runner stopped a run at a limit, and the limit that made it
# ("stopped" is the person's stop, no limit's).
STOPPED_AT: dict[StopReason, str] = {
    "timeout": "wall_seconds",
    "output_limit": "output_bytes",
    "channel": "channel_bytes",
    "rejected": "max_rejected",
    "parse_cost": "parse_cpu_ratio",
}
# Stops that cut the stream itself: the trace is cut there, whatever else cut it.
STREAM_CUT: frozenset[StopReason | None] = frozenset({"channel", "rejected", "parse_cost"})
# How an error that escaped the snippet reads when a limit made a call fail:
# (exception type or None for any, the start of its message, the limit).
ERROR_LIMITS = (
    ("MemoryError", "", "memory_bytes"),
    ("RuntimeError", "can't start new thread", "processes"),
    ("BlockingIOError", "[Errno 11]", "processes"),  # a fork refused (EAGAIN)
    (None, "[Errno 24]", "open_files"),  # EMFILE
    (None, "[Errno 27]", "file_size_bytes"),  # EFBIG
    (None, "[Errno 28]", "tmp_bytes"),  # ENOSPC
)
# A MemoryError is the memory limit's when the run's peak resident memory
# reached this share of the limit (the address-space limit counts mappings
# too, so the peak stays below it), or the cgroup refused memory.
MEMORY_EVIDENCE_SHARE = 0.5
# /tmp counts as full with less than this left, or no file left.
TMP_FULL_BYTES = 1024 * 1024


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
    # The run's init's report (None when the run's jail was killed first),
    # and the slot cgroup's counters during the run (None without one).
    report: RunReport | None = None
    cgroup: Usage | None = None
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
    # Limits an error reads like, which nothing outside confirms.
    hints: tuple[str, ...] = ()


def decide(evidence: Evidence, limits: Limits) -> Verdict:
    verdict = _decide(evidence, limits)
    if (evidence.cgroup is not None and evidence.cgroup.pids_refusals > 0 and "processes" not in verdict.limits
            and verdict.crash is None):
        # A fork or a thread refused at the limit that the snippet (or a
        # child's shell) got over: the run hit it, whatever its status.
        verdict = replace(verdict, limits=(*verdict.limits, "processes"), hints=tuple(
            hint for hint in verdict.hints if hint != "processes"))
    if evidence.truncated and evidence.stop_reason not in STREAM_CUT:
        cut = ("answer_bytes" if evidence.answer_cut
               else "max_tasks" if evidence.task_count >= limits.max_tasks else "max_events")
        verdict = replace(verdict, limits=(*verdict.limits, cut))
    return verdict


def _decide(evidence: Evidence, limits: Limits) -> Verdict:
    if evidence.stop_reason == "stopped":
        return Verdict("stopped")
    if evidence.stop_reason is not None:
        return _hit(STOPPED_AT[evidence.stop_reason])
    returncode = evidence.returncode
    claimed = evidence.claimed_status
    if returncode in NOT_RUN and claimed is None:
        return Verdict("crashed", crash=NOT_RUN[returncode], crash_kind="sandbox")
    if evidence.cgroup is not None and evidence.cgroup.oom_kills > 0:
        return _hit("memory_bytes")  # the cgroup's OOM killer ended it
    if (returncode is not None and returncode != 0) or claimed is None:
        return _ended_abruptly(evidence, limits)
    if claimed == "timeout":
        return _hit("horizon_seconds")
    if claimed not in ("error", "memory_limit"):
        return Verdict(claimed)
    # An error: a limit's only with evidence, else it may be a limit's.
    suspect = _limit_behind_error(evidence.errors)
    if suspect is None:
        return Verdict("error")
    if _confirmed(suspect, evidence, limits):
        return _hit(suspect)
    return Verdict("error", hints=(suspect,))


def _ended_abruptly(evidence: Evidence, limits: Limits) -> Verdict:
    returncode = evidence.returncode
    number = _signal_of(returncode)
    # SIGXCPU comes from the CPU rlimit's soft limit, SIGKILL from its hard
    # one a second later when SIGXCPU was ignored.
    cpu = evidence.report.cpu_seconds if evidence.report is not None else evidence.wall
    if number == signal.SIGXCPU or (number == signal.SIGKILL and cpu >= limits.cpu_seconds):
        return _hit("cpu_seconds")
    if _confirmed("memory_bytes", evidence, limits):
        # Out of memory where the snippet could not catch it (in the tracer,
        # or while the run was ending): the abrupt end is the limit's.
        return _hit("memory_bytes")
    if number:
        how = f"signal {_signal_name(number)}"
    elif returncode is None:
        how = "an unknown cause (its process vanished)"
    else:
        how = f"exit code {returncode}"
    return Verdict("crashed", crash=limit_message(CRASH_MESSAGE, limits, how=how))


def _confirmed(limit: str, evidence: Evidence, limits: Limits) -> bool:
    """Whether the server's own evidence shows the run reached ``limit``."""
    report, cgroup = evidence.report, evidence.cgroup
    if limit == "memory_bytes":
        peak = report.max_rss_kib * 1024 if report is not None else 0
        return peak >= MEMORY_EVIDENCE_SHARE * limits.memory_bytes or (
            cgroup is not None and cgroup.memory_refusals > 0)
    if limit == "processes":
        return cgroup is not None and cgroup.pids_refusals > 0
    if limit == "tmp_bytes":
        return report is not None and report.tmp_free_bytes is not None and (
            report.tmp_free_bytes < TMP_FULL_BYTES or report.tmp_free_files == 0)
    return False  # open files and file size leave no trace outside the run


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
