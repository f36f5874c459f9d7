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

from playground.jail import DEFAULT_UID_BASE, Bubblewrap
from playground.limits import Limits
from playground.pool import WarmPool, open_pools
from playground.runner import run_snippet


@pytest.fixture(scope="module")
def jail() -> Bubblewrap:
    return Bubblewrap()


def run(jail: Bubblewrap, code: str, **limits: Any) -> dict[str, Any]:
    return run_snippet(jail, textwrap.dedent(code), "virtual", Limits(**limits)).to_json()


def printed(trace: dict[str, Any]) -> list[str]:
    return [line["text"] for line in trace["output"] if line["stream"] == "stdout"]


def _parent(pid: str) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            # The command name may hold spaces and parentheses: skip past its end.
            return int(stat.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def waiting_jails() -> set[int]:
    """The leader pids of the warm jails this process's pools hold, once no
    pool is starting one: those wait for a run, they are not left over."""
    pids: set[int] = set()
    for pool in open_pools():
        assert pool.settle(), "a warm jail took too long to start"
        pids |= pool.pids()
    return pids


def _is_jail_uid(pid: int) -> bool:
    try:
        uid = os.stat(f"/proc/{pid}").st_uid
    except FileNotFoundError:
        return False
    return DEFAULT_UID_BASE <= uid < DEFAULT_UID_BASE + 1000


def jail_processes(ancestor: int | None = None) -> list[int]:
    """Processes owned by a jail uid that descend from this test process
    (or ``ancestor``); other people's jails on a shared machine do not
    count. The jail makes the server a child subreaper, so an orphaned jail
    process is re-parented to it and still counts.

    Without ``ancestor``: the jails this process started itself (their chain
    up to it is jail processes only; a live gunicorn a test started has
    jails of its own), less the warm jails its pools hold, which wait for a
    run and are no run's leftovers."""
    root = os.getpid() if ancestor is None else ancestor
    waiting = waiting_jails() if ancestor is None else set()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or not _is_jail_uid(int(entry)):
            continue
        pid: int | None = int(entry)
        while pid is not None and pid > 1:
            if pid in waiting:
                break
            if pid == root:
                found.append(int(entry))
                break
            pid = _parent(str(pid))
            if ancestor is None and pid is not None and pid != root and not _is_jail_uid(pid):
                break  # a jail of a server process under this one
    return found


def _blocked_reading_stdin(pid: int) -> bool:
    """Whether the process waits in read(0, ...): a warm jail's interpreter,
    which has not been handed a snippet (a run's stdin is closed)."""
    try:
        with open(f"/proc/{pid}/syscall") as syscall:
            number, first_argument = syscall.read().split()[:2]
    except (OSError, ValueError):
        return False
    return number == "0" and int(first_argument, 16) == 0  # read (x86-64), fd 0


def leftover_jails(ancestor: int) -> tuple[list[int], int]:
    """For a server in another process, whose pools the test cannot ask:
    the jail processes under ``ancestor`` that belong to no warm jail, and
    how many warm jails there are. A jail is warm when its interpreter waits
    in read(0) for a snippet; its leader and init are part of it."""
    processes = jail_processes(ancestor)
    parents = {pid: _parent(str(pid)) for pid in processes}
    leaders: dict[int, int] = {}
    for pid in processes:
        leader = pid
        while parents.get(leader) in parents:
            leader = parents[leader]  # type: ignore[assignment]
        leaders[pid] = leader
    warm = {leaders[pid] for pid in processes if _blocked_reading_stdin(pid)}
    return [pid for pid in processes if leaders[pid] not in warm], len(warm)


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
        print(sorted(os.listdir("/")))
    """)
    assert trace["status"] == "ok", trace["error"]
    lines = printed(trace)
    assert all(line.endswith("False") for line in lines[:-1]), lines
    assert set(eval(lines[-1])) <= {"bin", "dev", "lib", "lib64", "sandbox", "tmp", "usr"}


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
    assert printed(second) == ["[]"]


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
    assert trace["status"] == "timeout"
    assert trace["wall"] >= 1.5


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
            return run_snippet(jail, code, "virtual", limits, 0, jailed=pool.take(0)).to_json()
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
