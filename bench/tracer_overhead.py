"""What tracing costs: a 20,000-task gather, traced and untraced, side by side.

Runs the same snippet alternately with plain ``python3`` (untraced), through
the tracer on the real clock with its C hot path (playground/tracer/
_speedups.c, built by ``python3 -m playground.sandbox.speedups``), and through the
tracer with its pure-Python hot path (``PLAYGROUND_TRACER_SPEEDUPS=0``), all
without a jail (so only the tracer's cost is measured, with the server
parsing the stream as it comes, as in production), several times each in
one run so the machine's noise hits all alike. A fourth run sends the
C-traced stream to /dev/null instead of the server: the tracer's cost alone,
without the time it waits on a full pipe while the server, on the same
cores, parses more slowly than it writes. The snippet times its own
``asyncio.run`` with ``time.perf_counter``. Prints the medians and ratios,
and the trace's size as the API sends it: contract v1 (the default) and the
compact columnar form the page asks for, each as JSON and gzipped.

    python3 bench/tracer_overhead.py [--tasks 20000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playground.model.columnar import to_columnar  # noqa: E402
from playground.sandbox.jail import JAIL_ENV, TRACER_DIR, Unsandboxed  # noqa: E402
from playground.sandbox.limits import Limits  # noqa: E402
from playground.sandbox.runner import run_snippet, settings_for  # noqa: E402
from playground.sandbox.speedups import used_by  # noqa: E402
from playground.tracer.protocol import SPEEDUPS_ENV  # noqa: E402

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


def traced(code: str, limits: Limits, python_path: bool = False) -> tuple[float, dict[str, int], bool]:
    """The snippet's time, the trace's sizes (v1 and columnar, JSON and gzip), truncated."""
    if python_path:
        os.environ[SPEEDUPS_ENV] = "0"
    try:
        trace = run_snippet(Unsandboxed(), code, "real", limits)
    finally:
        os.environ.pop(SPEEDUPS_ENV, None)
    if trace.status != "ok":
        raise SystemExit(f"traced run ended with {trace.status}: {trace.error}")
    sizes = {}
    for name, form in (("v1", trace.to_json()), ("columnar", to_columnar(trace))):
        body = json.dumps(form, separators=(",", ":")).encode()
        sizes[name] = len(body)
        sizes[f"{name} gzip"] = len(gzip.compress(body, compresslevel=5))  # as /api/run sends it
    return float(trace.output[-1].text), sizes, trace.truncated


STREAM_SINK = os.devnull


def tracer_alone(code: str, limits: Limits) -> float:
    """The snippet's time traced (C hot path) with the event stream going to
    /dev/null: what the tracer costs when nothing reads behind it."""
    # The snippet's print goes into the (discarded) trace: it reports on stderr.
    timed = code.replace('print(f"{time.perf_counter() - started:.6f}")',
                         'import os; os.write(2, f"{time.perf_counter() - started:.6f}\\n".encode())')
    with open(STREAM_SINK, "wb") as sink:
        settings = dataclasses.replace(settings_for(Unsandboxed(), "real", limits), events_fd=sink.fileno())
        payload = settings.to_line() + timed.encode()
        # What a forked run does (tracer.forkserver), in one process.
        one_run = (f"import sys; sys.path.insert(0, {str(TRACER_DIR.parent)!r}); "
                   "from tracer import prelude; prelude.serve_one(prelude.get_ready())")
        with tempfile.TemporaryDirectory() as workdir:  # where the run writes its main.py
            result = subprocess.run([sys.executable, "-I", "-S", "-B", "-c", one_run],
                                    input=payload, capture_output=True, check=True, env=JAIL_ENV,
                                    pass_fds=(sink.fileno(),), cwd=workdir)
    return float(result.stderr.decode().split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    code = textwrap.dedent(SNIPPET.format(tasks=args.tasks))
    limits = Limits(max_events=10 * args.tasks, max_tasks=2 * args.tasks, wall_seconds=120, cpu_seconds=120,
                    memory_bytes=4 * 1024**3, channel_bytes=1024**3)
    hot_path = used_by(sys.executable)
    if hot_path != "C":
        print(f"warning: the tracer's C hot path is not built here ({hot_path}): "
              "run python3 -m playground.sandbox.speedups", file=sys.stderr)
    plain, fast, slow, alone = [], [], [], []
    sizes: dict[str, int] = {}
    truncated = False
    for _ in range(args.rounds):
        plain.append(untraced(code))
        seconds, sizes, truncated = traced(code, limits)
        fast.append(seconds)
        slow.append(traced(code, limits, python_path=True)[0])
        alone.append(tracer_alone(code, limits))
    base = statistics.median(plain)
    cut = " (truncated)" if truncated else ""
    print(f"tasks:                        {args.tasks}")
    print(f"rounds:                       {args.rounds}")
    print(f"untraced p50:                 {base * 1000:8.1f} ms")
    print(f"traced p50 ({hot_path} hot path):      {statistics.median(fast) * 1000:8.1f} ms")
    print(f"traced p50 (Python hot path): {statistics.median(slow) * 1000:8.1f} ms")
    print(f"ratio ({hot_path} hot path):           {statistics.median(fast) / base:8.2f}x")
    print(f"ratio (Python hot path):      {statistics.median(slow) / base:8.2f}x")
    print(f"ratio ({hot_path}, stream to /dev/null): {statistics.median(alone) / base:8.2f}x (the tracer alone)")
    print(f"trace, v1 JSON:               {sizes['v1'] / 1e6:8.2f} MB{cut} (the API's default)")
    print(f"trace, v1 gzip:               {sizes['v1 gzip'] / 1e6:8.2f} MB")
    print(f"trace, columnar JSON:         {sizes['columnar'] / 1e6:8.2f} MB{cut} (what the page asks for)")
    print(f"trace, columnar gzip:         {sizes['columnar gzip'] / 1e6:8.2f} MB (as /api/run sends it to the page)")


if __name__ == "__main__":
    main()
