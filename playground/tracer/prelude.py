"""The trusted start of every run, inside the jail, before the snippet.

The fork server (:mod:`playground.tracer.forkserver`) imports this module
once and calls ``get_ready``; each run is a process forked from it, which
calls ``serve_one``: it says ``READY`` on standard output, so a run can be
set up ahead of time and wait, warm, for its snippet. Then it reads the
settings and the snippet from standard input, sets the resource limits,
installs the tracer (clock, loop policy, output capture, warnings) and the
system-call filter, runs the snippet as ``__main__`` and reports how it
ended. Nothing of the snippet exists before the limits and the filter are in
force, however long the run waited. ``serve_one`` never returns.
"""

from __future__ import annotations

import ast
import asyncio
import builtins
import faulthandler
import gc
import inspect
import json
import linecache
import os
import resource
import sys
import threading
import types
import warnings
from typing import Any, NoReturn

from . import network, protocol, seccomp_filter
from .capture import RecordedStream
from .channel import Channel
from .clock import Clock
from .eager import patch_factories
from .errors import describe, explain
from .loop import TracedTask, TracingPolicy, executor_work, trace_yields, track_timeouts
from .processes import child_processes
from .protocol import ProtocolError, ResourceLimits, RunSettings
from .recorder import Recorder

_RLIMITS = {
    "cpu_seconds": resource.RLIMIT_CPU,
    "memory_bytes": resource.RLIMIT_AS,
    "file_size_bytes": resource.RLIMIT_FSIZE,
    "open_files": resource.RLIMIT_NOFILE,
    "processes": resource.RLIMIT_NPROC,
}


# Small enough that the process limit, not the memory limit, stops a thread
# bomb (the default, 8 MiB of address space each, would spend the memory
# limit on a few dozen threads); deep enough for the recursion limit.
THREAD_STACK_BYTES = 2 * 1024 * 1024


def set_limits(limits: ResourceLimits) -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    threading.stack_size(THREAD_STACK_BYTES)
    for name, number in _RLIMITS.items():
        value = getattr(limits, name)
        if value is None:
            continue
        if name == "cpu_seconds":
            # The soft limit sends SIGXCPU; the hard one a second later SIGKILL.
            resource.setrlimit(number, (value, value + 1))
        else:
            resource.setrlimit(number, (value, value))


class Run:
    """One snippet's run: owns the recorder and decides how the run ended."""

    def __init__(self, settings: RunSettings, source: str) -> None:
        self.source = source
        self.sandboxed = settings.seccomp
        self.clock = Clock(
            virtual=settings.clock == "virtual",
            horizon=settings.horizon_seconds,
            on_horizon=self.end_at_horizon,
        )
        self.recorder = Recorder(
            self.clock,
            Channel(settings.events_fd),
            blocking_threshold=settings.blocking_threshold,
            max_events=settings.max_events,
        )

    def install(self) -> None:
        # A crash (say, a segfault through ctypes) prints the snippet's
        # frames on the jail's raw stderr, which the server shows.
        faulthandler.enable(file=2)
        recorder = self.recorder
        recorder.channel.send(protocol.START, "virtual" if self.clock.virtual else "real")
        self.clock.on_sleep = recorder.sleep_called
        self.clock.install()
        asyncio.set_event_loop_policy(TracingPolicy(recorder, self.end_in_deadlock))
        track_timeouts(recorder)
        trace_yields(recorder)
        patch_factories(TracedTask)
        executor_work.install(recorder)
        self.network = network.install(recorder)
        child_processes.install(recorder, self.sandboxed)
        recorder.start_sampling()
        sys.stdout = RecordedStream(recorder, "stdout")
        sys.stderr = RecordedStream(recorder, "stderr")
        warnings.showwarning = self.show_warning
        warnings.simplefilter("default")
        linecache.cache[protocol.SNIPPET_FILENAME] = (
            len(self.source),
            None,
            self.source.splitlines(True),
            protocol.SNIPPET_FILENAME,
        )

    def show_warning(self, message: Warning | str, category: type[Warning], filename: str,
                     lineno: int, file: Any = None, line: str | None = None) -> None:
        at = lineno if filename == protocol.SNIPPET_FILENAME else None
        text = str(message)
        if category is RuntimeWarning and text.endswith("was never awaited"):
            self.recorder.event(
                "never_awaited",
                f"{text}: calling an async function only makes a coroutine; "
                "await it, or pass it to asyncio.create_task() to run it",
                self.recorder.current,
                at,
            )
            return
        self.recorder.event("warning", f"{category.__name__}: {message}", self.recorder.current, at)

    def execute(self) -> tuple[str, dict[str, Any] | None]:
        try:
            code = compile(self.source, protocol.SNIPPET_FILENAME, "exec",
                           flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
        except (SyntaxError, ValueError) as exc:
            return "error", describe(exc, self.source)
        namespace = self.become_main()
        self.clock.restart()
        try:
            if code.co_flags & inspect.CO_COROUTINE:
                asyncio.run(eval(code, namespace))
            else:
                exec(code, namespace)
        except SystemExit as exc:
            if exc.code in (None, 0):
                return "ok", None
            return "error", describe(exc, self.source)
        except MemoryError as exc:
            return "memory_limit", describe(exc, self.source)
        except BaseException as exc:
            error = describe(exc, self.source)
            meaning = explain(exc)
            if meaning is not None:
                self.recorder.event("hint", meaning, None, error["line"])
            return "error", error
        self.hint_if_nothing_ran(namespace)
        return "ok", None

    def become_main(self) -> dict[str, Any]:
        """Look like ``python3 main.py``: the snippet's file in the working
        directory, ``sys.argv`` and ``__file__`` naming it, and a real
        ``__main__`` module (so pickle, dataclasses and typing find it)."""
        try:
            with open(protocol.SNIPPET_FILENAME, "w", encoding="utf-8", errors="surrogateescape") as file:
                file.write(self.source)
        except OSError:
            pass  # a full /tmp: the snippet still runs, from memory
        sys.argv = [protocol.SNIPPET_FILENAME]
        module = types.ModuleType("__main__")
        module.__file__ = protocol.SNIPPET_FILENAME
        module.__builtins__ = builtins  # type: ignore[attr-defined]
        sys.modules["__main__"] = module
        return module.__dict__

    def hint_if_nothing_ran(self, namespace: dict[str, Any]) -> None:
        main = namespace.get("main")
        if self.recorder.loops_started == 0 and inspect.iscoroutinefunction(main):
            self.recorder.event(
                "hint",
                "The snippet defines async def main() but never runs it: "
                "add asyncio.run(main()) at the end.",
            )

    def end(self, status: str, error: dict[str, Any] | None = None) -> NoReturn:
        # Let asyncio report tasks whose exception was never retrieved.
        gc.collect()
        self.network.connections.finish()
        child_processes.finish()
        self.recorder.finish(status, error)
        os._exit(0)

    def end_in_deadlock(self, loop: asyncio.AbstractEventLoop) -> NoReturn:
        for task_id, name, on, line in self.recorder.pending_tasks(loop):
            waiting = f" on {on}" if on else ""
            self.recorder.event("deadlock", f"{name} waits forever{waiting}", task_id, line)
        self.end("deadlock")

    def end_at_horizon(self, message: str) -> NoReturn:
        self.recorder.event("limit", message)
        self.end("timeout")


def read_input() -> tuple[RunSettings, str]:
    """The settings and the snippet; a settings line that breaks the
    protocol ends the run before anything of the snippet exists."""
    stdin = sys.stdin.buffer
    try:
        settings = RunSettings.from_json(json.loads(stdin.readline(protocol.MAX_SETTINGS_BYTES)))
    except (ValueError, ProtocolError) as exc:
        os.write(2, f"playground: the run's settings broke the protocol: {exc}\n".encode("utf-8", "replace"))
        os._exit(protocol.EXIT_BAD_SETTINGS)
    source = stdin.read(protocol.MAX_SOURCE_BYTES).decode("utf-8", "replace")
    return settings, source


def get_ready() -> Any:
    """What the fork server does before any run: build the filter (loaded
    only later, in each run), and move every object the imports made out of
    the garbage collector's sight, so the collection at the end of a run
    walks the snippet's objects only and forked runs share those pages.
    Then tell the server the jail is warm."""
    prepared = seccomp_filter.prepare()
    gc.freeze()
    os.write(1, protocol.READY)
    return prepared


def warm_up() -> None:
    """Run an event loop with no task once, before the snippet arrives. A forked
    run shares the fork server's memory until it writes to it, and its
    first writes (reference counts, mostly) copy pages: done here, while the
    run waits, rather than in the snippet's first steps, where the virtual
    clock would count them."""
    loop = asyncio.new_event_loop()
    done = loop.create_future()  # no task: the snippet's get the first names
    loop.call_soon(done.set_result, None)
    loop.run_until_complete(done)
    loop.close()


def serve_one(prepared: Any) -> NoReturn:
    """One run, in a process of its own (see tracer.forkserver): say it is
    ready, wait for the snippet, then limits, tracer, filter, snippet."""
    warm_up()
    os.write(1, protocol.READY)
    settings, source = read_input()
    set_limits(settings.limits)
    run = Run(settings, source)
    run.install()
    seccomp_filter.install(required=settings.seccomp, prepared=prepared[settings.strict], strict=settings.strict)
    status, error = run.execute()
    run.end(status, error)
