"""The attack suite: hostile snippets and hostile requests against the real
API (Flask's test client, the real bubblewrap jail, the seccomp filter).

Each case asserts the specific safe outcome (what the snippet saw, the status
and the limit the server reported), then that the server still answers a
normal run, that no jail process outlived the run, and that the server
process kept no descriptor and left no temporary directory behind.
"""

from __future__ import annotations

import gc
import io
import os
import socket
import tempfile
import textwrap
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from playground import create_app
from playground.sandbox.pool import open_pools
from playground.services import services as app_services
from playground.sharing.examples import BY_NAME
from tests.support.jails import jail_processes, waiting_jails
from tests.support.pythonruns import PYTHON_IDS
from tests.support.traces import how_it_ended, printed, python_of

Trace = dict[str, Any]

WALL = 6.0  # well above the CPU limit's hard kill (CPU + 1 s), even on a busy machine
CPU = 2
SECRET = "hunter2-server-secret"
HERE = os.path.abspath(__file__)


# Local services the snippets try to reach: they must see no connection.

@dataclass
class Services:
    tcp_port: int
    udp_port: int
    accepted: list[socket.socket]
    datagrams: list[bytes]


@pytest.fixture(scope="module")
def services() -> Iterator[Services]:
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", 0))
    tcp.listen()
    tcp.settimeout(0.2)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.settimeout(0.2)
    found = Services(tcp.getsockname()[1], udp.getsockname()[1], [], [])
    stop = threading.Event()

    def listen() -> None:
        while not stop.is_set():
            try:
                found.accepted.append(tcp.accept()[0])
            except OSError:
                pass
            try:
                found.datagrams.append(udp.recv(100))
            except OSError:
                pass

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    yield found
    stop.set()
    thread.join()
    tcp.close()
    udp.close()


@pytest.fixture(scope="module", params=PYTHON_IDS)
def app(request: pytest.FixtureRequest) -> Iterator[Flask]:
    """The server, its runs on one Python (the test's parameter): every attack on every version."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PLAYGROUND_SECRET_KEY", SECRET)
        patch.setenv("SECRET_KEY", SECRET)
        patch.setenv("DATABASE_PASSWORD", SECRET)
        app = create_app({
            "TESTING": True, "SANDBOX": "bwrap", "SECRET_KEY": SECRET, "RATELIMIT_ENABLED": False,
            # Shorter than the defaults, so the suite is quick; the mechanism is the same.
            "LIMIT_WALL_SECONDS": WALL, "LIMIT_CPU_SECONDS": CPU, "DEFAULT_PYTHON": request.param,
        })
    yield app
    app_services(app).sandbox.close()


@pytest.fixture(scope="module")
def client(app: Flask) -> FlaskClient:
    return app.test_client()


# Reading a trace.


def raw_stderr(trace: Trace) -> list[str]:
    return [line["text"] for line in trace["output"] if line["stream"] == "stderr" and line["task"] is None]


def limits_hit(trace: Trace) -> list[str]:
    return [limit["name"] for limit in trace["limits"]]


def limit_messages(trace: Trace) -> list[str]:
    return [event["message"] for event in trace["events"] if event["kind"] == "limit"]


def stopped_by(trace: Trace, status: str, limit: str, words: str) -> None:
    """The run ended with ``status`` because of ``limit``, and said so."""
    assert trace["status"] == status, (trace["status"], trace["error"], limit_messages(trace))
    assert limits_hit(trace) == [limit]
    assert any(words in message for message in limit_messages(trace)), limit_messages(trace)


def hinted_at(trace: Trace, words: str) -> None:
    """The run's error reads like a limit's that nothing outside confirms: no
    limit is reported, and a hint says what it may be."""
    assert limits_hit(trace) == [] and limit_messages(trace) == []
    hints = [event["message"] for event in trace["events"] if event["kind"] == "hint"]
    assert len(hints) == 1 and words in hints[0], hints


def failed_with(trace: Trace, error_type: str, words: str) -> None:
    assert trace["status"] == "error"
    assert trace["error"]["type"] == error_type, trace["error"]
    assert words in trace["error"]["message"], trace["error"]


# The snippet attacks. Each is code for the jail and a check of its trace.

@dataclass
class Attack:
    name: str
    code: str
    check: Callable[[Trace, Services], None]
    clock: str = "virtual"

    def __str__(self) -> str:
        return self.name


ATTACKS: list[Attack] = []


def attack(name: str, code: str, clock: str = "virtual") -> Callable[[Callable[[Trace, Services], None]], None]:
    def register(check: Callable[[Trace, Services], None]) -> None:
        ATTACKS.append(Attack(name, textwrap.dedent(code), check, clock))
    return register


# Reaching the host's files and other processes.

@attack("host_files", f"""
    import os
    for path in ("/etc/passwd", "/etc/shadow", "/root/.bash_history", "/home", "/work", "/var/log",
                 {HERE!r}, "/usr/share", "/sys/kernel", "/boot"):
        try:
            open(path).read()
            print(path, "READ")
        except OSError as exc:
            print(path, type(exc).__name__)
    print(sorted(os.listdir("/")))
""")
def _(trace: Trace, _s: Services) -> None:
    lines = printed(trace)
    assert trace["status"] == "ok"
    assert all(line.endswith(("FileNotFoundError", "IsADirectoryError")) for line in lines[:-1]), lines
    assert "READ" not in "".join(lines)
    assert set(eval(lines[-1])) <= {"bin", "dev", "etc", "lib", "lib64", "sandbox", "tmp", "usr"}


@attack("proc_other_processes", f"""
    import os
    for path in ("/proc", "/proc/1/cmdline", "/proc/1/environ", "/proc/{os.getpid()}/environ",
                 "/proc/{os.getpid()}/cmdline", "/proc/{os.getppid()}/mem"):
        try:
            print(path, os.listdir(path) if path == "/proc" else open(path, "rb").read()[:50])
        except OSError as exc:
            print(path, type(exc).__name__)
""")
def _(trace: Trace, _s: Services) -> None:
    assert trace["status"] == "ok"
    assert len(printed(trace)) == 6
    assert all(line.endswith("FileNotFoundError") for line in printed(trace)), printed(trace)


@attack("proc_self_environ_and_cmdline", """
    import os
    for path in ("/proc/self/environ", "/proc/self/cmdline", "/proc/self/maps", "/proc/self/fd"):
        try:
            open(path, "rb").read()
            print(path, "READ")
        except OSError as exc:
            print(path, type(exc).__name__)
    print(os.getpid(), os.getppid())
""")
def _(trace: Trace, _s: Services) -> None:
    assert trace["status"] == "ok"
    assert all(line.endswith("FileNotFoundError") for line in printed(trace)[:4]), printed(trace)
    # Its own pid namespace: the snippet is pid 2 under its run's init.
    assert printed(trace)[4] == "2 1"


@attack("capabilities_and_signalling_the_init", """
    import ctypes, os, signal, struct
    libc = ctypes.CDLL(None, use_errno=True)
    header = ctypes.create_string_buffer(struct.pack("=Ii", 0x20080522, 0))
    data = ctypes.create_string_buffer(24)
    assert libc.syscall(125, header, data) == 0  # capget
    print(struct.unpack("=6I", data.raw))
    for number in (signal.SIGKILL, signal.SIGTERM, signal.SIGSTOP, signal.SIGINT, signal.SIGPIPE):
        os.kill(1, number)  # the run's init: it handles none, so the kernel drops them
    try:
        os.kill(os.getpid(), signal.SIGINT)  # the snippet's own process: as in any Python
    except KeyboardInterrupt:
        print("KeyboardInterrupt")
""")
def _(trace: Trace, _s: Services) -> None:
    # The fork server's one capability (CAP_SYS_ADMIN, in the jail's user
    # namespace) is gone before the run's process exists, and the init
    # still reports the run's end.
    assert trace["status"] == "ok", trace["error"]
    assert printed(trace) == ["(0, 0, 0, 0, 0, 0)", "KeyboardInterrupt"]


@attack("server_secrets_in_environment", """
    import os
    print(sorted(os.environ))
    print(any("hunter2" in value for value in os.environ.values()))
""")
def _(trace: Trace, _s: Services) -> None:
    assert trace["status"] == "ok"
    assert eval(printed(trace)[0]) == ["HOME", "LANG", "MALLOC_ARENA_MAX", "PATH", "PWD"]
    assert printed(trace)[1] == "False"
    assert SECRET not in str(trace)


@attack("write_outside_tmp", """
    for path in ("/usr/evil", "/sandbox/tracer/prelude.py", "/etc-new", "/dev/evil", "/dev/pts/evil", "/evil"):
        try:
            open(path, "w").write("pwned")
            print(path, "WROTE")
        except OSError as exc:
            print(path, exc.errno)
""")
def _(trace: Trace, _s: Services) -> None:
    assert trace["status"] == "ok"
    assert "WROTE" not in "".join(printed(trace))
    # Each refused: EROFS, or EACCES on the tracer's read-only files. (bwrap's
    # /dev is a tmpfs with no size cap, so the jail remounts it read-only;
    # /dev/shm is the run's own, like /tmp: see the next test.)
    assert len(printed(trace)) == 6


# New programs and processes.

@attack("exec", """
    import os, subprocess, pty
    tries = {
        "subprocess": lambda: print("subprocess returned", subprocess.run(["/usr/bin/python3", "-c",
                                    "import os; print('child sees', sorted(os.listdir('/')))"]).returncode),
        "system": lambda: print("system returned", os.system("echo child of system")),
        "posix_spawn": lambda: print("posix_spawn", os.waitpid(os.posix_spawn("/usr/bin/true", ["true"], {}), 0)[1]),
        "pty.spawn": lambda: pty.spawn("/usr/bin/python3"),
        "a program outside": lambda: subprocess.run(["/usr/bin/env"]),
        "execv": lambda: os.execv("/usr/bin/python3", ["python3", "-c", "print('replaced the run')"]),
    }
    for name, call in tries.items():
        try:
            call()
        except OSError as exc:
            print(name, type(exc).__name__, exc.errno)
""")
def _(trace: Trace, _s: Services) -> None:
    # Programs run, as children in the jail: they see what the run sees.
    lines = [line["text"] for line in trace["output"]]
    assert "child sees ['bin', 'dev', 'etc', 'lib', 'lib64', 'sandbox', 'tmp', 'usr']" in lines
    started = [line for line in lines if line.startswith(("subprocess", "child of", "system", "posix_spawn"))]
    assert started == ["subprocess returned 0", "child of system", "system returned 0", "posix_spawn 0"]
    # No pseudo-terminal can even be opened (its ioctls are not allowed).
    assert "pty.spawn OSError None" in lines
    assert "a program outside FileNotFoundError 2" in lines
    # exec replaces the run itself: it ends without reporting, as a crash.
    assert trace["status"] == "crashed"
    assert "replaced the run" in lines


@attack("fork_bomb", """
    import os
    while True:
        os.fork()
""")
def _(trace: Trace, _s: Services) -> None:
    failed_with(trace, "BlockingIOError", "Resource temporarily unavailable")
    stopped_by(trace, "error", "processes", "limit of 32 processes and threads")


@attack("multiprocessing_bomb", """
    import multiprocessing
    while True:
        multiprocessing.Process(target=print).start()
""")
def _(trace: Trace, _s: Services) -> None:
    # Each start reaps the processes that ended: the loop goes on until the
    # CPU limit (or, on a busy machine, the wall-clock limit), unless the
    # process limit refuses a fork or a thread first.
    if trace["status"] == "error" and trace["error"]["type"] == "OSError":
        # Or the open-file limit does: a child started by fork holds two pipe
        # ends in the snippet until it is reaped, and children a busy machine
        # keeps alive can hold more than it before their number reaches the
        # process limit; on 3.14+, each new fork server (below) costs the
        # snippet descriptors too.
        failed_with(trace, "OSError", "Too many open files")
        hinted_at(trace, "limit of 64 open files")
    elif python_of(trace) >= (3, 14) and trace["status"] in ("error", "output_limit"):
        # Processes start from a fork server (3.14's default start method),
        # which imports the snippet as its main module: the unguarded loop
        # fails there ("start a new process before the current process has
        # finished its bootstrapping phase"), the fork server ends and the
        # snippet's Process.start() meets a closed connection, as in python3
        # (3.15 starts a new fork server, which fails alike, until the output
        # limit stops the run; the fork server's traceback may still be on
        # its way when the snippet's error ends the run). On a busy machine a
        # limit below may come first.
        if trace["status"] == "output_limit":
            assert any("bootstrapping phase" in line["text"] for line in trace["output"])
            assert "output_bytes" in limits_hit(trace)
        else:
            assert trace["error"]["type"] in ("ConnectionResetError", "BrokenPipeError", "EOFError"), trace["error"]
    elif trace["status"] == "error":
        assert trace["error"]["type"] in ("BlockingIOError", "RuntimeError"), trace["error"]
        assert "processes" in limits_hit(trace)
    else:
        stopped = {"cpu_limit": "cpu_seconds", "timeout": "wall_seconds"}
        assert stopped.get(trace["status"]) in limits_hit(trace), (trace["status"], trace["limits"])


@attack("thread_bomb", """
    import threading
    threads = []
    while True:
        thread = threading.Thread(target=threading.Event().wait, daemon=True)
        thread.start()
        threads.append(thread)
""")
def _(trace: Trace, _s: Services) -> None:
    failed_with(trace, "RuntimeError", "can't start new thread")
    stopped_by(trace, "error", "processes", "limit of 32 processes and threads")


@attack("namespaces_and_kernel_interfaces", """
    import ctypes, errno
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    calls = {
        "unshare": (272, 0x10000000), "setns": (308, 0, 0), "mount": (165, 0, 0, 0, 0, 0),
        "clone_newpid_fork": (56, 0x20000000 | 17, 0, 0, 0, 0),
        "clone_newuser_thread": (56, 0x10000000 | 0x10000 | 0x800 | 0x100, 0, 0, 0, 0),
        "clone3": (435, 0, 0), "ptrace": (101, 16, 1, 0, 0), "bpf": (321, 0, 0, 0),
        "keyctl": (250, 0, 0), "io_uring_setup": (425, 1, 0), "perf_event_open": (298, 0, 0, -1, -1, 0),
        "userfaultfd": (323, 0), "kexec_load": (246, 0, 0, 0, 0), "process_vm_readv": (310, 1, 0, 0, 0, 0, 0),
    }
    for name, (number, *args) in calls.items():
        result = libc.syscall(ctypes.c_long(number), *[ctypes.c_long(a) for a in args])
        print(name, result, errno.errorcode.get(ctypes.get_errno()))
""")
def _(trace: Trace, _s: Services) -> None:
    assert trace["status"] == "ok"
    results = dict(line.split(" ", 1) for line in printed(trace))
    assert len(results) == 14
    assert results.pop("clone3") == "-1 ENOSYS"  # so the C library falls back to clone
    assert set(results.values()) == {"-1 EPERM"}, results


@attack("other_syscall_abi", """
    import ctypes, mmap
    # mov eax, 11 (execve in the 32-bit ABI); int 0x80; ret
    code = bytes([0xB8, 11, 0, 0, 0, 0xCD, 0x80, 0xC3])
    memory = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    memory.write(code)
    print("calling")
    ctypes.CFUNCTYPE(ctypes.c_int)(ctypes.addressof(ctypes.c_char.from_buffer(memory)))()
    print("survived")
""")
def _(trace: Trace, _s: Services) -> None:
    # A foreign ABI could dodge rules written for the native one: it kills.
    assert trace["status"] == "crashed"
    assert printed(trace) == ["calling"]
    assert "SIGSYS" in trace["events"][-1]["message"]


@attack("stack_an_allow_all_filter", """
    import ctypes, os
    libseccomp = ctypes.CDLL("libseccomp.so.2")
    libseccomp.seccomp_init.restype = ctypes.c_void_p
    permissive = libseccomp.seccomp_init(0x7FFF0000)  # SCMP_ACT_ALLOW
    print("loaded", libseccomp.seccomp_load(ctypes.c_void_p(permissive)))
    try:
        os.chroot("/tmp")
    except OSError as exc:
        print("chroot", exc.errno)
""")
def _(trace: Trace, _s: Services) -> None:
    # Filters only stack: the jail's own still refuses.
    assert trace["status"] == "ok"
    assert printed(trace) == ["loaded 0", "chroot 1"]


# Memory, disk, files.

@attack("memory_bomb", """
    blocks = []
    while True:
        blocks.append(bytearray(50 * 1024 * 1024))
""")
def _(trace: Trace, _s: Services) -> None:
    stopped_by(trace, "memory_limit", "memory_bytes", "512 MiB memory limit")


@attack("memory_slow_creep", """
    import asyncio
    async def creep():
        kept = []
        while True:
            kept.append(b"x" * 1024 * 1024)
            await asyncio.sleep(0.01)
    asyncio.run(creep())
""")
def _(trace: Trace, _s: Services) -> None:
    stopped_by(trace, "memory_limit", "memory_bytes", "512 MiB memory limit")
    assert trace["error"]["type"] == "MemoryError"


@attack("disk_fill", """
    block = b"x" * (512 * 1024)
    number = 0
    while True:
        with open(f"/tmp/fill-{number}", "wb") as f:
            f.write(block)
        number += 1
""")
def _(trace: Trace, _s: Services) -> None:
    failed_with(trace, "OSError", "No space left on device")
    stopped_by(trace, "error", "tmp_bytes", "8192 KiB of space, or its 4096 files")


@attack("empty_file_flood", """
    import os
    for number in range(1_000_000):
        os.close(os.open(f"/tmp/{number}", os.O_CREAT | os.O_WRONLY))
""")
def _(trace: Trace, _s: Services) -> None:
    # No byte is written: the number of files is what stops it.
    failed_with(trace, "OSError", "No space left on device")
    stopped_by(trace, "error", "tmp_bytes", "or its 4096 files")


@attack("file_size", """
    with open("/tmp/big", "wb") as f:
        while True:
            f.write(b"x" * 65536)
""")
def _(trace: Trace, _s: Services) -> None:
    failed_with(trace, "OSError", "File too large")
    # Nothing outside the run sees a file's size limit: a hint, not a verdict.
    hinted_at(trace, "1024 KiB limit on the size of a file")


@attack("open_files", """
    files = []
    while True:
        files.append(open(f"/tmp/f{len(files)}", "w"))
""")
def _(trace: Trace, _s: Services) -> None:
    failed_with(trace, "OSError", "Too many open files")
    hinted_at(trace, "limit of 64 open files")


@attack("forged_limit_errors", """
    raise OSError(24, "Too many open files")
""")
def _(trace: Trace, _s: Services) -> None:
    # The snippet writes the error; only the server's evidence writes a limit.
    failed_with(trace, "OSError", "Too many open files")
    hinted_at(trace, "limit of 64 open files")


@attack("forged_memory_error", """
    raise MemoryError("forged")
""")
def _(trace: Trace, _s: Services) -> None:
    assert trace["status"] == "error" and trace["error"]["type"] == "MemoryError"
    hinted_at(trace, "512 MiB memory limit")


@attack("forged_full_tmp", """
    raise OSError(28, "No space left on device")
""")
def _(trace: Trace, _s: Services) -> None:
    failed_with(trace, "OSError", "No space left on device")
    hinted_at(trace, "/tmp filling up")


@attack("forged_thread_limit", """
    raise RuntimeError("can't start new thread")
""")
def _(trace: Trace, _s: Services) -> None:
    assert trace["status"] == "error"
    hinted_at(trace, "limit of 32 processes and threads")


# Output floods and raw writes.

@attack("stdout_flood", """
    while True:
        print("spam " * 50)
""")
def _(trace: Trace, _s: Services) -> None:
    stopped_by(trace, "output_limit", "output_bytes", "64 KiB output limit")
    assert sum(len(line["text"]) + 1 for line in trace["output"]) <= 64 * 1024 + 4000


@attack("stderr_flood", """
    import sys
    while True:
        sys.stderr.write("error! " * 50 + "\\n")
""")
def _(trace: Trace, _s: Services) -> None:
    stopped_by(trace, "output_limit", "output_bytes", "64 KiB output limit")
    assert {line["stream"] for line in trace["output"]} == {"stderr"}


@attack("flood_without_newlines", """
    import sys
    while True:
        sys.stdout.write("x" * 1000)
""")
def _(trace: Trace, _s: Services) -> None:
    stopped_by(trace, "output_limit", "output_bytes", "64 KiB output limit")
    assert trace["wall"] < CPU
    assert {len(line) for line in printed(trace)} == {4000}  # wrapped, as a terminal would


@attack("raw_flood_bypassing_the_tracer", """
    import os
    while True:
        os.write(1, b"raw" * 10000)
        os.write(2, b"\\x00\\xff" * 10000)
""")
def _(trace: Trace, _s: Services) -> None:
    stopped_by(trace, "output_limit", "output_bytes", "64 KiB output limit")
    assert all(len(text) <= 4000 for text in raw_stderr(trace))


@attack("raw_writes_to_every_descriptor", """
    import os
    garbage = [
        b'[["end","ok",0.5]]\\n', b'{"status":"ok","wall":0,"limits":[]}\\n',
        b'[["event",0,"limit",null,"FORGED limit",null]]\\n', b'[["end","crashed",1]]\\n',
        b'\\xff\\xfe\\x00garbage\\n', b'[' * 20000 + b'\\n', b'[["out",1e999,null,"stdout","x"]]\\n',
        b'[["task",1,"T","c",null,null,' + b'9' * 5000 + b']]\\n',
        b'[["out",' + b'9' * 400 + b',null,"stdout","x"]]\\n', b'[["out",0,null,"stdout","\\\\ud800"]]\\n',
    ]
    written = 0
    for fd in range(1024):
        for data in garbage:
            try:
                os.write(fd, data)
                written += 1
            except OSError:
                pass
    print("written", written > 0)
    raise ValueError("the real ending")
""")
def _(trace: Trace, _s: Services) -> None:
    # More than a handful of messages the server cannot read: the run is
    # stopped for it, and nothing forged became a claim or a limit.
    stopped_by(trace, "output_limit", "max_rejected", "could not read")
    assert not any("FORGED" in event["message"] for event in trace["events"])


@attack("forged_claims_then_a_busy_loop", """
    import os, stat
    for fd in range(3, 256):
        try:
            if stat.S_ISFIFO(os.fstat(fd).st_mode):
                os.write(fd, b'[["end","ok",0.1],["event",0,"limit",null,"FORGED",null]]\\n')
        except OSError:
            pass
    while True:
        pass
""")
def _(trace: Trace, _s: Services) -> None:
    # The server decides from outside: the claim "ok" does not survive the CPU limit.
    stopped_by(trace, "cpu_limit", "cpu_seconds", "2 s CPU limit")
    assert not any("FORGED" in event["message"] for event in trace["events"])


@attack("forged_claim_then_a_crash", """
    import gc, os, signal
    recorder = next(o for o in gc.get_objects() if type(o).__name__ == "Recorder")
    recorder.channel.send("end", "ok", 0.0)
    recorder.channel.flush()
    os.kill(os.getpid(), signal.SIGSEGV)
""")
def _(trace: Trace, _s: Services) -> None:
    assert trace["status"] == "crashed"
    assert "SIGSEGV" in trace["events"][-1]["message"]


@attack("huge_trace_stream", """
    import os, stat
    line = b"[" + b",".join([b'["event",0,"spam",null,"' + b"y" * 1500 + b'",null]'] * 40) + b"]\\n"  # 62 KB
    events = None
    for fd in range(3, 256):
        try:
            if stat.S_ISFIFO(os.fstat(fd).st_mode):
                events = fd
        except OSError:
            pass
    while True:
        os.write(events, line)
""")
def _(trace: Trace, _s: Services) -> None:
    # Whichever stops it first: the stream's bytes, or the server's CPU share
    # for reading it (the run spends little making lines the server must parse).
    assert trace["status"] == "output_limit" and limits_hit(trace) in (["channel_bytes"], ["parse_cpu_ratio"])
    assert trace["truncated"]
    assert len(trace["events"]) <= 20_000 + 100 + 2


# Signals, descriptors, crashes.

@attack("signals_to_the_parent_and_everyone", f"""
    import os, signal
    for target in (os.getppid(), -1, 0, {os.getpid()}):
        for sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGSTOP):
            try:
                if target != 0:
                    os.kill(target, sig)
            except OSError as exc:
                print(target, sig.name, type(exc).__name__)
    print("still here")
""")
def _(trace: Trace, _s: Services) -> None:
    # The jail's init ignores signals from inside; -1 reaches nobody else in
    # the pid namespace; the server's pid does not exist in there.
    assert trace["status"] == "ok"
    assert printed(trace)[-1] == "still here"
    refused = printed(trace)[:-1]
    assert all(line.endswith("ProcessLookupError") for line in refused) and len(refused) == 6, refused


@attack("sigstop_on_itself", """
    import os, signal
    print("stopping")
    os.kill(os.getpid(), signal.SIGSTOP)
""")
def _(trace: Trace, _s: Services) -> None:
    stopped_by(trace, "timeout", "wall_seconds", f"{WALL:g} s wall-clock limit")
    assert WALL <= trace["wall"] < WALL + 2


@attack("ignoring_sigterm_and_sigxcpu", """
    import signal
    for sig in (signal.SIGTERM, signal.SIGXCPU, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    while True:
        pass
""")
def _(trace: Trace, _s: Services) -> None:
    # The CPU rlimit's hard limit is SIGKILL, which cannot be ignored.
    stopped_by(trace, "cpu_limit", "cpu_seconds", "2 s CPU limit")
    assert trace["wall"] < WALL


@attack("busy_loop", "while True: pass")
def _(trace: Trace, _s: Services) -> None:
    stopped_by(trace, "cpu_limit", "cpu_seconds", "2 s CPU limit")


@attack("closing_every_descriptor", """
    import os
    for fd in range(1024):
        try:
            os.close(fd)
        except OSError:
            pass
    print("nobody hears this")
""")
def _(trace: Trace, _s: Services) -> None:
    # Without its channel the tracer cannot report: the server says so.
    assert trace["status"] == "crashed"
    assert "exit code 0" in trace["events"][-1]["message"]
    assert trace["wall"] < WALL


@attack("segfault_through_ctypes", """
    import ctypes
    print("before")
    ctypes.string_at(0)
""")
def _(trace: Trace, _s: Services) -> None:
    assert trace["status"] == "crashed"
    assert printed(trace) == ["before"]
    assert "SIGSEGV" in trace["events"][-1]["message"]
    assert any("line 4" in text for text in raw_stderr(trace))


@attack("runaway_recursion", """
    def down(n):
        return down(n + 1)
    down(0)
""")
def _(trace: Trace, _s: Services) -> None:
    failed_with(trace, "RecursionError", "maximum recursion depth exceeded")
    assert trace["error"]["line"] == 3


@attack("recursion_past_the_c_stack", """
    import sys
    sys.setrecursionlimit(10 ** 7)
    nested = []
    for _ in range(10 ** 6):
        nested = [nested]
    print(len(repr(nested)))
""")
def _(trace: Trace, _s: Services) -> None:
    if python_of(trace) >= (3, 12):
        # 3.12 counts C recursion too (and 3.14 guards the C stack): the deep
        # repr raises RecursionError instead of crashing the interpreter.
        assert trace["status"] == "error" and trace["error"]["type"] == "RecursionError", trace["error"]
        return
    assert trace["status"] == "crashed"
    assert "SIGSEGV" in trace["events"][-1]["message"]


# Network.

@attack("tcp_to_a_local_service", """
    import socket
    for host in ("127.0.0.1", "::1", "10.0.0.1", "8.8.8.8"):
        try:
            socket.create_connection((host, __TCP__), timeout=1)
            print(host, "CONNECTED")
        except OSError as exc:
            print(host, type(exc).__name__, exc.errno)
""")
def _(trace: Trace, services: Services) -> None:
    # The run's loopback is its own (nothing listens there); the others are
    # refused by the server's guard before any connection is made.
    assert trace["status"] == "ok"
    assert printed(trace) == ["127.0.0.1 ConnectionRefusedError 111", "::1 ConnectionRefusedError 111",
                              "10.0.0.1 OSError 101", "8.8.8.8 OSError 101"]
    assert services.accepted == []


@attack("udp_to_a_local_service", """
    import socket
    try:
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"hello", ("127.0.0.1", __UDP__))
        print("SENT")
    except OSError as exc:
        print(type(exc).__name__, exc.errno)
""")
def _(trace: Trace, services: Services) -> None:
    assert printed(trace) == ["PermissionError 1"]
    assert services.datagrams == []


@attack("netlink_raw_and_packet_sockets", """
    import socket
    for name, args in {
        "netlink": (socket.AF_NETLINK, socket.SOCK_RAW, 0),
        "raw": (socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP),
        "packet": (socket.AF_PACKET, socket.SOCK_RAW, 0),
        "inet6": (socket.AF_INET6, socket.SOCK_STREAM, 0),
        "vsock": (40, socket.SOCK_STREAM, 0),
    }.items():
        try:
            socket.socket(*args)
            print(name, "OPENED")
        except OSError as exc:
            print(name, exc.errno)
    left, right = socket.socketpair()
    left.send(b"unix ok")
    print(right.recv(10).decode())
""")
def _(trace: Trace, _s: Services) -> None:
    # A TCP socket opens (it connects through the server's guard, tests/egress).
    assert printed(trace) == ["netlink 1", "raw 1", "packet 1", "inet6 OPENED", "vsock 1", "unix ok"]


@attack("asyncio_open_connection", """
    import asyncio
    async def main():
        try:
            await asyncio.open_connection("127.0.0.1", __TCP__)
            print("CONNECTED")
        except OSError as exc:
            print(type(exc).__name__, exc.errno)
    asyncio.run(main())
""")
def _(trace: Trace, services: Services) -> None:
    assert trace["status"] == "ok", how_it_ended(trace)
    assert printed(trace) == ["ConnectionRefusedError 111"]
    assert services.accepted == []


@attack("host_unix_sockets", """
    import socket
    for path in ("/run/dbus/system_bus_socket", "/var/run/docker.sock", "/tmp/.X11-unix/X0", "/dev/log"):
        try:
            socket.socket(socket.AF_UNIX).connect(path)
            print(path, "CONNECTED")
        except OSError as exc:
            print(path, type(exc).__name__)
""")
def _(trace: Trace, _s: Services) -> None:
    assert printed(trace) and all(line.endswith("FileNotFoundError") for line in printed(trace)), printed(trace)


@attack("tiocsti", """
    import ctypes, fcntl, os, termios
    for fd in (0, 1, 2):
        try:
            fcntl.ioctl(fd, termios.TIOCSTI, b"x")
            print(fd, "INJECTED")
        except OSError as exc:
            print(fd, exc.errno)
    libc = ctypes.CDLL(None, use_errno=True)
    # The request's high bits set, which the kernel ignores: still refused.
    result = libc.syscall(16, 0, ctypes.c_ulong(0x100005412), ctypes.c_char_p(b"x"))
    print("high bits", result, ctypes.get_errno())
    try:
        os.open("/dev/tty", os.O_RDWR)
        print("tty OPENED")
    except OSError as exc:
        print("tty", type(exc).__name__)
""")
def _(trace: Trace, _s: Services) -> None:
    assert printed(trace)[:4] == ["0 1", "1 1", "2 1", "high bits -1 1"]
    assert printed(trace)[4].startswith("tty ") and "OPENED" not in printed(trace)[4]


# The trusted prelude, reached from the snippet.

@attack("escape_through_subclasses", """
    def subclasses(cls, seen):
        for sub in type.__subclasses__(cls) if isinstance(cls, type) else ():
            if sub not in seen:
                seen.add(sub)
                subclasses(sub, seen)
        return seen
    found = {cls.__name__: cls for cls in subclasses(object, set())}
    prelude = found["Run"].__init__.__globals__
    try:
        prelude["set_limits"](prelude["ResourceLimits"](1000, 2 ** 40, 2 ** 30, 4096, 4096))
        print("RAISED")
    except ValueError as exc:
        print("limits", exc)
    try:
        prelude["os"].chroot("/tmp")
    except OSError as exc:
        print("chroot", exc.errno)
    while True:
        pass
""")
def _(trace: Trace, _s: Services) -> None:
    assert printed(trace) == ["limits not allowed to raise maximum limit", "chroot 1"]
    stopped_by(trace, "cpu_limit", "cpu_seconds", "2 s CPU limit")


@attack("escape_through_frames", """
    import asyncio, sys
    frame = sys._getframe()
    while "run" not in frame.f_locals:
        frame = frame.f_back
    run, settings = frame.f_locals["run"], frame.f_locals["settings"]
    object.__setattr__(settings.limits, "cpu_seconds", 1000)  # frozen is no defence
    run.clock.horizon = float("inf")
    run.recorder.max_events = 10 ** 9
    print("prelude reached")
    async def forever():
        while True:
            await asyncio.sleep(10 ** 6)
    asyncio.run(forever())
""")
def _(trace: Trace, _s: Services) -> None:
    # Whatever the snippet changes in the prelude, the limits the server
    # enforces from outside still stop it.
    assert printed(trace) == ["prelude reached"]
    assert trace["status"] in ("cpu_limit", "timeout", "output_limit")
    # Past its own cap the tracer sends more messages than the server takes.
    assert limits_hit(trace)[0] in ("cpu_seconds", "wall_seconds", "max_rejected")


# Cancellation and time.

@attack("swallowing_cancelled_error", """
    import asyncio
    async def stubborn():
        while True:
            try:
                await asyncio.sleep(1)
            except asyncio.CancelledError:
                print("swallowed")
    async def main():
        task = asyncio.create_task(stubborn())
        await asyncio.sleep(0.5)
        task.cancel()
        await task
    asyncio.run(main())
""")
def _(trace: Trace, _s: Services) -> None:
    stopped_by(trace, "timeout", "horizon_seconds", "horizon of 3600 s")
    assert printed(trace) == ["swallowed"]
    assert trace["wall"] < WALL


@attack("virtual_sleep_of_a_billion_seconds", """
    import asyncio
    asyncio.run(asyncio.sleep(10 ** 9))
""")
def _(trace: Trace, _s: Services) -> None:
    stopped_by(trace, "timeout", "horizon_seconds", "horizon of 3600 s")
    assert trace["wall"] < 1


@attack("blocking_sleep_of_a_billion_seconds", """
    import time
    time.sleep(10 ** 9)
""")
def _(trace: Trace, _s: Services) -> None:
    stopped_by(trace, "timeout", "horizon_seconds", "horizon of 3600 s")
    assert trace["wall"] < 1


@attack("real_clock_sleep_past_the_wall_limit", """
    import asyncio
    asyncio.run(asyncio.sleep(60))
""", clock="real")
def _(trace: Trace, _s: Services) -> None:
    stopped_by(trace, "timeout", "wall_seconds", f"{WALL:g} s wall-clock limit")
    assert WALL <= trace["wall"] < WALL + 2


@attack("real_clock_blocking_sleep", """
    import time
    time.sleep(60)
""", clock="real")
def _(trace: Trace, _s: Services) -> None:
    stopped_by(trace, "timeout", "wall_seconds", f"{WALL:g} s wall-clock limit")


# Hostile text.

@attack("null_bytes_and_lone_surrogates_in_output", """
    print("nul\\x00byte")
    print("lone \\udc80 surrogate")
    print("<script>alert(1)</script>")
""")
def _(trace: Trace, _s: Services) -> None:
    assert trace["status"] == "ok"
    assert printed(trace) == ["nul\x00byte", "lone ? surrogate", "<script>alert(1)</script>"]


@attack("null_byte_in_the_code", "print('a')\x00print('b')\n")
def _(trace: Trace, _s: Services) -> None:
    assert trace["status"] == "error"
    assert "null bytes" in trace["error"]["message"]
    assert printed(trace) == []


# Running them.

def post_run(client: FlaskClient, code: str, clock: str = "virtual") -> Trace:
    response = client.post("/api/run", json={"code": code, "clock": clock})
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.get_json()  # type: ignore[no-any-return]


def open_descriptors() -> int:
    """Descriptors open in this process, less those of the warm jails (and of
    garbage an earlier module left, e.g. a client's socket, closed when
    collected)."""
    gc.collect()
    waiting_jails()  # none is being started
    held = {fd for pool in open_pools() for fd in pool.descriptors()}
    return len(set(map(int, os.listdir("/proc/self/fd"))) - held)


def temporary_dirs() -> set[str]:
    return {name for name in os.listdir(tempfile.gettempdir()) if name.startswith("playground")}


@pytest.fixture
def server_is_fine(client: FlaskClient) -> Iterator[None]:
    """After the case: a normal run works, and nothing was left behind but
    the warm jails waiting for the next runs (the same number before and
    after: their descriptors are counted alike)."""
    post_run(client, "print('warm')")  # first-run caches (the jail's binds) are not leaks
    descriptors, temporaries = open_descriptors(), temporary_dirs()
    yield
    trace = post_run(client, BY_NAME["gather"].code)
    assert trace["status"] == "ok", how_it_ended(trace)
    assert printed(trace) == ["Hello"] * 3 + ["World"] * 3
    assert jail_processes() == []
    assert open_descriptors() == descriptors
    assert temporary_dirs() == temporaries


@pytest.mark.parametrize("case", ATTACKS, ids=str)
def test_snippet_attack(client: FlaskClient, services: Services, case: Attack, server_is_fine: None) -> None:
    code = case.code.replace("__TCP__", str(services.tcp_port)).replace("__UDP__", str(services.udp_port))
    trace = post_run(client, code, case.clock)
    case.check(trace, services)


def test_files_do_not_persist_between_runs(client: FlaskClient, server_is_fine: None) -> None:
    first = post_run(client, """
import os
open("/tmp/left-behind", "w").write("secret")
os.makedirs("/tmp/dir/sub")
print(sorted(os.listdir("/tmp")))
with open("/dev/shm/left-behind", "w") as shared:
    shared.write("secret")
print(os.listdir("/dev/shm"))
""")
    assert printed(first) == ["['dir', 'left-behind', 'main.py']", "['left-behind']"]
    second = post_run(client, "import os\nprint(os.listdir('/tmp'), os.getcwd(), os.listdir('/dev/shm'))")
    assert printed(second) == ["['main.py'] /tmp []"]


def test_runs_of_one_jail_share_nothing(app: Flask, client: FlaskClient, server_is_fine: None) -> None:
    """Runs forked by one fork server, back to back: no SysV IPC object to
    leave behind (the filter refuses them), their own random state and /tmp."""
    pool = app_services(app).sandbox.pool
    jails = pool.pids()
    first = post_run(client, """
import ctypes, random
libc = ctypes.CDLL(None, use_errno=True)
print(libc.shmget(0x5EED, 4096, 0o1666), ctypes.get_errno())  # IPC_CREAT: would outlive its process
print(random.random())
""")
    second = post_run(client, """
import ctypes, random
libc = ctypes.CDLL(None, use_errno=True)
print(libc.shmget(0x5EED, 0, 0), ctypes.get_errno())
print(random.random())
""")
    assert printed(first)[0] == printed(second)[0] == "-1 1"  # EPERM
    assert printed(first)[1] != printed(second)[1]
    assert pool.pids() == jails  # the same jails forked both runs


# Hostile requests: each is refused with the right error, before any run.

REQUEST_ATTACKS = {
    "json_nesting_bomb": (dict(data=b"[" * 100_000 + b"]" * 100_000, content_type="application/json"),
                          400, "malformed_json"),
    "giant_integer": (dict(data=b'{"code": ' + b"9" * 100_000 + b"}", content_type="application/json"),
                      400, "malformed_json"),
    "nan_for_code": (dict(data=b'{"code": NaN}', content_type="application/json"), 400, "wrong_fields"),
    "code_as_object": (dict(json={"code": {"source": "print(1)"}}), 400, "wrong_fields"),
    "clock_as_list": (dict(json={"code": "print(1)", "clock": ["real"]}), 400, "wrong_fields"),
    "null_byte_outside_strings": (dict(data=b'{"code": "print(1)"}\x00', content_type="application/json"),
                                  400, "malformed_json"),
    "lone_surrogate_in_clock": (dict(data=b'{"code": "print(1)", "clock": "\\udfff"}',
                                     content_type="application/json"), 400, "wrong_fields"),
    "invalid_utf8": (dict(data=b'{"code": "\xc3\x28"}', content_type="application/json"), 400, "malformed_json"),
    "form_post": (dict(data={"code": "print(1)"}), 415, "unsupported_media_type"),
    "json_in_disguise": (dict(data=b'{"code": "print(1)"}', content_type="text/plain"), 415, "unsupported_media_type"),
}


class CountedBody(io.BytesIO):
    """A request body that counts what the server read of it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.taken = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.taken += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        count = super().readinto(buffer)
        self.taken += count
        return count


@pytest.mark.parametrize("name", list(REQUEST_ATTACKS))
def test_request_attack(client: FlaskClient, name: str, server_is_fine: None) -> None:
    options, status, code = REQUEST_ATTACKS[name]
    response = client.post("/api/run", **options)
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    body = response.get_json()
    assert set(body) == {"error"} and body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code


def test_huge_body_is_refused_unread(client: FlaskClient, server_is_fine: None) -> None:
    body = CountedBody(b'{"code": "' + b"#" * (10 * 1024 * 1024) + b'"}')
    response = client.post("/api/run", input_stream=body, content_type="application/json")
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "request_entity_too_large"
    assert body.taken == 0  # refused on its declared length, before reading it
