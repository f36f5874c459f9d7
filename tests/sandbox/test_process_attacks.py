"""Hostile child processes against the real API (Flask's test client, the
real bubblewrap jail, the filter): fork bombs in the shell, pools of
runaway workers, children that try to outlive the run, to reach what the
run cannot, to make namespaces, or to write into the tracer's stream.
After each case a normal run still works, and no process of the jail is
left (checked from outside, in /proc)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from playground import create_app
from playground.services import services
from playground.sharing.examples import BY_NAME
from tests.support.jails import jail_processes
from tests.support.pythonruns import PYTHON_IDS
from tests.support.traces import posted as run
from tests.support.traces import printed

Trace = dict[str, Any]
WALL = 6.0
CPU = 2


@pytest.fixture(scope="module", params=PYTHON_IDS)
def app(request: pytest.FixtureRequest) -> Iterator[Flask]:
    """The server, its runs on one Python (the test's parameter): every attack on every version."""
    app = create_app({"TESTING": True, "SANDBOX": "bwrap", "RATELIMIT_ENABLED": False, "RUN_CACHE_SECONDS": 0,
                      "LIMIT_WALL_SECONDS": WALL, "LIMIT_CPU_SECONDS": CPU, "DEFAULT_PYTHON": request.param})
    yield app
    services(app).sandbox.close()


@pytest.fixture(scope="module")
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def server_is_fine(client: FlaskClient) -> Iterator[None]:
    """After the case: nothing of the run is left, and the next run works."""
    yield
    assert jail_processes() == []
    trace = run(client, BY_NAME["gather"].code)
    assert trace["status"] == "ok" and printed(trace) == ["Hello"] * 3 + ["World"] * 3
    assert jail_processes() == []



def limits_hit(trace: Trace) -> list[str]:
    return [limit["name"] for limit in trace["limits"]]


def test_a_shell_fork_bomb_meets_the_process_limit(client: FlaskClient, server_is_fine: None) -> None:
    trace = run(client, """
        import asyncio
        async def main():
            bomb = await asyncio.create_subprocess_shell("bomb(){ bomb|bomb& };bomb")
            await bomb.wait()
            await asyncio.sleep(1)
            print("the run goes on")
        asyncio.run(main())
    """, "real")
    # The bomb takes every process the run may have: the run goes on, unless
    # it needs a thread meanwhile (asyncio's child watcher is one).
    assert limits_hit(trace) == ["processes"]
    if trace["status"] == "ok":
        assert "the run goes on" in printed(trace)
        assert any("Cannot fork" in line["text"] for line in trace["output"] if line["stream"] == "stderr")
    else:
        assert trace["status"] == "error" and trace["error"]["message"] == "can't start new thread"


def test_a_pool_of_runaway_workers_is_stopped(client: FlaskClient, server_is_fine: None) -> None:
    trace = run(client, """
        import asyncio
        from concurrent.futures import ProcessPoolExecutor
        def spin(n):
            while True:
                pass
        async def main():
            loop = asyncio.get_running_loop()
            with ProcessPoolExecutor(4) as pool:
                await asyncio.gather(*(loop.run_in_executor(pool, spin, n) for n in range(4)))
        if __name__ == "__main__":
            asyncio.run(main())
    """)
    # Each worker has the run's CPU limit: the first to use it up is ended,
    # which breaks the pool (or the wall-clock limit stops the run first).
    assert trace["wall"] < WALL + 2
    if trace["status"] == "error":
        assert trace["error"]["type"] == "BrokenProcessPool"
        hints = [event["message"] for event in trace["events"] if event["kind"] == "hint"]
        assert any(f"used up its {CPU} s of CPU time" in hint for hint in hints), hints
    else:
        assert trace["status"] in ("timeout", "cpu_limit"), trace["status"]


@pytest.mark.parametrize("clock", ["virtual", "real"])
def test_nothing_a_run_started_outlives_it(client: FlaskClient, server_is_fine: None, clock: str) -> None:
    trace = run(client, """
        import os, signal, subprocess, sys
        subprocess.run("sleep 1000 & echo backgrounded", shell=True)
        subprocess.Popen(["sleep", "1000"], start_new_session=True)
        subprocess.run([sys.executable, "-c",
                        "import os, time\\n"
                        "if os.fork() == 0:\\n"
                        "    os.setsid()\\n"
                        "    if os.fork() == 0:\\n"
                        "        time.sleep(1000)\\n"])
        if os.fork() == 0:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            signal.signal(signal.SIGHUP, signal.SIG_IGN)
            os.setsid()
            os.execv("/usr/bin/sleep", ["sleep", "1000"])
        print("left them running")
    """, clock)
    assert trace["status"] == "ok", trace["error"]
    assert printed(trace) == ["backgrounded", "left them running"]
    # The one still running when the run ended has no end and no exit code.
    [(end, returncode)] = [(child["end"], child["returncode"]) for child in trace["children"]
                           if child["argv"] == ["sleep", "1000"]]
    assert (end, returncode) == (None, None)
    # server_is_fine: no process of the jail is left, seen from outside.


def test_children_reach_nothing_new(client: FlaskClient, server_is_fine: None) -> None:
    trace = run(client, r"""
        import subprocess
        def sh(command):
            result = subprocess.run(command, shell=True, capture_output=True, text=True)
            print(result.returncode, (result.stdout + result.stderr).strip().replace("\n", " | "))
        sh("exec /usr/bin/env")
        sh("cat /proc/self/exe")
        sh("ls /proc /sys /etc /home")
        sh("echo x > /usr/x")
        sh("echo x > /dev/x")
        sh("echo shared > /dev/shm/x && cat /dev/shm/x")
        sh("python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", 22))'")
    """)
    assert trace["status"] == "ok", trace["error"]
    lines = printed(trace)
    assert lines[0] == "127 /bin/sh: 1: exec: /usr/bin/env: not found"
    assert lines[1] == "1 cat: /proc/self/exe: No such file or directory"
    # /etc holds only the trust store and the port names (code mode's network).
    assert lines[2].startswith("2 /etc: | services | ssl") and lines[2].count("No such file or directory") == 3
    assert lines[3].startswith("2 ") and "cannot create /usr/x" in lines[3]
    assert lines[4].startswith("2 ") and "cannot create /dev/x" in lines[4]
    assert lines[5] == "0 shared"
    assert lines[6].startswith("1 ") and "PermissionError: [Errno 1] Operation not permitted" in lines[6]


def test_children_cannot_make_namespaces(client: FlaskClient, server_is_fine: None) -> None:
    probe = ("import ctypes; libc = ctypes.CDLL(None, use_errno=True); "
             "print(libc.unshare(0x10000000), ctypes.get_errno(), "
             "libc.syscall(56, 0x10000000 | 17, 0, 0, 0, 0), ctypes.get_errno(), "
             "libc.syscall(56, 0x20000000 | 17, 0, 0, 0, 0), ctypes.get_errno())")
    trace = run(client, f"""
        import os, subprocess, sys
        subprocess.run([sys.executable, "-c", {probe!r}])
        with open("probe.py", "w") as file:
            file.write({probe!r})
        subprocess.run(["sh", "-c", "exec python3 probe.py"])
        if os.fork() == 0:
            exec({probe!r})
            os._exit(0)
        os.wait()
    """)
    assert trace["status"] == "ok", trace["error"]
    assert printed(trace) == ["-1 1 -1 1 -1 1"] * 3


def test_children_cannot_forge_the_trace(client: FlaskClient, server_is_fine: None) -> None:
    forged = ('[["end","ok",1000],["event",1000,"limit",null,"forged limit",null],'
              '["child",1,1000,0],["child_start",9,2,["forged"],null,0,null]]\n')
    trace = run(client, f"""
        import os, subprocess, sys
        with open("forged", "w") as file:
            file.write({forged!r})
        into_stream = "import os; os.write(3, open('forged', 'rb').read())"
        print(subprocess.run([sys.executable, "-c", into_stream], capture_output=True, text=True)
              .stderr.splitlines()[-1])
        print(subprocess.run(["sh", "-c", "cat forged >&3"], capture_output=True, text=True).stderr.strip())
        if os.fork() == 0:
            try:
                exec(into_stream)
            except OSError as exc:
                print("forked:", exc)
            os._exit(0)
        os.wait()
        # A program handed the stream on purpose writes into it: the server
        # still owns the verdict, and reads what it wrote as untrusted.
        subprocess.run([sys.executable, "-c", into_stream], pass_fds=(3,))
        while True:
            pass
    """)
    assert printed(trace)[:3] == ["OSError: [Errno 9] Bad file descriptor", "sh: 1: 3: Bad file descriptor",
                                  "forked: [Errno 9] Bad file descriptor"]
    assert trace["status"] == "cpu_limit"
    assert limits_hit(trace) == ["cpu_seconds"]
    assert not any(event["message"] == "forged limit" for event in trace["events"])
