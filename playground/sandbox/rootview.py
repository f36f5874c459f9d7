"""Runs a trusted command (a probe, ``ldd``, ``compileall``) as a Python of
the Pythons' root sees the world: that root's ``/usr`` and ``/etc`` in place
of the host's, through bubblewrap. Never for a snippet: runs go into a jail
(``playground.sandbox.jail``), which binds only what a run needs.
"""

from __future__ import annotations

import shutil

from playground.sandbox.pythons import Python

# The merged-/usr links of a Debian root.
USR_LINKS = {"/bin": "usr/bin", "/sbin": "usr/sbin", "/lib": "usr/lib", "/lib64": "usr/lib64"}


def inside(python: Python, argv: list[str], binds: dict[str, str] | None = None,
           writable: bool = False, read_only: dict[str, str] | None = None,
           chdir: str | None = None, env: dict[str, str] | None = None) -> list[str]:
    """The command that runs ``argv`` in ``python``'s root (``argv`` itself
    for the host's); ``binds``: host paths to show at paths in the root,
    read-only unless ``writable``; ``read_only``: more, read-only whatever
    ``writable`` says; ``chdir``: the working directory there; ``env``: more
    variables."""
    if python.root is None:
        if binds or read_only or env:
            raise ValueError("the host's Python sees the host's files and environment: nothing to bind or set")
        return argv
    root = str(python.root)
    command = [shutil.which("bwrap") or "bwrap", "--unshare-all", "--die-with-parent",
               "--ro-bind", f"{root}/usr", "/usr", "--ro-bind", f"{root}/etc", "/etc",
               "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--clearenv",
               "--setenv", "PATH", "/usr/bin", "--setenv", "LANG", "C.UTF-8"]
    for link, target in USR_LINKS.items():
        command += ["--symlink", target, link]
    for source, target in (binds or {}).items():
        command += ["--bind" if writable else "--ro-bind", source, target]
    for source, target in (read_only or {}).items():
        command += ["--ro-bind", source, target]
    for name, value in (env or {}).items():
        command += ["--setenv", name, value]
    if chdir is not None:
        command += ["--chdir", chdir]
    return [*command, "--", *argv]
