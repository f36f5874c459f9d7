"""The jail's system-call filter (seccomp): an allow-list, installed before
the snippet runs.

The trusted prelude calls ``install`` once the tracer is loaded, so the
filter binds the snippet and never stands in the tracer's way. Only the
system calls that CPython, asyncio, threads, child processes and the tracer
use are allowed (``ALLOWED``, and ``ALLOWED_IF`` for those allowed with some
arguments only);
every other number, including any the kernel gains after this list was
written, fails with ``EPERM`` ("Operation not permitted"), which the snippet
sees as a ``PermissionError`` it can read, never a dead run. What stays out:

* new namespaces: ``clone`` (and ``fork``, ``vfork``) make threads and
  processes, never with a ``CLONE_NEW*`` flag; ``unshare`` and ``setns``
  are refused; ``clone3``, whose flags a filter cannot read, answers
  ``ENOSYS`` so the C library falls back to ``clone``. Processes and programs
  are allowed (``execve``, ``execveat``, ``setsid``, ``setpgid``): the jail's
  filesystem holds only the programs a run may start
  (``protocol.PROGRAMS``), the pids cgroup bounds how many, and every child
  inherits this filter and the run's rlimits;
* sockets other than ``AF_UNIX`` (the run's network namespace is empty too);
* kernel objects a playground has no use for, which would hold memory or
  reach outside the run: SysV and POSIX shared memory, message queues and
  semaphores, ``memfd``, keys, ``io_uring``, ``bpf``, ``perf_event_open``,
  ``userfaultfd``;
* what lets one run watch or signal another through the files all runs
  share read-only: ``inotify``, ``fanotify``, ``flock`` and ``fcntl`` locks
  and leases, directory notifications, ``mincore`` (page-cache residency),
  and ``sysinfo`` (the host's process count and load);
* anything aimed at another process, the run's init included: the
  ``pid`` argument of ``prlimit64``, ``sched_*`` and ``setpriority`` must be
  0 (the caller itself); no ``ptrace``, ``process_vm_*``, ``kcmp``,
  ``pidfd_getfd``; terminal injection (``ioctl(TIOCSTI)``) is not among the
  allowed requests;
* system calls of another ABI (32-bit ``int 0x80``, x32) kill the process,
  since the rules are written for the native one.

It calls libseccomp (Debian's ``libseccomp2``) through ``ctypes``, so one
module serves every Python a run can pick; the jail binds the library
read-only with the interpreter's. The fork server has libseccomp compile
both filters to BPF once (``prepare``); each run loads that program with
the ``seccomp`` system call, with no library work of its own (compiling
took a run about 1.5 ms). When the settings require the
filter and it cannot be installed, the run ends before the snippet starts.
``python3 -m playground.tracer.seccomp_filter`` prints the filter.
"""

from __future__ import annotations

import ctypes
import errno
import os
import socket
import sys
from typing import Any

from .protocol import EXIT_NO_FILTER

# Allowed with any arguments.
ALLOWED = (
    # reading and writing descriptors
    "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "preadv2", "pwritev2",
    "lseek", "close", "close_range", "dup", "dup2", "dup3", "sendfile", "splice", "tee", "copy_file_range",
    # files and directories (the run can write only its own /tmp)
    "open", "openat", "openat2", "creat", "stat", "fstat", "lstat", "newfstatat", "statx", "access",
    "faccessat", "faccessat2", "readlink", "readlinkat", "getdents64", "getcwd", "chdir", "fchdir",
    "mkdir", "mkdirat", "rmdir", "unlink", "unlinkat", "rename", "renameat", "renameat2", "link", "linkat",
    "symlink", "symlinkat", "chmod", "fchmod", "fchmodat", "truncate", "ftruncate", "fallocate", "fsync",
    "fdatasync", "utimensat", "utime", "utimes", "futimesat", "statfs", "fstatfs", "umask", "fadvise64",
    "getxattr", "lgetxattr", "fgetxattr", "listxattr", "llistxattr", "flistxattr",
    # memory
    "mmap", "munmap", "mprotect", "mremap", "madvise", "brk", "msync", "membarrier",
    # the process and its threads
    "exit", "exit_group", "wait4", "waitid", "getpid", "gettid", "getppid", "getuid", "geteuid", "getgid",
    "getegid", "getgroups", "getresuid", "getresgid", "getpgrp", "getpgid", "getsid", "set_tid_address",
    # child processes and programs (no namespaces: see the clone rule)
    "fork", "vfork", "execve", "execveat", "setsid", "setpgid",
    "set_robust_list", "get_robust_list", "rseq", "futex", "futex_waitv", "sched_yield", "getcpu",
    "arch_prctl", "capget", "uname", "getrusage", "times", "getrandom", "restart_syscall",
    # signals (a pid namespace of its own: only the run's processes)
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigpending", "rt_sigtimedwait", "rt_sigsuspend",
    "rt_sigqueueinfo", "rt_tgsigqueueinfo", "sigaltstack", "kill", "tgkill", "tkill", "pause", "alarm",
    # time
    "clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep", "gettimeofday", "time", "setitimer",
    "getitimer", "timer_create", "timer_settime", "timer_gettime", "timer_getoverrun", "timer_delete",
    "timerfd_create", "timerfd_settime", "timerfd_gettime",
    # waiting on descriptors
    "select", "pselect6", "poll", "ppoll", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait",
    "epoll_pwait", "epoll_pwait2", "eventfd", "eventfd2", "signalfd", "signalfd4", "pipe", "pipe2",
    # sockets (only AF_UNIX ones can be made: see ALLOWED_IF)
    "bind", "listen", "accept", "accept4", "connect", "getsockname", "getpeername", "sendto", "recvfrom",
    "sendmsg", "recvmsg", "sendmmsg", "recvmmsg", "shutdown", "getsockopt",
    # filters only stack: a snippet may add its own, never remove ours
    "seccomp",
)

# Newer than libseccomp 2.5 knows by name (x86-64 numbers; the filter is
# for the native ABI only): calls the C library uses when the kernel has
# them, none reaching beyond the caller.
ALLOWED_NUMBERS = {"fchmodat2": 452, "map_shadow_stack": 453, "futex_wake": 454, "futex_wait": 455,
                   "futex_requeue": 456, "mseal": 462}

CLONE_NAMESPACES = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000
# ioctl's request is an unsigned int: compare its low 32 bits only, or a
# caller could set the high ones to slip past an exact comparison.
LOW_32_BITS = 0xFFFFFFFF
IOCTLS = {
    "TCGETS": 0x5401,  # isatty()
    "TIOCGWINSZ": 0x5413,  # the terminal's size
    "FIONREAD": 0x541B,  # bytes waiting on a descriptor
    "FIONBIO": 0x5421,  # non-blocking sockets
    "FIONCLEX": 0x5450,
    "FIOCLEX": 0x5451,
}
FCNTLS = {
    "F_DUPFD": 0, "F_GETFD": 1, "F_SETFD": 2, "F_GETFL": 3, "F_SETFL": 4,
    "F_DUPFD_CLOEXEC": 1030, "F_SETPIPE_SZ": 1031, "F_GETPIPE_SZ": 1032,
}
# What the strict filter also refuses, for a host with no memory cgroup to
# count kernel memory: growing a pipe's or a socket's buffers.
STRICT_FCNTLS = ("F_SETPIPE_SZ",)
SOCKET_BUFFER_OPTIONS = (7, 8, 32, 33)  # SO_SNDBUF, SO_RCVBUF, and their FORCE forms
PRCTLS = {"PR_GET_DUMPABLE": 3, "PR_SET_NAME": 15, "PR_GET_NAME": 16, "PR_GET_SECCOMP": 21,
          "PR_SET_NO_NEW_PRIVS": 38, "PR_GET_NO_NEW_PRIVS": 39, "PR_SET_VMA": 0x53564D41}
# System calls that name a process: allowed for the caller itself only (0),
# never for another process of the run, its init included.
ABOUT_ITSELF = ("prlimit64", "sched_getaffinity", "sched_setaffinity", "sched_getparam", "sched_getscheduler",
                "sched_setparam", "sched_setscheduler", "sched_getattr", "sched_setattr")


def allowed_if(strict: bool) -> list[tuple[str, tuple[tuple[int, str, int, int | None], ...]]]:
    """The system calls allowed with some arguments only: (name, comparisons),
    each comparison (argument, operator, value, mask-or-None), all of which
    must hold; libseccomp takes one comparison per argument, so several
    entries for one call are alternatives."""
    rules: list[tuple[str, tuple[tuple[int, str, int, int | None], ...]]] = [
        # Threads and processes, with no namespace flag.
        ("clone", ((0, "MASKED_EQ", 0, CLONE_NAMESPACES),)),
        ("socket", ((0, "EQ", socket.AF_UNIX, None),)),
        ("socketpair", ((0, "EQ", socket.AF_UNIX, None),)),
        ("getpriority", ((1, "EQ", 0, None),)),
        ("setpriority", ((1, "EQ", 0, None),)),
    ]
    rules += [("ioctl", ((1, "MASKED_EQ", request, LOW_32_BITS),)) for request in IOCTLS.values()]
    rules += [("fcntl", ((1, "EQ", command, None),))
              for name, command in FCNTLS.items() if not (strict and name in STRICT_FCNTLS)]
    if strict:
        low, high = min(SOCKET_BUFFER_OPTIONS), max(SOCKET_BUFFER_OPTIONS)
        rules += [("setsockopt", ((2, "LT", low, None),)), ("setsockopt", ((2, "GT", high, None),))]
        rules += [("setsockopt", ((2, "EQ", option, None),))
                  for option in range(low, high) if option not in SOCKET_BUFFER_OPTIONS]
    else:
        rules.append(("setsockopt", ()))
    rules += [("prctl", ((0, "EQ", option, None),)) for option in PRCTLS.values()]
    rules += [(name, ((0, "EQ", 0, None),)) for name in ABOUT_ITSELF]
    return rules


class FilterUnavailable(RuntimeError):
    """The filter could not be built or loaded here."""


# libseccomp's C interface (seccomp.h), reached with ctypes: the same
# library on every Python a run can pick, where a binding module would have
# to be built for each.
SCMP_ACT_ALLOW = 0x7FFF0000
SCMP_ACT_KILL_PROCESS = 0x80000000
SCMP_FLTATR_ACT_BADARCH = 2
SCMP_FLTATR_CTL_TSYNC = 4
SCMP_FLTATR_CTL_OPTIMIZE = 8
# A binary tree of the allowed numbers rather than a list: each system call
# the run makes walks a few comparisons, not up to two hundred.
OPTIMIZE_BINARY_TREE = 2
# The kernel's side (x86-64), to load a compiled program.
_SYS_SECCOMP = 317
SECCOMP_SET_MODE_FILTER = 1
SECCOMP_FILTER_FLAG_TSYNC = 1
PR_SET_NO_NEW_PRIVS = 38
BPF_INSTRUCTION_BYTES = 8
COMPARISONS = {"NE": 1, "LT": 2, "LE": 3, "EQ": 4, "GE": 5, "GT": 6, "MASKED_EQ": 7}


def scmp_act_errno(code: int) -> int:
    return 0x00050000 | (code & 0x0000FFFF)


class _ArgComparison(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("datum_a", ctypes.c_uint64),
                ("datum_b", ctypes.c_uint64)]


class Filter:
    """A filter built with libseccomp and not loaded yet."""

    def __init__(self, library: Any, context: int) -> None:
        self._library = library
        self._context = context

    def _check(self, result: int, what: str) -> None:
        if result < 0:
            raise FilterUnavailable(f"libseccomp refused {what}: {os.strerror(-result)}")

    def set_attr(self, attribute: int, value: int) -> None:
        self._check(self._library.seccomp_attr_set(self._context, attribute, ctypes.c_uint32(value)),
                    f"attribute {attribute}")

    def add_rule(self, action: int, call: str | int,
                 comparisons: tuple[tuple[int, str, int, int | None], ...] = ()) -> None:
        number = call if isinstance(call, int) else self._library.seccomp_syscall_resolve_name(call.encode())
        if number == -1:  # __NR_SCMP_ERROR: a name libseccomp does not know
            raise FilterUnavailable(f"libseccomp does not know the system call {call}")
        array = (_ArgComparison * max(1, len(comparisons)))()
        for slot, (index, operator, value, mask) in zip(array, comparisons, strict=False):
            # MASKED_EQ compares (argument & datum_a) with datum_b.
            first, second = (mask, value) if operator == "MASKED_EQ" else (value, 0)
            slot.arg, slot.op, slot.datum_a, slot.datum_b = index, COMPARISONS[operator], first, second
        self._check(self._library.seccomp_rule_add_array(
            self._context, ctypes.c_uint32(action), number, len(comparisons), array), f"the rule for {call}")

    def load(self) -> None:
        self._check(self._library.seccomp_load(self._context), "loading the filter")

    def export_pfc(self, fd: int) -> None:
        self._check(self._library.seccomp_export_pfc(self._context, fd), "printing the filter")

    def compile(self) -> Program:
        """The BPF program libseccomp would load, to load later without it."""
        read_end, write_end = os.pipe()
        try:
            # A filter is at most 4096 instructions (32 KiB): it fits in the pipe.
            self._check(self._library.seccomp_export_bpf(self._context, write_end), "compiling the filter")
            os.close(write_end)
            write_end = -1
            chunks = []
            while chunk := os.read(read_end, 65536):
                chunks.append(chunk)
        finally:
            os.close(read_end)
            if write_end >= 0:
                os.close(write_end)
        return Program(b"".join(chunks))


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


_libc = ctypes.CDLL(None, use_errno=True)


class Program:
    """A compiled filter: loading it is one system call, for every thread
    of the process (as libseccomp's ``seccomp_load`` with TSYNC does)."""

    def __init__(self, code: bytes) -> None:
        if not code or len(code) % BPF_INSTRUCTION_BYTES:
            raise FilterUnavailable(f"libseccomp compiled a filter of {len(code)} bytes")
        self._code = ctypes.create_string_buffer(code, len(code))
        self.instructions = len(code) // BPF_INSTRUCTION_BYTES

    def load(self) -> None:
        if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise FilterUnavailable(f"no_new_privs: {os.strerror(ctypes.get_errno())}")
        program = _SockFprog(self.instructions, ctypes.cast(self._code, ctypes.c_void_p))
        result = _libc.syscall(_SYS_SECCOMP, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC,
                               ctypes.byref(program))
        if result != 0:  # -1 with errno, or the id of a thread it could not bind
            why = os.strerror(ctypes.get_errno()) if result < 0 else f"thread {result} could not take it"
            raise FilterUnavailable(f"the kernel refused the filter: {why}")


def _library() -> Any:
    try:
        library = ctypes.CDLL("libseccomp.so.2", use_errno=True)
    except OSError as exc:
        raise FilterUnavailable(f"libseccomp is not available ({exc}); install libseccomp2") from None
    library.seccomp_init.restype = ctypes.c_void_p
    library.seccomp_init.argtypes = [ctypes.c_uint32]
    library.seccomp_attr_set.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32]
    library.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    library.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int,
                                               ctypes.c_uint, ctypes.POINTER(_ArgComparison)]
    library.seccomp_load.argtypes = [ctypes.c_void_p]
    library.seccomp_export_pfc.argtypes = [ctypes.c_void_p, ctypes.c_int]
    library.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
    return library


def build(strict: bool = False) -> Filter:
    """The filter, ready to load; ``strict``: the one for a host without a
    memory cgroup (see ``STRICT_FCNTLS``)."""
    library = _library()
    context = library.seccomp_init(scmp_act_errno(errno.EPERM))
    if not context:
        raise FilterUnavailable("libseccomp could not start a filter")
    rules = Filter(library, context)
    rules.set_attr(SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS)
    rules.set_attr(SCMP_FLTATR_CTL_TSYNC, 1)  # every thread, should any exist yet
    rules.set_attr(SCMP_FLTATR_CTL_OPTIMIZE, OPTIMIZE_BINARY_TREE)
    for name in ALLOWED:
        rules.add_rule(SCMP_ACT_ALLOW, name)
    for number in ALLOWED_NUMBERS.values():
        rules.add_rule(SCMP_ACT_ALLOW, number)
    for name, comparisons in allowed_if(strict):
        rules.add_rule(SCMP_ACT_ALLOW, name, comparisons)
    rules.add_rule(scmp_act_errno(errno.ENOSYS), "clone3")
    return rules


def prepare() -> dict[bool, Any]:
    """Both filters compiled ahead of time (not loaded), by strictness, or
    why they cannot be: compiling restricts nothing, so the fork server does
    it once, before any run."""
    try:
        return {False: build(False).compile(), True: build(True).compile()}
    except Exception as exc:  # reported by install(), which decides
        return {False: exc, True: exc}


def install(required: bool, prepared: Any = None, strict: bool = False) -> bool:
    """Load the filter (``prepared``, compiled by ``prepare``, or one built
    now) into this process; True once it is in force.

    When ``required`` and the filter cannot be loaded, the run ends here
    with ``EXIT_NO_FILTER`` and the reason on the raw standard error: the
    snippet never runs unfiltered. Otherwise (local use without a jail) a
    missing binding only means no filter.
    """
    try:
        if isinstance(prepared, Exception):
            raise prepared
        (prepared if prepared is not None else build(strict)).load()
    except Exception as exc:  # whatever failed, the snippet must not run unfiltered
        if not required:
            return False
        message = f"playground: the system-call filter (seccomp) could not be installed: {exc}\n"
        try:
            os.write(2, message.encode("utf-8", "replace"))
        finally:
            os._exit(EXIT_NO_FILTER)
    return True


if __name__ == "__main__":  # print the filter, for reading
    sys.stdout.flush()
    build().export_pfc(sys.stdout.fileno())
