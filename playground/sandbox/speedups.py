"""Builds the tracer's C accelerator (playground/tracer/_speedups.c, with _runinit.c).

One ``_speedups<EXT_SUFFIX>`` beside the tracer's sources for each
interpreter that runs the tracer: every Python a run can pick (the host's
``/usr/bin/python3`` and those of the Pythons' root) and this one (which
runs it in the unsandboxed mode), once per distinct ABI. Plain host ``gcc``
against each interpreter's own headers (Debian's ``python3-dev``, or the
root's ``libpython3.X-dev``; the C library's headers stay the host's, so the
module needs no newer C library than the host's); no setuptools. The
tracer falls back to its pure-Python hot path when the file is missing, so a
failed build costs speed, never correctness.

    python3 -m playground.sandbox.speedups [--python /usr/bin/python3 ...] [--check]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from playground.sandbox.jail import DEFAULT_JAIL_PYTHON, TRACER_DIR
from playground.sandbox.pythons import DEFAULT_ROOT, Python, host_python, root_pythons
from playground.sandbox.rootview import inside

SOURCES = (TRACER_DIR / "_speedups.c", TRACER_DIR / "_runinit.c")
CFLAGS = ["-O2", "-fPIC", "-shared", "-Wall", "-Wextra", "-Wno-unused-parameter",
          "-Wno-missing-field-initializers", "-fno-strict-aliasing"]
_PROBE = ("import json, sysconfig; "
          "print(json.dumps([sysconfig.get_path('include'), sysconfig.get_config_var('EXT_SUFFIX')]))")
# Imports the built module the way the tracer does and says whether it is used.
_CHECK = ("import sys; sys.path.insert(0, {parent!r}); from tracer import hotpath; "
          "print('C' if hotpath.SPEEDUPS is not None else 'Python')")


class BuildError(RuntimeError):
    """The accelerator could not be built for an interpreter."""


def interpreter(python: Python) -> tuple[list[str], str]:
    """The compiler's include options for ``python``'s headers, and its
    extension-module suffix."""
    probe = subprocess.run(inside(python, [python.executable, "-I", "-S", "-c", _PROBE]),
                           capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        raise BuildError(f"{python.executable} did not answer: {probe.stderr.strip()}")
    include, suffix = json.loads(probe.stdout)
    if not suffix or not Path(python.outside(include), "Python.h").is_file():
        raise BuildError(f"{python.executable} has no headers at {include} (install python3-dev)")
    options = [f"-I{python.outside(include)}"]
    if python.root is not None:
        # pyconfig.h includes its architecture's part by <...> from the root's
        # /usr/include: searched after the host's own headers.
        options.append(f"-idirafter{python.outside('/usr/include')}")
    return options, suffix


def build(python: Python) -> Path:
    """Compile the accelerator for ``python``; the file appears whole or not at all."""
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        raise BuildError("no C compiler (install gcc)")
    options, suffix = interpreter(python)
    output = TRACER_DIR / f"_speedups{suffix}"
    with tempfile.TemporaryDirectory() as scratch:
        built = Path(scratch, output.name)
        result = subprocess.run([compiler, *CFLAGS, *options, *map(str, SOURCES), "-o", str(built)],
                                capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise BuildError(f"gcc failed for {python.executable}:\n{result.stderr}")
        os.replace(shutil.copy(built, output.with_suffix(".tmp")), output)
    return output


def used_by(python: Python) -> str:
    """Which hot path the tracer picks under ``python``: ``C`` or ``Python``."""
    parent = "/sandbox" if python.root is not None else str(TRACER_DIR.parent)
    binds = {str(TRACER_DIR): "/sandbox/tracer"} if python.root is not None else None
    check = subprocess.run(inside(python, [python.executable, "-I", "-S", "-B", "-c",
                                           _CHECK.format(parent=parent)], binds=binds),
                           capture_output=True, text=True, check=False)
    return check.stdout.strip() or f"failed: {check.stderr.strip()[-300:]}"


def every_python(root: Path) -> list[Python]:
    """The Pythons a run can pick, and the one running this."""
    found = [p for p in (host_python(DEFAULT_JAIL_PYTHON), host_python(sys.executable)) if p is not None]
    return found + root_pythons(root)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", action="append", help="a host interpreter to build for (repeatable); "
                        f"default: {DEFAULT_JAIL_PYTHON}, {sys.executable} and those of the Pythons' root")
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help=f"the Pythons' root (default {DEFAULT_ROOT})")
    parser.add_argument("--check", action="store_true", help="only say which hot path each interpreter uses")
    args = parser.parse_args()
    pythons = [p for p in map(host_python, args.python) if p is not None] if args.python else every_python(args.root)
    failed = False
    built: set[str] = set()
    for python in pythons:
        try:
            suffix = interpreter(python)[1]
            if not args.check and suffix not in built:
                # Interpreters of one ABI share the file: the first one (the jail's) builds it.
                print(f"built {build(python).name} for Python {python.version} ({python.executable})")
                built.add(suffix)
            print(f"Python {python.version} ({python.executable}): the tracer's hot path is in {used_by(python)}")
        except BuildError as exc:
            failed = True
            print(f"Python {python.version} ({python.executable}): {exc}", file=sys.stderr)
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
