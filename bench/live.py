"""Live runs (docs/live.md): how soon a run's first output reaches its
client, and what watching a run costs beside a plain answer.

Starts one gunicorn node (run cache off, rate limits off), then, in rounds,
side by side:

- the snippet that prints at once and then sleeps 3 s on the real clock,
  watched live: seconds from the post until the event holding its first
  output line arrives, and until ``done``; and the same snippet as a plain
  JSON answer (its first line arrives with the whole answer);
- a busy snippet (``--tasks`` tasks of gather on the virtual clock), watched
  live and answered plain: the time until the answer, and the bytes of the
  live batches beside the answer's.

    python3 bench/live.py [--rounds 10] [--tasks 5000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.live import LiveClient  # noqa: E402
from tests.support.servers import gunicorn_node, request  # noqa: E402

PRINT_THEN_SLEEP = "import time\nprint('first line', flush=True)\ntime.sleep(3)\nprint('last line')\n"
BUSY = """\
import asyncio

async def work(n):
    await asyncio.sleep(n % 10 / 1000)
    return n

async def main():
    print(sum(await asyncio.gather(*(work(n) for n in range({tasks})))))

asyncio.run(main())
"""


def watched(url: str, body: dict[str, object]) -> tuple[float | None, float, int, int]:
    """A live run: seconds until its first output (None: it came with the
    answer), until done; the bytes of its trace events and of its answer."""
    client = LiveClient(url, body)
    first_output = None
    batch_bytes = answer_bytes = 0
    done = None
    for event in client.events():
        if event.name == "trace":
            batch_bytes += event.size
            if first_output is None and event.data.get("output"):
                first_output = event.at
        elif event.name == "done":
            done = event.at
            answer_bytes = event.size
    client.close()
    assert done is not None, "the stream ended without its answer"
    return first_output, done, batch_bytes, answer_bytes


def plain(url: str, body: dict[str, object]) -> float:
    started = time.monotonic()
    status, _, answer = request(url, "POST", "/api/run", body, timeout=60)
    assert status == 200 and answer["status"] == "ok", answer
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--tasks", type=int, default=5000)
    args = parser.parse_args()
    env = {"PLAYGROUND_RATELIMIT_ENABLED": "false", "PLAYGROUND_RUN_CACHE_SECONDS": "0"}
    sleeper = {"code": PRINT_THEN_SLEEP, "clock": "real"}
    busy = {"code": BUSY.format(tasks=args.tasks), "format": "columnar"}
    figures: dict[str, list[float]] = {name: [] for name in (
        "first output, live", "whole run, live", "whole run, plain", "busy, live", "busy, plain")}
    sizes = (0, 0)
    with gunicorn_node(env) as (url, _):
        plain(url, busy)  # warm up
        for _ in range(args.rounds):
            first, done, _, _ = watched(url, sleeper)
            assert first is not None, "the first line came only with the answer"
            figures["first output, live"].append(first)
            figures["whole run, live"].append(done)
            figures["whole run, plain"].append(plain(url, sleeper))
            _, busy_done, batch_bytes, answer_bytes = watched(url, busy)
            figures["busy, live"].append(busy_done)
            figures["busy, plain"].append(plain(url, busy))
            sizes = (batch_bytes, answer_bytes)
    print(f"rounds: {args.rounds}; print then sleep 3 s on the real clock; busy: {args.tasks} tasks of gather")
    print(f"{'':<22}{'median':>10}{'max':>10}")
    for name, values in figures.items():
        print(f"{name:<22}{statistics.median(values) * 1000:8.1f} ms{max(values) * 1000:8.1f} ms")
    live_busy, plain_busy = (statistics.median(figures[name]) for name in ("busy, live", "busy, plain"))
    print(f"busy run watched live / answered plain: {live_busy / plain_busy:.2f}x; "
          f"live batches {sizes[0] / 1e6:.2f} MB beside the answer's {sizes[1] / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
