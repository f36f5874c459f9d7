"""Finding a test's jail processes: the warm ones a pool holds, and any left over."""

from __future__ import annotations

import os

from playground.sandbox.jail import DEFAULT_UID_BASE
from playground.sandbox.pool import open_pools


def _parent(pid: str) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            # The command name may hold spaces and parentheses: skip past its end.
            return int(stat.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def waiting_jails() -> set[int]:
    """The leader pids of the warm jails this process's pools hold, once no
    pool is starting one: those wait for a run, they are not left over."""
    pids: set[int] = set()
    for pool in open_pools():
        assert pool.settle(), "a warm jail took too long to start"
        pids |= pool.pids()
    return pids


def _is_jail_uid(pid: int) -> bool:
    try:
        uid = os.stat(f"/proc/{pid}").st_uid
    except FileNotFoundError:
        return False
    return DEFAULT_UID_BASE <= uid < DEFAULT_UID_BASE + 1000


def jail_processes(ancestor: int | None = None) -> list[int]:
    """Processes owned by a jail uid that descend from this test process
    (or ``ancestor``); other people's jails on a shared machine do not
    count. The jail makes the server a child subreaper, so an orphaned jail
    process is re-parented to it and still counts.

    Without ``ancestor``: the jails this process started itself (their chain
    up to it is jail processes only; a live gunicorn a test started has
    jails of its own), less the warm jails its pools hold, which wait for a
    run and are no run's leftovers."""
    root = os.getpid() if ancestor is None else ancestor
    waiting = waiting_jails() if ancestor is None else set()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or not _is_jail_uid(int(entry)):
            continue
        pid: int | None = int(entry)
        while pid is not None and pid > 1:
            if pid in waiting:
                break
            if pid == root:
                found.append(int(entry))
                break
            pid = _parent(str(pid))
            if ancestor is None and pid is not None and pid != root and not _is_jail_uid(pid):
                break  # a jail of a server process under this one
    return found


def _blocked_reading_stdin(pid: int) -> bool:
    """Whether the process waits in read(0, ...): a warm jail's interpreter,
    which has not been handed a snippet (a run's stdin is closed)."""
    try:
        with open(f"/proc/{pid}/syscall") as syscall:
            number, first_argument = syscall.read().split()[:2]
    except (OSError, ValueError):
        return False
    return number == "0" and int(first_argument, 16) == 0  # read (x86-64), fd 0


def leftover_jails(ancestor: int) -> tuple[list[int], int]:
    """For a server in another process, whose pools the test cannot ask:
    the jail processes under ``ancestor`` that belong to no warm jail, and
    how many warm jails there are. A jail is warm when its interpreter waits
    in read(0) for a snippet; its leader and init are part of it."""
    processes = jail_processes(ancestor)
    parents = {pid: _parent(str(pid)) for pid in processes}
    leaders: dict[int, int] = {}
    for pid in processes:
        leader = pid
        while parents.get(leader) in parents:
            leader = parents[leader]  # type: ignore[assignment]
        leaders[pid] = leader
    warm = {leaders[pid] for pid in processes if _blocked_reading_stdin(pid)}
    return [pid for pid in processes if leaders[pid] not in warm], len(warm)
