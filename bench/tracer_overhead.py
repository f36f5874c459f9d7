"""What tracing costs: a 20,000-task gather, traced and untraced, side by side.

Runs the same snippet alternately with plain ``python3`` (untraced) and
through the tracer on the real clock (no jail, so only the tracer's cost is
measured), several times each in one run so the machine's noise hits both
alike. The snippet times its own ``asyncio.run`` with ``time.perf_counter``.
Prints the medians, their ratio, and the size of the trace as JSON.

    python3 bench/tracer_overhead.py [--tasks 20000] [--rounds 5]
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

from playground.jail import Unsandboxed  # noqa: E402
from playground.limits import Limits  # noqa: E402
from playground.runner import run_snippet  # noqa: E402

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


def untraced(code: str) -> float:
    result = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True, check=True)
    return float(result.stdout.strip())


def traced(code: str, limits: Limits) -> tuple[float, int, int, bool]:
    trace = run_snippet(Unsandboxed(), code, "real", limits)
    if trace.status != "ok":
        raise SystemExit(f"traced run ended with {trace.status}: {trace.error}")
    body = json.dumps(trace.to_json(), separators=(",", ":")).encode()
    return float(trace.output[-1].text), len(body), len(gzip.compress(body, compresslevel=5)), trace.truncated


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    code = textwrap.dedent(SNIPPET.format(tasks=args.tasks))
    limits = Limits(max_events=10 * args.tasks, max_tasks=2 * args.tasks, wall_seconds=120, cpu_seconds=120,
                    memory_bytes=4 * 1024**3, channel_bytes=1024**3)
    plain, instrumented, sizes, gzipped = [], [], [], []
    truncated = False
    for _ in range(args.rounds):
        plain.append(untraced(code))
        seconds, size, packed, truncated = traced(code, limits)
        instrumented.append(seconds)
        sizes.append(size)
        gzipped.append(packed)
    print(f"tasks:              {args.tasks}")
    print(f"rounds:             {args.rounds}")
    print(f"untraced p50:       {statistics.median(plain) * 1000:8.1f} ms")
    print(f"traced p50:         {statistics.median(instrumented) * 1000:8.1f} ms")
    print(f"ratio:              {statistics.median(instrumented) / statistics.median(plain):8.2f}x")
    print(f"trace size (JSON):  {max(sizes) / 1e6:8.2f} MB{' (truncated)' if truncated else ''}")
    print(f"trace size (gzip):  {max(gzipped) / 1e6:8.2f} MB (as /api/run sends it to a browser)")


if __name__ == "__main__":
    main()
