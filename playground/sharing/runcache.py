"""Traces of recent virtual-clock runs, so the same snippet runs once.

A tutorial read by a thousand people sends the same snippet a thousand times.
On the virtual clock a run's trace depends on the code alone, so the first
run's trace is kept for ``RUN_CACHE_SECONDS`` and handed to everyone else who
runs the same code, marked ``"cached": true``. Requests for a snippet that is
running right now wait for that run instead of starting their own.

Only the virtual clock is cached (a real-clock run is about real time), and
not the outcomes that depend on the machine's load rather than on the code
(``timeout``, ``crashed``), nor a run its person stopped (``stopped``). ``RUN_CACHE_SECONDS = 0`` turns the cache off.
The cache lives in one server process.

Memory is bounded by ``RUN_CACHE_ENTRIES`` traces and ``RUN_CACHE_BYTES``
bytes of JSON, and one client must not be able to flush everyone's entries
with a burst of large one-off traces (issue 14). So:

- a trace larger than ``1/ENTRY_SHARE`` of the bytes (4 MiB of the default
  64 MiB) is answered but not kept;
- admission by frequency (after TinyLFU): the cache counts how often each
  snippet was asked lately, and halves every count after ``SAMPLE_PER_ENTRY``
  requests per entry, so popularity fades. A new trace makes room by evicting
  the least recently used entries that are expired or asked no more often than
  it was; when those cannot make room it is not kept. Entries many readers use
  therefore stay, and one-off traces only displace one another.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from playground.model.answer import EncodedTrace, dumps

DEFAULT_SECONDS = 300.0
DEFAULT_ENTRIES = 256
DEFAULT_BYTES = 64 * 1024 * 1024
# A trace over this share of the bytes is not kept: 1/16 of 64 MiB is 4 MiB.
ENTRY_SHARE = 16
# The request counts halve every this many requests per entry (TinyLFU's sample).
SAMPLE_PER_ENTRY = 10
# Outcomes decided by the machine's load or by the person, not by the code:
# never cached.
UNCACHED_STATUSES = frozenset({"timeout", "crashed", "stopped"})
# A request waiting for the same snippet's run gives up after the longest a
# run can take (queue wait plus wall limit) and this margin.
WAIT_MARGIN_SECONDS = 5.0

Trace = dict[str, Any]


def encode(trace: Trace, cached: bool) -> bytes:
    """The trace as the API sends it, with its ``cached`` mark, in UTF-8. A
    trace that comes encoded (``EncodedTrace``) is not encoded again."""
    if isinstance(trace, EncodedTrace):
        return trace.marked(cached)
    return dumps({**trace, "cached": cached})


@dataclass
class _Flight:
    """A run in progress that other requests for the same code wait on."""

    done: threading.Event = field(default_factory=threading.Event)
    body: bytes | None = None  # the cached form, when the run was worth keeping


class RunCache:
    def __init__(self, seconds: float = DEFAULT_SECONDS, entries: int = DEFAULT_ENTRIES,
                 max_bytes: int = DEFAULT_BYTES, wait_seconds: float = 30.0,
                 now: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.entries = entries
        self.max_bytes = max_bytes
        self.wait_seconds = wait_seconds
        self._now = now
        self._lock = threading.Lock()
        self._traces: OrderedDict[bytes, tuple[float, bytes]] = OrderedDict()  # key -> (expires, body)
        self._bytes = 0
        self._flights: dict[bytes, _Flight] = {}
        self._asked: dict[bytes, int] = {}  # key -> requests lately, halved every sample
        self._requests = 0  # since the last halving
        self.hits = 0
        self.runs = 0

    @property
    def enabled(self) -> bool:
        return self.seconds > 0 and self.entries > 0 and self.max_bytes > 0

    def __len__(self) -> int:
        return len(self._traces)

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def run(self, code: str, clock: str, compute: Callable[[], Trace], variant: str = "v1",
            python: str = "") -> bytes:
        """The trace of ``code`` as JSON bytes: a stored one, or ``compute()``'s.

        ``compute`` runs the code; its exceptions (busy, no jail) pass through.
        ``variant`` names the form ``compute`` answers in (v1, columnar), and
        ``python`` the id of the Python it runs on: each is kept apart.
        """
        if clock != "virtual" or not self.enabled:
            return self._fresh(compute)[0]
        key = hashlib.sha256(f"{clock}\0{variant}\0{python}\0{code}".encode("utf-8", "surrogatepass")).digest()
        with self._lock:
            self._count(key)
            body = self._lookup(key)
            if body is not None:
                self.hits += 1
                return body
            flight = self._flights.get(key)
            leader = flight is None
            if flight is None:
                flight = self._flights[key] = _Flight()
        if not leader:
            if flight.done.wait(self.wait_seconds) and flight.body is not None:
                with self._lock:
                    self.hits += 1
                return flight.body
            # That run failed, was not worth keeping or took too long: run our own.
            return self._fresh(compute)[0]
        try:
            body, trace = self._fresh(compute)
            if trace.get("status") not in UNCACHED_STATUSES:
                flight.body = encode(trace, cached=True)
                with self._lock:
                    self._store(key, flight.body)
        finally:
            with self._lock:
                del self._flights[key]
            flight.done.set()
        return body

    def _fresh(self, compute: Callable[[], Trace]) -> tuple[bytes, Trace]:
        trace = compute()
        with self._lock:
            self.runs += 1
        return encode(trace, cached=False), trace

    def _lookup(self, key: bytes) -> bytes | None:
        entry = self._traces.get(key)
        if entry is None:
            return None
        expires, body = entry
        if self._now() >= expires:
            self._drop(key)
            return None
        self._traces.move_to_end(key)
        return body

    @property
    def max_entry_bytes(self) -> int:
        """The largest trace kept, in bytes of JSON."""
        return self.max_bytes // ENTRY_SHARE

    def _count(self, key: bytes) -> None:
        """One more request for ``key``; every count halves once a sample has gone by."""
        self._asked[key] = self._asked.get(key, 0) + 1
        self._requests += 1
        if self._requests >= SAMPLE_PER_ENTRY * self.entries:
            self._asked = {k: n // 2 for k, n in self._asked.items() if n > 1}
            self._requests = 0

    def _store(self, key: bytes, body: bytes) -> None:
        if len(body) > self.max_entry_bytes:
            return
        if key in self._traces:
            self._drop(key)
        victims = self._victims(len(body), self._asked.get(key, 0))
        if victims is None:
            return  # everything it would displace is asked for more often
        for victim in victims:
            self._drop(victim)
        self._traces[key] = (self._now() + self.seconds, body)
        self._bytes += len(body)

    def _victims(self, size: int, asked: int) -> list[bytes] | None:
        """The entries to evict for a ``size``-byte trace asked ``asked`` times, or None.

        Least recently used first, skipping those asked for more often than
        the newcomer (unless they have expired): a burst of one-off traces
        cannot displace the entries many readers use.
        """
        now = self._now()
        count, total = len(self._traces), self._bytes
        victims: list[bytes] = []
        for key, (expires, body) in self._traces.items():  # least recently used first
            if count < self.entries and total + size <= self.max_bytes:
                return victims
            if expires <= now or self._asked.get(key, 0) <= asked:
                victims.append(key)
                count -= 1
                total -= len(body)
        return victims if count < self.entries and total + size <= self.max_bytes else None

    def _drop(self, key: bytes) -> None:
        _, body = self._traces.pop(key)
        self._bytes -= len(body)
