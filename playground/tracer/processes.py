"""Child processes of a run: programs it starts and processes it forks.

Installed by the prelude (``child_processes.install``) before the snippet:

* every program started through ``subprocess.Popen`` (so ``subprocess.run``,
  ``asyncio.create_subprocess_exec`` and ``_shell``) is told to the server as
  it starts (``protocol.CHILD_START``: its pid, argv, the task and snippet
  line that started it) and as its end is learned (``protocol.CHILD``: when
  ``wait``/``poll`` reaps it, or when asyncio's child watcher tells the loop);
* a program the playground does not have raises ``FileNotFoundError`` whose
  message names the ones it has (``protocol.PROGRAMS``), errno and filename
  kept;
* before the first child, descriptors 1 and 2 become pipes the tracer reads
  (:mod:`playground.tracer.childoutput`), so what children print is the
  run's output, in time;
* a process forked from the run (``os.fork``, multiprocessing's fork and
  forkserver workers) drops the tracer: it never writes into the event
  stream (its descriptor is closed, the recorder made inert), its ``print``
  goes to its stdout, its ``time.sleep`` really sleeps;
* process pools (:mod:`playground.tracer.pools`).
"""

from __future__ import annotations

import _posixsubprocess
import asyncio
import functools
import io
import os
import subprocess
import sys
import threading
import weakref
from asyncio.base_subprocess import BaseSubprocessTransport
from typing import Any

from . import protocol
from .childoutput import ChildOutput, ReaderThread
from .loop import executor_work
from .pools import ProcessPools
from .recorder import Recorder
from .waits import snippet_line

# Children told to the server at most; more still run.
MAX_CHILDREN_TOLD = 1000
# Of a child's argv, the arguments and characters told.
MAX_ARGV = 32
MAX_ARG_CHARS = 200
MISSING_PROGRAM = "No such file or directory (the playground has only these programs: {programs})"
_CHILD = "_playground_child"


def _argv(args: Any, shell: bool) -> list[str]:
    """What a child was started with, as text, within the caps."""
    listed = [args] if isinstance(args, str | bytes | os.PathLike) else list(args)
    argv = [os.fsdecode(arg) if isinstance(arg, bytes | os.PathLike) else str(arg) for arg in listed]
    if shell:
        argv = ["/bin/sh", "-c", *argv]
    return [arg[:MAX_ARG_CHARS] for arg in argv[:MAX_ARGV]]


class ChildProcesses:
    def __init__(self) -> None:
        self._recorder: Recorder | None = None
        self.output: ChildOutput | None = None
        self.pools = ProcessPools()
        self._told = 0
        self._open: dict[int, weakref.ref[subprocess.Popen[Any]]] = {}
        self._lock = threading.Lock()
        self._sandboxed = False

    def install(self, recorder: Recorder, sandboxed: bool) -> None:
        self._recorder = recorder
        self._sandboxed = sandboxed
        self.output = ChildOutput(recorder)
        os.set_inheritable(recorder.channel.fd, False)  # no program a run starts gets the event stream
        executor_work.quiet_types = (*executor_work.quiet_types, ReaderThread)  # it only tells the recorder
        self._patch_popen()
        self._patch_spawners()
        os.register_at_fork(before=self._before_fork, after_in_child=self._in_child)
        self.pools.install(recorder, self.output)

    def _patch_popen(self) -> None:
        execute_child = subprocess.Popen._execute_child  # type: ignore[attr-defined]
        handle_exitstatus = subprocess.Popen._handle_exitstatus  # type: ignore[attr-defined]
        process_exited = BaseSubprocessTransport._process_exited
        children = self

        @functools.wraps(execute_child)
        def traced_execute_child(popen: Any, args: Any, executable: Any, preexec_fn: Any, close_fds: Any,
                                 pass_fds: Any, cwd: Any, env: Any, startupinfo: Any, creationflags: Any,
                                 shell: Any, *rest: Any) -> None:
            children.before_child()
            try:
                execute_child(popen, args, executable, preexec_fn, close_fds, pass_fds, cwd, env, startupinfo,
                              creationflags, shell, *rest)
            except FileNotFoundError as exc:
                children.missing_program(exc, cwd)
            children.started(popen, _argv(args, bool(shell)), sys._getframe(1))

        @functools.wraps(handle_exitstatus)
        def traced_handle_exitstatus(popen: Any, *args: Any, **kwargs: Any) -> None:
            handle_exitstatus(popen, *args, **kwargs)
            children.ended(popen, popen.returncode)

        @functools.wraps(process_exited)
        def traced_process_exited(transport: Any, returncode: int) -> None:
            children.ended(getattr(transport, "_proc", None), returncode)
            process_exited(transport, returncode)

        subprocess.Popen._execute_child = traced_execute_child  # type: ignore[attr-defined]
        subprocess.Popen._handle_exitstatus = traced_handle_exitstatus  # type: ignore[attr-defined]
        BaseSubprocessTransport._process_exited = traced_process_exited  # type: ignore[method-assign,assignment]

    def _patch_spawners(self) -> None:
        """What starts a child without ``Popen``: multiprocessing's spawn and
        forkserver (``_posixsubprocess.fork_exec``), ``os.system``,
        ``os.posix_spawn``; ``os.fork`` has the at-fork hooks."""
        for module, name in ((_posixsubprocess, "fork_exec"), (os, "system"), (os, "posix_spawn"),
                             (os, "posix_spawnp")):
            original = getattr(module, name)

            def spawner(*args: Any, _original: Any = original, _waits: bool = name == "system",
                        **kwargs: Any) -> Any:
                self.before_child()
                result = _original(*args, **kwargs)
                if _waits and self.output is not None:
                    # os.system returns once its child ended: what it printed comes first.
                    self.output.drain()
                return result

            setattr(module, name, functools.wraps(original)(spawner))
        for name in ("execv", "execve"):  # os.execl, execlp, execvp... call these
            original = getattr(os, name)

            def replacing(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
                self.before_exec()
                return _original(*args, **kwargs)

            setattr(os, name, functools.wraps(original)(replacing))

    def before_child(self) -> None:
        """A child is about to start: its output will be the run's, after
        everything the run printed so far."""
        recorder = self._recorder
        if recorder is None or self.output is None:
            return
        self.output.ensure()
        if recorder.enabled and threading.get_ident() == recorder._loop_thread:
            recorder.flush()

    def before_exec(self) -> None:
        """The run is about to become another program: what it printed goes
        out first, and the program writes where the run's crash report would."""
        recorder = self._recorder
        if recorder is not None:
            recorder.stop_sampling()  # an interval timer outlives exec, and SIGPROF would kill the program
            if recorder.enabled and threading.get_ident() == recorder._loop_thread:
                recorder.flush()
        if self.output is not None:
            self.output.give_back()

    def missing_program(self, exc: FileNotFoundError, cwd: Any) -> None:
        """A program the playground lacks: say which it has."""
        if not self._sandboxed or exc.filename is None or (cwd is not None and exc.filename == cwd):
            raise exc
        message = MISSING_PROGRAM.format(programs=", ".join(protocol.PROGRAMS))
        raise FileNotFoundError(exc.errno, message, exc.filename) from None

    def started(self, popen: Any, argv: list[str], caller: Any) -> None:
        recorder = self._recorder
        if recorder is None or not recorder.enabled:
            return
        with self._lock:
            if self._told >= MAX_CHILDREN_TOLD:
                return
            self._told += 1
            number = self._told
            self._open[number] = weakref.ref(popen)
        setattr(popen, _CHILD, number)
        task = recorder.current if recorder.stepping_here() else None
        recorder.channel.send_now(protocol.CHILD_START, number, popen.pid, argv, task, recorder.clock.now_ns(),
                                  snippet_line(caller))

    def ended(self, popen: Any, returncode: int | None) -> None:
        """A child's end, as the run learned it: what it printed first."""
        number = getattr(popen, _CHILD, None)
        recorder = self._recorder
        if number is None or recorder is None:
            return
        setattr(popen, _CHILD, None)
        with self._lock:
            self._open.pop(number, None)
        if self.output is not None:
            self.output.drain()
        recorder.channel.send_now(protocol.CHILD, number, recorder.clock.now_ns(), returncode)

    def _before_fork(self) -> None:
        self.before_child()

    def _in_child(self) -> None:
        """In a process forked from the run: no tracer."""
        recorder = self._recorder
        if recorder is None:
            return
        recorder.enabled = False
        recorder.channel.broken = True
        try:
            os.close(recorder.channel.fd)
        except OSError:
            pass
        self._recorder = None
        if self.output is not None:
            self.output.forget_in_child()
        recorder.clock.on_sleep = None
        recorder.clock._thread = 0  # no thread is the loop's: time.sleep really sleeps
        sys.stdout = _text_stream(1)
        sys.stderr = _text_stream(2)
        asyncio.set_event_loop_policy(None)
        self.pools.forget_in_child()

    def finish(self) -> None:
        """The run ends: the ends of children reaped meanwhile, their last output."""
        for ref in list(self._open.values()):
            popen = ref()
            if popen is not None and popen.returncode is None:
                try:
                    popen.poll()
                except Exception:  # the child is the snippet's: whatever it did to it
                    pass
        if self.output is not None:
            self.output.finish()


def _text_stream(fd: int) -> io.TextIOWrapper:
    return io.TextIOWrapper(io.FileIO(fd, "w", closefd=False), encoding="utf-8", errors="backslashreplace",
                            line_buffering=True)


child_processes = ChildProcesses()
