"""How long the loop's thread waited for a CPU: the machine's load, not the snippet's.

A step that holds the loop ``blocking_threshold`` of real time is blocking.
On a busy machine (the hosted demo's other runs, a CI job beside others) the
kernel can leave the thread of a short step waiting that long for a CPU,
though the snippet did nothing slow there. A thread that neither ran nor gave
the CPU up of its own accord was waiting for one: between two samples with
the same count of voluntary context switches (``ru_nvcsw`` of
``getrusage(RUSAGE_THREAD)``: a blocking call, a sleep or a lock wait that
gives the CPU up adds one), the real time less the thread's CPU time
(``CLOCK_THREAD_CPUTIME_ID``) is that wait. When the thread did give the CPU
up, its waits cannot be told apart and nothing is subtracted: the step
counts as blocking, as it always did. The kernel can make a computing thread
give it up too, in a page fault that waits (seen in 1 to 3 of 60 runs of
0.2 s of computation beside a hog): such a step keeps its stall.

The hot path samples when a step starts, at most once every
``SAMPLE_INTERVAL_NS`` (reading at every step is not free, and a step longer
than the threshold is rare), so a long step's stall is measured from a sample
taken less than that before it began.
"""

from __future__ import annotations

import resource
import time

SAMPLE_INTERVAL_NS = 1_000_000
# The switch count of "no sample taken".
NO_SAMPLE = -1


def thread_times() -> tuple[int, int]:
    """The calling thread's CPU time (ns) and its voluntary context switches so far."""
    return (time.clock_gettime_ns(time.CLOCK_THREAD_CPUTIME_ID),
            resource.getrusage(resource.RUSAGE_THREAD).ru_nvcsw)


def waited(real_ns: int, sample: tuple[int, int, int]) -> int:
    """How long the calling thread waited for a CPU from ``sample`` (real
    time, CPU time, switches) to the real time ``real_ns``: 0 when it gave
    the CPU up meanwhile or there is no sample."""
    sample_real, sample_cpu, sample_switches = sample
    if sample_switches == NO_SAMPLE:
        return 0
    cpu, switches = thread_times()
    if switches != sample_switches:
        return 0
    return max(real_ns - sample_real - (cpu - sample_cpu), 0)
