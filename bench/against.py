"""Throughput and cost per run, side by side with an earlier commit.

Checks out ``REV`` in a temporary git worktree (building its tracer's C
accelerator, as its setup would), starts a gunicorn node of it and one of
this tree (each with its own gunicorn.conf.py and defaults, rate limits and
the run cache off), each in a cpuacct cgroup of its own so that everything
the node spends (workers, jails, the kernel's work for them) is counted;
then, in alternating rounds, keeps ``--clients`` closed-loop clients posting
the gallery's three-``say_hello`` gather to one node and then the other.
Per round and node it prints runs per second and the CPU per run: the whole
node's and the workers' own. Last, the medians and this tree's ratios to
``REV``. Alternating rounds on the same machine make the ratios fair on a
busy one; the absolute figures are not.

``--python`` picks this tree's Python (``PLAYGROUND_DEFAULT_PYTHON``): an
earlier commit may have had the host's only. Needs root (cgroups).

    python3 bench/against.py REV [--clients 2] [--seconds 8] [--rounds 4] [--python 3.11]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playground.sharing.examples import BY_NAME  # noqa: E402
from tests.support.servers import gunicorn_node, request  # noqa: E402
from tests.support.trees import worktree  # noqa: E402

CPUACCT = Path("/sys/fs/cgroup/cpuacct")


class Node:
    """A gunicorn node of ``tree`` (tests/support/servers.py) in a cpuacct cgroup of its own."""

    def __init__(self, tree: Path, name: str, env: dict[str, str], stack: ExitStack) -> None:
        self.name = name
        self.cgroup = CPUACCT / f"playground-against-{os.getpid()}-{name.replace(' ', '-')}"
        self.cgroup.mkdir()
        stack.callback(self._remove_cgroup)
        self.url, self.master = stack.enter_context(gunicorn_node(
            {"PLAYGROUND_RATELIMIT_ENABLED": "false", "PLAYGROUND_RUN_CACHE_SECONDS": "0", **env},
            root=tree, cgroup=self.cgroup))

    def _remove_cgroup(self) -> None:
        """Once the node's last process has left it (the jails end just after gunicorn)."""
        for _ in range(50):
            try:
                self.cgroup.rmdir()
                return
            except OSError:
                time.sleep(0.1)

    def cpu(self) -> float:
        """CPU seconds of everything in the node so far."""
        return int((self.cgroup / "cpuacct.usage").read_text()) / 1e9

    def workers_cpu(self) -> float:
        """CPU seconds of the node's gunicorn workers themselves (not their children)."""
        total = 0
        workers = subprocess.run(["pgrep", "-P", str(self.master)], capture_output=True, text=True).stdout
        for pid in workers.split():
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")


def closed_loop(node: Node, clients: int, seconds: float) -> tuple[int, int]:
    """Runs answered "ok", and any other answers, from ``clients`` posting back to back."""
    body = {"code": BY_NAME["gather"].code, "clock": "virtual"}
    counts = [0, 0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client() -> None:
        while time.monotonic() < stop:
            status, _, trace = request(node.url, "POST", "/api/run", body)
            good = status == 200 and trace["status"] == "ok"
            with lock:
                counts[0 if good else 1] += 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return counts[0], counts[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rev")
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--python", default="", help="this tree's Python (an id such as 3.11)")
    args = parser.parse_args()
    with worktree(args.rev) as old_tree, ExitStack() as stack:
        ours_env = {"PLAYGROUND_DEFAULT_PYTHON": args.python} if args.python else {}
        nodes = [Node(old_tree, args.rev, {}, stack), Node(ROOT, "this tree", ours_env, stack)]
        figures: dict[str, list[tuple[float, float, float]]] = {node.name: [] for node in nodes}
        for node in nodes:
            closed_loop(node, args.clients, 2.0)  # warm
        for round_ in range(1, args.rounds + 1):
            for node in nodes:
                cpu, workers = node.cpu(), node.workers_cpu()
                good, other = closed_loop(node, args.clients, args.seconds)
                per_run = 1000 / max(good, 1)
                figure = (good / args.seconds, (node.cpu() - cpu) * per_run,
                          (node.workers_cpu() - workers) * per_run)
                figures[node.name].append(figure)
                print(f"round {round_}, {node.name:>10}: {figure[0]:6.1f} runs/s, CPU per run {figure[1]:5.1f} ms "
                      f"(workers {figure[2]:4.1f} ms), {other} not ok", flush=True)
    old, ours = (tuple(statistics.median(column) for column in zip(*figures[node.name], strict=True))
                 for node in nodes)
    for name, medians in ((args.rev, old), ("this tree", ours)):
        print(f"median, {name:>10}: {medians[0]:6.1f} runs/s, CPU per run {medians[1]:5.1f} ms "
              f"(workers {medians[2]:4.1f} ms)")
    print(f"this tree / {args.rev}: runs/s x{ours[0] / old[0]:.2f}, CPU per run x{ours[1] / old[1]:.2f}, "
          f"workers' CPU per run x{ours[2] / old[2]:.2f}")


if __name__ == "__main__":
    main()
