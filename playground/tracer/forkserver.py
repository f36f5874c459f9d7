"""The fork server: the interpreter a jail keeps warm, which forks every run.

Starting Python and importing asyncio and the tracer costs tens of
milliseconds of CPU, far more than a typical snippet takes. So a jail starts
one interpreter, the fork server, which imports all of that once, builds the
system-call filter, says ``READY`` on its standard output and then serves
runs, one at a time, each in a process of its own forked from that state:

1. The server sends one request on the control socket (``CONTROL_FD``): a
   JSON object of settings, with the run's descriptors attached
   (``SCM_RIGHTS``): its standard input, its output, its event pipe, a
   status socket and its network channel.
2. The fork server starts the run's init and waits for it to end before it
   takes the next request. It never reads a snippet nor runs any of it.
3. The init is pid 1 of the run's new mount, pid, ipc and network
   namespaces when the run is isolated (in a jail), so that every process of
   the run ends with it. It mounts a fresh, size-capped tmpfs on ``/tmp``
   (and one on ``/dev/shm``): nothing a run writes, creates or leaves behind
   reaches the next one. With the C accelerator one ``clone()`` makes the
   init in its namespaces and the init runs no Python (``_runinit.c``);
   without it, a *keeper* forked first enters the namespaces with
   ``unshare()`` and forks the init (``keep_run``), the same steps in Python.
4. The init drops every capability and forks the run's process (pid 2),
   waits for it, and writes a ``RunReport`` (its wait status, peak memory,
   CPU time and what was left of ``/tmp``) to the status socket.
5. The run process keeps its five descriptors and nothing else, says
   ``READY`` and waits for its snippet; the prelude then sets the limits,
   installs the tracer and the filter, and runs it.

The fork server needs ``CAP_SYS_ADMIN`` in the jail's own user namespace for
step 3 (the jail grants it and nothing else); the init gives it up before
the run's process exists. Only trusted code (this module) runs with it.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import struct
from collections.abc import Callable
from typing import Any, NoReturn

from . import prelude, protocol
from .hotpath import SPEEDUPS
from .protocol import EXIT_SETUP_FAILED, RUN_FDS, ForkRequest, ProtocolError, RunReport

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
RUN_NAMESPACES = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWNET
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REC = 0x4000
MS_PRIVATE = 0x40000
PR_SET_PDEATHSIG = 1
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
_SYS_CAPSET = 126  # x86-64
# The descriptors the run's init closes once the run's process has them.
_RUN_PROCESS_ONLY = ("stdin", "stdout", "events", "network")
# The C init (_runinit.c), when the accelerator is built and allowed.
_spawn_run = getattr(SPEEDUPS, "spawn_run", None)

_libc = ctypes.CDLL(None, use_errno=True)

# What the interpreter handles or ignores of its own accord at start.
_PYTHON_SIGNALS: dict[signal.Signals, Callable[[int, Any], Any] | int] = {
    signal.SIGINT: signal.default_int_handler,
    signal.SIGPIPE: signal.SIG_IGN,
    signal.SIGXFSZ: signal.SIG_IGN,
}


class SetupFailed(OSError):
    """A step that isolates a run failed; the run must not start."""


def _check(result: int, what: str) -> None:
    if result != 0:
        error = ctypes.get_errno()
        raise SetupFailed(error, f"{what}: {os.strerror(error)}")


def tmp_options(request: ForkRequest) -> bytes:
    """The mount options of an isolated run's /tmp (and /dev/shm): ``tmp_bytes``
    each, holding at most ``tmp_files`` files and directories."""
    if request.tmp_bytes is None or request.tmp_files is None:
        raise SetupFailed(0, "an isolated run needs the size of its /tmp")
    return f"size={int(request.tmp_bytes)},nr_inodes={int(request.tmp_files)},mode=0755".encode()


def isolate(options: bytes) -> None:
    """Enter the run's own namespaces, with a fresh /tmp (and /dev/shm)
    mounted with ``options`` (``tmp_options``).

    The pid namespace applies to the children forked after this call."""
    _check(_libc.unshare(RUN_NAMESPACES), "unshare")
    # Mounts made from here on stay in this run's mount namespace.
    _check(_libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /")
    # No program runs from what the run wrote (noexec): the programs it may
    # start are the jail's own (protocol.PROGRAMS).
    flags = MS_NOSUID | MS_NODEV | MS_NOEXEC
    _check(_libc.mount(b"tmpfs", b"/tmp", b"tmpfs", flags, options), "mount /tmp")
    # POSIX shared memory and semaphores (multiprocessing's locks and queues)
    # live in /dev/shm: a tmpfs of the run's own, of the same caps as /tmp.
    _check(_libc.mount(b"tmpfs", b"/dev/shm", b"tmpfs", flags, options), "mount /dev/shm")


def drop_capabilities() -> None:
    """Give up every capability (effective, permitted and inheritable; the
    ambient ones go with them). The jail already forbids gaining new ones."""
    header = struct.pack("=Ii", _LINUX_CAPABILITY_VERSION_3, 0)
    data = bytes(24)  # two zeroed {effective, permitted, inheritable} words
    _check(_libc.syscall(_SYS_CAPSET, header, data), "capset")


def _become_run_process(fds: dict[str, int], request: ForkRequest) -> None:
    """Turn the run's init's child into the run's process: its descriptors
    as 0, 1, 2 and EVENTS_FD, nothing else open, and the signal handling
    any Python starts with (the init reset it)."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    for number, handler in _PYTHON_SIGNALS.items():
        signal.signal(number, handler)
    os.dup2(fds["stdin"], 0)
    os.dup2(fds["stdout"], 1)
    os.dup2(fds["stdout"], 2)
    os.dup2(fds["events"], protocol.EVENTS_FD)
    os.dup2(fds["network"], protocol.NETWORK_FD)
    os.closerange(protocol.NETWORK_FD + 1, os.sysconf("SC_OPEN_MAX"))
    workdir = "/tmp" if request.isolate or request.workdir is None else request.workdir
    os.chdir(workdir)
    os.environ["HOME"] = workdir


def _forked(child: Callable[..., object], *args: Any) -> NoReturn:
    """Run ``child(*args)`` in a process just forked, and end that process
    however ``child`` ends: it must never return into its parent's code."""
    try:
        child(*args)
    except BaseException as exc:
        try:
            os.write(2, f"playground: could not set the run up: {exc}\n".encode("utf-8", "replace"))
        finally:
            os._exit(EXIT_SETUP_FAILED)
    os._exit(EXIT_SETUP_FAILED)


def _run_process(fds: dict[str, int], request: ForkRequest, prepared: Any) -> None:
    os.close(fds["status"])
    _become_run_process(fds, request)
    prelude.serve_one(prepared)


def _init_run(fds: dict[str, int], request: ForkRequest, prepared: Any) -> None:
    """The run's init (pid 1 of its pid namespace when isolated): start the
    run's process, wait for it, report its wait status. The kernel drops
    signals to a namespace's init from inside it unless the init handles
    them, and it handles none, so the snippet cannot stop this report."""
    status_fd = fds["status"]
    try:
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # dies with the keeper
        for number in _PYTHON_SIGNALS:
            signal.signal(number, signal.SIG_DFL)
        if request.isolate:
            drop_capabilities()
        run_pid = os.fork()
    except OSError as exc:
        _report(status_fd, {"setup": str(exc)})
        os._exit(EXIT_SETUP_FAILED)
    if run_pid == 0:
        _forked(_run_process, fds, request, prepared)
    for name in _RUN_PROCESS_ONLY:
        os.close(fds[name])
    _, wait_status, usage = os.wait4(run_pid, 0)
    tmp = os.statvfs("/tmp") if request.isolate else None
    report = RunReport(
        wait_status=wait_status,
        max_rss_kib=usage.ru_maxrss,
        cpu_seconds=round(usage.ru_utime + usage.ru_stime, 6),
        tmp_free_bytes=tmp.f_bavail * tmp.f_frsize if tmp is not None else None,
        tmp_free_files=tmp.f_favail if tmp is not None else None,
    )
    _write(status_fd, report.to_bytes())
    os._exit(0)


def keep_run(fds: dict[str, int], request: ForkRequest, prepared: Any) -> None:
    """The keeper: isolate the run, start its init, wait for it."""
    try:
        if request.isolate:
            isolate(tmp_options(request))
        init_pid = os.fork()
    except OSError as exc:
        _report(fds["status"], {"setup": str(exc)})
        os._exit(EXIT_SETUP_FAILED)
    if init_pid == 0:
        _forked(_init_run, fds, request, prepared)
    for fd in fds.values():
        os.close(fd)
    os.waitpid(init_pid, 0)
    os._exit(0)


def _report(fd: int, message: dict[str, Any]) -> None:
    _write(fd, json.dumps(message).encode() + b"\n")


def _write(fd: int, data: bytes) -> None:
    try:
        os.write(fd, data)
    except OSError:
        pass  # the server gave up on the run


def serve(control_fd: int = protocol.CONTROL_FD) -> NoReturn:
    """Get ready, then serve runs until the server closes the control socket."""
    prepared = prelude.get_ready()
    # Nobody reads the fork server's output once it is ready: what a keeper
    # or an init could still write there must not fill a pipe and block it.
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)
    os.dup2(quiet, 2)
    os.close(quiet)
    control = socket.socket(fileno=control_fd)
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(control, protocol.MAX_REQUEST_BYTES, len(RUN_FDS))
        except OSError:
            os._exit(0)
        if not data:
            os._exit(0)  # the server is gone or done with this jail
        if len(fds) != len(RUN_FDS):
            for fd in fds:
                os.close(fd)
            continue
        named = dict(zip(RUN_FDS, fds, strict=False))
        try:
            request = ForkRequest.from_bytes(data)
        except ProtocolError as exc:
            _report(named["status"], {"setup": f"the server's request broke the protocol: {exc}"})
            for fd in fds:
                os.close(fd)
            continue
        started = _start_run(control, named, request, prepared)
        for fd in fds:
            os.close(fd)
        if started > 0:
            os.waitpid(started, 0)


def _start_run(control: socket.socket, fds: dict[str, int], request: ForkRequest, prepared: Any) -> int:
    """Start the run's init, and under it the run's process; the pid to wait
    for (the init's, or the keeper's), or 0 when nothing started. With the C
    accelerator one clone() makes the init in the run's namespaces and the
    init runs no Python (_runinit.c); without it, a keeper does (keep_run)."""
    if _spawn_run is None:
        keeper = os.fork()
        if keeper == 0:
            control.close()
            _forked(keep_run, fds, request, prepared)
        return keeper
    try:
        init = _spawn_run(
            isolate=request.isolate,
            tmp_options=tmp_options(request) if request.isolate else b"",
            status_fd=fds["status"],
            close_in_init=(control.fileno(),),
            close_after_fork=tuple(fds[name] for name in _RUN_PROCESS_ONLY),
        )
    except OSError as exc:
        _report(fds["status"], {"setup": str(exc)})
        return 0
    if init == 0:
        control.detach()  # the init closed it: this process must not close whatever takes its number
        _forked(_run_process, fds, request, prepared)
    return int(init)
