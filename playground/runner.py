"""Run one snippet in a jail and return its trace.

A run is a process forked by a jail's fork server (see
playground.jailprocess), which says when it is ready and then waits for a
snippet: it can be set up ahead of the run (see playground.pool). The runner
sends it the settings and the snippet, reads the event stream and the raw
output as they come, and enforces from outside what the snippet could
otherwise ignore: the wall-clock limit (counted from the moment the snippet
is handed over), the output cap and the size of the stream. At any limit it
kills the whole jail and keeps everything already received. It alone
decides the run's ``status`` and ``wall``; the tracer's own claim is taken
only when the run exited normally. Every run process serves one snippet,
and is gone when ``run_snippet`` returns.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import time
from typing import Literal

from .jail import Jail
from .jailprocess import READ_SIZE, JailRun, start_run
from .limits import (
    CRASH_MESSAGE,
    LIMIT_MESSAGES,
    LIMIT_STATUS,
    NO_FILTER_MESSAGE,
    Limits,
    limit_message,
)
from .trace import MAX_TEXT, Event, Output, Trace, TraceBuilder, clean_text
from .tracer.protocol import EVENTS_FD
from .tracer.seccomp_filter import EXIT_NO_FILTER

# After the run's keeper reports the end, how long to drain what it wrote.
EXIT_DRAIN_SECONDS = 0.5

Clock = Literal["virtual", "real"]


def settings_for(jail: Jail, clock: Clock, limits: Limits) -> dict[str, object]:
    return {
        "clock": clock,
        "events_fd": EVENTS_FD,
        "horizon_seconds": limits.horizon_seconds,
        "blocking_threshold": limits.blocking_threshold,
        # The jail streams more than the trace keeps, so that per-task figures
        # stay whole when the items are cut at the cap.
        "max_events": 4 * limits.max_events,
        "limits": jail.rlimits(limits),
        "seccomp": jail.seccomp,
    }


def run_snippet(jail: Jail, code: str, clock: Clock, limits: Limits, slot: int = 0,
                jailed: JailRun | None = None) -> Trace:
    """Run ``code`` in ``jailed``, a run set up ahead for ``slot`` with the
    same ``limits``, or else in a jail started now for it alone, and return
    its trace, whatever happens. The run is gone when this returns."""
    builder = TraceBuilder(clock, max_tasks=limits.max_tasks, max_items=limits.max_events + 100,
                           max_output_bytes=limits.output_bytes, max_line_bytes=limits.channel_bytes)
    if jailed is None:
        jailed = start_run(jail, slot, limits)
    try:
        jailed.wait_ready()
        settings = settings_for(jail, clock, limits)
        payload = json.dumps(settings).encode() + b"\n" + code.encode("utf-8", "surrogatepass")
        started = time.monotonic()
        stop_reason, raw = _watch(jailed, payload, builder, limits, started)
    finally:
        jailed.discard()
    trace = builder.trace
    trace.wall = round(time.monotonic() - started, 6)
    _add_raw_output(trace, raw[: limits.output_bytes], builder)
    _decide_status(trace, builder, stop_reason, jailed.returncode, limits)
    return builder.finish()


def _watch(jailed: JailRun, payload: bytes,
           builder: TraceBuilder, limits: Limits, started: float) -> tuple[str | None, bytes]:
    """Feed the run, read it until it ends or a limit is hit; why it stopped."""
    jailed.hand_over(payload)
    raw = bytearray(jailed.early)
    channel_bytes = 0
    deadline = started + limits.wall_seconds
    exited_at: float | None = None
    with selectors.DefaultSelector() as selector:
        selector.register(jailed.events_read, selectors.EVENT_READ, "events")
        selector.register(jailed.raw_read, selectors.EVENT_READ, "raw")
        selector.register(jailed.status, selectors.EVENT_READ, "exit")
        while selector.get_map():
            now = time.monotonic()
            if now >= deadline:
                return "timeout", bytes(raw)
            if exited_at is not None and now - exited_at > EXIT_DRAIN_SECONDS:
                break
            for key, _ in selector.select(min(deadline - now, EXIT_DRAIN_SECONDS)):
                if key.data == "exit":
                    report = jailed.status.recv(READ_SIZE)
                    jailed.take_status(report)
                    if not report:
                        selector.unregister(key.fileobj)
                        exited_at = time.monotonic()
                    continue
                data = os.read(key.fd, READ_SIZE)
                if not data:
                    selector.unregister(key.fd)
                elif key.data == "events":
                    channel_bytes += len(data)
                    builder.feed(data)
                elif len(raw) <= limits.output_bytes:
                    raw += data
            if builder.output_bytes + len(raw) > limits.output_bytes:
                return "output_limit", bytes(raw)
            if channel_bytes > limits.channel_bytes:
                return "channel", bytes(raw)
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
            if signal_number:
                how = f"signal {_signal_name(signal_number)}"
            elif returncode is None:
                how = "an unknown cause (its process vanished)"
            else:
                how = f"exit code {returncode}"
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
    """The signal that ended the run (its exit code is then negative)."""
    if returncode is None or returncode >= 0:
        return None
    return -returncode
