"""THE contract between the server and the jail: descriptors, handshakes,
exit codes, the typed settings and requests, the event stream's messages and
frames, and the caps on each. It is the only module of the tracer that the
server imports, and it imports only the standard library.

A run's life, as both sides see it:

1. The jail's fork server (:mod:`playground.tracer.forkserver`) writes
   ``READY`` on its standard output once its imports are done, and waits on
   ``CONTROL_FD``.
2. For each run the server sends one ``ForkRequest`` (a JSON object of at
   most ``MAX_REQUEST_BYTES``) with the run's descriptors attached, in the
   order ``RUN_FDS``. The run's process writes ``READY`` on its output and
   waits for its snippet; the run's init reports how the run ended on the
   status descriptor (a ``RunReport``; ``{"setup": why}`` instead when the
   run could not be set up, then exit ``EXIT_SETUP_FAILED``) and closes it.
3. The server writes one JSON line of ``RunSettings`` (at most
   ``MAX_SETTINGS_BYTES``), then the snippet (at most ``MAX_SOURCE_BYTES``), to
   the run's standard input, and closes it.
4. The tracer answers on ``RunSettings.events_fd`` with batches of messages
   as things happen: each line a JSON array of messages, each message an
   array ``[kind, *fields]``, and binary frames for the bulk (below).

Both typed objects are checked whole when they arrive: every key required,
no unknown key, every value of its type, or ``ProtocolError`` and the run is
refused. A missing key never falls back to a default, so a server that
forgets ``seccomp`` or ``isolate`` gets no run rather than a run without
its filter or namespaces.

Everything on the events descriptor is untrusted: the snippet can write to
it too. The server parses it as such (:mod:`playground.sandbox.stream`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

# -- descriptors and handshakes ------------------------------------------

CONTROL_FD = 3
EVENTS_FD = 3
# The run's way out to the network (see "the network channel" below).
NETWORK_FD = 4
# The run's descriptors, in the order the server attaches them to a request.
RUN_FDS = ("stdin", "stdout", "events", "status", "network")
# The fork server's, then each run's, first bytes on standard output: its
# imports are done and it waits.
READY = b"\x00playground-ready\n"
# The snippet runs as ``python3 main.py`` would: from this file, in the
# run's working directory, which names it in tracebacks and reprs.
SNIPPET_FILENAME = "main.py"

MAX_REQUEST_BYTES = 4096
MAX_SETTINGS_BYTES = 64 * 1024
MAX_SOURCE_BYTES = 1024 * 1024
# What the init may write on the status descriptor that the server reads.
MAX_STATUS_BYTES = 4096

# Exit codes of a run's processes that name why the snippet never ran.
EXIT_NO_FILTER = 86  # the filter was required and could not be installed
EXIT_SETUP_FAILED = 87  # the init (or the keeper) could not isolate the run
EXIT_BAD_SETTINGS = 88  # the settings line broke this contract

# Set to "0" in the server's environment, an unsandboxed run (PLAYGROUND_SANDBOX=
# none, the tests, the benchmarks) uses the tracer's pure-Python hot path
# instead of its C accelerator, to compare them.
SPEEDUPS_ENV = "PLAYGROUND_TRACER_SPEEDUPS"


class ProtocolError(ValueError):
    """A request or settings object that breaks this contract."""


def _checked(cls: type, data: object, types: dict[str, tuple[type, ...]]) -> dict[str, Any]:
    """``data``'s values for the fields of ``cls``: every key present, none
    unknown, each of one of its ``types`` (``bool`` is never taken for a number)."""
    if not isinstance(data, dict):
        raise ProtocolError(f"{cls.__name__} must be a JSON object")
    names = [item.name for item in fields(cls)]
    missing = [name for name in names if name not in data]
    if missing:
        raise ProtocolError(f"{cls.__name__} lacks {', '.join(missing)}")
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise ProtocolError(f"{cls.__name__} has unknown {', '.join(unknown)}")
    for name in names:
        value = data[name]
        allowed = types[name]
        if isinstance(value, bool) and bool not in allowed:
            raise ProtocolError(f"{cls.__name__}.{name} must not be a boolean")
        if not isinstance(value, allowed):
            raise ProtocolError(f"{cls.__name__}.{name} has the wrong type")
    return dict(data)


_INT = (int,)
_NUMBER = (int, float)
_OPTIONAL_INT = (int, type(None))
_OPTIONAL_STR = (str, type(None))


@dataclass(frozen=True)
class ResourceLimits:
    """The rlimits the prelude sets before the snippet; None: not set
    (``processes`` in an unsandboxed run, which shares the server's uid)."""

    cpu_seconds: int
    memory_bytes: int
    file_size_bytes: int
    open_files: int
    processes: int | None

    @classmethod
    def from_json(cls, data: object) -> ResourceLimits:
        values = _checked(cls, data, {"cpu_seconds": _INT, "memory_bytes": _INT, "file_size_bytes": _INT,
                                      "open_files": _INT, "processes": _OPTIONAL_INT})
        return cls(**values)


@dataclass(frozen=True)
class RunSettings:
    """What one run is told before its snippet (step 3 above)."""

    clock: Literal["virtual", "real"]
    events_fd: int
    horizon_seconds: float
    blocking_threshold: float
    # Events the tracer sends before it cuts the trace.
    max_events: int
    limits: ResourceLimits
    # Whether the system-call filter must be in force before the snippet
    # runs (the run ends with EXIT_NO_FILTER when it cannot be).
    seccomp: bool
    # The strictest filter, for a host that cannot cap a run's memory with a
    # cgroup: no growing pipes or socket buffers, which the address-space
    # limit does not count.
    strict: bool

    def to_line(self) -> bytes:
        # Not asdict(): its deep copy costs more than the rest of the line.
        return json.dumps({**vars(self), "limits": vars(self.limits)}).encode() + b"\n"

    @classmethod
    def from_json(cls, data: object) -> RunSettings:
        values = _checked(cls, data, {"clock": (str,), "events_fd": _INT, "horizon_seconds": _NUMBER,
                                      "blocking_threshold": _NUMBER, "max_events": _INT, "limits": (dict,),
                                      "seccomp": (bool,), "strict": (bool,)})
        if values["clock"] not in ("virtual", "real"):
            raise ProtocolError("RunSettings.clock must be 'virtual' or 'real'")
        values["limits"] = ResourceLimits.from_json(values["limits"])
        values["horizon_seconds"] = float(values["horizon_seconds"])
        values["blocking_threshold"] = float(values["blocking_threshold"])
        return cls(**values)


@dataclass(frozen=True)
class ForkRequest:
    """How the fork server sets one run up (step 2 above): ``isolate`` in
    new namespaces with a fresh ``/tmp`` of ``tmp_bytes`` holding at most
    ``tmp_files`` files, or not (an unsandboxed run, in ``workdir``)."""

    isolate: bool
    tmp_bytes: int | None
    tmp_files: int | None
    workdir: str | None

    def to_bytes(self) -> bytes:
        return json.dumps(vars(self)).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> ForkRequest:
        try:
            parsed = json.loads(data)
        except ValueError:
            raise ProtocolError("ForkRequest is not JSON") from None
        values = _checked(cls, parsed, {"isolate": (bool,), "tmp_bytes": _OPTIONAL_INT,
                                        "tmp_files": _OPTIONAL_INT, "workdir": _OPTIONAL_STR})
        request = cls(**values)
        if request.isolate and (request.tmp_bytes is None or request.tmp_files is None):
            raise ProtocolError("an isolated ForkRequest needs tmp_bytes and tmp_files")
        if not request.isolate and request.workdir is None:
            raise ProtocolError("a ForkRequest that does not isolate needs a workdir")
        return request


@dataclass(frozen=True)
class RunReport:
    """What the run's init saw when the run's process ended: the server's
    evidence of how it ended, gathered by trusted code the snippet cannot
    reach (the init handles no signal, and the filter keeps the snippet's
    calls to itself)."""

    wait_status: int
    # The run's process, from wait4(): its peak resident memory and its CPU.
    max_rss_kib: int
    cpu_seconds: float
    # What was left of its /tmp (None when the run was not isolated).
    tmp_free_bytes: int | None
    tmp_free_files: int | None

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self)).encode() + b"\n"

    @classmethod
    def from_json(cls, data: object) -> RunReport:
        values = _checked(cls, data, {"wait_status": _INT, "max_rss_kib": _INT, "cpu_seconds": _NUMBER,
                                      "tmp_free_bytes": _OPTIONAL_INT, "tmp_free_files": _OPTIONAL_INT})
        values["cpu_seconds"] = float(values["cpu_seconds"])
        return cls(**values)


# -- the event stream -----------------------------------------------------

# Messages, with their fields after the kind. Times are integer nanoseconds
# since the run started, on the run's clock.
START = "start"  # clock ("virtual" or "real")
TASK = "task"  # id, name, coro, parent id or null, line or null, created
TASK_END = "done"  # id, ended, state, error type or null, error message or null, line or null
STEP = "step"  # task id or null, start, end[, blocking reason, line or null[, yield line or null]]
# Packed messages carry base64 of native-endian int64 numbers:
TASKS = "tasks"  # packed (id, parent or -1, line or -1, created) per task, [names], [coros]
ENDS = "ends"  # packed (id, ended) per task that ended normally ("done")
STEPS = "steps"  # packed (task id, start, end, yield line or -1) per ordinary step (the yield line below)
# task id, start, end, on or null, line or null, chain (list of names), and how it ended (below):
# due or null, wake (a WAKE_KINDS name) or null, waker task id or null, waker's line or null
WAIT = "wait"
WAITS = "waits"  # the frame of waits that ended (below); past the cut they go as WAIT messages
# What is still open, told while it is, so that a run stopped at a limit
# shows it up to the moment it was stopped (the server marks it cut off):
RUNNING = "running"  # task id or null, start, line or null: the step that has held the loop for a second
WAITING = "waiting"  # [[task id, start, on or null, line or null, chain], ...]: waits begun, not ended, each told once
JOB_START = "job_start"  # job id, thread name, function name, task id or null, start, line or null
JOB = "job"  # job id, end, error type or null: an executor thread's job ended
CONN_START = "conn_start"  # connection id, task id or null, host, port, start, line or null
# connection id, end, [[phase, start, end], ...] (phases named in NETWORK_PHASES; first_byte
# and body once per exchange), error text or null
CONN = "conn"
# Child processes (subprocess, asyncio's subprocesses), told at once from any thread:
CHILD_START = "child_start"  # child id, pid, [argv...], task id or null, start, line or null
CHILD = "child"  # child id, end, exit code (negative: the signal that ended it) or null
OUTPUT = "out"  # t, task id or null, stream, text
EVENT = "event"  # t, kind, task id or null, message, line or null
ERROR = "error"  # {type, message, line, traceback: [{line, name, text}]}
TRUNCATED = "truncated"  # (no fields)
CUT = "cut"  # t of the cut, {kind: count} of what the tracer did not send after it
END = "end"  # status claimed by the tracer, duration (ns)

# The bulk of a trace, tasks announced, ordinary steps and normal ends,
# travels as binary frames beside the lines, with no base64: FRAME_MARK (a
# byte no JSON line starts with), the kind (FRAME_KINDS), the payload's
# length as a native uint32, then the payload: the same native int64 records
# as the packed messages above; for tasks, their count as a native uint32
# first, and after the numbers one JSON array [names, coros]; for waits,
# their count as a native uint32, (task id, start, end, line or -1, label,
# due or -1, wake or -1, waker or -1, waker's line or -1) per wait, then one
# JSON array of labels, each [on or null, *chain], that the waits' fifth
# numbers index (a gather's 100,000 waits share one label); wake indexes
# WAKE_KINDS.
# A flush writes its tasks frame, then its line, then its steps, ends and
# waits frames, so every task a message names was announced before it.
FRAME_MARK = 0
FRAME_HEADER = "=BBI"  # struct format: mark, kind, length
FRAME_TASKS_COUNT = "=I"
FRAME_STEPS = 1
FRAME_ENDS = 2
FRAME_TASKS = 3
FRAME_WAITS = 4
FRAME_KINDS = {FRAME_STEPS: STEPS, FRAME_ENDS: ENDS, FRAME_TASKS: TASKS, FRAME_WAITS: WAITS}
# Bytes of one record in a steps frame: the yield line is the snippet line of
# the `await asyncio.sleep(0)` where the step gave the loop back without
# waiting, the task staying ready; -1 for a step that ended otherwise.
STEP_RECORD_BYTES = 32
# Bytes of one record in an ends frame: (task id, ended).
END_RECORD_BYTES = 16
# Bytes of one record's numbers in a tasks frame and in a waits frame.
TASK_RECORD_BYTES = 32
WAIT_RECORD_BYTES = 72

# How a wait ended, as the loop woke the task (the wake of WAIT and a waits
# frame): its asyncio.sleep's or asyncio.timeout's timer fired; a task's
# step woke it (the waker, at its snippet line: Event.set, Queue.put, a lock
# released); a task's end did (the waker: a task it awaited, or the last of a
# gather's or a TaskGroup's, through their done callbacks); an executor's
# thread finished its job; I/O arrived (a socket, a pipe); a child process
# ended; another callback (call_soon, call_later of the snippet's); it was
# cancelled (the waker: the task whose step or end cancelled it).
WAKE_KINDS = ("timer", "task", "done", "thread", "io", "process", "callback", "cancel")
# The wakes whose waker is a task (the others have none).
WAKES_BY_TASK = frozenset({"task", "done", "cancel"})

# The caps on the stream, which the tracer keeps and the server enforces
# (playground/sandbox/stream.py): a line holds at most MAX_LINE_BYTES
# (newline included) and MAX_LINE_MESSAGES messages, a frame's payload at
# most MAX_FRAME_BYTES. They bound what parsing one line or frame can cost
# the server (a 64 KiB line of ``[[],[],...]`` takes it about 3 ms and 2 MB).
# The tracer's honest lines are smaller: a 100,000-task gather's largest line
# was 121 KB before the tracer split its batches at MAX_LINE_MESSAGES, and is
# 45 KB since; its largest frame is 52 KB (about 10 ms of steps). One printed
# line (4,000 characters, each at most 12 bytes as JSON escapes) fits in a
# line; the tracer splits bigger batches and frames, trims an error's
# traceback to fit, and drops any other message too big for a line.
MAX_LINE_BYTES = 64 * 1024
MAX_LINE_MESSAGES = 512
MAX_FRAME_BYTES = 64 * 1024
# The longest task or coroutine name the server keeps (model.trace.MAX_NAME):
# the tracer cuts longer ones to this when a frame would not fit otherwise.
MAX_NAME_CHARS = 200
# Past the event cap the tracer still sends what a run's reader needs whole,
# at most this many messages more: output, the run's and its tasks' errors
# and ends, and events of the kinds in KEPT_EVENT_KINDS; it counts the rest.
MAX_KEPT_PAST_CUT = 20_000
KEPT_EVENT_KINDS = frozenset({"exception", "deadlock", "hint", "never_retrieved", "limit"})

# Statuses the tracer may claim. The server alone decides the others
# (timeout, cpu_limit, output_limit, crashed) from what it sees outside.
TRACER_STATUSES = ("ok", "error", "deadlock", "memory_limit", "timeout")


# -- the network channel --------------------------------------------------

# The run's network namespace is empty: its one way out is NETWORK_FD, an
# AF_UNIX SOCK_SEQPACKET socket to the server, which connects and resolves
# on the run's behalf under its guard (playground.egress). Each request is
# one JSON object of at most MAX_NETWORK_REQUEST_BYTES with exactly one
# descriptor attached, an AF_UNIX stream socket the answer comes back on:
#
# * ``{"op": "resolve", "host", "port", "family", "type", "proto", "flags"}``:
#   the server writes one JSON line on the descriptor and closes it:
#   ``{"ok": [[family, type, proto, canonname, [address, port]], ...]}`` or
#   ``{"errno": n, "message": text, "gai": bool}`` (``gai``: a lookup
#   failure, socket.gaierror's kind of error).
# * ``{"op": "connect", "id", "host", "port", "name"}`` (``host`` an IP
#   address, ``name`` the host name it was looked up from, or null): the
#   server writes one JSON line, ``{"ok": [address, port]}`` or
#   ``{"errno": n, "message": text}``, and once connected moves the bytes
#   between the descriptor and the real connection, each way, until either
#   side closes or a cap of the run is reached.
#
# Everything the run sends here is untrusted like the event stream: a
# request that breaks this contract is refused, and the server's cost per
# request is bounded.
MAX_NETWORK_REQUEST_BYTES = 4096
MAX_NETWORK_ANSWER_BYTES = 64 * 1024
NETWORK_PHASES = ("dns", "connect", "tls", "first_byte", "body")
# -- child processes -------------------------------------------------------

# The programs a run can start (subprocess, asyncio.create_subprocess_*),
# each bound read-only into the jail as /usr/bin/<name>: a POSIX shell
# (Debian's dash, as sh) and a few small tools; python3 is the run's own
# interpreter (sys.executable). Any other program is not there at all.
PROGRAMS = ("sh", "echo", "printf", "cat", "ls", "sleep", "date", "head", "tail", "wc", "grep", "sort",
            "true", "false", "python3")
# Worker processes a process pool (ProcessPoolExecutor, multiprocessing.Pool)
# gets at most: a pool asked for more gets this many, and a warning says so.
MAX_POOL_WORKERS = 4
