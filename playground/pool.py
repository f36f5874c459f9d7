"""Warm jails: one jail per admission slot, started ahead of the run.

Starting a jail (bubblewrap, the interpreter, the tracer's imports) takes
longer than most runs, so each slot keeps a jail started in the background
that waits, ready, for the slot's next snippet. A run takes its slot's warm
jail, uses it once (the runner ends it), and the slot's keeper starts the
next one after the run is over. The jail of slot ``n`` runs as that slot's
uid, and a slot's keeper starts its jail only while no run holds the slot, so
no two jails of one slot (one uid) ever live at once. A warm jail has read
no snippet and set no limit yet; the prelude sets the limits and the filter
after the snippet arrives, before its first line (see tracer/prelude.py).

Each slot has a keeper thread that starts its jails and outlives them:
bubblewrap's ``--die-with-parent`` follows the thread that started it.
``close`` ends every waiting jail and the keepers; at exit, every pool
still open is closed.
"""

from __future__ import annotations

import atexit
import logging
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

from .jail import Jail, JailUnavailable
from .limits import Limits
from .runner import NOT_STARTED_MESSAGE, START_SECONDS, JailProcess, start_jail

log = logging.getLogger(__name__)

IDLE = "idle"  # no jail: a run holds the slot, or the last start failed
WANTED = "wanted"  # the keeper is asked to start one
STARTING = "starting"  # the keeper is starting one
READY = "ready"  # a warm jail waits for the slot's next run
CLOSE_WAIT_SECONDS = START_SECONDS + 5


@dataclass
class _Slot:
    number: int
    state: str = WANTED
    jail: JailProcess | None = None
    keeper: threading.Thread | None = field(default=None, repr=False)


class WarmPool:
    def __init__(self, jail: Jail, limits: Limits, slots: int,
                 on_started: Callable[[float], None] | None = None,
                 on_failed: Callable[[], None] | None = None,
                 on_change: Callable[[int], None] | None = None) -> None:
        self.jail = jail
        self.limits = limits
        self._slots = [_Slot(number) for number in range(slots)]
        self._condition = threading.Condition()
        self._started = False
        self._closed = False
        self._on_started = on_started
        self._on_failed = on_failed
        self._on_change = on_change
        _POOLS.add(self)

    def _changed(self) -> None:
        """Call with the lock held, after a slot's state changed."""
        self._condition.notify_all()
        if self._on_change is not None:
            self._on_change(sum(slot.state == READY for slot in self._slots))

    def start(self) -> None:
        """Start the keepers (once), which start a jail for every slot."""
        with self._condition:
            if self._started or self._closed:
                return
            self._started = True
            for slot in self._slots:
                slot.keeper = threading.Thread(target=self._keep, args=(slot,), daemon=True,
                                               name=f"warm-jail-{slot.number}")
                slot.keeper.start()

    def take(self, number: int, timeout: float = START_SECONDS) -> JailProcess | None:
        """The warm jail of slot ``number`` (held by the caller), or None:
        then the caller starts one itself. A jail being started is waited
        for, since it is ready sooner than a new one would be."""
        slot = self._slots[number]
        with self._condition:
            if not self._started:
                return None
            if slot.state == STARTING and not self._condition.wait_for(
                    lambda: slot.state != STARTING or self._closed, timeout):
                # Its keeper is stuck starting one: a second jail of this
                # slot's uid must not start beside it.
                raise JailUnavailable(NOT_STARTED_MESSAGE.format(
                    why=f"it was not ready after {timeout:g} s (is the machine overloaded?)"))
            jail, slot.jail = slot.jail, None
            if slot.state == READY or slot.state == WANTED:
                # A wanted one not begun yet will not be: the caller starts its own.
                slot.state = IDLE
                self._changed()
        if jail is not None and not jail.alive():
            log.warning("warm jail of slot %d ended while it waited", number)
            jail.discard()
            return None
        return jail

    def replace(self, number: int) -> None:
        """Slot ``number``'s run is over and its jail gone: start its next."""
        slot = self._slots[number]
        with self._condition:
            if self._started and not self._closed and slot.state == IDLE:
                slot.state = WANTED
                self._changed()

    def ready(self) -> int:
        """How many warm jails wait now."""
        with self._condition:
            return sum(slot.state == READY for slot in self._slots)

    def pids(self) -> set[int]:
        """The leader pids of the jails the pool holds (waiting or starting)."""
        with self._condition:
            return {slot.jail.process.pid for slot in self._slots if slot.jail is not None}

    def descriptors(self) -> list[int]:
        """The descriptors the pool's waiting jails hold in this process."""
        with self._condition:
            return [fd for slot in self._slots if slot.jail is not None for fd in slot.jail.descriptors()]

    def settle(self, timeout: float = START_SECONDS) -> bool:
        """Wait until no jail is being started; True if none is."""
        with self._condition:
            return self._condition.wait_for(
                lambda: self._closed or all(slot.state not in (WANTED, STARTING) for slot in self._slots)
                or not self._started, timeout)

    def close(self) -> None:
        """End every waiting jail, and the keepers once they are idle."""
        with self._condition:
            self._closed = True
            jails = [slot.jail for slot in self._slots if slot.jail is not None]
            for slot in self._slots:
                slot.jail = None
                if slot.state == READY:
                    slot.state = IDLE
            keepers = [slot.keeper for slot in self._slots if slot.keeper is not None]
            self._changed()
        for jail in jails:
            jail.discard()
        for keeper in keepers:
            if keeper is not threading.current_thread():
                keeper.join(CLOSE_WAIT_SECONDS)

    def _keep(self, slot: _Slot) -> None:
        while True:
            with self._condition:
                self._condition.wait_for(lambda: slot.state == WANTED or self._closed)
                if self._closed:
                    return
                slot.state = STARTING
                self._changed()
            jail = self._start(slot.number)
            with self._condition:
                closed = self._closed
                if jail is not None and not closed:
                    slot.jail, slot.state = jail, READY
                else:
                    # A failed start is not retried here: the slot's next run
                    # starts its own jail, and reports why if it cannot.
                    slot.state = IDLE
                self._changed()
            if jail is not None and closed:
                jail.discard()

    def _start(self, number: int) -> JailProcess | None:
        jail: JailProcess | None = None
        try:
            jail = start_jail(self.jail, number, self.limits)
            jail.wait_ready()
        except Exception as exc:  # the keeper must live on: its jails die with it
            if jail is not None:
                jail.discard()
            log.warning("could not start a warm jail for slot %d: %s", number, exc)
            if self._on_failed is not None:
                self._on_failed()
            return None
        if self._on_started is not None and jail.start_seconds is not None:
            self._on_started(jail.start_seconds)
        return jail


_POOLS: weakref.WeakSet[WarmPool] = weakref.WeakSet()


def open_pools() -> list[WarmPool]:
    """Every pool of this process not closed yet."""
    return [pool for pool in list(_POOLS) if not pool._closed]


@atexit.register
def close_all() -> None:
    for pool in open_pools():
        pool.close()
