"""How a jail is built: the command that starts a jail's fork server, and
what each run forked from it is told.

A jail is a fresh bubblewrap sandbox holding the interpreter, its standard
library, the shared libraries they load (found with ``ldd``) and the tracer,
all read-only, plus a small fresh tmpfs as ``/tmp`` and working directory.
It has new user, pid, net, ipc, uts and mount namespaces, a cleared
environment, and is started as an unprivileged uid when the server runs as
root (bubblewrap started by root would keep root's powers). Its interpreter
is the fork server (:mod:`playground.tracer.forkserver`), which keeps one
capability, ``CAP_SYS_ADMIN`` in the jail's own user namespace, to give each
run it forks new mount, pid, ipc and net namespaces and a fresh ``/tmp``;
the run drops it before its snippet arrives.

The runner only sees ``Jail.command()`` and ``Jail.run_setup()``; nothing
else here leaks out. ``Unsandboxed`` runs the same fork server with no jail,
for local use when bubblewrap is missing and the operator said so.
"""

from __future__ import annotations

import ctypes
import dataclasses
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from playground.sandbox.cgroups import JAIL_PIDS, Cgroups, CgroupsUnavailable, SlotCgroup
from playground.sandbox.limits import Limits
from playground.tracer.protocol import SPEEDUPS_ENV, ForkRequest, ResourceLimits

log = logging.getLogger(__name__)
# How far above the pids cgroup's cap the process rlimit sits, as a backstop.
RLIMIT_NPROC_MARGIN = 8
TRACER_DIR = Path(__file__).resolve().parent.parent / "tracer"
JAIL_TRACER_PARENT = "/sandbox"
DEFAULT_JAIL_PYTHON = "/usr/bin/python3"
DEFAULT_UID_BASE = 61000

NO_BWRAP_MESSAGE = (
    "This server cannot run code: bubblewrap (bwrap) is not installed. "
    "Install it (apt-get install bubblewrap), or for local use only start the "
    "server with PLAYGROUND_SANDBOX=none."
)


def bootstrap(tracer_parent: str) -> str:
    """The ``python -c`` program that starts the tracer's fork server, on the
    control socket whose number the runner appends to the command."""
    return (
        f"import sys; sys.path.insert(0, {tracer_parent!r}); "
        "from tracer.forkserver import serve; serve(int(sys.argv[-1]))"
    )


class JailUnavailable(RuntimeError):
    """No jail can be started here; the message says what to do."""


@dataclass
class _WithCleanup:
    """Steps to undo (descriptors, directories) once what holds them is done."""

    cleanup: list[Callable[[], None]] = field(default_factory=list, kw_only=True)

    def close(self) -> None:
        for step in self.cleanup:
            step()
        self.cleanup.clear()


@dataclass
class JailCommand(_WithCleanup):
    """Everything ``subprocess.Popen`` needs to start one jail."""

    argv: list[str]
    pass_fds: tuple[int, ...] = ()
    user: int | None = None
    group: int | None = None
    cwd: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    # Where bubblewrap tells the pid (outside) of the jail's pid-1 init, whose
    # death takes every process of the jail with it.
    info_fd: int | None = None
    # The slot's cgroup the jail joins before it starts, when there is one.
    cgroup: SlotCgroup | None = None


@dataclass
class RunSetup(_WithCleanup):
    """What the fork server is told for one run, and what to undo after it."""

    request: ForkRequest


class Jail(ABC):
    sandboxed: bool = True
    name: str = "jail"
    # Whether the prelude must install the system-call filter before the
    # snippet (and refuse to run it when it cannot).
    seccomp: bool = True
    # Why runs get no cgroup of their own here (None: they do), and so the
    # strictest filter.
    cgroup_problem: str | None = "runs are not sandboxed"

    @property
    def strict_filter(self) -> bool:
        return self.seccomp and self.cgroup_problem is not None

    def cgroups_state(self) -> str:
        """"v1" or "v2" when each slot has a cgroup, else why not."""
        return f"unavailable: {self.cgroup_problem}"

    @abstractmethod
    def command(self, slot: int, limits: Limits) -> JailCommand:
        """The command that starts the fork server of jail slot ``slot`` (0
        to concurrency-1)."""

    def run_setup(self, limits: Limits) -> RunSetup:
        """How the fork server sets up one run: in its own namespaces, with a
        fresh ``/tmp`` of the limits' size and number of files."""
        return RunSetup(ForkRequest(isolate=True, tmp_bytes=limits.tmp_bytes, tmp_files=limits.tmp_files,
                                    workdir=None))

    def rlimits(self, limits: Limits) -> ResourceLimits:
        """The resource limits the prelude sets inside the jail."""
        return ResourceLimits(
            cpu_seconds=limits.cpu_seconds,
            memory_bytes=limits.memory_bytes,
            file_size_bytes=limits.file_size_bytes,
            open_files=limits.open_files,
            processes=limits.processes,
        )


# The jail's whole environment. One malloc arena: each extra one reserves
# 64 MiB of address space per thread, which would spend the memory limit on
# a handful of threads before the process limit is reached.
JAIL_ENV = {"PATH": "/usr/bin", "LANG": "C.UTF-8", "HOME": "/tmp", "MALLOC_ARENA_MAX": "1"}


def _env_args(env: dict[str, str]) -> list[str]:
    return [arg for name, value in env.items() for arg in ("--setenv", name, value)]


def _tracer_env() -> dict[str, str]:
    """The unsandboxed run's environment: JAIL_ENV, and whether the tracer
    may use its C accelerator when the server's environment says (a jail's
    environment is JAIL_ENV alone, and its tracer uses the accelerator when
    it was built)."""
    choice = os.environ.get(SPEEDUPS_ENV)
    return {**JAIL_ENV, SPEEDUPS_ENV: choice} if choice is not None else dict(JAIL_ENV)


def _tracer_files() -> dict[str, bytes]:
    """The tracer's modules, and its C accelerator when built (see playground.sandbox.speedups)."""
    files = [*TRACER_DIR.glob("*.py"), *TRACER_DIR.glob("_speedups.*.so")]
    return {path.name: path.read_bytes() for path in sorted(files)}


_LDD_LINE = re.compile(r"(?:=>\s*)?(/\S+)\s+\(0x")


def _shared_libraries(binaries: list[str]) -> set[str]:
    """The shared libraries these binaries load, as ``ldd`` reports them."""
    found: set[str] = set()
    for binary in binaries:
        result = subprocess.run(["ldd", binary], capture_output=True, text=True, check=False)
        for line in result.stdout.splitlines():
            match = _LDD_LINE.search(line)
            if match:
                found.add(match.group(1))
    return found


def _seccomp_module(python: str) -> str | None:
    """Where ``python`` finds libseccomp's bindings (python3-seccomp), if it does."""
    probe = subprocess.run(
        [python, "-I", "-c",
         "import importlib.util as u; s = u.find_spec('seccomp'); print(s.origin if s and s.origin else '')"],
        capture_output=True, text=True, check=False,
    )
    origin = probe.stdout.strip()
    return os.path.realpath(origin) if probe.returncode == 0 and origin.endswith(".so") else None


def _canonical(path: str) -> str:
    """``path`` with its directories resolved but not its last symlink."""
    return os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))


PR_SET_CHILD_SUBREAPER = 36


def _become_child_subreaper() -> None:
    """Adopt orphaned descendants, so a jail's init is reaped by the runner
    rather than left a zombie under an init that may not reap it."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise JailUnavailable(f"prctl(PR_SET_CHILD_SUBREAPER) failed: errno {ctypes.get_errno()}")


class Bubblewrap(Jail):
    name = "bwrap"

    def __init__(self, python: str = DEFAULT_JAIL_PYTHON, uid_base: int = DEFAULT_UID_BASE) -> None:
        self.bwrap = shutil.which("bwrap")
        if self.bwrap is None:
            raise JailUnavailable(NO_BWRAP_MESSAGE)
        self.python = python
        self.uid_base = uid_base
        self.cgroups: Cgroups | None = None
        try:
            self.cgroups = Cgroups.detect()
            self.cgroup_problem = None
        except (CgroupsUnavailable, OSError) as exc:
            self.cgroup_problem = str(exc)
            log.warning("jails get no cgroup of their own, so runs use the strictest filter: %s", exc)
        self._tracer = _tracer_files()
        _become_child_subreaper()
        self._binds: list[str] | None = None
        self._lock = threading.Lock()

    def _interpreter_binds(self) -> list[str]:
        """bwrap arguments that make the interpreter and its stdlib visible."""
        with self._lock:
            if self._binds is None:
                self._binds = self._find_interpreter_binds()
            return self._binds

    def _find_interpreter_binds(self) -> list[str]:
        python = os.path.realpath(self.python)
        if not os.access(python, os.X_OK):
            raise JailUnavailable(f"This server cannot run code: no interpreter at {self.python}.")
        probe = subprocess.run(
            [python, "-I", "-S", "-c",
             "import json, sysconfig; print(json.dumps([sysconfig.get_path('stdlib'), "
             "sysconfig.get_path('platstdlib')]))"],
            capture_output=True, text=True, check=True,
        )
        stdlib_dirs = sorted({os.path.realpath(p) for p in json.loads(probe.stdout)})
        extensions = [str(p) for d in stdlib_dirs for p in Path(d, "lib-dynload").glob("*.so")]
        args = ["--ro-bind", python, DEFAULT_JAIL_PYTHON]
        for directory in stdlib_dirs:
            args += ["--ro-bind", directory, directory]
        seccomp = _seccomp_module(python)
        if seccomp is not None:
            # Beside the tracer package, so the prelude imports it from there;
            # without it the prelude refuses to run the snippet.
            extensions.append(seccomp)
            args += ["--ro-bind", seccomp, f"{JAIL_TRACER_PARENT}/{os.path.basename(seccomp)}"]
        for library in sorted(_shared_libraries([python, *extensions])):
            args += ["--ro-bind", os.path.realpath(library), _canonical(library)]
        for link in ("/lib", "/lib64", "/bin"):
            if os.path.islink(link):
                args += ["--symlink", os.readlink(link), link]
        return args

    def command(self, slot: int, limits: Limits) -> JailCommand:
        args = [
            self.bwrap or "bwrap",
            "--unshare-user", "--unshare-pid", "--unshare-net", "--unshare-ipc",
            "--unshare-uts", "--unshare-cgroup-try", "--disable-userns",
            "--die-with-parent", "--new-session",
            # The fork server isolates each run; the run drops it (see above).
            "--cap-drop", "ALL", "--cap-add", "CAP_SYS_ADMIN",
            "--hostname", "playground",
            "--clearenv", *_env_args(JAIL_ENV),
            *self._interpreter_binds(),
            "--dev", "/dev",
            "--size", str(limits.tmp_bytes), "--tmpfs", "/tmp",
        ]
        fds: list[int] = []
        for name, content in self._tracer.items():
            fd = os.memfd_create(f"tracer-{name}", 0)
            os.write(fd, content)
            os.lseek(fd, 0, os.SEEK_SET)
            fds.append(fd)
            args += ["--ro-bind-data", str(fd), f"{JAIL_TRACER_PARENT}/tracer/{name}"]
        info_read, info_write = os.pipe()
        fds.append(info_write)
        args += [
            "--info-fd", str(info_write),
            # bwrap's /dev is a tmpfs of its own with no size cap: read-only, so
            # /tmp (capped) is the only place a run can write.
            "--remount-ro", "/dev",
            "--remount-ro", "/",
            "--chdir", "/tmp",
            "--", DEFAULT_JAIL_PYTHON, "-I", "-S", "-B", "-c", bootstrap(JAIL_TRACER_PARENT),
        ]
        uid = self.uid_base + slot if os.geteuid() == 0 else None
        cgroup = self._slot_cgroup(slot, limits, uid)
        argv = cgroup.join_command(args) if cgroup is not None else args
        command = JailCommand(argv=argv, pass_fds=tuple(fds), env={}, info_fd=info_read, cgroup=cgroup)

        def close_fds() -> None:
            for fd in fds:
                os.close(fd)

        command.cleanup.append(close_fds)
        command.user = command.group = uid
        return command

    def cgroups_state(self) -> str:
        return f"v{self.cgroups.version}" if self.cgroups is not None else super().cgroups_state()

    def _slot_cgroup(self, slot: int, limits: Limits, uid: int | None) -> SlotCgroup | None:
        if self.cgroups is None:
            return None
        try:
            return self.cgroups.slot(slot, limits.memory_bytes, limits.processes, uid)
        except OSError as exc:
            raise JailUnavailable(f"This server cannot set up the cgroup of jail slot {slot}: {exc}") from exc

    def rlimits(self, limits: Limits) -> ResourceLimits:
        values = super().rlimits(limits)
        if self.cgroups is None:
            return values
        # The pids cgroup is the process limit, and its counter the evidence
        # that a run reached it; the rlimit stays as a backstop above it.
        return dataclasses.replace(values, processes=limits.processes + JAIL_PIDS + RLIMIT_NPROC_MARGIN)


class Unsandboxed(Jail):
    """No jail at all: the snippet runs as the server's user. Local use only."""

    sandboxed = False
    name = "none"
    seccomp = False

    def command(self, slot: int, limits: Limits) -> JailCommand:
        return JailCommand(
            argv=[sys.executable, "-I", "-S", "-B", "-c", bootstrap(str(TRACER_DIR.parent))],
            cwd=tempfile.gettempdir(),
            env={**_tracer_env(), "PATH": "/usr/bin:/bin"},
        )

    def run_setup(self, limits: Limits) -> RunSetup:
        workdir = tempfile.mkdtemp(prefix="playground-run-")
        setup = RunSetup(ForkRequest(isolate=False, tmp_bytes=None, tmp_files=None, workdir=workdir))
        setup.cleanup.append(lambda: shutil.rmtree(workdir, ignore_errors=True))
        return setup

    def rlimits(self, limits: Limits) -> ResourceLimits:
        # RLIMIT_NPROC counts every process of the server's user, not just
        # this run's, so it cannot be used without a uid of the run's own.
        return dataclasses.replace(super().rlimits(limits), processes=None)


def make_jail(sandbox: str, python: str = DEFAULT_JAIL_PYTHON, uid_base: int = DEFAULT_UID_BASE) -> Jail:
    if sandbox == "none":
        return Unsandboxed()
    if sandbox == "bwrap":
        return Bubblewrap(python=python, uid_base=uid_base)
    raise JailUnavailable(f"Unknown PLAYGROUND_SANDBOX {sandbox!r}: use 'bwrap' (default) or 'none'.")
