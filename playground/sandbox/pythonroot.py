"""Builds the root of newer Pythons that runs can pick beside the host's.

Debian 12's own interpreter is 3.11. Debian's unstable suite carries 3.13,
3.14 and 3.15; one minimal root built from it (``mmdebstrap
--variant=essential``, about 250 MB) holds them with the C library they
need, and a jail of one of them binds that root's files instead of the
host's (see ``playground.sandbox.interpreter``). Beside the root's ``/usr``:

* ``site/<id>/``: the server's pinned aiohttp and its dependencies, as
  wheels for that interpreter, compiled by it (what ``import aiohttp`` finds
  in a run of that Python);
* ``pythons.json``: the manifest, with each interpreter's exact version.

    python3 -m playground.sandbox.pythonroot [--root DIR] [--force]

The root is built in a new directory and moved into place whole; one whose
manifest already names every wanted Python, with the server's pinned
aiohttp, is left as it is.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from playground.sandbox.pythons import DEFAULT_ROOT, MANIFEST, Python
from playground.sandbox.rootview import inside
from playground.sandbox.sitepackages import JAIL_PACKAGES, ROOT_SITE

SUITE = "unstable"
MIRROR = "http://deb.debian.org/debian"
WANTED = ("3.13", "3.14", "3.15")


def packages(ids: tuple[str, ...]) -> list[str]:
    """What the root holds: each interpreter and its headers (to build the
    tracer's C accelerator), libseccomp (the jail's filter) and the trust store."""
    return [*(f"python{id_}" for id_ in ids), *(f"libpython{id_}-dev" for id_ in ids),
            "libseccomp2", "ca-certificates"]


def bootstrap(target: Path, ids: tuple[str, ...]) -> None:
    """mmdebstrap the root into ``target``. The suite's Release file may carry
    an expired Valid-Until: the archive is still the one asked for."""
    subprocess.run(["mmdebstrap", "--variant=essential", "--quiet",
                    "--aptopt=Acquire::Check-Valid-Until \"false\"",
                    f"--include={','.join(packages(ids))}", SUITE, str(target), MIRROR], check=True)


def probe(python: Python) -> Python:
    """``python`` with the version and cache tag it reports when it runs."""
    program = ("import json, platform, sys; "
               "print(json.dumps([platform.python_version(), sys.implementation.cache_tag]))")
    out = subprocess.run(inside(python, [python.executable, "-I", "-S", "-c", program]),
                         capture_output=True, text=True, check=True).stdout
    version, cache_tag = json.loads(out)
    return Python(id=python.id, version=version, executable=python.executable, cache_tag=cache_tag,
                  root=python.root)


def pins() -> list[str]:
    """The server's own versions of the packages a snippet may import."""
    return [f"{name}=={importlib.metadata.version(name)}" for name in JAIL_PACKAGES]


def install_site(python: Python, site: Path) -> None:
    """The server's pinned aiohttp (and what it needs) as wheels for ``python``, compiled by it."""
    major, minor = python.minor
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    "--no-compile", "--target", str(site), "--only-binary=:all:", "--implementation", "cp",
                    "--python-version", f"{major}.{minor}", "--platform", "manylinux_2_28_x86_64",
                    "--platform", "manylinux_2_17_x86_64", "--platform", "manylinux2014_x86_64", *pins()],
                   check=True)
    shutil.rmtree(site / "bin", ignore_errors=True)
    compiled = inside(python, [python.executable, "-I", "-m", "compileall", "-q", "-j", "1", "/site"],
                      binds={str(site): "/site"}, writable=True)
    subprocess.run(compiled, check=True)


def build(root: Path, ids: tuple[str, ...] = WANTED) -> list[Python]:
    """Build the root at ``root`` (replacing one there) and return its Pythons."""
    staging = root.with_name(root.name + ".new")
    shutil.rmtree(staging, ignore_errors=True)
    staging.parent.mkdir(parents=True, exist_ok=True)
    bootstrap(staging, ids)
    found = [probe(Python(id=id_, version="", executable=f"/usr/bin/python{id_}", cache_tag="",
                          root=staging)) for id_ in ids]
    for python in found:
        install_site(python, staging / ROOT_SITE / python.id)
    manifest = {
        "suite": SUITE,
        "built": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "packages": pins(),
        "pythons": [{"id": p.id, "version": p.version, "executable": p.executable, "cache_tag": p.cache_tag}
                    for p in found],
    }
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    for directory, _, _ in os.walk(staging / ROOT_SITE):
        os.chmod(directory, 0o755)
    old = root.with_name(root.name + ".old")
    if root.exists():
        os.replace(root, old)
    os.replace(staging, root)
    shutil.rmtree(old, ignore_errors=True)
    return [Python(id=p.id, version=p.version, executable=p.executable, cache_tag=p.cache_tag, root=root)
            for p in found]


def built(root: Path, ids: tuple[str, ...]) -> bool:
    try:
        manifest = json.loads((root / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    # A root whose aiohttp is not the server's pin any more is built anew.
    return {entry["id"] for entry in manifest["pythons"]} >= set(ids) and manifest.get("packages") == pins()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help=f"where (default {DEFAULT_ROOT})")
    parser.add_argument("--force", action="store_true", help="build it again even when it is there")
    args = parser.parse_args()
    if built(args.root, WANTED) and not args.force:
        print(f"{args.root}: already holds Python {', '.join(WANTED)}")
        return
    for python in build(args.root):
        print(f"{args.root}: Python {python.version} ({python.executable})")


if __name__ == "__main__":
    main()
