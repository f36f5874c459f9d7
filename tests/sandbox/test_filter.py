"""The system-call filter is an allow-list, through real bubblewrap: a call
it never heard of is refused with EPERM (never a dead run), and what people's
asyncio code uses still works under it: the examples, the test suite's
snippets, and a smoke test of the standard library."""

from __future__ import annotations

import ast
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest

from playground.sandbox.jail import Bubblewrap, Unsandboxed
from playground.sandbox.limits import Limits
from playground.sandbox.runner import run_snippet
from playground.sharing.examples import EXAMPLES
from tests.support import ROOT
from tests.support.pythonruns import PYTHON_IDS, jail_on
from tests.support.traces import printed

# Newer than the filter's first (deny-list) version knew: each reached the
# kernel, and listmount/statmount named the jail's mounts and the host's
# devices. x86-64 numbers.
NEWER_SYSCALLS = {
    "process_madvise": 440, "quotactl_fd": 443, "cachestat": 451, "statmount": 457, "listmount": 458,
    "lsm_get_self_attr": 459, "open_tree_attr": 467, "file_getattr": 468,
    # numbers no kernel has yet
    "future_500": 500, "future_1000": 1000,
}


@pytest.fixture(scope="module", params=PYTHON_IDS)
def jail(request: pytest.FixtureRequest) -> Bubblewrap:
    """A jail of each Python: each has its own C library and calls of its own."""
    return jail_on(request.param)


def jailed(jail: Bubblewrap, code: str, clock: str = "virtual") -> dict[str, Any]:
    return run_snippet(jail, textwrap.dedent(code), clock, Limits()).to_json()  # type: ignore[arg-type]


def test_system_calls_the_filter_does_not_know_are_refused(jail: Bubblewrap) -> None:
    trace = jailed(jail, f"""
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        for name, number in {NEWER_SYSCALLS!r}.items():
            result = libc.syscall(ctypes.c_long(number), *[ctypes.c_long(0)] * 5)
            print(name, result, ctypes.get_errno())
        print("still running")
    """)
    assert trace["status"] == "ok"
    assert printed(trace) == [f"{name} -1 1" for name in NEWER_SYSCALLS] + ["still running"]


@pytest.mark.parametrize(("what", "code", "expected"), [
    ("inotify", "import ctypes; libc = ctypes.CDLL(None, use_errno=True)\n"
                "print(libc.inotify_init(), ctypes.get_errno())", "-1 1"),
    ("flock", "import fcntl, os\nf = open(os.__file__)\n"
              "try:\n    fcntl.flock(f, fcntl.LOCK_SH)\nexcept OSError as e:\n    print(e.errno)", "1"),
    ("fcntl_lock", "import fcntl, os\nf = open(os.__file__)\n"
                   "try:\n    fcntl.lockf(f, fcntl.LOCK_SH)\nexcept OSError as e:\n    print(e.errno)", "1"),
    ("sysinfo", "import ctypes; libc = ctypes.CDLL(None, use_errno=True)\n"
                "print(libc.sysinfo(ctypes.create_string_buffer(256)), ctypes.get_errno())", "-1 1"),
    ("shm", "import ctypes; libc = ctypes.CDLL(None, use_errno=True)\n"
            "print(libc.shmget(0, 1 << 20, 0o1600), ctypes.get_errno())", "-1 1"),
    ("memfd", "import os\ntry:\n    os.memfd_create('x')\nexcept OSError as e:\n    print(e.errno)", "1"),
    ("prlimit_of_init", "import resource\ntry:\n    resource.prlimit(1, resource.RLIMIT_NOFILE, (1, 1))\n"
                        "except OSError as e:\n    print(e.errno)", "1"),
    ("renice_init", "import ctypes; libc = ctypes.CDLL(None, use_errno=True)\n"
                    "print(libc.setpriority(0, 1, 19), ctypes.get_errno())", "-1 1"),
])
def test_what_would_reach_another_run_or_the_init_is_refused(jail: Bubblewrap, what: str, code: str,
                                                             expected: str) -> None:
    trace = jailed(jail, code)
    assert trace["status"] == "ok", trace["error"]
    assert printed(trace) == [expected], what


def test_the_examples_run_under_the_filter(jail: Bubblewrap) -> None:
    # Those that use the network run in a jail too, against a loopback
    # server, in tests/egress/test_gallery_network.py.
    python = jail.pythons.get(None).id
    for example in [example for example in EXAMPLES if example.url is None and example.runs_on(python)]:
        clock = "real" if example.name == "fetch" else "virtual"
        trace = jailed(jail, example.code, clock)
        assert trace["status"] == "ok", (example.name, trace["error"])
        assert "Operation not permitted" not in str(trace["output"]), example.name


def suite_snippets() -> Iterator[tuple[str, str]]:
    """The asyncio snippets the tracer's tests run, as written there."""
    for path in sorted((ROOT / "tests" / "tracer").glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and "import asyncio" in node.value:
                code = textwrap.dedent(node.value)
                try:
                    compile(code, "<snippet>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
                except SyntaxError:
                    continue  # a docstring that names asyncio, or a snippet that is meant to fail
                yield f"{path.name}:{node.lineno}", code


def test_the_suites_snippets_end_alike_with_and_without_the_filter(jail: Bubblewrap) -> None:
    if jail.pythons.get(None).minor != sys.version_info[:2]:
        # The unfiltered run is the server's own Python (no jail): the
        # snippets of the tracer's tests differ between versions on purpose.
        pytest.skip("compared on the server's Python only")
    snippets = list(suite_snippets())
    assert len(snippets) > 30
    different = []
    for name, code in snippets:
        free = run_snippet(Unsandboxed(), code, "virtual", Limits()).to_json()
        filtered = jailed(jail, code)
        if (ending(filtered["status"]), filtered["error"] and filtered["error"]["type"]) != (
                ending(free["status"]), free["error"] and free["error"]["type"]):
            different.append((name, free["status"], filtered["status"], filtered["error"]))
    assert different == []


def ending(status: str) -> str:
    """How a run ended, as far as the filter could change it: a loop that
    never ends meets the CPU limit or the wall-clock one first as the
    machine's load goes, not as the filter does."""
    return "stopped in time" if status in ("cpu_limit", "timeout") else status


STDLIB_SMOKE = """
import asyncio, bz2, collections, concurrent.futures, contextvars, csv, dataclasses, datetime, decimal
import fractions, functools, gzip, hashlib, heapq, io, itertools, json, logging, lzma, math, mmap, os
import pathlib, pickle, queue, random, re, secrets, selectors, shutil, signal, socket, sqlite3
import statistics, string, struct, tempfile, textwrap, threading, time, unicodedata, uuid, zlib
import ctypes, platform, locale

checks = {}
path = pathlib.Path(tempfile.mkdtemp()) / "data.json"
path.write_text(json.dumps({"a": [1, 2, 3]}))
shutil.copy(path, path.with_suffix(".bak"))
checks["files"] = sorted(p.name for p in path.parent.iterdir())
checks["compress"] = [len(m.decompress(m.compress(b"x" * 1000))) for m in (zlib, gzip, bz2, lzma)]
checks["hash"] = hashlib.sha256(b"abc").hexdigest()[:8]
db = sqlite3.connect(":memory:")
db.execute("create table t (x)")
db.executemany("insert into t values (?)", [(i,) for i in range(5)])
checks["sqlite"] = db.execute("select sum(x) from t").fetchone()[0]
with concurrent.futures.ThreadPoolExecutor(4) as pool:
    checks["threads"] = sum(pool.map(abs, range(-5, 0)))
anonymous = mmap.mmap(-1, 4096)
anonymous.write(b"mapped")
checks["mmap"] = anonymous[:6]
checks["cpu_count"] = os.cpu_count() is not None
checks["uuid"] = len(str(uuid.uuid4()))
checks["decimal"] = str(decimal.Decimal("1.1") + decimal.Decimal("2.2"))
checks["statistics"] = statistics.mean([1, 2, 3, 4])
checks["pickle"] = pickle.loads(pickle.dumps({"k": (1, 2)}))
checks["platform"] = platform.python_version().startswith("3.")
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
logging.info("logged")
left, right = socket.socketpair()
left.sendall(b"ping")
checks["socketpair"] = right.recv(4)
checks["nice"] = os.nice(0) >= 0
checks["affinity"] = len(os.sched_getaffinity(0)) > 0
checks["rlimit"] = resource_ok = __import__("resource").getrlimit(__import__("resource").RLIMIT_NOFILE)[0] > 0

async def main():
    loop = asyncio.get_running_loop()
    reader, writer = await asyncio.open_connection(sock=left)
    right.sendall(b"line\\n")
    checks["stream"] = await reader.readline()
    checks["to_thread"] = await asyncio.to_thread(sum, [1, 2, 3])
    checks["executor"] = await loop.run_in_executor(None, max, 4, 9)
    queue_ = asyncio.Queue()
    await queue_.put(1)
    checks["queue"] = await queue_.get()
    writer.close()

asyncio.run(main())
for name, value in checks.items():
    print(name, value)
"""


def test_the_standard_library_works_under_the_filter(jail: Bubblewrap) -> None:
    trace = jailed(jail, STDLIB_SMOKE, "real")
    assert trace["status"] == "ok", trace["error"]
    lines = dict(line.split(" ", 1) for line in printed(trace))
    assert lines == {
        "files": "['data.bak', 'data.json']", "compress": "[1000, 1000, 1000, 1000]", "hash": "ba7816bf",
        "sqlite": "10", "threads": "15", "mmap": "b'mapped'", "cpu_count": "True", "uuid": "36",
        "decimal": "3.3", "statistics": "2.5", "pickle": "{'k': (1, 2)}", "platform": "True",
        "socketpair": "b'ping'", "nice": "True", "affinity": "True", "rlimit": "True", "stream": "b'line\\n'",
        "to_thread": "6", "executor": "9", "queue": "1",
    }
    assert [line["text"] for line in trace["output"] if line["stream"] == "stderr"] == ["INFO logged"]
