"""The programs a run can start: which binaries the jail binds for
``protocol.PROGRAMS``, and where: the host's, or for a Python of the
Pythons' root, that root's (linked against its own C library).

Each program is bound read-only as ``/usr/bin/<its real name>`` (the jail's
``/bin`` is a link to ``/usr/bin`` on a merged-/usr host, as on Debian 12),
with a symbolic link for a name that is an alias (``sh`` is Debian's
``dash``); their shared libraries are bound by the jail with the
interpreter's. ``python3`` is the run's own interpreter, bound already. A
program the host (or root) lacks is left out, with a warning in the server's log.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

from playground.sandbox.pythons import Python
from playground.tracer.protocol import PROGRAMS

log = logging.getLogger(__name__)
JAIL_PROGRAM_DIR = "/usr/bin"
SEARCH_PATH = ("/usr/bin", "/bin")
# Bound with the interpreter, not here.
INTERPRETER = "python3"


def program_candidates(python: Python) -> dict[str, str]:
    """Each program of ``PROGRAMS`` (but the interpreter) that ``python``'s
    files hold: its name, and the path that names it there (maybe a link)."""
    found: dict[str, str] = {}
    for name in PROGRAMS:
        if name == INTERPRETER:
            continue
        where = next((f"{directory}/{name}" for directory in SEARCH_PATH
                      if os.path.lexists(python.outside(f"{directory}/{name}"))), None)
        if where is None:
            log.warning("runs of Python %s cannot start %s: there is no such program", python.id, name)
            continue
        found[name] = where
    return found


def program_binds(paths: dict[str, str], outside: Callable[[str], str]) -> list[str]:
    """bwrap arguments that put these programs (name: real path, as the
    interpreter's files see it; ``outside`` maps it to the host) in the jail's /usr/bin."""
    args: list[str] = []
    bound: set[str] = set()
    for name, real in sorted(paths.items()):
        binary = os.path.basename(real)
        if binary not in bound:
            bound.add(binary)
            args += ["--ro-bind", outside(real), f"{JAIL_PROGRAM_DIR}/{binary}"]
        if binary != name:
            args += ["--symlink", binary, f"{JAIL_PROGRAM_DIR}/{name}"]
    return args
