"""What reading a run costs the server, for the worst streams a snippet can write.

Each stream is a real run through the whole server path, ``POST /api/run``
on Flask's test client: the sandbox's warm pool, the runner reading the
pipes as they come, the stream parser, the answer's encoding, the run
cache. The snippets write their hostile bytes straight to the events
descriptor (``os.write(3, ...)``), past the tracer; the last one is an
honest 20,000-task gather. Printed side by side, medians of ``--rounds``:

- **jail CPU**: what the run's process spent producing the stream (its
  ``time.process_time()`` since it was forked, prelude included), which the
  snippet records in a file after each write; a run killed mid-write loses
  that write's share, so this errs low (and the ratio high). The runs use
  the unsandboxed jail (``SANDBOX=none``) for that file; the server's side
  is the same code as with bubblewrap.
- **server CPU**: the request thread's CPU (``time.thread_time()``) for the
  whole request: handing the snippet over, reading and parsing the stream,
  building and encoding the answer. Jails are started ahead by the pool's
  own thread, as in production, and are not counted.
- **ratio**: server CPU / jail CPU (the goal: at most 2).
- **peak**: the server process's memory high-water mark (``VmHWM``, reset
  through ``/proc/self/clear_refs`` before the request) above its resident
  size just before it (the goal: at most 64 MiB).
- **answer**: the response's bytes (uncompressed), and how the run ended.

Last, two runs of the 32 MiB line at once, with a cheap request every 10 ms
meanwhile: the server's peak memory, and how long the slowest of those took.

Every stream runs in a fresh server process, so one's memory does not
flatter or burden the next. ``--root`` runs the same streams against
another checkout (the parent commit, say) for figures before and after.

    python3 bench/stream_cost.py [--rounds 3] [--only NAME ...] [--root PATH] [--jail bwrap]

With ``--jail bwrap`` the runs are in real jails, each slot in its cgroup:
the jail's CPU is the cgroup's accounting (every process of the jail), the
figure the server paces its reading by (``LIMIT_PARSE_CPU_RATIO``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
KIB = 1024
MIB = 1024 * KIB

# The snippet's side: a file where it records its own CPU after each write,
# and a write that goes on until the server has read it all (or killed it).
PRELUDE = """
import os, time
_report = os.open({report!r}, os.O_WRONLY | os.O_CREAT, 0o600)
def report():
    os.pwrite(_report, b"%20.9f" % time.process_time(), 0)
def send(data):
    report()
    view = memoryview(data)
    while view:
        view = view[os.write(3, view):]
    report()
report()
"""

STREAMS: dict[str, tuple[str, str]] = {
    "trivial": ("print('ok'): what any run costs both sides", """
        print("ok")
        report()
    """),
    "brackets_32mib_line": ("one 32 MiB line of [[],[],...] (the issue's), just within the channel cap", """
        send(b"[" + b"[]," * ((32 * 1024 * 1024 - 64 * 1024) // 3) + b"[]]\\n")
    """),
    "rejected_dense_lines": ("512 lines of [[],[],...], each just under 64 KiB", """
        line = b"[" + b"[]," * 21600 + b"[]]\\n"
        for _ in range(512):
            send(line)
    """),
    "rejected_small_lines": ("100,000 short lines that are not JSON", """
        send(b"nope\\n" * 100_000)
    """),
    "deep_nesting": ("512 lines nested 30,000 deep", """
        line = b"[" * 30_000 + b"]" * 30_000 + b"\\n"
        for _ in range(512):
            send(line)
    """),
    "no_newline_32mib": ("32 MiB with no newline", """
        send(b"x" * (32 * 1024 * 1024))
    """),
    "frame_bogus_length": ("a frame header claiming 4 GiB, then 32 MiB of its 'payload'", """
        import struct
        send(struct.pack("=BBI", 0, 1, 2**32 - 1) + b"x" * (32 * 1024 * 1024))
    """),
    "frames_dense_names": ("512 tasks frames of 60 KB whose names are [[],[],...]", """
        import struct
        names = b"[[" + b"[]," * 20_000 + b"[]],[]]"
        frame = struct.pack("=BBI", 0, 3, 4 + len(names)) + struct.pack("=I", 0) + names
        for _ in range(512):
            send(frame)
    """),
    "eacute_events": ("valid events of 2,000 'é' each, in 64 KiB lines, to the channel cap", """
        message = b'["event",0,"spam",null,"' + "é".encode() * 2000 + b'",null]'
        line = b"[" + b",".join([message] * 15) + b"]\\n"
        for _ in range(32 * 1024 * 1024 // len(line) + 1):
            send(line)
    """),
    "valid_replay": ("the cheapest valid messages, replayed past the message budget", """
        line = b"[" + b",".join([b'["event",0,"x",null,"m",null]'] * 512) + b"]\\n"
        for _ in range(200):
            send(line)
    """),
    "eacute_task_names": ("20,000 tasks named 'é' * 200 (an honest run)", """
        import asyncio
        async def work():
            await asyncio.sleep(0)
        async def main():
            await asyncio.gather(*(asyncio.create_task(work(), name="é" * 200) for _ in range(20_000)))
        asyncio.run(main())
        report()
    """),
    "honest_20k_tasks": ("an honest 20,000-task gather", """
        import asyncio
        async def work(i):
            await asyncio.sleep(0.001 * (i % 7))
            return i
        async def main():
            await asyncio.gather(*(work(i) for i in range(20_000)))
        asyncio.run(main())
        report()
    """),
    "honest_100k_tasks": ("an honest 100,000-task gather, each task sleeping once (traced whole)", """
        import asyncio
        async def work(i):
            await asyncio.sleep(1)
        async def main():
            await asyncio.gather(*(work(i) for i in range(100_000)))
        asyncio.run(main())
        report()
    """),
}


def _status_kib(name: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(name + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {name} in /proc/self/status")


def _reset_high_water_mark() -> None:
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")


def _cgroup_cpu(sandbox: Any) -> float:
    """The CPU the jail of slot 0 has used so far, from its cgroup."""
    cgroups = sandbox.jail.cgroups
    return float((cgroups.cpu_root / "slot-0" / "cpuacct.usage").read_text()) / 1e9


def measure(name: str, rounds: int, jail_kind: str = "none") -> list[dict[str, Any]]:
    """In this (fresh) process: ``rounds`` runs of stream ``name`` through the app."""
    from playground import create_app
    from playground.services import services

    app = create_app({"TESTING": True, "SANDBOX": jail_kind, "RATELIMIT_ENABLED": False, "CONCURRENCY": 1})
    client = app.test_client()
    sandbox = services(app).sandbox
    assert client.post("/api/run", json={"code": "print('warm')"}).status_code == 200  # imports, the pool
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for number in range(rounds):
            # In a real jail the snippet's file is its own; its cgroup counts its CPU.
            report = os.path.join(folder, f"cpu-{number}") if jail_kind == "none" else "/tmp/cpu"
            code = textwrap.dedent(PRELUDE.format(report=report)) + textwrap.dedent(STREAMS[name][1])
            code += f"# round {number}\n"  # each round its own code: the run cache answers none
            if sandbox.pool is not None:
                sandbox.pool.settle()
            time.sleep(0.2)
            idle = _status_kib("VmRSS")
            _reset_high_water_mark()
            jail_before = _cgroup_cpu(sandbox) if jail_kind == "bwrap" else 0.0
            started = time.thread_time()
            response = client.post("/api/run", json={"code": code})
            server = time.thread_time() - started
            peak = _status_kib("VmHWM")
            body = response.get_data()
            if jail_kind == "bwrap":
                jail = _cgroup_cpu(sandbox) - jail_before
            else:
                with open(report, "rb") as recorded:
                    jail = float(recorded.read() or 0)
            trace = json.loads(body)
            results.append({"jail": jail, "server": server, "peak_mib": max(0, peak - idle) / KIB,
                            "answer": len(body), "status": trace.get("status"),
                            "limits": [limit["name"] for limit in trace.get("limits", [])]})
    sandbox.close()
    return results


def measure_two_at_once(name: str) -> dict[str, Any]:
    """In this (fresh) process: two runs of stream ``name`` at once, and a
    cheap request (``GET /api/examples``) every 10 ms meanwhile."""
    import threading

    from playground import create_app
    from playground.services import services

    app = create_app({"TESTING": True, "SANDBOX": "none", "RATELIMIT_ENABLED": False, "CONCURRENCY": 2})
    sandbox = services(app).sandbox
    assert app.test_client().post("/api/run", json={"code": "print('warm')"}).status_code == 200
    if sandbox.pool is not None:
        sandbox.pool.settle()
    with tempfile.TemporaryDirectory() as folder:
        codes = [textwrap.dedent(PRELUDE.format(report=os.path.join(folder, f"cpu-{n}")))
                 + textwrap.dedent(STREAMS[name][1]) + f"# run {n}\n" for n in range(2)]
        threads = [threading.Thread(target=lambda code=code: app.test_client().post("/api/run", json={"code": code}))
                   for code in codes]
        time.sleep(0.2)
        idle = _status_kib("VmRSS")
        _reset_high_water_mark()
        for thread in threads:
            thread.start()
        client, slowest = app.test_client(), 0.0
        while any(thread.is_alive() for thread in threads):
            asked = time.perf_counter()
            client.get("/api/examples")
            slowest = max(slowest, time.perf_counter() - asked)
            time.sleep(0.01)
        peak = _status_kib("VmHWM")
    sandbox.close()
    return {"peak_mib": max(0, peak - idle) / KIB, "slowest": slowest}


def one_stream(name: str, rounds: int, root: Path, jail: str) -> list[dict[str, Any]]:
    """Stream ``name`` measured in a fresh server process on the code at ``root``."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    result = subprocess.run([sys.executable, __file__, "--measure", name, "--rounds", str(rounds),
                             "--root", str(root), "--jail", jail], capture_output=True, text=True, env=env, cwd=root,
                            check=False)
    if result.returncode != 0:
        raise SystemExit(f"{name} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", nargs="*", choices=sorted(STREAMS), default=None)
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout whose server is measured")
    parser.add_argument("--jail", choices=("none", "bwrap"), default="none",
                        help="bwrap: real jails, the jail's CPU from its slot's cgroup (where the server paces "
                             "its reading by it); none: the snippet's own process time")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--two-at-once", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        sys.path.insert(0, str(args.root))
        print(json.dumps(measure(args.measure, args.rounds, args.jail)))
        return
    if args.two_at_once:
        sys.path.insert(0, str(args.root))
        print(json.dumps(measure_two_at_once(args.two_at_once)))
        return
    commit = subprocess.run(["git", "-C", str(args.root), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, check=False).stdout.strip() or str(args.root)
    source = "the jail's cgroup" if args.jail == "bwrap" else "the run's own process"
    print(f"server code: {commit}; {args.rounds} rounds each, medians; jail CPU from {source}")
    print(f"{'stream':22} {'jail CPU':>9} {'server CPU':>11} {'ratio':>7} {'peak':>9} {'answer':>10}  how it ended")
    worst_ratio, worst_peak = 0.0, 0.0
    for name in args.only or STREAMS:
        rows = one_stream(name, args.rounds, args.root, args.jail)
        jail = statistics.median(row["jail"] for row in rows)
        server = statistics.median(row["server"] for row in rows)
        peak = statistics.median(row["peak_mib"] for row in rows)
        answer = statistics.median(row["answer"] for row in rows)
        ratio = server / jail if jail else float("inf")
        worst_ratio, worst_peak = max(worst_ratio, ratio), max(worst_peak, peak)
        ended = f"{rows[-1]['status']} {','.join(rows[-1]['limits'])}".strip()
        print(f"{name:22} {jail * 1000:7.1f}ms {server * 1000:9.1f}ms {ratio:6.2f}x {peak:6.1f}MiB "
              f"{answer / KIB:8.1f}KiB  {ended}")
    print(f"worst ratio {worst_ratio:.2f}x (goal <= 2), worst peak {worst_peak:.1f} MiB above idle (goal <= 64)")
    if args.only is None or "brackets_32mib_line" in args.only:
        env = {**os.environ, "PYTHONPATH": str(args.root)}
        result = subprocess.run([sys.executable, __file__, "--two-at-once", "brackets_32mib_line", "--root",
                                 str(args.root)], capture_output=True, text=True, env=env, cwd=args.root, check=True)
        both = json.loads(result.stdout.strip().splitlines()[-1])
        print(f"two brackets_32mib_line runs at once: peak {both['peak_mib']:.1f} MiB above idle; "
              f"GET /api/examples meanwhile took at most {both['slowest'] * 1000:.0f} ms")


if __name__ == "__main__":
    main()
