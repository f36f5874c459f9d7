"""The third-party packages a snippet can import: the server's own pinned
aiohttp and what it needs, copied once per server process into a directory
a jail's uid can read, which every jail binds read-only (``JAIL_SITE``).

Only when the jail's interpreter is the server's kind (the same cache tag,
``cpython-311``, and so the same ABI for the packages' C extensions). A
Python of the Pythons' root has its own, built with the root
(``playground.sandbox.pythonroot``); any other interpreter gets none, and
``import aiohttp`` there fails as it would on a laptop without it.
"""

from __future__ import annotations

import atexit
import compileall
import importlib.metadata
import os
import shutil
import sys
import tempfile
import threading
from pathlib import Path

from packaging.requirements import Requirement

from playground.sandbox.pythons import Python

# What a snippet may import beyond the standard library, with their
# dependencies (found from the installed distributions' metadata).
JAIL_PACKAGES = ("aiohttp",)
JAIL_SITE = "/sandbox/site"

# Beside a Pythons' root's /usr: site/<id>, one per interpreter (pythonroot).
ROOT_SITE = "site"
_staged: list[Path] = []
_lock = threading.Lock()


def distributions(roots: tuple[str, ...] = JAIL_PACKAGES) -> list[importlib.metadata.Distribution]:
    """``roots`` and every distribution they need on this interpreter (no extras)."""
    found: dict[str, importlib.metadata.Distribution] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        key = name.lower().replace("_", "-")
        if key in found:
            continue
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        found[key] = dist
        for text in dist.requires or ():
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return list(found.values())


def _copy(target: Path) -> None:
    for dist in distributions():
        for file in dist.files or ():
            relative = str(file)
            if relative.startswith("..") or "__pycache__" in relative or relative.endswith(".pyc"):
                continue
            source = Path(str(file.locate()))
            if not source.is_file():
                continue
            destination = target / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, destination)


def site_for(python: Python) -> Path | None:
    """The directory of packages for jails of ``python``, or None when it
    has none: the host's interpreter of the server's own kind gets the copy
    made on first use (removed when the server exits); a Python of the
    Pythons' root gets the one built beside it for its version."""
    if python.root is not None:
        site = python.root / ROOT_SITE / python.id
        return site if site.is_dir() else None
    if python.cache_tag != sys.implementation.cache_tag:
        return None
    with _lock:
        if not _staged:
            _staged.append(_stage())
        return _staged[0]


def _stage() -> Path:
    # One per server process, for as long as it lives (not a run's: the
    # checks for what runs leave behind look for "playground-*").
    target = Path(tempfile.mkdtemp(prefix="asyncio-packages-"))
    atexit.register(shutil.rmtree, target, True)
    _copy(target)
    # Compiled now: the jail's interpreter never writes bytecode, and would
    # compile aiohttp anew in every run that imports it.
    compileall.compile_dir(target, quiet=2, workers=1)
    # Readable by the jails' uids: bubblewrap binds it as them.
    for directory, _, files in os.walk(target):
        os.chmod(directory, 0o755)
        for name in files:
            os.chmod(os.path.join(directory, name), 0o644)
    return target
