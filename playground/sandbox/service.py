"""The sandbox as the web layer sees it: run code, or say why it cannot.

``Sandbox`` ties together the jail (how it is built), the runner (how a run is
watched), the warm pool (jails started ahead), the limits and admission. The
web layer calls ``run``, ``health`` and ``close`` and knows nothing else
about jails.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from playground.egress.broker import Egress
from playground.egress.policy import EgressPolicy
from playground.model.trace import Trace
from playground.ops import metrics
from playground.sandbox.admission import Admission, Busy, Cancelled, OnQueued
from playground.sandbox.forkclient import JailRun, start_run
from playground.sandbox.jail import Jail, JailUnavailable, make_jail
from playground.sandbox.limits import Limits
from playground.sandbox.live import LiveRun, LiveRuns
from playground.sandbox.pool import WarmPool
from playground.sandbox.pythons import Python, Pythons, UnknownPython
from playground.sandbox.runner import Clock, run_snippet
from playground.settings import Settings

__all__ = ["Busy", "Cancelled", "JailUnavailable", "LiveRun", "Pythons", "Sandbox", "UnknownPython"]

HEALTH_CACHE_SECONDS = 5.0
HEALTH_SNIPPET = "print('ok')"
# Before a second try at setting a run up, when the first ended before it was ready.
READY_RETRY_PAUSE_SECONDS = 0.1


class Sandbox:
    def __init__(self, jail: Jail | None, limits: Limits, admission: Admission,
                 unavailable: str | None = None, warm_pool: bool = True, egress: Egress | None = None,
                 live_dir: str = "") -> None:
        self.jail = jail
        self.egress = egress
        self.limits = limits
        self.admission = admission
        self.unavailable = unavailable
        self.pool: WarmPool | None = None
        if jail is not None and warm_pool:
            self.pool = WarmPool(jail, limits, admission.slots,
                                 on_started=metrics.JAIL_START_SECONDS.labels("warm").observe,
                                 on_failed=metrics.JAIL_START_FAILURES.inc,
                                 on_change=metrics.WARM_JAILS.set)
        self._health: tuple[float, str | None] | None = None
        self._health_lock = threading.Lock()
        self.live_runs = LiveRuns(live_dir)

    @classmethod
    def from_settings(cls, settings: Settings) -> Sandbox:
        limits = settings.limits
        admission = Admission(slots=settings.concurrency, wait_seconds=settings.queue_wait_seconds,
                              max_waiting=settings.queue_size,
                              on_predicted=metrics.QUEUE_PREDICTED_WAIT_SECONDS.observe)
        # Each worker process of a node has its own slots, so its own uids.
        uid_base = settings.jail_uid_base + settings.worker_index * admission.slots
        try:
            pythons = None
            if settings.sandbox == "bwrap":
                pythons = Pythons.discover(settings.jail_python, Path(settings.pythons_root),
                                           settings.default_python or None)
            jail = make_jail(settings.sandbox, pythons=pythons, uid_base=uid_base)
        except UnknownPython as exc:
            return cls(None, limits, admission, unavailable=f"PLAYGROUND_DEFAULT_PYTHON: {exc}",
                       live_dir=settings.live_dir)
        except JailUnavailable as exc:
            return cls(None, limits, admission, unavailable=str(exc), live_dir=settings.live_dir)
        egress = Egress(EgressPolicy.from_limits(settings.urls, enabled=settings.code_network))
        return cls(jail, limits, admission, warm_pool=settings.warm_pool, egress=egress, live_dir=settings.live_dir)

    @property
    def jail_name(self) -> str:
        """Which kind of jail runs the snippets ("bwrap", "none"), for /healthz."""
        return self.jail.name if self.jail is not None else "unavailable"

    @property
    def cgroups(self) -> str:
        """How a run's memory and processes are capped beyond its rlimits: the
        cgroup version, or why there is none (then the filter is the strictest)."""
        return self.jail.cgroups_state() if self.jail is not None else f"unavailable: {self.unavailable}"

    @property
    def pythons(self) -> Pythons:
        """The interpreters a run can pick (none when no jail can start)."""
        return self.jail.pythons if self.jail is not None else Pythons([])

    @property
    def sandboxed(self) -> bool:
        return self.jail is None or self.jail.sandboxed

    def start(self) -> None:
        """Start warming jails (and the network's loop) now rather than at the first run."""
        if self.pool is not None:
            self.pool.start()
        if self.egress is not None:
            self.egress.start()

    def close(self) -> None:
        """End the warm runs and their jails; runs after this start cold jails."""
        if self.pool is not None:
            self.pool.close()
            self.pool = None
            metrics.WARM_JAILS.set(0)
        if self.egress is not None:
            self.egress.close()

    def live_run(self) -> LiveRun:
        """A run to watch as it goes on: pass it to ``run``, read its ``events``."""
        return self.live_runs.new(self.limits.answer_bytes)

    def stop(self, run_id: str) -> bool:
        """Stop the live run of ``run_id`` now; False when none of that id is going on."""
        return self.live_runs.stop(run_id)

    def run(self, code: str, clock: Clock, wait: bool = True, python: str | None = None, *,
            live: LiveRun | None = None, client: str = "", on_queued: OnQueued | None = None,
            cancelled: threading.Event | None = None) -> Trace:
        """Run a snippet on the Python of id ``python`` (None: the default)
        for ``client`` (its address: admission is fair between clients),
        telling ``live`` (if any) where it waits and what it does as it goes
        on; a stop of ``live`` ends its wait too.

        Raises ``Busy`` at once when the predicted wait for a slot is too
        long (``retry_after``: that wait), or when the run waited past its
        deadline; ``Cancelled`` when ``cancelled`` is set while it waits;
        ``UnknownPython`` or ``JailUnavailable``. While it waits,
        ``on_queued(position, wait_seconds)`` hears where it stands."""
        if self.jail is None:
            raise JailUnavailable(self.unavailable or "No jail is configured.")
        interpreter = self.jail.pythons.get(python)
        pool = self.pool
        if pool is not None:
            pool.start()
        if self.egress is not None:
            self.egress.start()
        if live is not None:
            on_queued = on_queued or live.queued
            cancelled = cancelled or live.stop_requested
        asked = time.monotonic()
        with self.admission.slot(wait, self._warm_for(interpreter), client=client, on_queued=on_queued,
                                 cancelled=cancelled) as slot:
            metrics.QUEUE_WAIT_SECONDS.observe(time.monotonic() - asked)
            metrics.RUNS_IN_PROGRESS.inc()
            if live is not None:
                live.started()
            try:
                jailed = self._ready_run(slot, interpreter)
                cold = not jailed.warm
                if cold and pool is not None:
                    metrics.WARM_MISSES.inc()
                try:
                    trace = run_snippet(self.jail, code, clock, self.limits, slot, jailed=jailed,
                                        egress=self.egress, live=live)
                finally:
                    if pool is not None:
                        pool.replace(slot)
            except JailUnavailable:
                metrics.JAIL_START_FAILURES.inc()
                raise
            finally:
                metrics.RUNS_IN_PROGRESS.dec()
                if live is not None:
                    live.ended()
        if cold and jailed.start_seconds is not None:
            metrics.JAIL_START_SECONDS.labels("cold").observe(jailed.start_seconds)
        metrics.RUNS.labels(trace.status).inc()
        metrics.RUNS_BY_PYTHON.labels(interpreter.id).inc()
        metrics.RUN_SECONDS.observe(trace.wall)
        return trace

    def _ready_run(self, slot: int, python: Python) -> JailRun:
        """A run of ``python`` for ``slot`` waiting for its snippet: the
        slot's warm one, or one set up now. One that ends before it is ready
        is replaced once, after a pause: nothing of the snippet has run yet,
        and under a burst on a loaded machine a run now and then does (while
        the slot's last run is still being torn down)."""
        try:
            return self._set_up(slot, python)
        except JailUnavailable:
            metrics.JAIL_START_FAILURES.inc()
            time.sleep(READY_RETRY_PAUSE_SECONDS)
        return self._set_up(slot, python)

    def _set_up(self, slot: int, python: Python) -> JailRun:
        assert self.jail is not None
        jailed = self.pool.take(slot, python) if self.pool is not None else None
        if jailed is None:
            jailed = start_run(self.jail, slot, self.limits, python)
        try:
            jailed.wait_ready()
        except JailUnavailable:
            jailed.discard()
            raise
        return jailed

    def _warm_for(self, python: Python) -> Callable[[int], bool] | None:
        """Which slots keep warm runs of ``python``: a run prefers those."""
        pool = self.pool
        if pool is None:
            return None
        default = self.pythons.default
        return lambda number: (pool.python_of(number) or default) == python.id

    def health(self) -> str | None:
        """None when a jail can start and run a trivial snippet; else why not."""
        if self.jail is None:
            return self.unavailable
        with self._health_lock:
            if self._health is not None and time.monotonic() - self._health[0] < HEALTH_CACHE_SECONDS:
                return self._health[1]
            try:
                problem = self._check()
            except Busy:
                # Every slot is running code, so jails do start; a health
                # probe never queues behind them.
                return None if self._health is None else self._health[1]
            self._health = (time.monotonic(), problem)
            return problem

    def _check(self) -> str | None:
        try:
            trace = self.run(HEALTH_SNIPPET, "virtual", wait=False)
        except (JailUnavailable, OSError) as exc:
            return str(exc)
        if trace.status != "ok" or [o.text for o in trace.output] != ["ok"]:
            said = [event.message for event in trace.events if event.kind in ("limit", "sandbox")]
            return f"a test run in the jail ended with status {trace.status}" + (f": {said[-1]}" if said else "")
        return None
