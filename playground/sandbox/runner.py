"""Run one snippet in a jail and return its trace.

A run is a process forked by a jail's fork server (see
playground.sandbox.forkclient), which says when it is ready and then waits for a
snippet: it can be set up ahead of the run (see playground.sandbox.pool). The runner
sends it the settings and the snippet, reads the event stream and the raw
output as they come, and enforces from outside what the snippet could
otherwise ignore: the wall-clock limit (counted from the moment the snippet
is handed over), the output cap, the size of the stream and what of it the
parser rejects (``max_rejected``). At any limit it
kills the whole jail and keeps everything already received. It alone
decides the run's ``status`` and ``wall``; the tracer's own claim is taken
only when the run exited normally. Every run process serves one snippet,
and is gone when ``run_snippet`` returns.
"""

from __future__ import annotations

import gc
import os
import selectors
import threading
import time
from typing import Any, Literal, NamedTuple

from playground.egress.broker import Egress, NetworkReport, RunChannel
from playground.model.trace import Event, Trace
from playground.sandbox.cgroups import SlotCgroup, Usage
from playground.sandbox.forkclient import READ_SIZE, JailRun, start_run
from playground.sandbox.jail import Jail
from playground.sandbox.limits import HINT_MESSAGES, LIMIT_MESSAGES, Limits, limit_message
from playground.sandbox.live import LiveRun
from playground.sandbox.pythons import Python
from playground.sandbox.status import STREAM_CUT, Evidence, StopReason, Verdict, decide
from playground.sandbox.stream import MESSAGE_SLACK, StreamParser
from playground.tracer.protocol import EVENTS_FD, MAX_KEPT_PAST_CUT, RunSettings

# The server's CPU for reading a run that needs no account, and how often
# (in the server's CPU) the jail's is read once past it. 50 ms: at 5 ms, a
# small honest run (300 tasks) whose first batch the server parsed before
# the jail's CPU for it was counted was now and then stopped.
PARSE_CPU_FREE_SECONDS = 0.05
PARSE_CPU_CHECK_SECONDS = 0.005
# What is parsed between two looks at the budget (a few milliseconds' work).
PARSE_SLICE_BYTES = 8 * 1024
# Building and encoding the answer from what was parsed costs about twice
# the parsing again (bench/stream_cost.py), so parsing gets a third of the
# request's share.
ANSWER_COST_FACTOR = 3.0
# After the run's init reports the end, how long the streams may stay
# quiet before the server stops draining them (a process the run left
# behind may hold them open). While they still bring data (a server behind
# on a big trace), it reads on, up to the wall-clock limit.
EXIT_DRAIN_SECONDS = 0.5

Clock = Literal["virtual", "real"]


def settings_for(jail: Jail, clock: Clock, limits: Limits) -> RunSettings:
    return RunSettings(
        clock=clock,
        events_fd=EVENTS_FD,
        horizon_seconds=limits.horizon_seconds,
        blocking_threshold=limits.blocking_threshold,
        # The jail streams more than the trace keeps, so that per-task figures
        # stay whole when the items are cut at the cap.
        max_events=4 * limits.max_events,
        limits=jail.rlimits(limits),
        seccomp=jail.seccomp,
        strict=jail.strict_filter,
    )


def run_snippet(jail: Jail, code: str, clock: Clock, limits: Limits, slot: int = 0,
                jailed: JailRun | None = None, egress: Egress | None = None, python: Python | None = None,
                live: LiveRun | None = None) -> Trace:
    """Run ``code`` in ``jailed``, a run set up ahead for ``slot`` with the
    same ``limits`` (its Python's), or else in a jail of ``python`` (None:
    the default) started now for it alone, and return its trace, whatever
    happens; ``egress`` serves its network channel (with none, the run has
    no network), and ``live`` is told what the run does as it goes on and
    may stop it. The run is gone when this returns."""
    settings = settings_for(jail, clock, limits)
    builder = StreamParser(clock, max_tasks=limits.max_tasks, max_items=limits.max_events + 100,
                           max_output_bytes=limits.output_bytes,
                           max_messages=settings.max_events + MAX_KEPT_PAST_CUT + MESSAGE_SLACK,
                           max_rejected=limits.max_rejected, max_answer_bytes=limits.answer_bytes)
    if jailed is None:
        jailed = start_run(jail, slot, limits, python if python is not None else jail.pythons.get(None))
    cgroup = jailed.server.cgroup
    network: RunChannel | None = None
    try:
        jailed.wait_ready()
        payload = settings.to_line() + code.encode("utf-8", "surrogatepass")
        before = _usage(cgroup, reset=True)
        if egress is not None:
            network = RunChannel(egress, jailed.network)
        else:
            jailed.network.close()
        started = time.monotonic()
        stop_reason, raw, ran_until = _watch(jailed, payload, builder, limits, started, ParseBudget(cgroup, limits),
                                             live, network)
    finally:
        report = network.detach() if network is not None else NetworkReport()
        jailed.discard()
    trace = builder.trace
    trace.python = jailed.server.python.version
    trace.wall = round(time.monotonic() - started, 6)
    if builder.claimed_status is None:
        # Stopped, or ended without its end: the trace runs to the moment it
        # stopped, not to its last event (a real-clock sleep cut at the wall
        # limit ran 10 s, not the 0.6 ms before it began).
        trace.duration = max(trace.duration, round(ran_until, 6))
        builder.close_open(trace.duration)
    builder.raw_output(raw[: limits.output_bytes])
    builder.network_counted(report)
    after = _usage(cgroup)
    evidence = Evidence(stop_reason, jailed.returncode, builder.claimed_status, trace.wall, trace.truncated,
                        len(trace.tasks), _errors(trace), jailed.report,
                        after.since(before) if after is not None and before is not None else None,
                        builder.caps.answer_cut)
    _apply(trace, builder, decide(evidence, limits), stop_reason, limits)
    return builder.finish()


def _usage(cgroup: SlotCgroup | None, reset: bool = False) -> Usage | None:
    """The slot cgroup's counters now (its peak reset first, when asked)."""
    if cgroup is None:
        return None
    try:
        if reset:
            cgroup.reset_peak()
        return cgroup.usage()
    except OSError:
        return None


class Collections:
    """The CPU each thread has spent in garbage collections. A collection's
    cost is the process's, not the stream's being parsed when it struck: a
    full one walks the whole server's heap (0.02 to 0.06 s, which made an
    honest 10,000-task run look like three times its parsing), and a young
    one what every thread allocated since the last (up to 24 ms seen for a
    first generation of 4,673 objects a test server's requests left, which
    stopped a 509-byte stream). Left out, the collections a stream's own
    allocations bring on are not charged to it either: a small share of its
    cost, well inside the ratio (``bench/stream_cost.py`` measures the
    hostile streams' cost with them)."""

    def __init__(self) -> None:
        self._local = threading.local()
        gc.callbacks.append(self._observe)

    def _observe(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._local.started = time.thread_time()
        elif hasattr(self._local, "started"):
            self._local.spent = self.seconds() + time.thread_time() - self._local.started

    def seconds(self) -> float:
        """This thread's CPU in collections so far."""
        spent: float = getattr(self._local, "spent", 0.0)
        return spent


COLLECTIONS = Collections()


class ParseBudget:
    """The server's CPU for reading one run, held to ``parse_cpu_ratio``
    times the CPU the jail spent producing it (its cgroup's accounting),
    beyond ``PARSE_CPU_FREE_SECONDS``; parsing counts ``ANSWER_COST_FACTOR``
    times, for the answer it will make, and garbage collections do not
    count (see ``Collections``). A stream the server parses dearly
    while the run spends little (a line replayed again and again) stops
    there. Without a cgroup's accounting, the stream's own caps bound it."""

    def __init__(self, cgroup: SlotCgroup | None, limits: Limits) -> None:
        self.cgroup = cgroup if cgroup is not None and cgroup.cpu is not None else None
        self.ratio = limits.parse_cpu_ratio
        self.spent = 0.0
        self._jail_start = self._jail_cpu() or 0.0
        self._next_check = PARSE_CPU_FREE_SECONDS

    def _jail_cpu(self) -> float | None:
        try:
            return self.cgroup.cpu_seconds() if self.cgroup is not None else None
        except OSError:
            return None

    def feed(self, builder: StreamParser, data: bytes) -> bool:
        """Parse ``data``, a slice at a time; False once the server's share is spent."""
        if self.cgroup is None:
            builder.feed(data)
            return True
        for start in range(0, len(data), PARSE_SLICE_BYTES):
            before = time.thread_time() - COLLECTIONS.seconds()
            builder.feed(data[start:start + PARSE_SLICE_BYTES])
            self.spent += (time.thread_time() - COLLECTIONS.seconds() - before) * ANSWER_COST_FACTOR
            if self.spent >= self._next_check and not self._within_share():
                return False
        return True

    def _within_share(self) -> bool:
        jail = (self._jail_cpu() or 0.0) - self._jail_start
        allowed = PARSE_CPU_FREE_SECONDS + self.ratio * jail
        self._next_check = max(allowed, self.spent + PARSE_CPU_CHECK_SECONDS)
        return self.spent <= allowed


_STREAMS = ("events", "raw", "exit")


class Watched(NamedTuple):
    """How a watch ended: why the server stopped the run (None: it ended by
    itself), its raw output, and how far its clock had come when it stopped
    (the stream's last time, plus the real time since the stream last spoke)."""

    stop_reason: StopReason | None
    raw: bytes
    ran_until: float


def _watch(jailed: JailRun, payload: bytes, builder: StreamParser, limits: Limits, started: float,
           budget: ParseBudget, live: LiveRun | None, network: RunChannel | None) -> Watched:
    """Feed the run, read it until it ends, a limit is hit or ``live`` is
    stopped, telling ``live`` what it does meanwhile and ``network`` when
    the run first speaks on it; why it stopped."""
    jailed.hand_over(payload)
    raw = bytearray(jailed.early)
    channel_bytes = 0
    deadline = started + limits.wall_seconds
    exited_at: float | None = None
    heard_at, heard = started, 0.0
    read_at = started

    def stopped(reason: StopReason | None) -> Watched:
        at = exited_at if reason is None and exited_at is not None else time.monotonic()
        return Watched(reason, bytes(raw), heard + max(0.0, at - heard_at))

    with selectors.DefaultSelector() as selector:
        selector.register(jailed.events_read, selectors.EVENT_READ, "events")
        selector.register(jailed.raw_read, selectors.EVENT_READ, "raw")
        selector.register(jailed.status, selectors.EVENT_READ, "exit")
        # The stop's pipe and the network channel are watched too, but the
        # run is over once the three streams are.
        if live is not None:
            selector.register(live.wake_fd, selectors.EVENT_READ, "stop")
        if network is not None:
            selector.register(network, selectors.EVENT_READ, "network")
        while any(key.data in _STREAMS for key in selector.get_map().values()):
            now = time.monotonic()
            if now >= deadline:
                return stopped("timeout")
            if live is not None and live.stop_requested.is_set():
                return stopped("stopped")
            if exited_at is not None and now - max(exited_at, read_at) > EXIT_DRAIN_SECONDS:
                break
            batch_in = live.batch_in() if live is not None else None
            wait = min(deadline - now, EXIT_DRAIN_SECONDS, EXIT_DRAIN_SECONDS if batch_in is None else batch_in)
            for key, _ in selector.select(wait):
                if key.data == "stop":
                    return stopped("stopped")
                if key.data == "network" and network is not None:
                    selector.unregister(key.fileobj)
                    network.readable()
                    continue
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
                    if not budget.feed(builder, data):
                        return stopped("parse_cost")
                    heard_at, heard = time.monotonic(), builder.latest_time()
                    if live is not None:
                        live.fed()
                elif len(raw) <= limits.output_bytes:
                    raw += data
                # Quiet is counted from when the server was ready to read
                # again: parsing a big slice may take longer than the drain.
                read_at = time.monotonic()
            if builder.output_bytes + len(raw) > limits.output_bytes:
                return stopped("output_limit")
            if channel_bytes > limits.channel_bytes:
                return stopped("channel")
            if builder.stopped:
                return stopped("rejected")
            if live is not None:
                live.send_batch(builder, heard)
    return stopped(None)


def _errors(trace: Trace) -> tuple[dict[str, Any], ...]:
    """The run's error and its failed tasks' errors."""
    return tuple(error for error in [trace.error, *(task.error for task in trace.tasks if task.state == "error")]
                 if error)


def _apply(trace: Trace, builder: StreamParser, verdict: Verdict, stop_reason: StopReason | None,
           limits: Limits) -> None:
    """Set the trace's status, limits and their events from the verdict."""
    if trace.duration == 0.0:
        trace.duration = builder.latest_time()
    trace.status = verdict.status  # type: ignore[assignment]
    if stop_reason in STREAM_CUT:
        trace.truncated = True
    at = trace.duration
    if verdict.crash is not None:
        # A crash's message goes out as a "limit" event, as the page expects.
        trace.events.append(Event(at, verdict.crash_kind, None, verdict.crash))
    for name in verdict.limits:
        trace.events.append(Event(at, "limit", None, limit_message(LIMIT_MESSAGES[name], limits)))
        trace.limits.append({"name": name, "value": getattr(limits, name)})
    for name in verdict.hints:
        trace.events.append(Event(at, "hint", None, limit_message(HINT_MESSAGES[name], limits)))
