"""Admission: which run gets a jail slot next, and which runs are refused.

A node has ``slots`` numbered places (the jail uses its number, e.g. for a
uid of its own). A run takes a free one at once (among the free ones, one
its ``prefer`` says yes to: a slot whose warm jail runs its Python; else the
slot free the longest) or waits in a queue. Admission is by time, not by
count, and fair between clients (the client's address):

- **Who goes next.** When a slot frees, it is handed to the waiting client
  that holds the fewest slots right now, ties broken round-robin (the client
  served longest ago, a new client last). So one client's many runs never
  hold every slot while another client waits, and a quick run behind a
  client's eight spinners starts when the first slot frees.
- **The prediction.** Each run's cost is how long it held its slot; the
  recent cost is their exponentially weighted mean (``PRIOR_COST_SECONDS``
  before any run). The predicted wait of a run simulates the slots: a busy
  slot frees at its start plus the recent cost (at least now), a free slot
  now, and each run served before it (in the order above) takes the slot
  that frees first.
- **Refusal.** A run whose predicted wait passes ``wait_seconds`` is refused
  at once, when it asks (``Busy``, with the predicted wait as
  ``retry_after``); never after a wait. An admitted run waits for its slot,
  up to a safety deadline of its predicted wait plus ``wait_seconds`` (the
  prediction can be wrong: runs may cost more than the recent mean, and
  other clients' runs may be served first), past which it is refused too.
- **The thread guard.** At most ``max_waiting`` runs wait at once, whatever
  they cost: each waiting run holds one of the server's request threads, so
  the cap keeps threads free for pages, health checks and refusals. It is
  far above what the wait lets queue in normal use (see settings.py).

A waiting run can be told where it stands (``on_queued(position,
wait_seconds)``, position 0 = it is next: at once when it starts to wait,
then when its place changes, at most every ``REPORT_EVERY_SECONDS``, or its
predicted wait moves off the countdown) and can be cancelled (an event set
by its client; the wait ends within ``POLL_SECONDS`` with ``Cancelled``).
Either way, and when ``on_queued`` raises, the run leaves the queue (or
gives back the slot it was just handed) before the exception goes on.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

# The recent cost before any run has ended: a quick run of the examples holds
# a slot for a few tens of milliseconds, a real-clock one for seconds.
PRIOR_COST_SECONDS = 0.25
# The weight of the newest run in the recent cost.
COST_WEIGHT = 0.2
# How often a waiting run that can be cancelled or told its place looks again.
POLL_SECONDS = 0.1
# A waiting run is told again when its place changed (at most this often),
# or when its predicted wait moved from the countdown by this much (or this
# share of it).
REPORT_EVERY_SECONDS = 0.25
REPORT_MOVE_SECONDS = 1.0
REPORT_MOVE_SHARE = 0.25
# A plan of the queue is computed again when the queue changed or it is this old.
PLAN_FRESH_SECONDS = 0.1

OnQueued = Callable[[int, float], None]


class Busy(Exception):
    """The run's predicted wait is too long (or the wait ran out)."""

    def __init__(self, retry_after: float = 1.0) -> None:
        super().__init__(f"busy: predicted wait {retry_after:.2f} s")
        self.retry_after = retry_after  # the predicted wait, seconds


class Cancelled(Exception):
    """The run's client cancelled it while it waited for a slot."""


@dataclass(eq=False)
class _Ticket:
    """A run waiting for a slot; ``slot`` is set when one is handed to it."""

    client: str
    prefer: Callable[[int], bool] | None
    handed: threading.Event = field(default_factory=threading.Event)
    slot: int | None = None


@dataclass
class _Plan:
    """Where each waiting run stands: its position and predicted start."""

    version: int
    made: float
    places: dict[_Ticket, tuple[int, float]]


class Admission:
    def __init__(self, slots: int, wait_seconds: float, max_waiting: int = 128,
                 prior_cost: float = PRIOR_COST_SECONDS, now: Callable[[], float] = time.monotonic,
                 on_predicted: Callable[[float], None] | None = None) -> None:
        self.slots = slots
        self.wait_seconds = wait_seconds
        self.max_waiting = max_waiting
        self.cost = prior_cost  # seconds a run holds a slot, lately
        self._now = now
        self._on_predicted = on_predicted  # hears each asking run's predicted wait (metrics)
        self._lock = threading.Lock()
        self._free = list(range(slots))  # free the longest first
        self._running: dict[int, tuple[str, float]] = {}  # slot -> (client, since)
        self._held: Counter[str] = Counter()  # client -> slots it holds
        self._queues: dict[str, deque[_Ticket]] = {}  # client -> its waiting runs
        self._turn: dict[str, int] = {}  # client -> when it was last served (or came)
        self._turns = itertools.count()
        self._waiting = 0
        self._version = 0  # changes whenever the queue or the slots do
        self._plan: _Plan | None = None

    @property
    def waiting(self) -> int:
        return self._waiting

    @contextmanager
    def slot(self, wait: bool = True, prefer: Callable[[int], bool] | None = None, *, client: str = "",
             on_queued: OnQueued | None = None, cancelled: threading.Event | None = None) -> Iterator[int]:
        """A slot's number, held until the block ends. ``Busy`` at once when
        the predicted wait is too long (without ``wait``: when none is free),
        or when the safety deadline passes; ``Cancelled`` when ``cancelled``
        is set while the run waits."""
        number = self._acquire(wait, prefer, client, on_queued, cancelled)
        try:
            yield number
        finally:
            self._release(number, count=True)

    def predicted_wait(self, client: str = "") -> float:
        """The wait a run of ``client`` asking now would be predicted."""
        with self._lock:
            if self._free and not self._waiting:
                return 0.0
            now = self._now()
            ticket = _Ticket(client, None)
            return max(0.0, self._places(now, ticket)[ticket][1] - now)

    def _acquire(self, wait: bool, prefer: Callable[[int], bool] | None, client: str,
                 on_queued: OnQueued | None, cancelled: threading.Event | None) -> int:
        ticket = _Ticket(client, prefer)
        with self._lock:
            now = self._now()
            number = self._take(ticket, now) if self._free and not self._waiting else None
            if number is None:
                position, start = self._places(now, ticket)[ticket]
                predicted = max(0.0, start - now)
                admitted = wait and predicted <= self.wait_seconds and self._waiting < self.max_waiting
                if admitted:
                    self._enqueue(ticket)
        if self._on_predicted is not None:
            self._on_predicted(0.0 if number is not None else predicted)
        if number is not None:
            return number
        if not admitted:
            raise Busy(predicted)
        deadline = now + predicted + self.wait_seconds
        try:
            if on_queued is not None:
                on_queued(position, predicted)
            return self._wait(ticket, deadline, (position, predicted, now), on_queued, cancelled)
        except BaseException:
            self._leave(ticket)
            raise

    def _wait(self, ticket: _Ticket, deadline: float, told: tuple[int, float, float],
              on_queued: OnQueued | None, cancelled: threading.Event | None) -> int:
        """Wait for ``ticket``'s slot; ``told`` is the last (position, wait,
        when) its client heard."""
        watched = on_queued is not None or cancelled is not None
        while True:
            timeout = max(0.0, deadline - self._now())
            ticket.handed.wait(min(timeout, POLL_SECONDS) if watched else timeout)
            if cancelled is not None and cancelled.is_set():
                raise Cancelled
            with self._lock:
                if ticket.slot is not None:
                    return ticket.slot
                now = self._now()
                position, start = self._current(ticket, now)
                if now >= deadline:
                    raise Busy(max(1.0, start - now))
            predicted = max(0.0, start - now)
            if on_queued is not None and _notable(told, position, predicted, now):
                on_queued(position, predicted)
                told = (position, predicted, now)

    def _leave(self, ticket: _Ticket) -> None:
        """``ticket`` leaves the queue, or gives back the slot it was handed."""
        with self._lock:
            if ticket.slot is None:
                queue = self._queues[ticket.client]
                queue.remove(ticket)
                if not queue:
                    del self._queues[ticket.client], self._turn[ticket.client]
                self._waiting -= 1
                self._changed()
                return
        self._release(ticket.slot, count=False)

    def _enqueue(self, ticket: _Ticket) -> None:
        queue = self._queues.get(ticket.client)
        if queue is None:
            queue = self._queues[ticket.client] = deque()
            self._turn[ticket.client] = next(self._turns)
        queue.append(ticket)
        self._waiting += 1
        self._changed()

    def _take(self, ticket: _Ticket, now: float) -> int:
        """Give ``ticket`` a free slot: one it prefers, else the one free the
        longest (its warm run has had the most time to get ready, see pool.py)."""
        prefer = ticket.prefer
        chosen = next((n for n in self._free if prefer(n)), self._free[0]) if prefer else self._free[0]
        self._free.remove(chosen)
        self._running[chosen] = (ticket.client, now)
        self._held[ticket.client] += 1
        ticket.slot = chosen
        self._changed()
        return chosen

    def _release(self, number: int, count: bool) -> None:
        with self._lock:
            now = self._now()
            client, since = self._running.pop(number)
            self._held[client] -= 1
            if not self._held[client]:
                del self._held[client]
            if count:
                self.cost += COST_WEIGHT * (now - since - self.cost)
            self._free.append(number)
            self._changed()
            self._dispatch(now)

    def _dispatch(self, now: float) -> None:
        """Hand free slots to waiting runs, the fairest first."""
        while self._free and self._queues:
            client = min(self._queues, key=lambda c: (self._held[c], self._turn[c]))
            queue = self._queues[client]
            ticket = queue.popleft()
            self._waiting -= 1
            if queue:
                self._turn[client] = next(self._turns)
            else:
                del self._queues[client], self._turn[client]
            self._take(ticket, now)
            ticket.handed.set()

    def _changed(self) -> None:
        self._version += 1

    def _current(self, ticket: _Ticket, now: float) -> tuple[int, float]:
        """A waiting run's position and predicted start, from a plan of the
        queue made again only when the queue changed or the plan aged (every
        waiting run looks at it)."""
        plan = self._plan
        if plan is None or (plan.version != self._version and now - plan.made >= PLAN_FRESH_SECONDS) \
                or now - plan.made >= PLAN_FRESH_SECONDS * 5 or ticket not in plan.places:
            plan = self._plan = _Plan(self._version, now, self._places(now))
        return plan.places[ticket]

    def _places(self, now: float, extra: _Ticket | None = None) -> dict[_Ticket, tuple[int, float]]:
        """Simulate the slots: each waiting run's (and ``extra``'s, as if it
        joined now) position and predicted start."""
        order = itertools.count()
        # When each slot frees, and which client then holds one slot fewer.
        frees: list[tuple[float, int, str | None]] = [(now, next(order), None) for _ in self._free]
        frees += [(max(since + self.cost, now), next(order), client) for client, since in self._running.values()]
        heapq.heapify(frees)
        held = Counter(self._held)
        queues = {client: list(queue) for client, queue in self._queues.items()}
        turn = dict(self._turn)
        if extra is not None:
            if extra.client not in queues:
                queues[extra.client], turn[extra.client] = [], next(self._turns)
            queues[extra.client].append(extra)
        served = dict.fromkeys(queues, 0)
        fairest = [(held[client], turn[client], client) for client in queues]
        heapq.heapify(fairest)
        places: dict[_Ticket, tuple[int, float]] = {}
        for _ in range(sum(len(queue) for queue in queues.values())):
            start, _, previous = heapq.heappop(frees)
            if previous is not None:
                held[previous] -= 1
                if previous in queues and served[previous] < len(queues[previous]):
                    heapq.heappush(fairest, (held[previous], turn[previous], previous))
            while True:  # entries that no longer say a client's state are skipped
                count, its_turn, client = heapq.heappop(fairest)
                if (count, its_turn) == (held[client], turn[client]) and served[client] < len(queues[client]):
                    break
            places[queues[client][served[client]]] = (len(places), start)
            served[client] += 1
            held[client] += 1
            turn[client] = next(self._turns)
            heapq.heappush(frees, (start + self.cost, next(order), client))
            if served[client] < len(queues[client]):
                heapq.heappush(fairest, (held[client], turn[client], client))
        return places


def _notable(told: tuple[int, float, float], position: int, wait: float, now: float) -> bool:
    """Whether a waiting run's client should hear its place again: it moved
    (and it was not told just now), or the wait moved off the countdown."""
    old_position, old_wait, when = told
    countdown = max(0.0, old_wait - (now - when))
    moved = abs(wait - countdown) >= max(REPORT_MOVE_SECONDS, REPORT_MOVE_SHARE * countdown)
    return moved or (position != old_position and now - when >= REPORT_EVERY_SECONDS)
