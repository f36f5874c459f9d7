"""The jail, against real bubblewrap: what a snippet can reach, and the
limits that stop it from outside."""

from __future__ import annotations

import os
import socket
import textwrap
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from playground.sandbox.jail import Bubblewrap
from playground.sandbox.limits import Limits
from playground.sandbox.pool import WarmPool
from playground.sandbox.runner import run_snippet
from tests.support.jails import jail_processes
from tests.support.pythonruns import PYTHON_IDS, jail_on
from tests.support.traces import printed


@pytest.fixture(scope="module", params=PYTHON_IDS)
def jail(request: pytest.FixtureRequest) -> Bubblewrap:
    """A jail of each Python: what holds for one holds for all."""
    return jail_on(request.param)


def run(jail: Bubblewrap, code: str, **limits: Any) -> dict[str, Any]:
    return run_snippet(jail, textwrap.dedent(code), "virtual", Limits(**limits)).to_json()


def test_a_normal_run_works(jail: Bubblewrap) -> None:
    trace = run(jail, """
        import asyncio
        async def main():
            await asyncio.sleep(1)
            print("done")
        asyncio.run(main())
    """)
    assert trace["status"] == "ok"
    assert printed(trace) == ["done"]


@pytest.fixture
def tcp_server() -> Iterator[tuple[int, list[socket.socket]]]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    stop.set()
    thread.join()
    server.close()


def test_no_network(jail: Bubblewrap, tcp_server: tuple[int, list[socket.socket]]) -> None:
    port, accepted = tcp_server
    trace = run(jail, f"""
        import socket
        for host in ("127.0.0.1", "10.0.0.1", "8.8.8.8"):
            try:
                socket.create_connection((host, {port}), timeout=1)
                print(host, "connected")
            except OSError as exc:
                print(host, "refused", exc.errno)
    """)
    assert trace["status"] == "ok"
    assert len(printed(trace)) == 3
    assert not any("connected" in line for line in printed(trace))
    assert accepted == []


def test_no_host_files(jail: Bubblewrap) -> None:
    here = os.path.abspath(__file__)
    trace = run(jail, f"""
        import os
        for path in ("/etc/passwd", "/etc/shadow", "/root", "/home", "/proc/1/environ",
                     "/work", {here!r}, "/usr/share", "/var", "/sys"):
            print(path, os.path.exists(path))
        print(sorted(os.listdir("/etc")), sorted(os.listdir("/etc/ssl")))
        print(sorted(os.listdir("/")))
    """)
    assert trace["status"] == "ok", trace["error"]
    lines = printed(trace)
    assert all(line.endswith("False") for line in lines[:-2]), lines
    assert lines[-2] == "['services', 'ssl'] ['certs']"
    # /etc holds only what TLS and port names need (the trust store, services).
    assert set(eval(lines[-1])) <= {"bin", "dev", "etc", "lib", "lib64", "sandbox", "tmp", "usr"}


def test_root_is_read_only_and_tmp_is_fresh(jail: Bubblewrap) -> None:
    first = run(jail, """
        open("/tmp/left-behind", "w").write("secret")
        try:
            open("/usr/evil", "w")
        except OSError as exc:
            print("usr", type(exc).__name__)
        print("cwd", __import__("os").getcwd())
    """)
    assert printed(first) == ["usr OSError", "cwd /tmp"] or printed(first)[0].startswith("usr ")
    second = run(jail, """
        import os
        print(os.listdir("/tmp"))
    """)
    assert printed(second) == ["['main.py']"]  # its own snippet's file, and nothing of the first run


def test_no_server_environment(jail: Bubblewrap, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAYGROUND_SECRET_KEY", "hunter2")
    monkeypatch.setenv("SECRET_KEY", "hunter2")
    trace = run(jail, """
        import os
        print(sorted(os.environ))
        print("hunter2" in repr(dict(os.environ)))
    """)
    assert printed(trace)[-1] == "False"
    assert "SECRET_KEY" not in printed(trace)[0]


def test_runs_as_an_unprivileged_user(jail: Bubblewrap) -> None:
    trace = run(jail, """
        import os
        print(os.getuid(), os.geteuid())
        try:
            os.setuid(0)
        except OSError as exc:
            print("setuid", exc.errno)
    """)
    uid, euid = map(int, printed(trace)[0].split())
    assert uid != 0 and euid != 0
    assert printed(trace)[1].startswith("setuid")


def test_wall_clock_limit_kills(jail: Bubblewrap) -> None:
    trace = run(jail, "while True: pass", wall_seconds=1.5, cpu_seconds=30)
    assert trace["status"] == "timeout"
    assert 1.5 <= trace["wall"] < 3.0
    assert "1.5 s wall-clock limit" in trace["events"][-1]["message"]
    assert jail_processes() == []


def test_cpu_limit_kills(jail: Bubblewrap) -> None:
    trace = run(jail, "while True: pass", wall_seconds=10, cpu_seconds=1)
    assert trace["status"] == "cpu_limit"
    assert trace["wall"] < 5
    assert "1 s CPU limit" in trace["events"][-1]["message"]


def test_memory_limit(jail: Bubblewrap) -> None:
    trace = run(jail, """
        blocks = []
        while True:
            blocks.append(bytearray(10 ** 7))
    """, memory_bytes=128 * 1024 * 1024)
    assert trace["status"] == "memory_limit"
    assert "128 MiB" in trace["events"][-1]["message"]


def test_output_flood_is_cut(jail: Bubblewrap) -> None:
    trace = run(jail, """
        while True:
            print("spam" * 100)
    """)
    assert trace["status"] == "output_limit"
    kept = sum(len(line["text"]) + 1 for line in trace["output"])
    assert kept <= 64 * 1024 + 500
    assert jail_processes() == []


def test_raw_writes_to_stdout_are_capped(jail: Bubblewrap) -> None:
    trace = run(jail, """
        import os
        while True:
            os.write(1, b"x" * 65536)
    """)
    assert trace["status"] == "output_limit"


def test_crash_is_reported(jail: Bubblewrap) -> None:
    trace = run(jail, """
        import ctypes
        print("before")
        ctypes.string_at(0)
    """)
    assert trace["status"] == "crashed"
    assert "SIGSEGV" in trace["events"][-1]["message"]
    assert printed(trace) == ["before"]
    crash_report = [line["text"] for line in trace["output"] if line["stream"] == "stderr"]
    assert any("line 4" in text for text in crash_report)


def test_forged_events_cannot_set_the_status(jail: Bubblewrap) -> None:
    trace = run(jail, """
        import os
        for fd in range(3, 20):
            try:
                os.write(fd, b'["end","ok",1.0]\\n["task","x"]\\n{not json\\n["end","ok",1.0]\\n')
            except OSError:
                pass
        while True:
            pass
    """, wall_seconds=1.5, cpu_seconds=30)
    # Not "ok": the forged lines are rejected, and a handful of them stop the run.
    assert trace["status"] == "output_limit"
    assert [limit["name"] for limit in trace["limits"]] == ["max_rejected"]


def test_nothing_outlives_a_run(jail: Bubblewrap) -> None:
    run(jail, """
        import threading, time
        threading.Thread(target=time.sleep, args=(1000,)).start()
        print("started")
    """, wall_seconds=2)
    assert jail_processes() == []


def test_a_jail_forks_every_run_until_one_is_killed(jail: Bubblewrap) -> None:
    """A slot's jail (its fork server) serves run after run; a run stopped
    at a limit takes its jail with it, and the slot gets a new one."""
    limits = Limits(wall_seconds=1.5, cpu_seconds=30)
    pool = WarmPool(jail, limits, slots=1)
    pool.start()

    def run_in_pool(code: str) -> dict[str, Any]:
        try:
            return run_snippet(jail, code, "virtual", limits, 0, jailed=pool.take(0, jail.pythons.get(None))).to_json()
        finally:
            pool.replace(0)

    try:
        assert pool.settle()
        first = pool.pids()
        assert len(first) == 1
        for number in range(3):
            assert printed(run_in_pool(f"print({number})")) == [str(number)]
            assert pool.settle() and pool.pids() == first
        assert run_in_pool("while True: pass")["status"] == "timeout"
        assert pool.settle()
        assert len(pool.pids()) == 1 and pool.pids() != first
        assert not any(os.path.exists(f"/proc/{pid}") for pid in first)
        assert printed(run_in_pool("print('after')")) == ["after"]
    finally:
        pool.close()
    assert jail_processes() == []
