"""What tracing costs on each Python: a 20,000-task gather, traced and untraced.

For every Python a run can pick (the host's 3.11 and those of the Pythons'
root), alternately in one run so the machine's noise hits all alike: the
snippet with that plain interpreter (untraced; a root's through
``rootview.inside``), through the tracer in a real jail on the real clock
with its C hot path (playground/tracer/_speedups.c, built per interpreter by
``python3 -m playground.sandbox.speedups``), and with its pure-Python hot
path (a jail given no accelerator). The server parses the stream as it
comes, as in production. The snippet times its own ``asyncio.run`` with
``time.perf_counter``, so neither the interpreter's start nor the jail's
counts. Prints the medians and ratios per Python, and the trace's size as
the API sends it (contract v1 and columnar, JSON and gzipped) on the first.

    python3 bench/tracer_overhead.py [--tasks 20000] [--rounds 5] [--python 3.14 ...]
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playground.model.columnar import to_columnar  # noqa: E402
from playground.sandbox.jail import Bubblewrap  # noqa: E402
from playground.sandbox.limits import Limits  # noqa: E402
from playground.sandbox.pythons import Python, Pythons  # noqa: E402
from playground.sandbox.rootview import inside  # noqa: E402
from playground.sandbox.runner import run_snippet  # noqa: E402
from playground.sandbox.speedups import used_by  # noqa: E402

SNIPPET = """
import asyncio, time

async def work(i):
    await asyncio.sleep(0)
    return i

async def main():
    await asyncio.gather(*(work(i) for i in range({tasks})))

started = time.perf_counter()
asyncio.run(main())
print(f"{{time.perf_counter() - started:.6f}}")
"""


class WithoutAccelerator(Bubblewrap):
    """A jail whose tracer has no C accelerator: its pure-Python hot path runs."""

    def __init__(self, pythons: Pythons) -> None:
        super().__init__(pythons=pythons)
        self._tracer = {name: body for name, body in self._tracer.items() if not name.endswith(".so")}


def untraced(python: Python, code: str) -> float:
    result = subprocess.run(inside(python, [python.executable, "-I", "-S", "-c", code]), capture_output=True,
                            text=True, check=True)
    return float(result.stdout.strip())


def traced(jail: Bubblewrap, python: Python, code: str, limits: Limits) -> tuple[float, dict[str, int], bool]:
    """The snippet's time, the trace's sizes (v1 and columnar, JSON and gzip), truncated."""
    trace = run_snippet(jail, code, "real", limits, python=python)
    if trace.status != "ok":
        said = [event.message for event in trace.events if event.kind in ("limit", "sandbox")]
        raise SystemExit(f"traced run on {python.version} ended with {trace.status}: {trace.error or said}")
    sizes = {}
    for name, form in (("v1", trace.to_json()), ("columnar", to_columnar(trace))):
        body = json.dumps(form, separators=(",", ":")).encode()
        sizes[name] = len(body)
        sizes[f"{name} gzip"] = len(gzip.compress(body, compresslevel=5))  # as /api/run sends it
    return float(trace.output[-1].text), sizes, trace.truncated


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--python", action="append", help="a Python id (repeatable; default: all)")
    args = parser.parse_args()
    code = textwrap.dedent(SNIPPET.format(tasks=args.tasks))
    limits = Limits(max_events=10 * args.tasks, max_tasks=2 * args.tasks, wall_seconds=120, cpu_seconds=120,
                    memory_bytes=4 * 1024**3, channel_bytes=1024**3, parse_cpu_ratio=100.0)
    fast_jail = Bubblewrap()
    pythons = [fast_jail.pythons.get(id_) for id_ in (args.python or fast_jail.pythons.by_id)]
    slow_jail = WithoutAccelerator(fast_jail.pythons)
    for python in pythons:
        if used_by(python) != "C":
            print(f"warning: the C hot path is not built for {python.version}: "
                  "run python3 -m playground.sandbox.speedups", file=sys.stderr)
    times: dict[str, dict[str, list[float]]] = {p.id: {"plain": [], "C": [], "Python": []} for p in pythons}
    sizes: dict[str, int] = {}
    truncated = False
    for _ in range(args.rounds):
        for python in pythons:
            times[python.id]["plain"].append(untraced(python, code))
            seconds, found, cut = traced(fast_jail, python, code, limits)
            times[python.id]["C"].append(seconds)
            sizes, truncated = sizes or found, truncated or cut
            times[python.id]["Python"].append(traced(slow_jail, python, code, limits)[0])
    print(f"tasks: {args.tasks}; rounds: {args.rounds}; medians of the snippet's own asyncio.run time")
    print(f"{'Python':<10}{'untraced':>10}{'C hot path':>14}{'ratio':>8}{'Python hot path':>18}{'ratio':>8}")
    for python in pythons:
        plain, fast, slow = (statistics.median(times[python.id][kind]) for kind in ("plain", "C", "Python"))
        print(f"{python.version:<10}{plain * 1000:8.1f}ms{fast * 1000:12.1f}ms{fast / plain:7.2f}x"
              f"{slow * 1000:16.1f}ms{slow / plain:7.2f}x")
    cut = " (truncated)" if truncated else ""
    print(f"trace ({pythons[0].version}), v1 JSON {sizes['v1'] / 1e6:.2f} MB{cut}, "
          f"gzip {sizes['v1 gzip'] / 1e6:.2f} MB; "
          f"columnar JSON {sizes['columnar'] / 1e6:.2f} MB, gzip {sizes['columnar gzip'] / 1e6:.2f} MB "
          "(what the page asks for, as /api/run sends it)")


if __name__ == "__main__":
    main()
