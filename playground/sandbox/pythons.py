"""The Pythons a run can pick: the host's own interpreter, and the newer ones
of the root that ``python3 -m playground.sandbox.pythonroot`` builds from
Debian's archive (see that module).

Each is a ``Python``: the id people pick (``"3.14"``), the exact version it
reports (``platform.python_version()`` in a run), and where it lives: the
host's ``/usr`` (``root`` None) or a root whose ``/usr`` the jail binds
instead. The root's manifest (``pythons.json``) records what the build
installed; an interpreter it names but the root lacks is not offered.
"""

from __future__ import annotations

import json
import logging
import subprocess
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

MANIFEST = "pythons.json"
# Where ``python3 -m playground.sandbox.pythonroot`` builds the root (the
# PYTHONS_ROOT setting).
DEFAULT_ROOT = Path("/var/lib/asyncio-playground/pythons")
# The default when the operator names none: the first of these the server
# has (the newest release that passes every test: the tracer's, the attack
# suites and the corpus run on every Python, see docs/trace.md).
DEFAULT_PREFERENCE = ("3.15", "3.14", "3.13", "3.11")
_PROBE = ("import json, platform, sys; print(json.dumps([platform.python_version(), "
          "sys.implementation.cache_tag]))")


class UnknownPython(ValueError):
    """A run asked for a Python this server does not have; the message names those it has."""


@dataclass(frozen=True)
class Python:
    """One interpreter a run can pick."""

    id: str  # "3.14": what a request, a page and a shared snippet name
    version: str  # "3.14.10": platform.python_version() in a run
    executable: str  # its path as the jail sees it
    cache_tag: str  # "cpython-314": the ABI of its extension modules
    root: Path | None = None  # the root whose /usr it needs; None: the host's

    def outside(self, path: str) -> str:
        """Where the file a run sees at ``path`` is on the host."""
        return path if self.root is None else str(self.root) + path

    @property
    def minor(self) -> tuple[int, int]:
        return release(self.id)


def release(python_id: str) -> tuple[int, int]:
    """A Python's id as numbers to compare: "3.14" -> (3, 14)."""
    major, minor = python_id.split(".")
    return int(major), int(minor)


def host_python(executable: str) -> Python | None:
    """The host's interpreter at ``executable`` as a ``Python``, or None when it does not run."""
    try:
        probe = subprocess.run([executable, "-I", "-S", "-c", _PROBE], capture_output=True, text=True,
                               check=False, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.warning("the interpreter %s does not run: %s", executable, exc)
        return None
    if probe.returncode != 0:
        log.warning("the interpreter %s does not run: %s", executable, probe.stderr.strip()[-300:])
        return None
    version, cache_tag = json.loads(probe.stdout)
    return Python(id=".".join(version.split(".")[:2]), version=version, executable=executable,
                  cache_tag=cache_tag)


def root_pythons(root: Path) -> list[Python]:
    """The interpreters the root's manifest names and the root has."""
    try:
        manifest = json.loads((root / MANIFEST).read_text())
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        log.warning("the Pythons' root %s has an unreadable manifest: %s", root, exc)
        return []
    found = []
    for entry in manifest["pythons"]:
        python = Python(id=entry["id"], version=entry["version"], executable=entry["executable"],
                        cache_tag=entry["cache_tag"], root=root)
        if Path(python.outside(python.executable)).is_file():
            found.append(python)
        else:
            log.warning("the Pythons' root %s names %s but lacks it", root, python.executable)
    return found


class Pythons:
    """The interpreters runs can pick, by id, and the default."""

    def __init__(self, available: list[Python], default: str | None = None) -> None:
        self.by_id = {python.id: python for python in sorted(available, key=lambda p: p.minor)}
        if default is None:
            default = next((wanted for wanted in DEFAULT_PREFERENCE if wanted in self.by_id),
                           next(iter(self.by_id), None))
        if default is not None and default not in self.by_id:
            raise UnknownPython(f"the default Python {default!r} is not here: {self.ids_text()}")
        self.default = default

    @classmethod
    def discover(cls, host_executable: str, root: Path | None, default: str | None = None) -> Pythons:
        """The host's interpreter and, when ``root`` was built, the root's."""
        available = [python for python in [host_python(host_executable)] if python is not None]
        if root is not None:
            available += [python for python in root_pythons(root) if python.id not in
                          {have.id for have in available}]
        return cls(available, default)

    def ids_text(self) -> str:
        return ", ".join(self.by_id) if self.by_id else "none"

    def get(self, wanted: str | None) -> Python:
        """The Python of id ``wanted`` (None: the default); ``UnknownPython`` otherwise."""
        chosen = self.default if wanted is None else wanted
        if chosen is None or chosen not in self.by_id:
            raise UnknownPython(f"There is no Python {wanted!r} here; pick one of: {self.ids_text()}.")
        return self.by_id[chosen]

    def listing(self) -> list[dict[str, object]]:
        """What ``GET /api/pythons`` answers, oldest first."""
        return [{"id": python.id, "version": python.version, "default": python.id == self.default}
                for python in self.by_id.values()]
