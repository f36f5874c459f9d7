"""A memory and pids cgroup per jail slot: the second line of defence.

A run's address-space limit (RLIMIT_AS) does not count what the kernel
holds for it: pipe and socket buffers, its ``/tmp`` (a tmpfs), thread
stacks, page tables. Each jail slot therefore gets its own cgroup, with
``memory`` capped at the run's memory limit plus ``SLACK_BYTES`` (which also
covers the slot's fork server, about 25 MiB) and swap off, and ``pids``
capped at the run's processes plus the jail's own. Whatever a run uses, the
node pays at most that, and the cgroup's counters are the server's evidence
that a run hit its memory or process limit. Its CPU accounting (``cpuacct``
on v1, ``cpu.stat`` on v2) tells the runner what the jail spent, so the
server's own work reading a run can be held to a multiple of it.

A jail joins its cgroup before bubblewrap starts (``join_command``): a
shell, run as the slot's uid, writes its own pid into the cgroup (whose
``cgroup.procs`` the slot's uid owns) and execs bubblewrap, so everything in
the jail is counted from its first page. The jail mounts no ``/sys``: a run
cannot reach its cgroup.

Both cgroup versions work: v1 (one hierarchy per controller, as on this
project's machines) and v2 with ``memory`` and ``pids`` delegated to the
server's cgroup. ``Cgroups.detect()`` says why neither can be had (no
permission, no controller); the sandbox then reports it in ``/healthz`` and
the log and runs with the strictest system-call filter.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

MIB = 1024 * 1024
# What a slot's cgroup holds beyond the run's memory limit: the fork server
# and bubblewrap (about 25 MiB resident) and the kernel's share.
SLACK_BYTES = 32 * MIB
# Processes of a jail besides the run's: bubblewrap (2), the fork server,
# the run's keeper (only without the C accelerator) and its init.
JAIL_PIDS = 5
# More than any counter file read per run holds (memory.stat is not one).
CGROUP_FILE_BYTES = 4096
JOIN_SCRIPT = 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 70; shift; done; shift; exec "$@"'
EXIT_JOIN_FAILED = 70


@dataclass(frozen=True)
class Usage:
    """A slot cgroup's counters at one moment; deltas tell what a run did."""

    memory_peak: int
    memory_refusals: int  # allocations refused at the limit (failcnt, or max events)
    oom_kills: int
    pids_refusals: int  # forks refused at the limit

    def since(self, before: Usage) -> Usage:
        return Usage(self.memory_peak, self.memory_refusals - before.memory_refusals,
                     self.oom_kills - before.oom_kills, self.pids_refusals - before.pids_refusals)


@dataclass(frozen=True)
class SlotCgroup:
    """The memory, pids and CPU accounting cgroup of one jail slot (one
    directory each on v1, the same directory on v2). ``cpu`` is None on a v1
    host without the ``cpuacct`` controller."""

    memory: Path
    pids: Path
    version: int
    cpu: Path | None = None

    def procs_files(self) -> list[str]:
        folders = {self.memory, self.pids} | ({self.cpu} if self.cpu is not None else set())
        return sorted(str(folder / "cgroup.procs") for folder in folders)

    def cpu_seconds(self) -> float | None:
        """The CPU time every process of the jail has used so far."""
        if self.cpu is None:
            return None
        if self.version == 1:
            return _number(self._file("cpu", "cpuacct.usage")) / 1e9
        return _keyed(self._file("cpu", "cpu.stat")).get("usage_usec", 0) / 1e6

    def join_command(self, argv: list[str]) -> list[str]:
        """``argv`` run by a shell that first moves itself into this cgroup."""
        return ["/bin/sh", "-c", JOIN_SCRIPT, "playground-jail", *self.procs_files(), "--", *argv]

    def reset_peak(self) -> None:
        """Forget the peak so far, so the next reading is one run's (v1 only;
        v2's ``memory.peak`` keeps the cgroup's, an upper bound)."""
        if self.version == 1:
            _write(self._file("memory", "memory.max_usage_in_bytes"), "0")

    def usage(self) -> Usage:
        pids_max = _keyed(self._file("pids", "pids.events")).get("max", 0)
        if self.version == 1:
            oom = _keyed(self._file("memory", "memory.oom_control"))
            return Usage(_number(self._file("memory", "memory.max_usage_in_bytes")),
                         _number(self._file("memory", "memory.failcnt")), oom.get("oom_kill", 0), pids_max)
        events = _keyed(self._file("memory", "memory.events"))
        peak = self._file("memory", "memory.peak")
        return Usage(_number(peak) if os.path.exists(peak) else _number(self._file("memory", "memory.current")),
                     events.get("max", 0), events.get("oom_kill", 0), pids_max)

    @functools.cached_property
    def _paths(self) -> dict[tuple[str, str], str]:
        return {}

    def _file(self, controller: str, name: str) -> str:
        """The path of one of its files, as text: made once, read every run."""
        key = (controller, name)
        if key not in self._paths:
            self._paths[key] = str(getattr(self, controller) / name)
        return self._paths[key]


class CgroupsUnavailable(RuntimeError):
    """No cgroup can be made for the jails here; the message says why."""


class Cgroups:
    """The server's cgroups for its jail slots, under its own cgroup."""

    def __init__(self, memory_root: Path, pids_root: Path, version: int, cpu_root: Path | None = None) -> None:
        self.memory_root = memory_root
        self.pids_root = pids_root
        self.version = version
        self.cpu_root = cpu_root

    @classmethod
    def detect(cls) -> Cgroups:
        """This process's place to make slot cgroups in, or ``CgroupsUnavailable``;
        made once per process, and removed when it exits."""
        return _detected()

    @classmethod
    def _detect(cls) -> Cgroups:
        mounts = _cgroup_mounts()
        own = _own_cgroups()
        name = f"playground-{_pid_namespace()}-{os.getpid()}"
        if "memory" in mounts and "pids" in mounts:
            memory = mounts["memory"] / own.get("memory", "/").lstrip("/") / name
            pids = mounts["pids"] / own.get("pids", "/").lstrip("/") / name
            cpu = mounts["cpuacct"] / own.get("cpuacct", "/").lstrip("/") / name if "cpuacct" in mounts else None
            cgroups = cls(memory, pids, 1, cpu)
        elif "" in mounts:
            base = mounts[""] / own.get("", "/").lstrip("/")
            controllers = (base / "cgroup.controllers").read_text().split() if base.exists() else []
            if not {"memory", "pids"} <= set(controllers):
                raise CgroupsUnavailable(f"cgroup v2 at {base} does not delegate memory and pids")
            cgroups = cls(base / name, base / name, 2, base / name)
        else:
            raise CgroupsUnavailable("no cgroup hierarchy with the memory and pids controllers is mounted")
        try:
            cgroups._make_root()
        except OSError as exc:
            raise CgroupsUnavailable(f"cannot make cgroups for the jails: {exc}") from None
        return cgroups

    def _roots(self) -> set[Path]:
        return {self.memory_root, self.pids_root} | ({self.cpu_root} if self.cpu_root is not None else set())

    def _make_root(self) -> None:
        for root in self._roots():
            _remove_orphans(root.parent)
            root.mkdir(exist_ok=True)
        if self.version == 2:
            _write(self.memory_root / "cgroup.subtree_control", "+memory +pids")

    def slot(self, number: int, memory_bytes: int, processes: int, uid: int | None) -> SlotCgroup:
        """Slot ``number``'s cgroup, made or updated, owned by ``uid`` so a
        process of that uid can move itself in."""
        name = f"slot-{number}"
        cpu = self.cpu_root / name if self.cpu_root is not None else None
        slot = SlotCgroup(self.memory_root / name, self.pids_root / name, self.version, cpu)
        if cpu is not None:
            cpu.mkdir(exist_ok=True)
        limit = memory_bytes + SLACK_BYTES
        if self.version == 1:
            slot.memory.mkdir(exist_ok=True)
            slot.pids.mkdir(exist_ok=True)
            swap = slot.memory / "memory.memsw.limit_in_bytes"
            if swap.exists():
                _write(swap, "-1")  # memory and swap together may not go below memory alone
            _write(slot.memory / "memory.limit_in_bytes", str(limit))
            if swap.exists():
                _write(swap, str(limit))
        else:
            slot.memory.mkdir(exist_ok=True)
            _write(slot.memory / "memory.max", str(limit))
            _write(slot.memory / "memory.swap.max", "0")
        _write(slot.pids / "pids.max", str(processes + JAIL_PIDS))
        if uid is not None:
            for procs in slot.procs_files():
                os.chown(procs, uid, uid)
        return slot

    def close(self) -> None:
        """Remove the slots' cgroups (their jails must be gone)."""
        for root in self._roots():
            for child in sorted(root.glob("slot-*")):
                try:
                    child.rmdir()
                except OSError:
                    pass
            try:
                root.rmdir()
            except OSError:
                shutil.rmtree(root, ignore_errors=True)


def _pid_namespace() -> int:
    """This process's pid namespace, by its inode: a server's pid means something only in its own."""
    return os.stat("/proc/self/ns/pid").st_ino


def _remove_orphans(parent: Path) -> None:
    """The cgroups of servers that died without removing theirs (killed):
    empty once their jails are gone, and removed here. Only those of this
    pid namespace: a server in another (a container sharing the host's
    cgroups) may be alive with a pid that is free here, and its empty slot
    cgroups would be taken from under it. (Names of one number only are of
    servers from before the namespace was in the name, judged as before.)"""
    ours = str(_pid_namespace())
    for orphan in parent.glob("playground-*"):
        namespace, _, pid = orphan.name.removeprefix("playground-").rpartition("-")
        if namespace not in ("", ours) or not pid.isdigit() or Path(f"/proc/{pid}").exists():
            continue
        for child in orphan.glob("slot-*"):
            try:
                child.rmdir()
            except OSError:
                pass
        try:
            orphan.rmdir()
        except OSError:
            pass  # a jail of it still runs: left for the next server


@functools.cache
def _detected() -> Cgroups:
    cgroups = Cgroups._detect()
    atexit.register(cgroups.close)
    return cgroups


def _write(path: Path | str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, text.encode("ascii"))
    finally:
        os.close(fd)


def _read(path: Path | str) -> str:
    """A cgroup file's text, "" when it cannot be read. Read at the system
    call level: a run reads about ten of these, and pathlib's text files
    cost several times the read itself."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return ""
    try:
        return os.read(fd, CGROUP_FILE_BYTES).decode("ascii", "replace")
    except OSError:
        return ""
    finally:
        os.close(fd)


def _number(path: Path | str) -> int:
    try:
        return int(_read(path).split()[0])
    except (ValueError, IndexError):
        return 0


def _keyed(path: Path | str) -> dict[str, int]:
    """A flat-keyed cgroup file (``name value`` lines) as numbers."""
    found: dict[str, int] = {}
    for line in _read(path).splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            found[parts[0]] = int(parts[1])
    return found


def _cgroup_mounts() -> dict[str, Path]:
    """Where each cgroup controller is mounted ("" for the v2 hierarchy)."""
    mounts: dict[str, Path] = {}
    with open("/proc/self/mountinfo") as mountinfo:
        for line in mountinfo:
            fields = line.split()
            separator = fields.index("-")
            kind, options = fields[separator + 1], fields[separator + 3].split(",")
            if kind == "cgroup2":
                mounts.setdefault("", Path(fields[4]))
            elif kind == "cgroup":
                for option in options:
                    if option in ("memory", "pids", "cpuacct"):
                        mounts.setdefault(option, Path(fields[4]))
    return mounts


def _own_cgroups() -> dict[str, str]:
    """This process's cgroup path per controller ("" for v2)."""
    found: dict[str, str] = {}
    with open("/proc/self/cgroup") as cgroup:
        for line in cgroup:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            for controller in controllers.split(",") if controllers else [""]:
                found[controller] = path
    return found
