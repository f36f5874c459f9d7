"""How fast this machine is, against the one the page's time goals were set
on: the CPU of a cold ``python3 -c "import asyncio"`` (an interpreter's start,
the same work on every machine), for benchmarks to print beside their figures
and for the few tests that hold a figure an issue asked for."""

from __future__ import annotations

import resource
import subprocess

# A cold `import asyncio` on the quiet machine where the page's time goals
# were measured (docs/benchmarks.md, 2026-12-02: 58 ms of CPU).
REFERENCE_IMPORT_ASYNCIO_SECONDS = 0.058


def import_asyncio_cpu(times: int = 10) -> float:
    """CPU seconds (user + system) of one cold ``python3 -c "import asyncio"``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    for _ in range(times):
        subprocess.run(["/usr/bin/python3", "-c", "import asyncio"], check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) / times


def slowness() -> float:
    """How many times slower than the reference machine this one is now (at least 1)."""
    return max(1.0, import_asyncio_cpu() / REFERENCE_IMPORT_ASYNCIO_SECONDS)
