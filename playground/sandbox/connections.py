"""A run's network connections from its stream (protocol.CONN_START, CONN),
with the bytes the server itself counted for each (``NetworkReport``), a
part of the stream parser.

The run tells of a connection as it opens and again as it ends; one still
open when the run is stopped is kept up to that moment, marked cut off.
Connections are few (the server opens at most ``URL_CODE_CONNECTIONS`` a
run) and a reader needs each one, so they are kept whole like output,
within the answer's share for that.
"""

from __future__ import annotations

from collections.abc import Container
from typing import Any

from playground.egress.broker import NetworkReport
from playground.model.answer import ITEM_BYTES, json_size
from playground.model.trace import MAX_MESSAGE, MAX_NAME, Connection, Event, Invalid, Trace, clean_text
from playground.sandbox.caps import TraceCaps
from playground.sandbox.checks import integer, nanoseconds, optional_integer, optional_text, seconds
from playground.tracer.protocol import NETWORK_PHASES

# Connections told and not yet ended that the server keeps track of, and
# connections kept in all (the tracer tells at most 1,000).
MAX_OPEN_CONNECTIONS = 64
MAX_CONNECTIONS_KEPT = 1000
# Phases of one connection: dns, connect, tls, and two per exchange.
MAX_PHASES = 3 + 2 * 20

# An open connection: its task, host, port, start (ns), line.
Opened = tuple["int | None", str, int, int, "int | None"]


class ConnectionRecords:
    def __init__(self, trace: Trace, caps: TraceCaps) -> None:
        self.trace = trace
        self.caps = caps
        self.open: dict[int, Opened] = {}
        self._seen: set[int] = set()

    def started(self, number: object, task: object, host: object, port: object, start: object,
                line: object) -> None:
        key = integer(number, low=1)
        if key in self._seen or len(self.open) >= MAX_OPEN_CONNECTIONS or len(self._seen) >= MAX_CONNECTIONS_KEPT:
            raise Invalid("a connection told twice, or too many")
        port_number = integer(port)
        if port_number > 65535:
            raise Invalid("not a port")
        self._seen.add(key)
        self.open[key] = (optional_integer(task), clean_text(host, MAX_NAME), port_number, nanoseconds(start),
                          optional_integer(line))

    def ended(self, number: object, end: object, phases: object, error: object) -> None:
        key = integer(number, low=1)
        opened = self.open.pop(key, None)
        if opened is None:
            raise Invalid("a connection that did not open")
        last = nanoseconds(end)
        if last < opened[3]:
            raise Invalid("a connection that ends before it starts")
        self._keep(key, opened, last, _phases(phases, opened[3], last),
                   optional_text(error, MAX_MESSAGE), None)

    def _keep(self, number: int, opened: Opened, last: int, phases: list[dict[str, Any]], error: str | None,
              cut_off: bool | None) -> None:
        task, host, port, first, line = opened
        size = ITEM_BYTES["connection"] + json_size(host) + json_size(error)
        if self.caps.keep(size):
            self.trace.connections.append(Connection(number, task, host, port, seconds(first), seconds(last),
                                                     line, phases, error, cut_off=cut_off))

    def resolve_tasks(self, known: Container[int]) -> None:
        """Once the stream is over: a connection's task is told before the
        task is announced (the connection's lines go at once, the task with
        the loop's next batch), so it is looked up only now; a task never
        announced (past the cut) is none."""
        for connection in self.trace.connections:
            if connection.task is not None and connection.task not in known:
                connection.task = None

    def close_open(self, stop: int) -> None:
        """The run was stopped at ``stop`` (ns): connections still open end there."""
        for number, opened in sorted(self.open.items()):
            if opened[3] <= stop:
                self._keep(number, opened, stop, [], None, True)
        self.open.clear()

    def counted(self, report: NetworkReport) -> None:
        """The bytes the server moved for each connection, and the caps it reached."""
        for connection in self.trace.connections:
            server = report.connections.get(connection.id)
            if server is not None:
                connection.sent, connection.received = server.sent, server.received
        at = self.trace.duration
        for note in report.notes[:8]:
            self.trace.events.append(Event(at, "limit", None, note))


def _phases(value: object, first: int, last: int) -> list[dict[str, Any]]:
    if not isinstance(value, list) or len(value) > MAX_PHASES:
        raise Invalid("not a list of phases")
    phases = []
    for item in value:
        if not isinstance(item, list) or len(item) != 3 or item[0] not in NETWORK_PHASES:
            raise Invalid("not a phase")
        start, end = nanoseconds(item[1]), nanoseconds(item[2])
        if end < start or end > last or (start < first and item[0] != "dns"):
            raise Invalid("a phase out of its connection")
        phases.append({"name": item[0], "start": seconds(start), "end": seconds(end)})
    return phases
