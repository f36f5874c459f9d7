"""Warm runs: per admission slot, a jail and a run set up in it ahead of time.

Each slot keeps a jail (its fork server, see playground.jailprocess) and,
while no run holds the slot, one run forked in it that waits, ready, for
the slot's next snippet. A run takes its slot's warm run, uses it once, and
the slot's keeper forks the next after the run is over, starting a new jail
first when the last one was killed (at a limit) or died. The jail of slot
``n`` runs as that slot's uid, and only one jail of a slot exists at a time.
A warm run has read no snippet and set no limit yet; the prelude sets the
limits and the filter after the snippet arrives, before its first line (see
tracer/prelude.py).

Each slot has a keeper thread that starts its jails and outlives them:
bubblewrap's ``--die-with-parent`` follows the thread that started it.
``close`` ends every jail and the keepers; at exit, every pool still open is
closed.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

from playground.sandbox.forkclient import NOT_STARTED_MESSAGE, START_SECONDS, ForkServer, JailRun, start_server
from playground.sandbox.jail import Jail, JailUnavailable
from playground.sandbox.limits import Limits
from playground.sandbox.pythons import Python

log = logging.getLogger(__name__)

IDLE = "idle"  # no warm run: a run holds the slot, or the last start failed
WANTED = "wanted"  # the keeper is asked to set one up
STARTING = "starting"  # the keeper is setting one up
READY = "ready"  # a warm run waits for the slot's next snippet
CLOSE_WAIT_SECONDS = START_SECONDS + 5


@dataclass
class _Slot:
    number: int
    state: str = WANTED
    server: ForkServer | None = None
    run: JailRun | None = None
    # The Python its jails run: the one its last run asked for (at first the default).
    python: Python | None = None
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

    def take(self, number: int, python: Python, timeout: float = START_SECONDS) -> JailRun | None:
        """A run of ``python`` for slot ``number`` (held by the caller): the
        warm one, or else one forked now in the slot's jail (started now if
        it has none, or runs another Python). None when the pool is not
        started or closed: then the caller starts a jail of its own. A run
        being set up is waited for, since it is ready sooner than a new one
        would be. The slot then keeps warm runs of ``python``."""
        slot = self._slots[number]
        with self._condition:
            if not self._started or self._closed:
                return None
            if slot.state == STARTING and not self._condition.wait_for(
                    lambda: slot.state != STARTING or self._closed, timeout):
                # Its keeper is stuck starting one: a second jail of this
                # slot's uid must not start beside it.
                raise JailUnavailable(NOT_STARTED_MESSAGE.format(
                    why=f"it was not ready after {timeout:g} s (is the machine overloaded?)"))
            run, slot.run = slot.run, None
            if slot.state == READY or slot.state == WANTED:
                # A wanted one not begun yet will not be: this caller forks its own.
                slot.state = IDLE
                self._changed()
            server = slot.server
            slot.python = python
        if server is not None and server.python != python:
            # One jail per slot (its uid): the other Python's goes first.
            if run is not None:
                run.discard()
            server.discard()
            run = server = None
        if run is not None:
            if run.alive():
                return run
            log.warning("warm run of slot %d ended while it waited", number)
            run.discard()
        if server is not None and server.alive():
            try:
                return server.fork(self.jail, self.limits)
            except JailUnavailable as exc:
                log.warning("the jail of slot %d could not fork a run: %s", number, exc)
                server.discard()
        server = self._live_server(number, server, python)
        with self._condition:
            closed = self._closed
            slot.server = None if closed else server
        if closed:
            server.discard()
            return None
        return server.fork(self.jail, self.limits)

    def replace(self, number: int) -> None:
        """Slot ``number``'s run is over and its jail gone: start its next."""
        slot = self._slots[number]
        with self._condition:
            if self._started and not self._closed and slot.state == IDLE:
                slot.state = WANTED
                self._changed()

    def python_of(self, number: int) -> str | None:
        """The id of the Python slot ``number`` keeps warm (None: not chosen yet, the default)."""
        with self._condition:
            python = self._slots[number].python
            return python.id if python is not None else None

    def ready(self) -> int:
        """How many warm runs wait now."""
        with self._condition:
            return sum(slot.state == READY for slot in self._slots)

    def pids(self) -> set[int]:
        """The leader pids of the jails the pool holds."""
        with self._condition:
            return {slot.server.process.pid for slot in self._slots if slot.server is not None}

    def descriptors(self) -> list[int]:
        """The descriptors the pool's jails and warm runs hold in this process."""
        with self._condition:
            held = [fd for slot in self._slots if slot.server is not None for fd in slot.server.descriptors()]
            return held + [fd for slot in self._slots if slot.run is not None for fd in slot.run.descriptors()]

    def settle(self, timeout: float = START_SECONDS) -> bool:
        """Wait until no jail is being started; True if none is."""
        with self._condition:
            return self._condition.wait_for(
                lambda: self._closed or all(slot.state not in (WANTED, STARTING) for slot in self._slots)
                or not self._started, timeout)

    def close(self) -> None:
        """End every warm run and jail, and the keepers once they are idle."""
        with self._condition:
            self._closed = True
            runs = [slot.run for slot in self._slots if slot.run is not None]
            servers = [slot.server for slot in self._slots if slot.server is not None]
            for slot in self._slots:
                slot.run = slot.server = None
                if slot.state == READY:
                    slot.state = IDLE
            keepers = [slot.keeper for slot in self._slots if slot.keeper is not None]
            self._changed()
        for run in runs:
            run.discard()
        for server in servers:
            server.discard()
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
                server = slot.server
                python = slot.python or self.jail.pythons.get(None)
                self._changed()
            run, server = self._start(slot.number, server, python)
            with self._condition:
                closed = self._closed
                if not closed:
                    slot.server = server
                if run is not None and not closed:
                    slot.run, slot.state = run, READY
                else:
                    # A failed start is not retried here: the slot's next run
                    # starts its own jail, and reports why if it cannot.
                    slot.state = IDLE
                self._changed()
            if closed:
                if run is not None:
                    run.discard()
                if server is not None:
                    server.discard()

    def _live_server(self, number: int, server: ForkServer | None, python: Python) -> ForkServer:
        """``server`` while it lives; else (its remains freed) a new jail of
        ``python`` for slot ``number``."""
        if server is not None and server.alive():
            return server
        if server is not None:
            server.discard()
        return start_server(self.jail, number, self.limits, python)

    def _start(self, number: int, server: ForkServer | None,
               python: Python) -> tuple[JailRun | None, ForkServer | None]:
        """A warm run of ``python`` for slot ``number``, forked in ``server``
        or, when that is gone, in a new jail; and the slot's jail."""
        began = time.monotonic()
        run: JailRun | None = None
        try:
            server = self._live_server(number, server, python)
            run = server.fork(self.jail, self.limits)
            run.wait_ready()
            run.warm = True
        except Exception as exc:  # the keeper must live on: its jails die with it
            if run is not None:
                run.discard()
            if server is not None:
                server.discard()
            if self._closed:
                return None, None  # close() ended the jail under it: no failure
            log.warning("could not set up a warm run for slot %d: %s", number, exc)
            if self._on_failed is not None:
                self._on_failed()
            return None, None
        if self._on_started is not None:
            self._on_started(time.monotonic() - began)
        return run, server


_POOLS: weakref.WeakSet[WarmPool] = weakref.WeakSet()


def open_pools() -> list[WarmPool]:
    """Every pool of this process not closed yet."""
    return [pool for pool in list(_POOLS) if not pool._closed]


@atexit.register
def close_all() -> None:
    for pool in open_pools():
        pool.close()
