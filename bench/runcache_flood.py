"""Whether one flooding client can flush the run cache for everyone (issue 14).

Calls ``RunCache`` directly with synthetic traces, no server and no jail. With
the default sizes (64 MiB, 256 entries), readers run ``--popular`` tutorial
snippets (traces of ``--popular-kib`` each) in turn while one client sends
distinct large traces, one per ``--readers`` reader requests. After a warm-up
round, prints the readers' hit rate and how many of their requests had to run
a jail, for the policy before issue 14 (plain LRU, a trace up to a quarter of
the bytes kept: a copy of the old ``_store`` below) and for the cache as it is
now, with floods of 15 MiB traces (the issue's) and of traces just under the
entry cap (where only admission by frequency protects the readers).

    python3 bench/runcache_flood.py [--floods 320] [--readers 1] [--popular 16]

The synthetic traces of one size are all alike, so their JSON is made once
and reused (``encode`` is memoized here): the cache sees the same sizes, and
the bench spends its time on the policy rather than on ``json.dumps``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playground.sharing import runcache  # noqa: E402
from playground.sharing.runcache import DEFAULT_BYTES, RunCache, Trace  # noqa: E402

MIB = 1024 * 1024


class PlainLRU(RunCache):
    """The policy before issue 14: least recently used out, a quarter of the bytes per trace."""

    def _store(self, key: bytes, body: bytes) -> None:
        if len(body) > self.max_bytes // 4:
            return
        if key in self._traces:
            self._drop(key)
        self._traces[key] = (self._now() + self.seconds, body)
        self._bytes += len(body)
        while len(self._traces) > self.entries or self._bytes > self.max_bytes:
            self._drop(next(iter(self._traces)))


def memoized(encode: Callable[[Trace, bool], bytes]) -> Callable[[Trace, bool], bytes]:
    made: dict[tuple[int, bool], bytes] = {}
    keep: list[Trace] = []  # the traces stay alive, so their ids stay theirs

    def encode_once(trace: Trace, cached: bool) -> bytes:
        if (id(trace), cached) not in made:
            keep.append(trace)
            made[id(trace), cached] = encode(trace, cached)
        return made[id(trace), cached]
    return encode_once


def sized(size: int) -> dict[str, Any]:
    return {"version": 1, "status": "ok", "clock": "virtual", "output": [{"text": "x" * (size - 100)}]}


def workload(cache: RunCache, floods: int, readers: int, popular: int, popular_size: int,
             flood_size: int) -> tuple[int, int]:
    """(reader requests, of them run in a jail), after a warm-up round of ``popular`` floods."""
    popular_trace, flood_trace = sized(popular_size), sized(flood_size)
    reads = asked = runs = 0
    for flood in range(popular + floods):
        cache.run(f"flood {flood}", "virtual", lambda: flood_trace)
        for _ in range(readers):
            before = cache.runs
            cache.run(f"popular {reads % popular}", "virtual", lambda: popular_trace)
            reads += 1
            if flood >= popular:  # past the warm-up round
                asked += 1
                runs += cache.runs - before
    return asked, runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--floods", type=int, default=320, help="distinct large traces the flooding client sends")
    parser.add_argument("--readers", type=int, default=1, help="reader requests per flood request")
    parser.add_argument("--popular", type=int, default=16, help="popular snippets the readers run in turn")
    parser.add_argument("--popular-kib", type=int, default=64, help="size of a popular snippet's trace")
    args = parser.parse_args()
    runcache.encode = memoized(runcache.encode)  # type: ignore[assignment]
    cap = RunCache().max_entry_bytes
    print(f"run cache {DEFAULT_BYTES // MIB} MiB, 256 entries; {args.popular} popular snippets of "
          f"{args.popular_kib} KiB read in turn; reader requests per flood request: {args.readers}; "
          f"{args.floods} flood requests")
    print(f"{'flood traces':>16} {'policy':>22} {'reader hit rate':>16} {'reader jail runs':>17} {'kept':>5}")
    for flood_size, label in ((15 * MIB, "15 MiB"), (cap - 1024, f"{(cap - 1024) / MIB:.1f} MiB")):
        for name, cache in (("plain LRU (before)", PlainLRU()), ("size cap + admission", RunCache())):
            asked, runs = workload(cache, args.floods, args.readers, args.popular, args.popular_kib * 1024,
                                   flood_size)
            print(f"{label:>16} {name:>22} {(asked - runs) / asked:>16.0%} {f'{runs} of {asked}':>17} "
                  f"{len(cache):>5}")


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"({time.perf_counter() - started:.1f} s)")
