"""The jail's system-call filter (seccomp), installed before the snippet runs.

The trusted prelude calls ``install`` once the tracer is loaded, so the
filter binds the snippet and never stands in the tracer's way: the tracer
needs threads (``clone`` with ``CLONE_THREAD``), its pipe and the loop's
``AF_UNIX`` socketpair, all of which stay allowed. Everything else that
could leave the process or widen the kernel's attack surface is refused:

* no new programs (``execve``, ``execveat``) and no new processes: ``fork``
  and ``vfork`` are refused, ``clone`` only makes threads and never with a
  namespace flag, and ``clone3`` answers ``ENOSYS`` so the C library falls
  back to ``clone``, whose flags a filter can read;
* no socket family but ``AF_UNIX`` (no TCP, UDP, raw, packet or netlink);
* no namespaces, mounts, tracing or other processes' memory (``ptrace``,
  ``process_vm_*``), no ``bpf``, keys, ``io_uring``, ``perf_event_open``,
  ``userfaultfd``, ``kexec``, modules, and no ``ioctl(TIOCSTI)`` (typing into
  a terminal);
* system calls of another ABI (32-bit ``int 0x80``, x32) kill the process,
  since the rules above are written for the native one.

Refused calls fail with ``EPERM`` ("Operation not permitted"), which the
snippet sees as a ``PermissionError`` it can read, rather than a dead run.
It uses libseccomp's Python bindings (Debian's ``python3-seccomp``), which
the jail binds read-only next to the tracer. When the settings require the
filter and it cannot be installed, the run ends before the snippet starts.
"""

from __future__ import annotations

import errno
import os
import socket
import sys
from typing import Any

from .protocol import EXIT_NO_FILTER

# The snippet's refused system calls, all answered with EPERM.
DENIED = (
    # new programs and processes
    "execve", "execveat", "fork", "vfork",
    # namespaces, mounts, root changes
    "unshare", "setns", "mount", "umount2", "pivot_root", "chroot",
    "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
    # other processes' memory and tracing
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
    # kernel interfaces no snippet needs
    "bpf", "keyctl", "add_key", "request_key",
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    "perf_event_open", "userfaultfd", "kexec_load", "kexec_file_load",
    "init_module", "finit_module", "delete_module",
    "open_by_handle_at", "name_to_handle_at", "fanotify_init",
    "reboot", "swapon", "swapoff", "acct", "syslog", "quotactl",
)

CLONE_THREAD = 0x00010000
CLONE_NAMESPACES = {
    "CLONE_NEWNS": 0x00020000,
    "CLONE_NEWCGROUP": 0x02000000,
    "CLONE_NEWUTS": 0x04000000,
    "CLONE_NEWIPC": 0x08000000,
    "CLONE_NEWUSER": 0x10000000,
    "CLONE_NEWPID": 0x20000000,
    "CLONE_NEWNET": 0x40000000,
}
TIOCSTI = 0x5412  # push a byte into a terminal's input
TIOCLINUX = 0x541C  # the same through the Linux console
# ioctl's request is an unsigned int: compare its low 32 bits only, or a
# caller could set the high ones to slip past an exact comparison.
LOW_32_BITS = 0xFFFFFFFF


class FilterUnavailable(RuntimeError):
    """The filter could not be built or loaded here."""


def build() -> Any:
    """The filter, ready to load (a ``seccomp.SyscallFilter``)."""
    try:
        import seccomp  # type: ignore[import-not-found]
    except ImportError as exc:
        raise FilterUnavailable(
            f"libseccomp's Python bindings are not available ({exc}); install python3-seccomp"
        ) from None
    deny = seccomp.ERRNO(errno.EPERM)
    rules = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    rules.set_attr(seccomp.Attr.ACT_BADARCH, seccomp.KILL_PROCESS)
    rules.set_attr(seccomp.Attr.CTL_TSYNC, 1)  # every thread, should any exist yet
    for name in DENIED:
        rules.add_rule(deny, name)
    rules.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    rules.add_rule(deny, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, CLONE_THREAD, 0))
    for flag in CLONE_NAMESPACES.values():
        rules.add_rule(deny, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
    for call in ("socket", "socketpair"):
        rules.add_rule(deny, call, seccomp.Arg(0, seccomp.NE, socket.AF_UNIX))
    for request in (TIOCSTI, TIOCLINUX):
        rules.add_rule(deny, "ioctl", seccomp.Arg(1, seccomp.MASKED_EQ, LOW_32_BITS, request))
    return rules


def prepare() -> Any:
    """The filter built ahead of time (not loaded), or why it cannot be:
    building restricts nothing, so the fork server does it once, before any run."""
    try:
        return build()
    except Exception as exc:  # reported by install(), which decides
        return exc


def install(required: bool, prepared: Any = None) -> bool:
    """Load the filter (``prepared``, or one built now) into this process;
    True once it is in force.

    When ``required`` and the filter cannot be loaded, the run ends here
    with ``EXIT_NO_FILTER`` and the reason on the raw standard error: the
    snippet never runs unfiltered. Otherwise (local use without a jail) a
    missing binding only means no filter.
    """
    try:
        if isinstance(prepared, Exception):
            raise prepared
        (prepared if prepared is not None else build()).load()
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
    build().export_pfc(sys.stdout)
