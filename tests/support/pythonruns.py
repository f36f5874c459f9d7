"""Running snippets through the real bubblewrap jail on each Python the
server offers (the host's and the Pythons' root's, see
playground/sandbox/pythons.py), as the tracer's tests do for every version.

``PYTHON_IDS`` are the ids the tests are parametrized over (``3.11``,
``3.13``, ...); ``jail_on`` is a jail whose runs default to one of them.
``JailedRuns`` keeps one fork server of one Python warm and forks each run
from it, as the warm pool does, so a run costs a fork, not a
jail's start; a run that killed the jail (at a limit) gets a new one.
"""

from __future__ import annotations

import textwrap
from typing import Any

from playground.egress.broker import Egress
from playground.sandbox.forkclient import ForkServer, start_server
from playground.sandbox.jail import DEFAULT_JAIL_PYTHON, Bubblewrap, Jail, JailUnavailable
from playground.sandbox.limits import Limits
from playground.sandbox.pythons import DEFAULT_ROOT, Python, Pythons
from playground.sandbox.runner import run_snippet

PYTHONS = Pythons.discover(DEFAULT_JAIL_PYTHON, DEFAULT_ROOT)
PYTHON_IDS = list(PYTHONS.by_id)
# The newest Python here, and the versions with eager tasks (3.12+).
NEWEST = PYTHON_IDS[-1] if PYTHON_IDS else None
EAGER_PYTHON_IDS = [python for python in PYTHON_IDS if PYTHONS.by_id[python].minor >= (3, 12)]
# Jail slots of their own (their uid and cgroup), apart from the pools' 0, 1, ...
FIRST_SLOT = 40
# A second set, for runs kept warm beside the first (another jail's).
SECOND_SLOTS = 10


def jail_on(python_id: str) -> Bubblewrap:
    """A jail whose runs are of Python ``python_id`` unless they name another."""
    return Bubblewrap(pythons=Pythons(list(PYTHONS.by_id.values()), default=python_id))


def slot_of(python: Python, second: bool = False) -> int:
    return FIRST_SLOT + PYTHON_IDS.index(python.id) + (SECOND_SLOTS if second else 0)


class JailedRuns:
    """Runs of one Python in ``jail``, forked from a fork server kept warm
    (one at a time: a run with other limits gets a server of its own)."""

    def __init__(self, jail: Jail, python: Python, second: bool = False) -> None:
        self.jail = jail
        self.python = python
        self.slot = slot_of(python, second)
        self._server: ForkServer | None = None
        self._limits: Limits | None = None

    def _server_for(self, limits: Limits) -> ForkServer:
        server = self._server
        if server is not None and (self._limits != limits or not server.alive()):
            server.discard()
            server = self._server = None
        if server is None:
            server = self._server = start_server(self.jail, self.slot, limits, self.python)
            self._limits = limits
        return server

    def run(self, code: str, clock: str = "virtual", egress: Egress | None = None, dedent: bool = True,
            **limits: Any) -> dict[str, Any]:
        """The trace of ``code`` (dedented, unless not ``dedent``) as the API
        would answer it; its network served by ``egress`` (None: it has none)."""
        chosen = Limits(**limits)
        try:
            jailed = self._server_for(chosen).fork(self.jail, chosen)
        except JailUnavailable:  # its jail died meanwhile: a new one
            self.close()
            jailed = self._server_for(chosen).fork(self.jail, chosen)
        trace = run_snippet(self.jail, textwrap.dedent(code) if dedent else code, clock, chosen,  # type: ignore[arg-type]
                            slot=self.slot, jailed=jailed, egress=egress, python=self.python)
        return trace.to_json()

    def close(self) -> None:
        if self._server is not None:
            self._server.discard()
            self._server = None
