"""What concurrency buys in URL mode: three URLs that each take 0.5 s.

Starts the tests' aiohttp server on loopback (its ``/delay/0.5`` answers
after half a second) and fetches three such URLs through ``POST /api/fetch``
of the app (Flask's test client, so the view, the guard and the JSON are all
in the measurement) with every strategy, interleaved round by round so the
machine's noise hits all alike. Prints, per strategy, the median of the
trace's ``duration`` (first request to last body) and of the request's wall
time, the speed-up over sequential, and whether every phase of every request
was recorded.

    python3 bench/urlmode.py [--rounds 5] [--delay 0.5] [--urls 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playground import create_app  # noqa: E402
from playground.urls.fetcher import STRATEGIES  # noqa: E402
from tests.support.urlserver import local_server  # noqa: E402

NEW_CONNECTION = ["connect", "sent", "first_byte", "body"]
REUSED = ["sent", "first_byte", "body"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--delay", type=float, default=0.5)
    parser.add_argument("--urls", type=int, default=3)
    parser.add_argument("--limit", type=int, default=2, help="the semaphore's N")
    args = parser.parse_args()

    with local_server() as server:
        app = create_app({"URL_ALLOW": server.allow, "RATELIMIT_ENABLED": False})
        client = app.test_client()
        urls = [server.url(f"/delay/{args.delay}?n={i}") for i in range(args.urls)]
        durations: dict[str, list[float]] = {name: [] for name in STRATEGIES}
        walls: dict[str, list[float]] = {name: [] for name in STRATEGIES}
        complete = {name: True for name in STRATEGIES}
        for _ in range(args.rounds):
            for strategy in STRATEGIES:
                started = time.perf_counter()
                response = client.post("/api/fetch", json={"urls": urls, "strategy": strategy, "limit": args.limit})
                walls[strategy].append(time.perf_counter() - started)
                trace = response.get_json()
                assert response.status_code == 200 and trace["status"] == "ok", trace
                durations[strategy].append(trace["duration"])
                for task in trace["tasks"]:
                    drawn = [phase["name"] for phase in task["phases"] if phase["name"] != "queued"]
                    ok = task["state"] == "done" and drawn in (NEW_CONNECTION, REUSED)
                    complete[strategy] = complete[strategy] and ok

    print(f"{args.urls} URLs answering after {args.delay} s each, {args.rounds} rounds, "
          f"medians (semaphore N={args.limit}):")
    print(f"{'strategy':<14}{'duration':>10}{'wall':>10}{'speed-up':>10}  all phases")
    base = statistics.median(durations["sequential"])
    for strategy in STRATEGIES:
        duration = statistics.median(durations[strategy])
        wall = statistics.median(walls[strategy])
        print(f"{strategy:<14}{duration:>9.3f}s{wall:>9.3f}s{base / duration:>9.2f}x  "
              f"{'yes' if complete[strategy] else 'NO'}")


if __name__ == "__main__":
    main()
