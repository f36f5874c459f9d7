"""A started jail and the runs it forks, as the server holds them.

``ForkServer`` is one jail: bubblewrap, its init, and the fork server inside
(:mod:`playground.tracer.forkserver`), which imports the interpreter's and
the tracer's modules once and then forks each run. ``ForkServer.fork``
hands it the descriptors of one run and returns a ``JailRun``: the run's
pipes (its standard input, its raw output, its events) and a status socket
on which the run's init reports how the run ended, and closes when it is
gone. A run waits, ready, for its snippet; the runner feeds and watches it.

Killing a run kills its whole jail (everything in it dies with the jail's
init): that happens only at a limit, and the next run gets a new jail. A run
that ends by itself leaves its jail's fork server waiting for the next.
"""

from __future__ import annotations

import fcntl
import json
import os
import selectors
import signal
import socket
import subprocess
import time
from collections.abc import Callable

from playground.model.trace import MAX_TEXT, clean_text
from playground.sandbox.cgroups import SlotCgroup
from playground.sandbox.jail import Jail, JailCommand, JailUnavailable, RunSetup
from playground.sandbox.limits import Limits
from playground.sandbox.pythons import Python
from playground.tracer.protocol import (
    EXIT_SETUP_FAILED,
    MAX_STATUS_BYTES,
    READY,
    RUN_FDS,
    ProtocolError,
    RunReport,
)

READ_SIZE = 64 * 1024
PIPE_BYTES = 1024 * 1024
KILL_WAIT_SECONDS = 2.0
INFO_WAIT_SECONDS = 0.5
SETUP_REPORT_SECONDS = 0.5
MAX_INFO_BYTES = 4096
# How long a jail may take to start (bubblewrap, the interpreter, the
# tracer's imports), or a run to be forked, before it counts as unable to.
START_SECONDS = 10.0
# What a jail or a run may write before saying it is ready (bubblewrap's or
# the interpreter's complaint when it cannot start) that we keep.
MAX_EARLY_BYTES = 4096
NOT_STARTED_MESSAGE = "This server cannot start a jail: {why}"
NOT_FORKED_MESSAGE = "This server cannot set a run up in its jail: {why}"


def widen_pipe(fd: int) -> None:
    """Let the tracer write ahead of our parsing instead of stalling the run."""
    try:
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except OSError:
        pass  # above /proc/sys/fs/pipe-max-size: the default size still works


def _wait_for_ready(fd: int, timeout: float, why_not: str, others: dict[int, str] | None = None,
                    on_other: Callable[[str, bytes], None] | None = None) -> bytes:
    """Read ``fd`` until it says READY; what came before or with it. Raise
    ``JailUnavailable`` (``why_not`` with the reason) when it ends or takes
    longer than ``timeout``. ``others`` are more descriptors to read
    meanwhile, each handed to ``on_other(name, data)``."""
    said = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ, "ready")
        for other, name in (others or {}).items():
            selector.register(other, selectors.EVENT_READ, name)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise JailUnavailable(why_not.format(
                    why=f"it was not ready after {timeout:g} s (is the machine overloaded?)"))
            for key, _ in selector.select(remaining):
                data = os.read(key.fd, READ_SIZE)
                if key.data != "ready":
                    if not data:
                        selector.unregister(key.fd)
                    if on_other is not None:
                        on_other(key.data, data)
                    continue
                if not data:
                    text = said.decode("utf-8", "replace").strip() or "it exited"
                    raise JailUnavailable(why_not.format(why=clean_text(text, MAX_TEXT)))
                said += data
                if READY in said:
                    before, _, after = said.partition(READY)
                    return (before + after)[-MAX_EARLY_BYTES:]
                said = said[-(MAX_EARLY_BYTES + len(READY)):]


class ForkServer:
    """One started jail, whose fork server forks one run at a time."""

    def __init__(self, process: subprocess.Popen[bytes], control: socket.socket, info_fd: int | None,
                 python: Python, cgroup: SlotCgroup | None = None) -> None:
        self.process = process
        # The interpreter the jail runs: every run it forks is of this Python.
        self.python = python
        self.control = control
        self.info_fd = info_fd
        # The slot's cgroup the whole jail runs in, when the host has one.
        self.cgroup = cgroup
        self.spawned_at = time.monotonic()
        self.ready_at: float | None = None
        self._info = b""
        self._init_pidfd: int | None = None
        self._discarded = False

    def descriptors(self) -> list[int]:
        """The descriptors this process holds for the jail."""
        if self._discarded:
            return []
        held = [self.control.fileno(), *(fd for fd in (self.info_fd, self._init_pidfd) if fd is not None)]
        return [*held, self.process.stdout.fileno()] if self.process.stdout is not None else held

    def alive(self) -> bool:
        return not self._discarded and self.process.poll() is None

    def wait_ready(self, timeout: float = START_SECONDS) -> None:
        """Wait until the fork server is ready to fork runs."""
        if self.ready_at is not None:
            return
        assert self.process.stdout is not None
        others = {self.info_fd: "info"} if self.info_fd is not None else {}
        try:
            _wait_for_ready(self.process.stdout.fileno(), timeout, NOT_STARTED_MESSAGE, others,
                            lambda name, data: self.take_info(data))
        except JailUnavailable:
            self.discard()
            raise
        self._read_pending_info()
        self.ready_at = time.monotonic()

    def take_info(self, data: bytes) -> None:
        """bubblewrap's ``--info-fd`` JSON, which names the jail's init."""
        if self._init_pidfd is not None or len(self._info) >= MAX_INFO_BYTES:
            return  # known already, or not what bwrap writes: stop collecting
        self._info += data[:MAX_INFO_BYTES]
        try:
            pid = json.loads(self._info)["child-pid"]
        except (ValueError, KeyError, TypeError):
            return
        if isinstance(pid, int):
            try:
                self._init_pidfd = os.pidfd_open(pid)
            except OSError:
                pass

    def _read_pending_info(self) -> None:
        if self.info_fd is None or self._init_pidfd is not None:
            return
        with selectors.DefaultSelector() as selector:
            selector.register(self.info_fd, selectors.EVENT_READ)
            while self._init_pidfd is None and selector.select(INFO_WAIT_SECONDS):
                data = os.read(self.info_fd, MAX_INFO_BYTES)
                if not data:
                    return
                self.take_info(data)

    def fork(self, jail: Jail, limits: Limits) -> JailRun:
        """Have the fork server set up one run; it gets ready and waits for a
        snippet (``JailRun.wait_ready``)."""
        self.wait_ready()
        setup = jail.run_setup(limits)
        stdin_read, stdin_write = os.pipe()
        raw_read, raw_write = os.pipe()
        events_read, events_write = os.pipe()
        widen_pipe(events_write)
        status, status_child = socket.socketpair()
        network, network_child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        theirs = (stdin_read, raw_write, events_write, status_child.fileno(), network_child.fileno())
        assert len(theirs) == len(RUN_FDS)
        try:
            socket.send_fds(self.control, [setup.request.to_bytes()], list(theirs))
        except OSError as exc:
            for fd in (stdin_write, raw_read, events_read):
                os.close(fd)
            status.close()
            network.close()
            setup.close()
            raise JailUnavailable(NOT_FORKED_MESSAGE.format(why=f"its fork server is gone ({exc})")) from exc
        finally:
            for fd in theirs[:3]:
                os.close(fd)
            status_child.close()
            network_child.close()
        return JailRun(self, setup, stdin_write, raw_read, events_read, status, network)

    def kill(self) -> None:
        """Kill everything in the jail, and wait until it is gone."""
        self._read_pending_info()
        if self._init_pidfd is not None:
            # Killing a pid namespace's init kills all of the namespace,
            # runs' namespaces included, and bwrap exits once that is done.
            try:
                signal.pidfd_send_signal(self._init_pidfd, signal.SIGKILL)
            except OSError:
                pass
            try:
                self.process.wait(KILL_WAIT_SECONDS)
            except subprocess.TimeoutExpired:
                pass
        if self.process.returncode is None:
            # Not reaped yet, so the process group id is still this jail's.
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def reap_init(self) -> None:
        """Wait for the jail's init to be gone.

        bwrap can exit as soon as the init reports its child's exit code,
        leaving the init to be reaped by whoever adopts it. The jail makes
        this process a child subreaper, so it adopts the init and reaps it
        here; if bwrap reaped it already, there is nothing to wait for.
        """
        if self._init_pidfd is None:
            return
        try:
            os.waitid(os.P_PIDFD, self._init_pidfd, os.WEXITED)
        except ChildProcessError:
            pass

    def discard(self) -> None:
        """Kill the jail if it still runs, reap it and its init, and close
        every descriptor: nothing of it is left. Safe to call again."""
        if self._discarded:
            return
        self._discarded = True
        process = self.process
        try:
            self.kill()
            if process.returncode is None:
                _, wait_status = os.waitpid(process.pid, 0)
                process.returncode = os.waitstatus_to_exitcode(wait_status)
            self.reap_init()
        finally:
            self.control.close()
            for fd in (self.info_fd, self._init_pidfd):
                if fd is not None:
                    os.close(fd)
            if process.stdout is not None:
                process.stdout.close()


class JailRun:
    """One run forked in a jail: its pipes, and how it ended once it has.

    ``owns_server``: the jail was started for this run alone, and goes when
    the run does."""

    def __init__(self, server: ForkServer, setup: RunSetup, stdin: int, raw_read: int,
                 events_read: int, status: socket.socket, network: socket.socket) -> None:
        self.server = server
        self.setup = setup
        self.stdin = stdin
        self.raw_read = raw_read
        self.events_read = events_read
        self.status = status
        # The server's end of the run's network channel (playground.egress serves it).
        self.network = network
        self.owns_server = False
        # Set up ahead of its run, by the pool.
        self.warm = False
        self.spawned_at = time.monotonic()
        self.ready_at: float | None = None
        # Raw output that came before (or with) the ready mark.
        self.early = b""
        self.returncode: int | None = None
        # What the run's init saw when the run ended: the server's evidence.
        self.report: RunReport | None = None
        self.setup_error: str | None = None
        self._status = b""
        self._status_closed = False
        self._discarded = False

    @property
    def start_seconds(self) -> float | None:
        """How long the run took to get ready, counting its jail's start
        when the jail was started for it."""
        if self.ready_at is None:
            return None
        return self.ready_at - (self.server.spawned_at if self.owns_server else self.spawned_at)

    def descriptors(self) -> list[int]:
        if self._discarded:
            return []
        held = [fd for fd in (self.stdin, self.raw_read, self.events_read) if fd >= 0]
        held += [self.status.fileno(), self.network.fileno()]
        return held + (self.server.descriptors() if self.owns_server else [])

    def alive(self) -> bool:
        return not self._discarded and not self._status_closed and self.server.alive()

    def wait_ready(self, timeout: float = START_SECONDS) -> None:
        """Wait until the run's process waits for its snippet; raise
        ``JailUnavailable``, with what went wrong, if it ends first."""
        if self.ready_at is not None:
            return
        try:
            self.early = _wait_for_ready(self.raw_read, timeout, NOT_FORKED_MESSAGE, {self.status.fileno(): "status"},
                                         lambda name, data: self.take_status(data))
        except JailUnavailable as exc:
            if self.setup_error is None:
                # Its output may end before the init's report is read.
                self.wait_status(SETUP_REPORT_SECONDS)
            if self.setup_error:
                raise JailUnavailable(NOT_FORKED_MESSAGE.format(why=self.setup_error)) from exc
            raise
        self.ready_at = time.monotonic()

    def take_status(self, data: bytes) -> None:
        """What the init wrote on the status socket (EOF: it is gone)."""
        if not data:
            self._status_closed = True
            self._parse_status()
            return
        if len(self._status) < MAX_STATUS_BYTES:
            self._status += data[:MAX_STATUS_BYTES]

    def _parse_status(self) -> None:
        """The init's ``RunReport``, or ``{"setup": why}`` when the run could not be set up."""
        try:
            message = json.loads(self._status.decode("ascii", "replace").splitlines()[0])
        except (ValueError, IndexError):
            return
        if isinstance(message, dict) and isinstance(message.get("setup"), str):
            self.setup_error = clean_text(message["setup"], MAX_TEXT)
            self.returncode = EXIT_SETUP_FAILED
            return
        try:
            self.report = RunReport.from_json(message)
            self.returncode = os.waitstatus_to_exitcode(self.report.wait_status)
        except (ProtocolError, ValueError):
            self.report = None

    def wait_status(self, timeout: float) -> None:
        """Read the status socket until the init closes it, for at most
        ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(self.status, selectors.EVENT_READ)
            while not self._status_closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(remaining):
                    return
                self.take_status(self.status.recv(READ_SIZE))

    def hand_over(self, payload: bytes) -> None:
        """Give the run its settings and snippet, and close its input."""
        view = memoryview(payload)
        try:
            while view:
                view = view[os.write(self.stdin, view):]
        except BrokenPipeError:
            pass
        finally:
            os.close(self.stdin)
            self.stdin = -1

    def discard(self) -> None:
        """End the run if it still runs (with its jail), and free everything
        it holds; its jail stays only if the run ended by itself and others
        share it. Safe to call again."""
        if self._discarded:
            return
        self._discarded = True
        try:
            if not self._status_closed or self.owns_server:
                self.server.discard()
            if not self._status_closed:
                self.wait_status(KILL_WAIT_SECONDS)
        finally:
            for fd in (self.stdin, self.raw_read, self.events_read):
                if fd >= 0:
                    os.close(fd)
            self.status.close()
            self.network.close()
            self.setup.close()


def start_server(jail: Jail, slot: int, limits: Limits, python: Python) -> ForkServer:
    """Start a jail of ``python`` for slot ``slot``; it gets ready to fork runs."""
    command = jail.command(slot, limits, python)
    control, control_child = socket.socketpair()
    try:
        process = _start(command, control_child.fileno())
    except BaseException:
        if command.info_fd is not None:
            os.close(command.info_fd)
        control.close()
        raise
    finally:
        control_child.close()
        command.close()
    return ForkServer(process, control, command.info_fd, python, command.cgroup)


def start_run(jail: Jail, slot: int, limits: Limits, python: Python) -> JailRun:
    """A run of ``python`` in a jail of its own, started now, which goes when the run does."""
    server = start_server(jail, slot, limits, python)
    try:
        run = server.fork(jail, limits)
    except BaseException:
        server.discard()
        raise
    run.owns_server = True
    return run


def _start(command: JailCommand, control_fd: int) -> subprocess.Popen[bytes]:
    try:
        return subprocess.Popen(
            [*command.argv, str(control_fd)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            pass_fds=(*command.pass_fds, control_fd),
            cwd=command.cwd,
            env=command.env,
            user=command.user,
            group=command.group,
            extra_groups=[] if command.group is not None else None,
            start_new_session=True,
        )
    except OSError as exc:
        raise JailUnavailable(f"This server cannot start a jail: {exc}") from exc
