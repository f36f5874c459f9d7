"""Run one snippet in a jail and return its trace.

``start_jail`` starts a jail, which says when its interpreter is ready and
then waits for a snippet: it can be started ahead of the run (see
playground.pool). The runner then sends it the settings and the snippet,
reads the event stream and the raw output as they come, and enforces from
outside what the snippet could otherwise ignore: the wall-clock limit
(counted from the moment the snippet is handed over), the output cap and the
size of the stream. At any limit it kills the whole jail and keeps
everything already received. It alone decides the run's ``status`` and
``wall``; the tracer's own claim is taken only when the jail exited normally.
Every jail is used for one run, and is gone when ``run_snippet`` returns.
"""

from __future__ import annotations

import fcntl
import json
import os
import selectors
import signal
import subprocess
import time
from typing import Literal

from .jail import Jail, JailCommand, JailUnavailable
from .limits import (
    CRASH_MESSAGE,
    LIMIT_MESSAGES,
    LIMIT_STATUS,
    NO_FILTER_MESSAGE,
    Limits,
    limit_message,
)
from .trace import MAX_TEXT, Event, Output, Trace, TraceBuilder, clean_text
from .tracer.protocol import READY
from .tracer.seccomp_filter import EXIT_NO_FILTER

READ_SIZE = 64 * 1024
PIPE_BYTES = 1024 * 1024
# After the jail's leader exits, how long to drain what it already wrote.
EXIT_DRAIN_SECONDS = 0.5
KILL_WAIT_SECONDS = 2.0
INFO_WAIT_SECONDS = 0.5
MAX_INFO_BYTES = 4096
# How long a jail may take to start (bubblewrap, the interpreter, the
# tracer's imports) before it counts as unable to.
START_SECONDS = 10.0
# What a jail may write before saying it is ready (bubblewrap's or the
# interpreter's complaint when it cannot start) that we keep.
MAX_EARLY_BYTES = 4096
NOT_STARTED_MESSAGE = "This server cannot start a jail: {why}"

Clock = Literal["virtual", "real"]


def settings_for(jail: Jail, clock: Clock, limits: Limits, events_fd: int) -> dict[str, object]:
    return {
        "clock": clock,
        "events_fd": events_fd,
        "horizon_seconds": limits.horizon_seconds,
        "blocking_threshold": limits.blocking_threshold,
        # The jail streams more than the trace keeps, so that per-task figures
        # stay whole when the items are cut at the cap.
        "max_events": 4 * limits.max_events,
        "limits": jail.rlimits(limits),
        "seccomp": jail.seccomp,
    }


def _widen_pipe(fd: int) -> None:
    """Let the tracer write ahead of our parsing instead of stalling the run."""
    try:
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except OSError:
        pass  # above /proc/sys/fs/pipe-max-size: the default size still works


def _start(command: JailCommand, events_write: int) -> subprocess.Popen[bytes]:
    try:
        return subprocess.Popen(
            command.argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            pass_fds=(*command.pass_fds, events_write),
            cwd=command.cwd,
            env=command.env,
            user=command.user,
            group=command.group,
            extra_groups=[] if command.group is not None else None,
            start_new_session=True,
        )
    except OSError as exc:
        raise JailUnavailable(f"This server cannot start a jail: {exc}") from exc


class JailProcess:
    """A started jail: its leader process, its pipes, and the jail's init
    once known. ``wait_ready`` until its interpreter waits for a snippet;
    ``discard`` ends it (whatever it was doing) and frees everything."""

    def __init__(self, process: subprocess.Popen[bytes], info_fd: int | None, events_read: int,
                 events_fd: int, slot: int = 0) -> None:
        self.process = process
        self.info_fd = info_fd
        self.events_read = events_read
        # The number the jail knows its end of the events pipe by.
        self.events_fd = events_fd
        self.slot = slot
        self.spawned_at = time.monotonic()
        self.ready_at: float | None = None
        # Raw output that came before (or with) the ready mark.
        self.early = b""
        self._info = b""
        self._init_pidfd: int | None = None
        self._discarded = False

    @property
    def start_seconds(self) -> float | None:
        """How long the jail took to get ready, once it is."""
        return None if self.ready_at is None else self.ready_at - self.spawned_at

    def descriptors(self) -> list[int]:
        """The descriptors this process holds for the jail."""
        if self._discarded:
            return []
        held = [self.events_read, *(fd for fd in (self.info_fd, self._init_pidfd) if fd is not None)]
        held += [stream.fileno() for stream in (self.process.stdin, self.process.stdout)
                 if stream is not None and not stream.closed]
        return held

    def alive(self) -> bool:
        return not self._discarded and self.process.poll() is None

    def wait_ready(self, timeout: float = START_SECONDS) -> None:
        """Wait until the jail's interpreter is ready for a snippet; raise
        ``JailUnavailable``, with what the jail said, if it ends or takes
        longer than ``timeout`` instead. The jail has not seen any snippet
        yet, so what it writes here is bubblewrap's or the interpreter's."""
        if self.ready_at is not None:
            return
        assert self.process.stdout is not None
        stdout = self.process.stdout.fileno()
        said = b""
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(stdout, selectors.EVENT_READ, "raw")
            if self.info_fd is not None and self._init_pidfd is None:
                selector.register(self.info_fd, selectors.EVENT_READ, "info")
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise JailUnavailable(NOT_STARTED_MESSAGE.format(
                        why=f"it was not ready after {timeout:g} s (is the machine overloaded?)"))
                for key, _ in selector.select(remaining):
                    data = os.read(key.fd, READ_SIZE)
                    if key.data == "info":
                        if data:
                            self.take_info(data)
                        else:
                            selector.unregister(key.fd)
                        continue
                    if not data:
                        text = said.decode("utf-8", "replace").strip() or f"it exited ({self.process.wait()})"
                        raise JailUnavailable(NOT_STARTED_MESSAGE.format(why=clean_text(text, MAX_TEXT)))
                    said += data
                    if READY in said:
                        before, _, after = said.partition(READY)
                        self.early = (before + after)[-MAX_EARLY_BYTES:]
                        self.ready_at = time.monotonic()
                        return
                    said = said[-(MAX_EARLY_BYTES + len(READY)):]

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

    def reap_init(self) -> None:
        """Wait for the jail's init to be gone.

        bwrap can exit as soon as the init reports the snippet's exit code,
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

    def kill(self) -> None:
        """Kill everything in the jail, and wait until it is gone."""
        self._read_pending_info()
        if self._init_pidfd is not None:
            # Killing a pid namespace's init kills all of the namespace, and
            # the leader (bwrap) exits once that is done.
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
            for fd in (self.info_fd, self._init_pidfd, self.events_read):
                if fd is not None:
                    os.close(fd)
            for stream in (process.stdin, process.stdout):
                if stream is not None:
                    try:
                        stream.close()
                    except OSError:
                        pass  # stdin's buffer could not be flushed to a dead jail


def start_jail(jail: Jail, slot: int, limits: Limits) -> JailProcess:
    """Start a jail for slot ``slot``; it gets ready and waits for a snippet."""
    command = jail.command(slot, limits)
    events_read, events_write = os.pipe()
    _widen_pipe(events_write)
    try:
        process = _start(command, events_write)
    except BaseException:
        if command.info_fd is not None:
            os.close(command.info_fd)
        os.close(events_read)
        raise
    finally:
        os.close(events_write)
        command.close()
    return JailProcess(process, command.info_fd, events_read, events_write, slot)


def run_snippet(jail: Jail, code: str, clock: Clock, limits: Limits, slot: int = 0,
                jailed: JailProcess | None = None) -> Trace:
    """Run ``code`` in ``jailed``, a jail started ahead for ``slot`` with the
    same ``limits``, or else in a jail started now, and return its trace,
    whatever happens. The jail is gone when this returns."""
    builder = TraceBuilder(clock, max_tasks=limits.max_tasks, max_items=limits.max_events + 100,
                           max_output_bytes=limits.output_bytes, max_line_bytes=limits.channel_bytes)
    if jailed is None:
        jailed = start_jail(jail, slot, limits)
    try:
        jailed.wait_ready()
        settings = settings_for(jail, clock, limits, jailed.events_fd)
        payload = json.dumps(settings).encode() + b"\n" + code.encode("utf-8", "surrogatepass")
        started = time.monotonic()
        stop_reason, raw = _watch(jailed, payload, builder, limits, started)
    finally:
        jailed.discard()
    trace = builder.trace
    trace.wall = round(time.monotonic() - started, 6)
    _add_raw_output(trace, raw[: limits.output_bytes], builder)
    _decide_status(trace, builder, stop_reason, jailed.process.returncode, limits)
    return builder.finish()


def _watch(jailed: JailProcess, payload: bytes,
           builder: TraceBuilder, limits: Limits, started: float) -> tuple[str | None, bytes]:
    """Feed the jail, read it until it ends or a limit is hit; why it stopped."""
    process = jailed.process
    events_read = jailed.events_read
    assert process.stdin is not None and process.stdout is not None
    try:
        process.stdin.write(payload)
        process.stdin.close()
    except BrokenPipeError:
        pass
    raw = bytearray(jailed.early)
    channel_bytes = 0
    deadline = started + limits.wall_seconds
    exited_at: float | None = None
    pidfd = os.pidfd_open(process.pid)
    try:
        with selectors.DefaultSelector() as selector:
            selector.register(events_read, selectors.EVENT_READ, "events")
            selector.register(process.stdout.fileno(), selectors.EVENT_READ, "raw")
            selector.register(pidfd, selectors.EVENT_READ, "exit")
            if jailed.info_fd is not None:
                selector.register(jailed.info_fd, selectors.EVENT_READ, "info")
            while any(key.data in ("events", "raw", "exit") for key in selector.get_map().values()):
                now = time.monotonic()
                if now >= deadline:
                    return "timeout", bytes(raw)
                if exited_at is not None and now - exited_at > EXIT_DRAIN_SECONDS:
                    break
                for key, _ in selector.select(min(deadline - now, EXIT_DRAIN_SECONDS)):
                    if key.data == "exit":
                        selector.unregister(pidfd)
                        exited_at = time.monotonic()
                        continue
                    data = os.read(key.fd, READ_SIZE)
                    if not data:
                        selector.unregister(key.fd)
                    elif key.data == "events":
                        channel_bytes += len(data)
                        builder.feed(data)
                    elif key.data == "info":
                        jailed.take_info(data)
                    elif len(raw) <= limits.output_bytes:
                        raw += data
                if builder.output_bytes + len(raw) > limits.output_bytes:
                    return "output_limit", bytes(raw)
                if channel_bytes > limits.channel_bytes:
                    return "channel", bytes(raw)
    finally:
        os.close(pidfd)
    return None, bytes(raw)


def _add_raw_output(trace: Trace, raw: bytes, builder: TraceBuilder) -> None:
    """What the jail wrote to its real stdout/stderr, bypassing the tracer."""
    if not raw:
        return
    at = builder.latest_time()
    text = raw.decode("utf-8", "replace")
    for line in text.splitlines():
        trace.output.append(Output(at, None, "stderr", clean_text(line, MAX_TEXT)))


# How an error that escaped the snippet shows which limit made a call fail:
# (exception type or None for any, the start of its message, the limit).
ERROR_LIMITS = (
    ("RuntimeError", "can't start new thread", "processes"),
    (None, "[Errno 24]", "open_files"),  # EMFILE
    (None, "[Errno 27]", "file_size_bytes"),  # EFBIG
    (None, "[Errno 28]", "tmp_bytes"),  # ENOSPC
)


def _limit_behind_error(trace: Trace) -> str | None:
    """The limit whose failed call the run's error (or a task's) reports."""
    errors = [trace.error] + [task.error for task in trace.tasks if task.state == "error"]
    for error in errors:
        if not error:
            continue
        for error_type, start, name in ERROR_LIMITS:
            if (error_type is None or error["type"] == error_type) and error["message"].startswith(start):
                return name
    return None


def _decide_status(trace: Trace, builder: TraceBuilder, stop_reason: str | None,
                   returncode: int | None, limits: Limits) -> None:
    if trace.duration == 0.0:
        trace.duration = builder.latest_time()
    at = trace.duration

    def hit(name: str) -> None:
        """The run hit limit ``name``: its status, its event, its entry."""
        status = LIMIT_STATUS[name]
        if status is not None:
            trace.status = status  # type: ignore[assignment]
        trace.events.append(Event(at, "limit", None, limit_message(LIMIT_MESSAGES[name], limits)))
        trace.limits.append({"name": name, "value": getattr(limits, name)})

    def crashed(message: str, kind: str = "limit") -> None:
        # A crash's message goes out as a "limit" event, as the page expects.
        trace.status = "crashed"
        trace.events.append(Event(at, kind, None, message))

    if stop_reason == "timeout":
        hit("wall_seconds")
    elif stop_reason == "output_limit":
        hit("output_bytes")
    elif stop_reason == "channel":
        trace.truncated = True
        hit("channel_bytes")
    elif returncode == EXIT_NO_FILTER and builder.claimed_status is None:
        crashed(NO_FILTER_MESSAGE, kind="sandbox")
    elif (returncode is not None and returncode != 0) or builder.claimed_status is None:
        signal_number = _signal_of(returncode)
        # SIGXCPU comes from the CPU rlimit's soft limit, SIGKILL from its hard
        # one a second later when SIGXCPU was ignored.
        if signal_number == signal.SIGXCPU or (
            signal_number == signal.SIGKILL and trace.wall >= limits.cpu_seconds
        ):
            hit("cpu_seconds")
        else:
            how = f"signal {_signal_name(signal_number)}" if signal_number else f"exit code {returncode}"
            crashed(limit_message(CRASH_MESSAGE, limits, how=how))
    else:
        trace.status = builder.claimed_status  # type: ignore[assignment]
        if trace.status == "memory_limit":
            hit("memory_bytes")
        elif trace.status == "timeout":
            hit("horizon_seconds")
        elif trace.status == "error":
            name = _limit_behind_error(trace)
            if name is not None:
                hit(name)
    if trace.truncated and stop_reason != "channel":
        hit("max_tasks" if len(trace.tasks) >= limits.max_tasks else "max_events")


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:  # a real-time signal, or an exit code that looks like one
        return str(number)


def _signal_of(returncode: int | None) -> int | None:
    """The signal that ended the jail: negative for a direct child, 128+N via bwrap."""
    if returncode is None:
        return None
    if returncode < 0:
        return -returncode
    if returncode > 128 and returncode - 128 < signal.NSIG:
        return returncode - 128
    return None
