"""Builds the tracer's C accelerator (playground/tracer/_speedups.c).

One ``_speedups<EXT_SUFFIX>`` beside the tracer's sources for each
interpreter that runs the tracer: the jail's (``/usr/bin/python3``) and this
one (which runs it in the unsandboxed mode), once per distinct ABI. Plain
``gcc`` against each interpreter's own headers (Debian's ``python3-dev``);
no setuptools. The tracer falls back to its pure-Python hot path when the
file is missing, so a failed build costs speed, never correctness.

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

SOURCE = TRACER_DIR / "_speedups.c"
CFLAGS = ["-O2", "-fPIC", "-shared", "-Wall", "-Wextra", "-Wno-unused-parameter",
          "-Wno-missing-field-initializers", "-fno-strict-aliasing"]
_PROBE = ("import json, sysconfig; "
          "print(json.dumps([sysconfig.get_path('include'), sysconfig.get_config_var('EXT_SUFFIX')]))")
# Imports the built module the way the tracer does and says whether it is used.
_CHECK = ("import sys; sys.path.insert(0, {parent!r}); from tracer import hotpath; "
          "print('C' if hotpath.SPEEDUPS is not None else 'Python')")


class BuildError(RuntimeError):
    """The accelerator could not be built for an interpreter."""


def interpreter(python: str) -> tuple[str, str]:
    """``python``'s header directory and extension-module suffix."""
    probe = subprocess.run([python, "-I", "-S", "-c", _PROBE], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        raise BuildError(f"{python} did not answer: {probe.stderr.strip()}")
    include, suffix = json.loads(probe.stdout)
    if not suffix or not Path(include, "Python.h").is_file():
        raise BuildError(f"{python} has no headers at {include} (install python3-dev)")
    return include, suffix


def build(python: str) -> Path:
    """Compile the accelerator for ``python``; the file appears whole or not at all."""
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        raise BuildError("no C compiler (install gcc)")
    include, suffix = interpreter(python)
    output = TRACER_DIR / f"_speedups{suffix}"
    with tempfile.TemporaryDirectory() as scratch:
        built = Path(scratch, output.name)
        result = subprocess.run([compiler, *CFLAGS, f"-I{include}", str(SOURCE), "-o", str(built)],
                                capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise BuildError(f"gcc failed for {python}:\n{result.stderr}")
        os.replace(shutil.copy(built, output.with_suffix(".tmp")), output)
    return output


def used_by(python: str) -> str:
    """Which hot path the tracer picks under ``python``: ``C`` or ``Python``."""
    check = subprocess.run([python, "-I", "-S", "-B", "-c", _CHECK.format(parent=str(TRACER_DIR.parent))],
                           capture_output=True, text=True, check=False)
    return check.stdout.strip() or f"failed: {check.stderr.strip()[-300:]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", action="append", help="an interpreter to build for (repeatable); "
                        f"default: {DEFAULT_JAIL_PYTHON} and {sys.executable}")
    parser.add_argument("--check", action="store_true", help="only say which hot path each interpreter uses")
    args = parser.parse_args()
    pythons = args.python or [DEFAULT_JAIL_PYTHON, sys.executable]
    failed = False
    built: set[str] = set()
    for python in dict.fromkeys(pythons):
        try:
            suffix = interpreter(python)[1]
            if not args.check and suffix not in built:
                # Interpreters of one ABI share the file: the first one (the jail's) builds it.
                print(f"built {build(python).name} for {python}")
                built.add(suffix)
            print(f"{python}: the tracer's hot path is in {used_by(python)}")
        except BuildError as exc:
            failed = True
            print(f"{python}: {exc}", file=sys.stderr)
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
