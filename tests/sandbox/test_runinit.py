"""The run's init, both ways it is made: in C (``_runinit.c``, when the
accelerator is bound) and in Python (a keeper and an init forked by
``tracer/forkserver.py``, when it is not). Each run of a real jail must be
pid 2 under its own init, with no capability, a fresh ``/tmp`` and
``/dev/shm``, and the init's report must tell the server how it ended."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from playground.sandbox.jail import Bubblewrap
from tests.support.pythonruns import PYTHON_IDS, PYTHONS, JailedRuns
from tests.support.traces import printed

WAYS = {"C init": True, "Python init": False}


def _runs(way: str, python_id: str, second: bool = False) -> Iterator[JailedRuns]:
    jail = Bubblewrap(PYTHONS, speedups=WAYS[way])
    runs = JailedRuns(jail, PYTHONS.by_id[python_id], second=second)
    yield runs
    runs.close()


@pytest.fixture(scope="module", params=list(WAYS))
def runs(request: pytest.FixtureRequest) -> Iterator[JailedRuns]:
    """Runs forked one after another by one fork server, of the default Python."""
    yield from _runs(request.param, PYTHON_IDS[0], second=True)


@pytest.mark.parametrize("python_id", PYTHON_IDS)
@pytest.mark.parametrize("way", list(WAYS))
def test_a_run_is_pid_2_under_its_own_init_with_no_capability(way: str, python_id: str) -> None:
    for runs in _runs(way, python_id):
        trace = runs.run("""
            import ctypes, os, struct
            header = struct.pack("=Ii", 0x20080522, 0)
            data = ctypes.create_string_buffer(24)
            assert ctypes.CDLL(None, use_errno=True).syscall(125, header, data) == 0  # capget
            effective, permitted = struct.unpack("=II", data.raw[:8])
            print(os.getpid(), os.getppid(), effective, permitted)
        """)
        assert trace["status"] == "ok", trace["error"]
        assert printed(trace) == ["2 1 0 0"]


def test_every_run_has_a_fresh_tmp_and_dev_shm(runs: JailedRuns) -> None:
    first = runs.run("""
        open("/tmp/left-behind", "w").write("secret")
        open("/dev/shm/left-behind", "w").write("secret")
        print("written")
    """)
    assert printed(first) == ["written"]
    second = runs.run("""
        import os
        print(sorted(os.listdir("/tmp")), os.listdir("/dev/shm"))
    """)
    assert printed(second) == ["['main.py'] []"]


def test_the_report_tells_how_the_run_ended(runs: JailedRuns) -> None:
    exited = runs.run("import os\nprint('bye', flush=True)\nos._exit(3)")
    assert exited["status"] == "crashed"
    assert printed(exited) == ["bye"]
    assert "exit code 3" in exited["events"][-1]["message"]
    killed = runs.run("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)")
    assert killed["status"] == "crashed"
    assert "SIGKILL" in killed["events"][-1]["message"]


def test_the_report_tells_a_full_tmp(runs: JailedRuns) -> None:
    trace = runs.run("""
        with open("/tmp/fill", "wb") as file:
            while True:
                file.write(b"x" * 65536)
                file.flush()
    """, tmp_bytes=1024 * 1024)
    assert [limit["name"] for limit in trace["limits"]] == ["tmp_bytes"], trace["error"]


def test_the_init_outlives_what_the_run_signals_it(runs: JailedRuns) -> None:
    """The init handles no signal, so the kernel drops the run's signals to
    its namespace's pid 1: the run goes on, and its end is still reported."""
    trace = runs.run("""
        import os, signal
        for number in (signal.SIGTERM, signal.SIGINT, signal.SIGKILL):
            os.kill(1, number)
        print("still here")
    """)
    assert trace["status"] == "ok"
    assert printed(trace) == ["still here"]
