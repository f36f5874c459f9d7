"""What a run costs the node in memory, whatever it uses.

Runs, in a real bubblewrap jail with the default limits, snippets that hold
memory in every way a run can (the heap, threads, pipe and socket buffers,
``/tmp``, SysV shared memory, all of it at once), and prints for each: the
status, the limits reported, the slot cgroup's peak memory (everything the
jail held: the fork server, the run, and what the kernel held for it), and
the peak against the run's memory limit and the allowed ceiling (limit plus
``SLACK_BYTES``). With ``--small`` the memory limit is 64 MiB and ``/tmp`` as
large, so the memory the address-space limit does not count is more than
the slack.

    python3 bench/node_cost.py [--small]
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playground.sandbox.cgroups import SLACK_BYTES  # noqa: E402
from playground.sandbox.jail import Bubblewrap  # noqa: E402
from playground.sandbox.limits import Limits  # noqa: E402
from playground.sandbox.runner import run_snippet  # noqa: E402
from tests.support.memory import HEAP, PIPES, SOCKETS, SYSV, THREADS, TMP  # noqa: E402

MIB = 1024 * 1024

CASES = {
    "heap": HEAP, "threads": THREADS, "pipes": PIPES, "socket buffers": SOCKETS, "/tmp": TMP,
    "SysV shared memory": SYSV, "all at once": "\n".join((PIPES, SOCKETS, TMP, SYSV, THREADS, HEAP)),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="a 64 MiB memory limit and a 64 MiB /tmp")
    args = parser.parse_args()
    limits = Limits(memory_bytes=64 * MIB, tmp_bytes=64 * MIB) if args.small else Limits()
    jail = Bubblewrap()
    if jail.cgroups is None:
        sys.exit(f"no cgroup for the jails here: {jail.cgroup_problem}")
    slot = jail.cgroups.memory_root / "slot-0"
    ceiling = limits.memory_bytes + SLACK_BYTES
    print(f"memory limit {limits.memory_bytes // MIB} MiB, /tmp {limits.tmp_bytes // MIB} MiB, "
          f"ceiling (limit + slack) {ceiling // MIB} MiB")
    print(f"{'what the run holds':<20} {'status':<13} {'limits':<16} {'peak MiB':>8} {'of limit':>8} "
          f"{'of ceiling':>10}  said")
    for name, code in CASES.items():
        trace = run_snippet(jail, textwrap.dedent(code), "virtual", limits)
        peak = int((slot / "memory.max_usage_in_bytes").read_text())
        said = "; ".join(line.text for line in trace.output if line.stream == "stdout")[:40]
        reported = ",".join(limit["name"] for limit in trace.limits) or "-"
        print(f"{name:<20} {trace.status:<13} {reported:<16} {peak / MIB:8.1f} {peak / limits.memory_bytes:8.2f} "
              f"{peak / ceiling:10.2f}  {said}")


if __name__ == "__main__":
    main()
