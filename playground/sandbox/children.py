"""The run's child processes, from the stream (protocol.CHILD_START, CHILD)
to the trace's ``children``.

Every value is untrusted: ids, pids and times are checked, argv is cut to
``MAX_ARGV`` arguments of ``MAX_NAME`` characters, at most
``MAX_OPEN_CHILDREN`` are open at once and ``MAX_CHILDREN`` are kept; what
breaks the contract raises ``Invalid`` (the parser counts it against the
run). A child still open when the run ends is kept with no end and no exit
code; when the server stopped the run, it ends at the stop, marked cut off.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from playground.model.answer import ITEM_BYTES, json_size
from playground.model.trace import MAX_NAME, Child, Invalid, Trace, clean_text
from playground.sandbox.caps import TraceCaps
from playground.sandbox.checks import integer, nanoseconds, optional_integer, seconds

# What the tracer tells at most (protocol: tracer.processes.MAX_CHILDREN_TOLD).
MAX_CHILDREN = 1000
# Children running at once the server keeps track of (the pids cgroup allows fewer).
MAX_OPEN_CHILDREN = 256
MAX_ARGV = 32
# Exit codes: 0 to 255, or minus the number of the signal that ended it.
LOWEST_RETURNCODE = -128
HIGHEST_RETURNCODE = 255


@dataclass
class _Started:
    pid: int
    argv: list[str]
    task: int | None  # looked up when it is kept: it may be announced after the child started
    start: int  # ns
    line: int | None


class ChildRecords:
    def __init__(self, trace: Trace, caps: TraceCaps, tasks: Mapping[int, object]) -> None:
        self._trace = trace
        self._caps = caps
        self._tasks = tasks
        self._open: dict[int, _Started] = {}
        self._seen = 0

    def started(self, number: object, pid: object, argv: object, task: object, start: object,
                line: object) -> None:
        child = integer(number, low=1)
        if child in self._open or len(self._open) >= MAX_OPEN_CHILDREN or self._seen >= MAX_CHILDREN:
            raise Invalid("a child already running, or too many")
        if not isinstance(argv, list) or not 1 <= len(argv) <= MAX_ARGV:
            raise Invalid("not an argv")
        self._open[child] = _Started(integer(pid, low=1), [clean_text(arg, MAX_NAME) for arg in argv],
                                     optional_integer(task), nanoseconds(start), optional_integer(line))
        self._seen += 1

    def ended(self, number: object, end: object, returncode: object) -> None:
        child = integer(number, low=1)
        started = self._open.get(child)
        if started is None:
            raise Invalid("a child that did not start")
        last = nanoseconds(end)
        if last < started.start:
            raise Invalid("a child that ends before it starts")
        if returncode is not None and (isinstance(returncode, bool) or not isinstance(returncode, int)
                                       or not LOWEST_RETURNCODE <= returncode <= HIGHEST_RETURNCODE):
            raise Invalid("not an exit code")
        del self._open[child]
        self._keep(started, seconds(last), returncode, None)

    def close(self, at: float | None) -> None:
        """The run is over: the children still open end ``at`` the stop,
        cut off, or (None: the run ended by itself) have no end."""
        for started in self._open.values():
            if at is None or started.start <= round(at * 1e9):
                self._keep(started, at, None, True if at is not None else None)
        self._open.clear()

    def _keep(self, started: _Started, end: float | None, returncode: int | None, cut_off: bool | None) -> None:
        task = started.task if started.task in self._tasks else None
        size = ITEM_BYTES["child"] + sum(json_size(arg) + 1 for arg in started.argv)
        if cut_off:
            size += ITEM_BYTES["cut_off"]
        if self._caps.room("children") and self._caps.count(size, "children"):
            self._trace.children.append(Child(started.pid, started.argv, task, started.line, seconds(started.start),
                                              end, returncode, cut_off))
