"""What a jail binds for one Python: the interpreter (always as
``/usr/bin/python3``), its standard library, the shared libraries these and
the run's programs load (found with ``ldd``), libseccomp (the filter), the
programs of ``protocol.PROGRAMS``, and the packages a snippet may import.

For the host's interpreter these are the host's files. For one of the
Pythons' root they are the root's, found by probes that run as that root
sees the world (``rootview``), and bound at the paths they have there: the
run sees that root's ``/usr``, never a mix of two C libraries.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from playground.sandbox import sitepackages
from playground.sandbox.programs import program_binds, program_candidates
from playground.sandbox.pythons import Python
from playground.sandbox.rootview import inside

JAIL_PYTHON = "/usr/bin/python3"
# The merged-/usr links a run needs (its libraries', programs' and interpreter's paths).
JAIL_LINKS = ("/lib", "/lib64", "/bin")
# The filter's library, which the tracer loads with ctypes (seccomp_filter).
LIBSECCOMP = "libseccomp.so.2"
LIBRARY_DIRS = ("/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib")
# What TLS in a run needs to check certificates: the system's trust store;
# and the service names of ports (getaddrinfo(host, "https")). The host's,
# for every Python: they are data, read alike by every OpenSSL 3.
NETWORK_FILES = ("/etc/ssl/certs", "/usr/lib/ssl", "/etc/services")

_LDD_LINE = re.compile(r"(?:=>\s*)?(/\S+)\s+\(0x")
# Run by the interpreter itself: its library directories, and for each path
# given, where it really is and its canonical name (directories resolved,
# not its last symbolic link).
_PROBE = """
import json, os, sys, sysconfig
paths = sys.argv[1:]
print(json.dumps({
    "stdlib": sorted({os.path.realpath(sysconfig.get_path(k)) for k in ("stdlib", "platstdlib")}),
    "paths": {p: [os.path.realpath(p), os.path.join(os.path.realpath(os.path.dirname(p)), os.path.basename(p))]
              for p in paths if os.path.lexists(p)},
}))
"""


class InterpreterUnavailable(RuntimeError):
    """A Python's files cannot be found; the message says which."""


@dataclass(frozen=True)
class InterpreterFiles:
    """The bwrap arguments for one Python, and its packages' directory (None: none)."""

    binds: list[str]
    site: Path | None


@dataclass(frozen=True)
class _Probed:
    stdlib: list[str]  # the standard library's directories
    paths: dict[str, tuple[str, str]]  # each path that exists: (its real path, its canonical name)


def _probe(python: Python, paths: list[str]) -> _Probed:
    result = subprocess.run(inside(python, [python.executable, "-I", "-S", "-c", _PROBE, *paths]),
                            capture_output=True, text=True, check=False, timeout=30)
    if result.returncode != 0:
        raise InterpreterUnavailable(f"Python {python.id} ({python.executable}) does not run: "
                                     f"{result.stderr.strip()[-300:]}")
    found = json.loads(result.stdout)
    return _Probed(stdlib=[str(d) for d in found["stdlib"]],
                   paths={str(k): (str(v[0]), str(v[1])) for k, v in found["paths"].items()})


def _libraries(python: Python, binaries: list[str]) -> list[str]:
    """The shared libraries these binaries load (paths as the Python sees them)."""
    result = subprocess.run(inside(python, ["ldd", *binaries]), capture_output=True, text=True,
                            check=False, timeout=30)
    found = {match.group(1) for line in result.stdout.splitlines() if (match := _LDD_LINE.search(line))}
    return sorted(found)


def interpreter_files(python: Python) -> InterpreterFiles:
    """Everything a jail of ``python`` binds, read-only."""
    if not os.access(python.outside(python.executable), os.X_OK):
        raise InterpreterUnavailable(f"This server cannot run code: no interpreter at {python.executable}.")
    libseccomp = [os.path.join(d, LIBSECCOMP) for d in LIBRARY_DIRS
                  if os.path.exists(python.outside(os.path.join(d, LIBSECCOMP)))][:1]
    candidates = program_candidates(python)
    probed = _probe(python, [python.executable, *libseccomp, *candidates.values()])
    stdlib, paths = probed.stdlib, probed.paths
    real_python = paths[python.executable][0]
    args = ["--ro-bind", python.outside(real_python), JAIL_PYTHON]
    for directory in stdlib:
        args += ["--ro-bind", python.outside(directory), directory]
    extensions = [str(Path(d, "lib-dynload", name)) for d in stdlib
                  for name in sorted(os.listdir(python.outside(f"{d}/lib-dynload"))) if name.endswith(".so")]
    programs = {name: paths[path][0] for name, path in candidates.items() if path in paths}
    args += program_binds(programs, python.outside)
    loaded = [real_python, *extensions, *programs.values(), *(paths[p][0] for p in libseccomp)]
    libraries = _libraries(python, loaded)
    for real, canonical in sorted(_probe(python, [*libraries, *libseccomp]).paths.values()):
        args += ["--ro-bind", python.outside(real), canonical]
    for link in JAIL_LINKS:
        if os.path.islink(python.outside(link)):
            args += ["--symlink", os.readlink(python.outside(link)), link]
    for path in NETWORK_FILES:
        if os.path.exists(path):
            args += ["--ro-bind", os.path.realpath(path), path]
    site = sitepackages.site_for(python)
    if site is not None:
        args += ["--ro-bind", str(site), sitepackages.JAIL_SITE]
    return InterpreterFiles(binds=args, site=site)
