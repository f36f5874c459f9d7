"""A step the machine stalled is not the snippet's blocking (tracer/stalls.py).

A hog process with a real-time priority, pinned to the one CPU the run is
pinned to, takes that CPU for ``BURST`` at a time: a step of the run that a
burst falls in waits for it, through no fault of its code. Such a step lasts
longer than the blocking threshold, and is not blocking; the snippet's own
``time.sleep`` and computation still are, and their reasons leave the wait
out. Both hot paths (C and Python), in the real jail, on the newest Python.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from playground.sandbox.jail import Bubblewrap
from tests.support.pythonruns import NEWEST, PYTHONS, JailedRuns
from tests.support.traces import printed

BURST = 0.08
HOG = f"""
import os, sys, time
os.sched_setaffinity(0, {{int(sys.argv[1])}})
os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
print("ready", flush=True)
while True:
    end = time.monotonic() + {BURST}
    while time.monotonic() < end:
        pass
    time.sleep(0.12)
"""

# Short steps of 0.5 ms of computation each (time.process_time, which
# neither clock changes), 0.8 s of it in all: some 1.3 s of real time beside
# the hog's bursts, nearly all of it in steps, so that bursts fall in steps.
SHORT_STEPS = """
import asyncio
import time

async def main():
    start = time.process_time()
    while time.process_time() - start < 0.8:
        step = time.process_time()
        while time.process_time() - step < 0.0005:
            pass
        await asyncio.sleep(0)

asyncio.run(main())
"""

OWN_BLOCKING = """
import asyncio
import resource
import time

async def sleeper():
    time.sleep(0.3)

async def cruncher():
    switches = resource.getrusage(resource.RUSAGE_THREAD).ru_nvcsw
    start = time.process_time()
    while time.process_time() - start < 0.2:
        pass
    print("gave the CPU up", resource.getrusage(resource.RUSAGE_THREAD).ru_nvcsw - switches)

async def main():
    await asyncio.gather(sleeper(), cruncher())

asyncio.run(main())
"""
# A computing thread can still give the CPU up: a page fault that waits
# (1 to 3 runs of OWN_BLOCKING in 60 here, beside the hog). Then the step's
# stall cannot be told apart (stalls.py) and its reason keeps it; such a
# run shows nothing of what this test is about, and the next try runs.
TRIES = 4


@pytest.fixture(scope="module", params=["C", "Python"])
def hogged_runs(request: pytest.FixtureRequest, tracer_jail: Bubblewrap) -> Iterator[JailedRuns]:
    """Runs of the newest Python with the given hot path, on a CPU a hog takes in bursts."""
    assert NEWEST is not None
    cpu = max(os.sched_getaffinity(0))
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu})  # the jail the runs fork from starts pinned, as it is started here
    hog = subprocess.Popen([sys.executable, "-c", HOG, str(cpu)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    try:
        assert hog.stdout is not None
        if hog.stdout.readline().strip() != "ready":
            hog.wait(10)
            assert hog.stderr is not None
            error = hog.stderr.read()
            if "PermissionError" in error:
                pytest.skip("a real-time priority needs root (CAP_SYS_NICE)")
            pytest.fail(f"the hog did not start: {error}")
        jail = tracer_jail if request.param == "C" else Bubblewrap(PYTHONS, speedups=False)
        runs = JailedRuns(jail, PYTHONS.get(NEWEST), second=request.param == "Python")
        yield runs
        runs.close()
    finally:
        hog.kill()
        hog.wait()
        os.sched_setaffinity(0, before)


def seconds(slice_: dict[str, Any]) -> float:
    return float(slice_["end"] - slice_["start"])


def test_a_step_the_machine_stalled_is_not_blocking(hogged_runs: JailedRuns) -> None:
    trace = hogged_runs.run(SHORT_STEPS, "virtual")
    assert trace["status"] == "ok", trace["error"]
    longest = max(trace["slices"], key=seconds)
    # The hog did stall a step (else this test shows nothing)...
    assert seconds(longest) >= BURST * 0.75, seconds(longest)
    # ...and no step is blocking for it.
    assert [s["reason"] for s in trace["slices"] if s["blocking"]] == []


def test_the_snippets_own_blocking_still_is_and_its_reason_leaves_the_stall_out(hogged_runs: JailedRuns) -> None:
    outputs = []
    for _ in range(TRIES):
        trace = hogged_runs.run(OWN_BLOCKING, "virtual")
        assert trace["status"] == "ok", trace["error"]
        reasons = sorted(s["reason"] for s in trace["slices"] if s["blocking"])
        assert len(reasons) == 2, reasons
        cpu_bound, slept = reasons
        assert slept == "time.sleep(0.3)"
        found = re.fullmatch(r"CPU-bound for (\d+) ms", cpu_bound)
        assert found, cpu_bound
        assert int(found[1]) >= 195, cpu_bound
        outputs.append(printed(trace))
        if outputs[-1] == ["gave the CPU up 0"]:
            # 0.2 s of CPU time, and hardly more: the bursts the hog took in it are left out.
            assert int(found[1]) < 260, cpu_bound
            return
    pytest.fail(f"the computing step gave the CPU up in each of {TRIES} tries: {outputs}")
