"""Each network connection of the run, as the timeline shows it.

A connection is told to the server as it opens (``protocol.CONN_START``:
the task and snippet line that opened it, its host and port) and as it ends
(``protocol.CONN``: its phases on the run's clock, and the error that ended
it). The phases are those URL mode shows (``protocol.NETWORK_PHASES``): the
name lookup that gave its address, connect, the TLS handshake, the wait
from the first bytes sent (after any handshake) to the first received, and
the body, from there to the last bytes received. The server counts the
bytes each way itself; here they only time the phases.
"""

from __future__ import annotations

import math
import sys
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import protocol
from .waits import snippet_line

if TYPE_CHECKING:
    from .recorder import Recorder

# Connections told to the server at most (the server caps how many it
# makes; refused ones are told too, and a loop of refusals has no end).
MAX_CONNECTIONS_TOLD = 1000
# Addresses remembered with the name they were looked up from.
MAX_LOOKUPS_KEPT = 512
# Exchanges (bytes sent, then an answer) timed per connection: a keep-alive
# connection carries one per request.
MAX_EXCHANGES = 20
# After bytes of an answer came, how long the loop still waits in real time
# for more before the virtual clock may jump to its next timer.
RECEIVING_SECONDS = 0.25


@dataclass
class Record:
    number: int
    started: int
    opened: int
    dns: tuple[int, int] | None
    tls_start: int | None = None
    tls_end: int | None = None
    connected: int | None = None
    # Per exchange: when the bytes were first sent, the first and the last
    # of the answer received (0: none yet).
    exchanges: list[list[int]] = field(default_factory=list)
    # When bytes last came, in real nanoseconds since the run started.
    real_received: int = 0

    def in_handshake(self) -> bool:
        return self.tls_start is not None and self.tls_end is None

    def phases(self, end: int) -> list[list[object]]:
        spans: list[tuple[str, int | None, int | None]] = [
            ("dns", *(self.dns or (None, None))),
            ("connect", self.opened, self.connected or end),
            ("tls", self.tls_start, self.tls_end or end),
        ]
        for sent, first, last in self.exchanges:
            spans.append(("first_byte", sent, first or end))
            if first and last > first:
                spans.append(("body", first, last))
        return [[name, start, stop] for name, start, stop in spans
                if start is not None and stop is not None and stop >= start]


class Connections:
    """The run's connections, by descriptor, and the names addresses came from."""

    def __init__(self, recorder: Recorder | None) -> None:
        self.recorder = recorder
        self.by_fd: dict[int, Record] = {}
        self.lookups: dict[str, tuple[str, int, int]] = {}
        self._numbers = 0
        self._lock = threading.Lock()

    def now(self) -> int:
        return self.recorder.clock.now_ns() if self.recorder is not None else 0

    def _send(self, *message: object) -> None:
        recorder = self.recorder
        if recorder is not None and recorder.enabled:
            recorder.channel.send_now(*message)

    def looked_up(self, address: str, name: str, started: int) -> None:
        if len(self.lookups) >= MAX_LOOKUPS_KEPT:
            self.lookups.clear()
        self.lookups[address] = (name, started, self.now())

    def name_of(self, address: str) -> str | None:
        found = self.lookups.get(address)
        return found[0] if found is not None else None

    def opened(self, host: str, port: int, fd: int) -> Record:
        with self._lock:
            self._numbers += 1
            number = self._numbers
        now = self.now()
        lookup = self.lookups.get(host)
        dns = (lookup[1], lookup[2]) if lookup is not None else None
        record = Record(number, dns[0] if dns is not None else now, now, dns)
        self.by_fd[fd] = record
        recorder = self.recorder
        if recorder is not None and number <= MAX_CONNECTIONS_TOLD:
            task = recorder.current if recorder.stepping_here() else None
            self._send(protocol.CONN_START, number, task, lookup[0] if lookup is not None else host, port,
                       record.started, snippet_line(sys._getframe(1)))
        return record

    def connected(self, fd: int) -> None:
        record = self.by_fd.get(fd)
        if record is not None:
            record.connected = self.now()

    def tls(self, what: str, fd: int) -> None:
        if what == "closed":
            self.closed(fd)
            return
        record = self.by_fd.get(fd)
        if record is None:
            return
        if what == "tls_start" and record.tls_start is None:
            record.tls_start = self.now()
        elif what == "tls_end" and record.tls_start is not None and record.tls_end is None:
            record.tls_end = self.now()

    def sent(self, fd: int) -> None:
        record = self.by_fd.get(fd)
        if record is None or record.in_handshake():
            return
        exchanges = record.exchanges
        if (not exchanges or exchanges[-1][1]) and len(exchanges) < MAX_EXCHANGES:
            exchanges.append([self.now(), 0, 0])

    def received(self, fd: int, count: int) -> None:
        record = self.by_fd.get(fd)
        if record is None or count <= 0 or record.in_handshake() or not record.exchanges:
            return
        now = self.now()
        exchange = record.exchanges[-1]
        if not exchange[1]:
            exchange[1] = now
        exchange[2] = now
        if self.recorder is not None:
            record.real_received = self.recorder.clock.real_elapsed_ns()

    def real_wait(self, record: Record) -> float:
        """See ``network.Network.real_wait``."""
        if record.connected is None or record.in_handshake():
            return math.inf
        if record.exchanges and not record.exchanges[-1][1]:
            return math.inf
        if record.real_received and self.recorder is not None:
            since = (self.recorder.clock.real_elapsed_ns() - record.real_received) / 1e9
            return max(0.0, RECEIVING_SECONDS - since)
        return 0.0

    def failed(self, fd: int, error: str) -> None:
        self._end(fd, error)

    def closed(self, fd: int) -> None:
        self._end(fd, None)

    def _end(self, fd: int, error: str | None) -> None:
        record = self.by_fd.pop(fd, None)
        if record is None or record.number > MAX_CONNECTIONS_TOLD:
            return
        end = self.now()
        self._send(protocol.CONN, record.number, end, record.phases(end), error)

    def finish(self) -> None:
        """The run ends: connections still open end now."""
        for fd in list(self.by_fd):
            self._end(fd, None)
