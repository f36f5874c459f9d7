"""The sandbox's layers one by one: the seccomp filter (in force, failing
closed, not in the tracer's way), the named limits, admission, rate limits,
security headers and the health check."""

from __future__ import annotations

import textwrap
import threading
import time
from dataclasses import fields
from typing import Any

import pytest
from flask import Flask

from playground import create_app
from playground.sandbox.admission import Admission
from playground.sandbox.jail import Bubblewrap, JailCommand, Unsandboxed
from playground.sandbox.limits import LIMIT_MESSAGES, LIMIT_STATUS, NO_FILTER_MESSAGE, Limits, limit_message
from playground.sandbox.pythons import Python
from playground.sandbox.runner import run_snippet
from playground.sandbox.service import Sandbox
from playground.sandbox.stream import StreamParser
from playground.tracer.capture import MAX_LINE_CHARS, RecordedStream
from playground.web.headers import embeddable
from tests.support.jails import jail_processes
from tests.support.traces import printed

# The seccomp filter.

@pytest.fixture(scope="module")
def jail() -> Bubblewrap:
    return Bubblewrap()


def test_the_filter_is_in_force_and_the_tracer_still_works(jail: Bubblewrap) -> None:
    code = """
        import asyncio, ctypes, socket, threading
        PR_GET_SECCOMP = 21
        print("seccomp mode", ctypes.CDLL(None).prctl(PR_GET_SECCOMP, 0, 0, 0, 0))
        def work(n):
            return n * 2
        async def main():
            loop = asyncio.get_running_loop()
            print("to_thread", await asyncio.to_thread(work, 1))
            print("executor", await loop.run_in_executor(None, work, 2))
            results = await asyncio.gather(*(asyncio.to_thread(work, n) for n in range(10)))
            print("ten threads", sum(results))
            left, right = socket.socketpair()
            reader, writer = await asyncio.open_connection(sock=left)
            right.send(b"over unix\\n")
            print((await reader.readline()).decode().strip())
            writer.close()
        thread = threading.Thread(target=print, args=("plain thread",))
        thread.start()
        thread.join()
        asyncio.run(main())
    """
    trace = run_snippet(jail, textwrap.dedent(code), "real", Limits()).to_json()
    assert trace["status"] == "ok", trace["error"]
    assert printed(trace) == ["seccomp mode 2", "plain thread", "to_thread 2", "executor 4", "ten threads 90",
                              "over unix"]


class FilterRequired(Unsandboxed):
    """No jail, but a prelude that must install the filter, with libseccomp
    failing in the way ``failure`` says (code run before the fork server)."""

    seccomp = True

    def __init__(self, failure: str) -> None:
        super().__init__()
        self.failure = failure

    def command(self, slot: int, limits: Limits, python: Python) -> JailCommand:
        command = super().command(slot, limits, python)
        command.argv[-1] = self.failure + "\n" + command.argv[-1]
        return command


# Each replaces ctypes.CDLL, through which the filter reaches libseccomp and
# the kernel.
FAILURES = {
    "missing": textwrap.dedent("""
        import ctypes
        _real = ctypes.CDLL
        def _cdll(name, *args, **kwargs):
            if name and "seccomp" in str(name):
                raise OSError("no libseccomp here")
            return _real(name, *args, **kwargs)
        ctypes.CDLL = _cdll
    """),
    # The kernel refuses the compiled program (the seccomp system call fails).
    "load_fails": textwrap.dedent("""
        import ctypes
        _real = ctypes.CDLL
        class _Refusing:
            def __init__(self, library):
                self._library = library
            def __getattr__(self, name):
                found = getattr(self._library, name)
                if name != "syscall":
                    return found
                def syscall(number, *args):
                    if number == 317:  # seccomp
                        ctypes.set_errno(22)  # EINVAL
                        return -1
                    return found(number, *args)
                return syscall
        def _cdll(name, *args, **kwargs):
            library = _real(name, *args, **kwargs)
            return _Refusing(library) if name is None else library
        ctypes.CDLL = _cdll
    """),
}


@pytest.mark.parametrize("failure", list(FAILURES))
def test_without_the_filter_the_snippet_never_runs(failure: str) -> None:
    jail = FilterRequired(FAILURES[failure])
    trace = run_snippet(jail, "print('ran unfiltered')", "virtual", Limits()).to_json()
    assert trace["status"] == "crashed"
    assert "ran unfiltered" not in str(trace["output"])
    assert [e["message"] for e in trace["events"] if e["kind"] == "sandbox"] == [NO_FILTER_MESSAGE]
    assert any("seccomp" in line["text"] for line in trace["output"] if line["stream"] == "stderr")
    # The health check sees it and says why.
    sandbox = Sandbox(jail, Limits(), Admission(1, 1.0))
    assert NO_FILTER_MESSAGE in (sandbox.health() or "")


def test_unsandboxed_local_mode_runs_without_the_filter(run_trace: Any) -> None:
    trace = run_trace("import os\nprint(os.getpid() > 0)")
    assert trace["status"] == "ok" and printed(trace) == ["True"]


# The limits.

def test_every_limit_has_a_status_and_a_message_naming_its_value() -> None:
    # A full /tmp fails with ENOSPC whether its bytes or its files ran out,
    # so tmp_files is reported as tmp_bytes, whose message names both.
    named = {item.name for item in fields(Limits)} - {"code_bytes", "blocking_threshold", "tmp_files"}
    assert set(LIMIT_STATUS) == set(LIMIT_MESSAGES) == named
    odd = Limits(wall_seconds=7.5, cpu_seconds=3, memory_bytes=96 * 1024 * 1024, output_bytes=5 * 1024,
                 max_events=123, max_tasks=45, horizon_seconds=99, file_size_bytes=300 * 1024,
                 tmp_bytes=2 * 1024 * 1024, tmp_files=77, open_files=17, processes=9, channel_bytes=3 * 1024 * 1024,
                 max_rejected=5, answer_bytes=7 * 1024 * 1024, parse_cpu_ratio=1.5)
    shown = {"wall_seconds": "7.5 s", "cpu_seconds": "3 s", "memory_bytes": "96 MiB", "output_bytes": "5 KiB",
             "max_events": "123 events", "max_tasks": "45 tasks", "horizon_seconds": "99 s",
             "file_size_bytes": "300 KiB", "tmp_bytes": "2048 KiB of space, or its 77 files",
             "open_files": "17 open files", "processes": "9 processes", "channel_bytes": "3 MiB",
             "max_rejected": "5 bad messages", "answer_bytes": "7 MiB", "parse_cpu_ratio": "more than 1.5 times"}
    for name, template in LIMIT_MESSAGES.items():
        assert shown[name] in limit_message(template, odd), name


def test_a_long_line_is_wrapped_for_the_server() -> None:
    class Sink:
        def __init__(self) -> None:
            self.text = ""

        def write(self, stream: str, text: str) -> None:
            self.text += text

    sink = Sink()
    stream = RecordedStream(sink, "stdout")  # type: ignore[arg-type]
    source = ("a" * 9000 + "\n" + "b" * 10 + "\n") * 3 + "c" * 5000
    for start in range(0, len(source), 777):
        stream.write(source[start:start + 777])
    assert sink.text.replace("\n", "") == source.replace("\n", "")
    assert max(len(line) for line in sink.text.split("\n")) == MAX_LINE_CHARS
    assert sink.text.split("\n")[:4] == ["a" * 4000, "a" * 4000, "a" * 1000, "b" * 10]


# Admission (its own tests: test_admission.py).

def test_health_never_queues_behind_busy_jails(jail: Bubblewrap) -> None:
    sandbox = Sandbox(jail, Limits(), Admission(slots=1, wait_seconds=10))
    with sandbox.admission.slot():
        started = time.monotonic()
        assert sandbox.health() is None  # every slot runs code: jails start
        assert time.monotonic() - started < 0.5
    assert sandbox.health() is None
    assert jail_processes() == []
    assert sandbox.pool is not None and len(sandbox.pool.pids()) == 1  # the slot's next jail waits
    sandbox.close()
    assert jail_processes() == []


# Rate limits.

# A real-clock run that holds its slot a little over a second.
SECOND_LONG = {"code": "import time\ntime.sleep(1.1)", "clock": "real"}


def test_the_run_limit_counts_slot_seconds_per_client() -> None:
    app = create_app({"TESTING": True, "SANDBOX": "bwrap", "RATELIMIT_RUN_SECONDS": "1/minute"})
    client = app.test_client()
    assert client.post("/api/run", json={"code": "print(1)"}).status_code == 200  # costs the floor
    assert client.post("/api/run", json=SECOND_LONG).status_code == 200  # spends the second
    refused = client.post("/api/run", json={"code": "print(2)"})
    assert refused.status_code == 429
    error = refused.get_json()["error"]
    assert error["code"] == "rate_limited" and "1 s per minute" in error["message"]
    assert "try again" not in error["message"].lower()  # the page says when it tries again
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    other = client.post("/api/run", json={"code": "print(1)"}, environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.get("/api/examples").status_code == 200


def test_cached_answers_do_not_count_against_the_run_limit() -> None:
    app = create_app({"TESTING": True, "SANDBOX": "bwrap", "RATELIMIT_RUN_SECONDS": "1/minute"})
    client = app.test_client()
    first = client.post("/api/run", json={"code": "print('cached')"})
    assert first.status_code == 200 and first.get_json()["cached"] is False
    # Counted at the floor (20 ms) each, these would pass the second.
    for _ in range(60):
        again = client.post("/api/run", json={"code": "print('cached')"})
        assert again.status_code == 200 and again.get_json()["cached"] is True
    assert client.post("/api/run", json=SECOND_LONG).status_code == 200
    # The second is spent: a new run waits, the cached answer does not.
    assert client.post("/api/run", json={"code": "print('new')"}).status_code == 429
    assert client.post("/api/run", json={"code": "print('cached')"}).get_json()["cached"] is True


def test_answers_shared_with_another_requests_run_do_not_count() -> None:
    app = create_app({"TESTING": True, "SANDBOX": "bwrap", "RATELIMIT_RUN_SECONDS": "1/minute"})
    # Half a second of real time on the virtual clock (a blocking step): cached, and long enough to share.
    shared = {"code": "import time\ntime.sleep(0.5)\nprint('shared')"}
    answers: list[Any] = []

    def ask() -> None:
        answers.append(app.test_client().post("/api/run", json=shared).get_json())

    readers = [threading.Thread(target=ask) for _ in range(40)]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join(60)
    assert len(answers) == 40 and sorted(answer["cached"] for answer in answers) == [False] + [True] * 39
    # One run's half second (and its floor) counted; 39 more floors would pass the second.
    assert app.test_client().post("/api/run", json={"code": "print('fresh')"}).status_code == 200


def test_url_mode_has_its_own_rate_limit() -> None:
    app = create_app({"TESTING": True, "SANDBOX": "bwrap", "RATELIMIT_FETCH": "1/minute"})
    client = app.test_client()
    # A refused URL costs no network, and still counts as a run.
    first = client.post("/api/fetch", json={"urls": ["http://10.0.0.1/"]})
    assert first.status_code == 200 and first.get_json()["tasks"][0]["http"]["error"]
    refused = client.post("/api/fetch", json={"urls": ["http://10.0.0.1/"]})
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    assert client.post("/api/run", json={"code": "print(1)"}).status_code == 200


def test_behind_a_trusted_proxy_the_client_address_counts() -> None:
    app = create_app({"TESTING": True, "SANDBOX": "bwrap", "RATELIMIT_RUN_SECONDS": "1/minute",
                      "TRUSTED_PROXIES": 1})
    client = app.test_client()

    def run(address: str) -> int:
        return client.post("/api/run", json=SECOND_LONG, headers={"X-Forwarded-For": address}).status_code

    assert run("198.51.100.1") == 200
    assert run("198.51.100.2") == 200
    assert run("198.51.100.1") == 429


# Headers.

def test_only_embed_pages_may_be_framed() -> None:
    app: Flask = create_app({"TESTING": True, "SANDBOX": "bwrap", "EMBED_FRAME_ANCESTORS": "https://docs.example"})

    @app.get("/embed-test")
    @embeddable
    def embed_test() -> str:
        return "embedded"

    client = app.test_client()
    for path in ("/", "/api/examples", "/api/nothing", "/healthz", "/static/style.css"):
        response = client.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp, path
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"
    embed = client.get("/embed-test")
    assert "frame-ancestors https://docs.example" in embed.headers["Content-Security-Policy"]
    assert "script-src 'self'" in embed.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in embed.headers
    assert embed.headers["X-Content-Type-Options"] == "nosniff"


def test_a_run_stopped_at_a_limit_shows_the_time_it_ran(jail: Bubblewrap) -> None:
    """Its timeline runs to the moment it was stopped, not to its last event."""
    trace = run_snippet(jail, textwrap.dedent("""
        import asyncio
        print("waiting")
        asyncio.run(asyncio.sleep(60))
    """), "real", Limits(wall_seconds=1.5)).to_json()
    assert trace["status"] == "timeout"
    # Its last event came at 0 s; its clock started after the jail did, later
    # on a busy machine (tests/tracer/test_threads.py saw 1.12 s of 1.5 there).
    assert 0.75 <= trace["duration"] <= trace["wall"] + 0.05
    [limit] = [event for event in trace["events"] if event["kind"] == "limit"]
    assert limit["t"] == trace["duration"]


def test_a_server_behind_on_a_big_trace_still_reads_how_the_run_ended(monkeypatch: pytest.MonkeyPatch) -> None:
    """The run exits with a backlog of trace in its pipe that the server
    (slowed here, as on a loaded machine) takes seconds to read: it reads on
    until the pipe is empty, not a fixed half second after the exit."""
    feed = StreamParser.feed

    def slow_feed(self: StreamParser, data: bytes) -> None:
        time.sleep(0.15)
        feed(self, data)

    monkeypatch.setattr(StreamParser, "feed", slow_feed)
    code = """
        import asyncio
        async def work(i):
            await asyncio.sleep(0)
        async def main():
            await asyncio.gather(*(work(i) for i in range(5000)))
        asyncio.run(main())
        print("all done")
    """
    trace = run_snippet(Unsandboxed(), textwrap.dedent(code), "virtual", Limits())
    assert trace.status == "ok" and [line.text for line in trace.output] == ["all done"]
    assert len(trace.tasks) == 5001
