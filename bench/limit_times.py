"""How long each limit takes to stop a run, with the default limits.

Posts, through Flask's test client with the real jail, one snippet per limit
that crosses it, and prints for each: the status, the limit the server
reported, the request's duration and the trace's ``wall`` (the jail's own
lifetime), and the message people read. Each snippet runs ``--rounds`` times;
the median is printed.

    python3 bench/limit_times.py [--rounds 3]
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

CASES: list[tuple[str, str, str]] = [
    ("wall time", "real", "import asyncio\nasyncio.run(asyncio.sleep(60))"),
    ("CPU time", "virtual", "while True: pass"),
    ("memory", "virtual", "blocks = []\nwhile True:\n    blocks.append(bytearray(10 ** 7))"),
    ("processes and threads", "virtual",
     "import threading\nwhile True:\n    threading.Thread(target=threading.Event().wait, daemon=True).start()"),
    ("open files", "virtual", "files = []\nwhile True:\n    files.append(open(f'/tmp/{len(files)}', 'w'))"),
    ("file size", "virtual", "with open('/tmp/big', 'wb') as f:\n    while True:\n        f.write(b'x' * 65536)"),
    ("/tmp size", "virtual",
     "n = 0\nwhile True:\n    open(f'/tmp/{n}', 'wb').write(b'x' * 500_000)\n    n += 1"),
    ("output bytes", "virtual", "while True:\n    print('spam ' * 20)"),
    ("trace events", "virtual",
     "import asyncio\nasync def main():\n    for _ in range(30_000):\n        await asyncio.sleep(0)\n"
     "asyncio.run(main())"),
    ("virtual horizon", "virtual", "import asyncio\nasyncio.run(asyncio.sleep(10 ** 9))"),
    ("trace stream bytes", "virtual",
     "import os, stat\nfd = None\n"
     "for f in range(3, 256):\n    try:\n        if stat.S_ISFIFO(os.fstat(f).st_mode): fd = f\n"
     "    except OSError: pass\nline = b'[' + b','.join([b'[\"event\",0,\"x\",null,\"' + b'y' * 1500 + b'\",null]']"
     " * 40) + b']\\n'\nwhile True:\n    os.write(fd, line)"),
    ("unreadable stream", "virtual", "import os\nwhile True:\n    os.write(3, b'not json\\n')"),
    ("answer size", "virtual",
     "import asyncio\nasync def work():\n    await asyncio.sleep(0)\nasync def main():\n"
     "    await asyncio.gather(*(asyncio.create_task(work(), name='\\u00e9' * 200) for _ in range(20_000)))\n"
     "asyncio.run(main())"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    # The run cache would answer the second round of each snippet from memory.
    app = create_app({"RATELIMIT_ENABLED": False, "RUN_CACHE_SECONDS": 0})
    client = app.test_client()
    client.post("/api/run", json={"code": "print('warm')"})
    print(f"{'limit':<22} {'status':<13} {'reported':<17} {'request s':>9} {'wall s':>7}  message")
    for name, clock, code in CASES:
        durations, walls = [], []
        trace: dict = {}
        for _ in range(args.rounds):
            started = time.perf_counter()
            trace = client.post("/api/run", json={"code": code, "clock": clock}).get_json()
            durations.append(time.perf_counter() - started)
            walls.append(trace["wall"])
        reported = ",".join(limit["name"] for limit in trace["limits"]) or "-"
        messages = [event["message"] for event in trace["events"] if event["kind"] == "limit"]
        print(f"{name:<22} {trace['status']:<13} {reported:<17} {statistics.median(durations):>9.2f} "
              f"{statistics.median(walls):>7.2f}  {messages[-1] if messages else '-'}")


if __name__ == "__main__":
    main()
