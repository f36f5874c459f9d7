"""Runs a loaded machine did not decide the shape of.

A step that holds the loop ``LIMIT_BLOCKING_THRESHOLD`` (50 ms) of its own
time is "blocking". The tracer leaves out the time the step's thread waited
for a CPU (tracer/stalls.py), but only when the thread did not also give the
CPU up in that step: a loaded machine that kept a short step waiting on a
disk read or a full pipe, and then for a CPU, still makes it blocking "CPU-bound
for 60 ms", or "a blocking call for 60 ms (waiting, not computing)" when no
CPU-time tick came in it, though the snippet did nothing slow there. Those are the incidental reasons; a
``time.sleep`` in the loop's thread, and its reason, are always the snippet's.
"""

from __future__ import annotations

from typing import Any

from tests.support.traces import RunTrace, Trace

INCIDENTAL = ("CPU-bound for ", "a blocking call for ")
# A real wait (a thread's sleep, the loop's real-time wait for it) takes at
# least its time, and on a loaded machine can take much longer.
LATE = 0.25


def incidental(slice_: dict[str, Any]) -> bool:
    """Whether the slice blocked for a reason the machine's load can give it."""
    return bool(slice_["blocking"]) and str(slice_["reason"]).startswith(INCIDENTAL)


def took(value: float, expected: float) -> bool:
    """Whether a real wait of ``expected`` seconds took ``value``: no less,
    and not ``LATE`` more (1 µs below: the trace rounds its times to it)."""
    return expected - 1e-6 <= value < expected + LATE


def run_unstalled(run_trace: RunTrace, code: str, *args: Any, tries: int = 3, **limits: Any) -> Trace:
    """The trace of a snippet none of whose steps should block, run again
    (``tries`` runs at most) while one of them blocked for an incidental
    reason: a stall of the machine says nothing of the tracer, while a
    tracer that marks such a step blocking does it on every run."""
    for _ in range(tries - 1):
        trace = run_trace(code, *args, **limits)
        if not any(incidental(slice_) for slice_ in trace["slices"]):
            return trace
    return run_trace(code, *args, **limits)
