"""No run costs the node more than its memory limit plus the slot cgroup's
slack, whatever it uses, through real bubblewrap and the host's real cgroups;
and where no cgroup can be had, the server says so and the filter tightens."""

from __future__ import annotations

import os
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from playground import create_app
from playground.sandbox import cgroups
from playground.sandbox.cgroups import SLACK_BYTES, Cgroups, CgroupsUnavailable
from playground.sandbox.jail import Bubblewrap
from playground.sandbox.limits import Limits
from playground.sandbox.runner import run_snippet
from playground.services import services
from tests.support.memory import PIPES, SYSV, TMP
from tests.support.traces import printed

MIB = 1024 * 1024
# The kernel charges some allocations past a cgroup's limit rather than fail
# them (those that cannot fail, and those made while the group's task is
# being killed): seen once as one page over. A run still costs no more than
# its limit and slack, give or take this.
FORCED_CHARGES = 1 * MIB

# Memory the address-space limit does not count: pipe buffers grown to
# 1 MiB each, and /tmp filled one file at a time (each under the file size
# limit), then the heap on top.
KERNEL_MEMORY = PIPES + TMP + "heap = [bytearray(1 << 20) for _ in range(40)]\nprint('survived')\n"


@pytest.fixture(scope="module")
def jail() -> Bubblewrap:
    jail = Bubblewrap()
    assert jail.cgroups is not None, jail.cgroup_problem
    return jail


def slot_memory(jail: Bubblewrap, slot: int = 0) -> Path:
    assert jail.cgroups is not None
    return jail.cgroups.memory_root / f"slot-{slot}"


def test_a_jail_runs_in_its_slots_cgroup(jail: Bubblewrap) -> None:
    limits = Limits()
    trace = run_snippet(jail, "print('inside')", "virtual", limits).to_json()
    assert printed(trace) == ["inside"]
    memory = slot_memory(jail)
    assert int((memory / "memory.limit_in_bytes").read_text()) == limits.memory_bytes + SLACK_BYTES
    assert int((jail.cgroups.pids_root / "slot-0" / "pids.max").read_text()) == (  # type: ignore[union-attr]
        limits.processes + cgroups.JAIL_PIDS)
    peak = int((memory / "memory.max_usage_in_bytes").read_text())
    assert 10 * MIB < peak < limits.memory_bytes  # the jail's own memory was counted there


def test_kernel_memory_past_the_limit_stops_the_run(jail: Bubblewrap) -> None:
    limits = Limits(memory_bytes=64 * MIB, tmp_bytes=64 * MIB)
    trace = run_snippet(jail, KERNEL_MEMORY, "virtual", limits).to_json()
    assert trace["status"] == "memory_limit", (trace["status"], printed(trace))
    assert "survived" not in printed(trace)
    assert [limit["name"] for limit in trace["limits"]] == ["memory_bytes"]
    peak = int((slot_memory(jail) / "memory.max_usage_in_bytes").read_text())
    assert peak <= limits.memory_bytes + SLACK_BYTES + FORCED_CHARGES


def test_the_cgroups_of_a_killed_server_are_removed_by_the_next(jail: Bubblewrap) -> None:
    assert jail.cgroups is not None
    child = subprocess.Popen(["true"])
    child.wait()
    namespace = os.stat("/proc/self/ns/pid").st_ino
    parents = [root.parent for root in jail.cgroups._roots()]
    orphans = [parent / name for parent in parents for name in (f"playground-{namespace}-{child.pid}",
                                                                 f"playground-{child.pid}")]
    # A server of another pid namespace: its pid is free here, but it may be alive there.
    elsewhere = [parent / f"playground-{namespace + 1}-{child.pid}" for parent in parents]
    for cgroup in orphans + elsewhere:
        (cgroup / "slot-0").mkdir(parents=True)
    try:
        Cgroups._detect()  # what a server starting now does
        assert [orphan for orphan in orphans if orphan.exists()] == []
        assert all((cgroup / "slot-0").is_dir() for cgroup in elsewhere)
        assert all(root.exists() for root in jail.cgroups._roots())  # a live server's are kept
        assert all(root.name == f"playground-{namespace}-{os.getpid()}" for root in jail.cgroups._roots())
    finally:
        for cgroup in elsewhere:
            (cgroup / "slot-0").rmdir()
            cgroup.rmdir()


def test_shared_memory_segments_cost_the_host_nothing(jail: Bubblewrap) -> None:
    trace = run_snippet(jail, SYSV, "virtual", Limits()).to_json()
    assert trace["status"] == "ok", trace["error"]
    assert printed(trace) == ["segments 0"]


@pytest.fixture
def no_cgroups(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def unavailable() -> Cgroups:
        raise CgroupsUnavailable("no permission to make cgroups (a test)")

    monkeypatch.setattr(Cgroups, "detect", staticmethod(unavailable))
    yield


def test_without_cgroups_the_server_says_so_and_the_filter_tightens(no_cgroups: None) -> None:
    jail = Bubblewrap()
    assert jail.cgroups is None and jail.strict_filter
    trace = run_snippet(jail, textwrap.dedent("""
        import fcntl, os, socket
        read, write = os.pipe()
        try:
            fcntl.fcntl(write, fcntl.F_SETPIPE_SZ, 1 << 20)
        except OSError as exc:
            print("pipe", exc.errno)
        left, right = socket.socketpair()
        try:
            left.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
        except OSError as exc:
            print("socket", exc.errno)
        left.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        print("other options work")
    """), "virtual", Limits()).to_json()
    assert printed(trace) == ["pipe 1", "socket 1", "other options work"]
    app = create_app({"TESTING": True, "RATELIMIT_ENABLED": False, "WARM_POOL": False})
    client: FlaskClient = app.test_client()
    try:
        health = client.get("/healthz").get_json()
    finally:
        services(app).close()
    assert health["status"] == "ok"
    assert health["cgroups"] == "unavailable: no permission to make cgroups (a test)"


def test_healthz_names_the_cgroup_version(client: FlaskClient) -> None:
    assert client.get("/healthz").get_json()["cgroups"] in ("v1", "v2")
