"""A live run's stop reaches it from any worker of the node: two sandboxes
sharing one live directory, as a node's gunicorn workers do, and a real jail;
and what is not a running run's id stops nothing."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from playground.model.trace import Trace
from playground.sandbox.admission import Admission
from playground.sandbox.jail import Bubblewrap
from playground.sandbox.limits import Limits
from playground.sandbox.live import LiveRuns
from playground.sandbox.service import Sandbox
from tests.support.traces import printed

FOREVER = """\
import asyncio

async def main():
    print('started', flush=True)
    while True:
        await asyncio.sleep(0.1)

asyncio.run(main())
"""


def worker(jail: Bubblewrap, live_dir: Path) -> Sandbox:
    return Sandbox(jail, Limits(), Admission(slots=1, wait_seconds=10), warm_pool=False, live_dir=str(live_dir))


def test_a_stop_that_reaches_another_worker_stops_the_run(tmp_path: Path) -> None:
    jail = Bubblewrap()
    running, stopping = worker(jail, tmp_path), worker(jail, tmp_path)
    live = running.live_run()
    traces: list[Trace] = []
    thread = threading.Thread(target=lambda: traces.append(running.run(FOREVER, "real", live=live)))
    thread.start()
    try:
        told = [live.events.get(timeout=20)]
        while b'"output"' not in told[-1][1]:  # the first line printed: the run is under way
            told.append(live.events.get(timeout=20))
        assert told[0][0] == "started"
        asked = time.monotonic()
        assert stopping.stop(live.id)
        thread.join(10)
        assert not thread.is_alive() and time.monotonic() - asked < 3
    finally:
        live.stop()
        thread.join(10)
        live.close()
    trace = traces[0].to_json()
    assert trace["status"] == "stopped" and printed(trace) == ["started"]
    # Once over, its id stops nothing, from either worker, and leaves nothing behind.
    assert not stopping.stop(live.id) and not running.stop(live.id)
    assert list(tmp_path.iterdir()) == []


def test_what_is_not_a_running_runs_id_stops_nothing(tmp_path: Path) -> None:
    runs = LiveRuns(str(tmp_path))
    live = runs.new(1 << 20)
    named = tmp_path / live.id
    assert named.exists()
    assert not runs.stop("not-a-run") and not runs.stop("../" + live.id[3:])
    plain = "A" * 32  # a file of the right name that is no run's FIFO
    (tmp_path / plain).write_text("")
    assert not runs.stop(plain)
    assert runs.stop(live.id) and runs.stop(live.id)  # a second stop of a running run is no error
    assert os.read(live.wake_fd, 16) == b"!!"
    live.close()
    assert not named.exists() and not runs.stop(live.id)


def test_a_process_without_a_shared_directory_has_its_own() -> None:
    runs = LiveRuns()
    assert not runs.stop("A" * 32)
    live = runs.new(1 << 20)
    try:
        assert runs.stop(live.id)
        assert os.read(live.wake_fd, 16) == b"!"
    finally:
        live.close()
