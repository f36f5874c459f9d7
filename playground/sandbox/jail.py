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
import logging
import os
import shutil
import sys
import tempfile
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from playground.sandbox import sitepackages
from playground.sandbox.cgroups import JAIL_PIDS, Cgroups, CgroupsUnavailable, SlotCgroup
from playground.sandbox.interpreter import JAIL_PYTHON, InterpreterFiles, InterpreterUnavailable, interpreter_files
from playground.sandbox.limits import Limits
from playground.sandbox.pythons import DEFAULT_ROOT, Python, Pythons, host_python
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


def bootstrap(tracer_parent: str, site: str | None) -> str:
    """The ``python -c`` program that starts the tracer's fork server, on the
    control socket whose number the runner appends to the command; ``site``:
    where the packages a snippet may import are (see sitepackages)."""
    extra = f"sys.path.append({site!r}); " if site is not None else ""
    return (
        f"import sys; sys.path.insert(0, {tracer_parent!r}); {extra}"
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

    # The interpreters its runs can pick.
    pythons: Pythons

    @abstractmethod
    def command(self, slot: int, limits: Limits, python: Python) -> JailCommand:
        """The command that starts the fork server of jail slot ``slot`` (0
        to concurrency-1) for runs of ``python``."""

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


def _tracer_files(speedups: bool = True) -> dict[str, bytes]:
    """The tracer's modules, and its C accelerator when built (see
    playground.sandbox.speedups) and wanted."""
    files = [*TRACER_DIR.glob("*.py"), *(TRACER_DIR.glob("_speedups.*.so") if speedups else ())]
    return {path.name: path.read_bytes() for path in sorted(files)}


PR_SET_CHILD_SUBREAPER = 36


def _become_child_subreaper() -> None:
    """Adopt orphaned descendants, so a jail's init is reaped by the runner
    rather than left a zombie under an init that may not reap it."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise JailUnavailable(f"prctl(PR_SET_CHILD_SUBREAPER) failed: errno {ctypes.get_errno()}")


class Bubblewrap(Jail):
    name = "bwrap"

    def __init__(self, pythons: Pythons | None = None, uid_base: int = DEFAULT_UID_BASE,
                 speedups: bool = True) -> None:
        """``speedups``: False binds no C accelerator, so runs use the
        tracer's pure-Python hot path (the tests compare the two)."""
        self.bwrap = shutil.which("bwrap")
        if self.bwrap is None:
            raise JailUnavailable(NO_BWRAP_MESSAGE)
        self.pythons = pythons if pythons is not None else Pythons.discover(DEFAULT_JAIL_PYTHON, DEFAULT_ROOT)
        self.uid_base = uid_base
        self.cgroups: Cgroups | None = None
        try:
            self.cgroups = Cgroups.detect()
            self.cgroup_problem = None
        except (CgroupsUnavailable, OSError) as exc:
            self.cgroup_problem = str(exc)
            log.warning("jails get no cgroup of their own, so runs use the strictest filter: %s", exc)
        self._tracer = _tracer_files(speedups)
        _become_child_subreaper()
        self._files: dict[str, InterpreterFiles] = {}
        self._lock = threading.Lock()

    def _interpreter_binds(self, python: Python) -> list[str]:
        """bwrap arguments that make ``python`` and its files visible (found once)."""
        with self._lock:
            if python.id not in self._files:
                try:
                    self._files[python.id] = interpreter_files(python)
                except InterpreterUnavailable as exc:
                    raise JailUnavailable(str(exc)) from exc
            return self._files[python.id].binds

    def command(self, slot: int, limits: Limits, python: Python) -> JailCommand:
        args = [
            self.bwrap or "bwrap",
            "--unshare-user", "--unshare-pid", "--unshare-net", "--unshare-ipc",
            "--unshare-uts", "--unshare-cgroup-try", "--disable-userns",
            "--die-with-parent", "--new-session",
            # The fork server isolates each run; the run drops it (see above).
            "--cap-drop", "ALL", "--cap-add", "CAP_SYS_ADMIN",
            "--hostname", "playground",
            "--clearenv", *_env_args(JAIL_ENV),
            *self._interpreter_binds(python),
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
            "--", JAIL_PYTHON, "-I", "-S", "-B", "-c",
            bootstrap(JAIL_TRACER_PARENT, sitepackages.JAIL_SITE if self._files[python.id].site else None),
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

    def __init__(self) -> None:
        own = host_python(sys.executable)
        self.pythons = Pythons([own] if own is not None else [])

    def command(self, slot: int, limits: Limits, python: Python) -> JailCommand:
        if python.executable != sys.executable:
            raise JailUnavailable(f"Without a jail, runs use the server's own Python ({sys.executable}).")
        return JailCommand(
            argv=[sys.executable, "-I", "-S", "-B", "-c", bootstrap(str(TRACER_DIR.parent), _site_text(python))],
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


def _site_text(python: Python) -> str | None:
    site = sitepackages.site_for(python)
    return str(site) if site is not None else None


def make_jail(sandbox: str, pythons: Pythons | None = None, uid_base: int = DEFAULT_UID_BASE) -> Jail:
    if sandbox == "none":
        return Unsandboxed()
    if sandbox == "bwrap":
        return Bubblewrap(pythons=pythons, uid_base=uid_base)
    raise JailUnavailable(f"Unknown PLAYGROUND_SANDBOX {sandbox!r}: use 'bwrap' (default) or 'none'.")
