"""Process pools in a run: ``concurrent.futures.ProcessPoolExecutor`` (and
``loop.run_in_executor`` with one) and ``multiprocessing.Pool``.

* A pool gets at most ``protocol.MAX_POOL_WORKERS`` worker processes: one
  asked for more gets that many, and a ``warning`` event says so (a pool
  left to its default gets the machine's cores, up to the same).
* Each call a ``ProcessPoolExecutor`` runs is a job of the trace
  (``protocol.JOB_START`` and ``JOB``, as a thread pool's), on a lane named
  ``process <pid>``: the call is wrapped in a ``TimedCall``
  (:mod:`playground.tracer.timedcall`), the worker sends its times back with
  the result, and the pool's manager thread, which receives it, tells the
  job converted to the run's clock (``CLOCK_MONOTONIC`` is every process's),
  then hands the snippet the unwrapped result.
* While such a call is pending, the loop counts it as work that can still
  wake it (``ExecutorWork.pending``), so the virtual clock waits for it in
  real time rather than jumping over it; the pool's own threads, idle or
  not, do not keep the clock waiting.

None of this costs a run that uses no pool: the pools' modules are patched
as the snippet first imports them (``AfterImport``), never imported ahead.
"""

from __future__ import annotations

import functools
import os
import resource
import select
import signal
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from types import ModuleType
from typing import Any

from . import protocol
from .childoutput import ChildOutput
from .loop import executor_work, task_label_of_callable
from .recorder import Recorder
from .timedcall import TIMES_ATTRIBUTE, TimedCall, TimedResult, Times
from .waits import snippet_line

POOL_CLAMPED = ("{pool}({asked}): the playground runs at most {most} worker processes, "
                "so this pool has {most}.")
WORKER_OUT_OF_CPU = ("A worker process of the pool used up its {cpu_seconds} s of CPU time (each process of the "
                     "run has that much) and was ended, which broke the pool. Look for a loop that computes "
                     "without end.")
WORKER_KILLED = "A worker process of the pool was ended {how}, which broke the pool."
# How long to wait for a worker that died to be reaped, for its exit code.
REAP_SECONDS = 0.5
# A submitted call told: its job number, function, task and snippet line.
Submitted = tuple[int, str, "int | None", "int | None"]


def _label(fn: Any) -> str:
    """The function a pool runs: ``executor.map``'s chunks name the mapped one."""
    inner = getattr(fn, "func", None)
    if getattr(inner, "__qualname__", None) == "_process_chunk" and getattr(fn, "args", None):
        return task_label_of_callable(fn.args[0])
    return task_label_of_callable(fn)


def _exit_code(process: Any) -> int | None:
    """A pool worker's exit code; for one that just died (its sentinel is
    ready) but is not reaped yet, once it is."""
    code: int | None = process.exitcode
    if code is None and select.select([process.sentinel], [], [], 0)[0]:
        process.join(REAP_SECONDS)
        code = process.exitcode
    return code


class AfterImport:
    """A finder on ``sys.meta_path`` that calls ``hooks[name](module)`` once
    the module ``name`` is imported (and at once when it already is); every
    other import only costs it a dictionary lookup."""

    def __init__(self, hooks: dict[str, Callable[[ModuleType], None]]) -> None:
        self.hooks = hooks
        for name in list(hooks):
            if name in sys.modules:
                hooks.pop(name)(sys.modules[name])
        sys.meta_path.insert(0, self)  # type: ignore[arg-type]

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        hook = self.hooks.get(name)
        if hook is None:
            return None
        for finder in sys.meta_path:
            find_spec = getattr(finder, "find_spec", None)
            if finder is self or find_spec is None:
                continue
            spec = find_spec(name, path, target)
            if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
                break
        else:
            return None
        exec_module = spec.loader.exec_module
        hooks = self.hooks

        def exec_and_patch(module: ModuleType) -> None:
            exec_module(module)
            if hooks.pop(name, None) is not None:
                hook(module)

        spec.loader.exec_module = exec_and_patch
        return spec


class ProcessPools:
    def __init__(self) -> None:
        self._recorder: Recorder | None = None
        self._output: ChildOutput | None = None
        self._lock = threading.Lock()
        self._submitted: dict[int, Submitted] = {}
        self._pending: dict[int, Future[Any]] = {}

    def install(self, recorder: Recorder, output: ChildOutput) -> None:
        self._recorder = recorder
        self._output = output
        AfterImport({"concurrent.futures.process": self._patch_executor, "multiprocessing.pool": self._patch_pool,
                     "multiprocessing.queues": self._patch_queues})

    def _patch_executor(self, module: ModuleType) -> None:
        executor_work.quiet_types = (*executor_work.quiet_types, module._ExecutorManagerThread)
        self._clamp(module.ProcessPoolExecutor, "max_workers")
        self._patch_submit(module.ProcessPoolExecutor)
        self._patch_results(module._ExecutorManagerThread)

    def _patch_pool(self, module: ModuleType) -> None:
        self._clamp(module.Pool, "processes", but=module.ThreadPool)

    def _patch_queues(self, module: ModuleType) -> None:
        executor_work.quiet_targets.append(module.Queue._feed)  # feeds a pipe to workers: never the loop

    def _clamp(self, pool: type, argument: str, but: type | None = None) -> None:
        """At most MAX_POOL_WORKERS workers for each pool of this type."""
        init: Any = pool.__init__  # type: ignore[misc]
        pools = self

        @functools.wraps(init)
        def clamped_init(instance: Any, *args: Any, **kwargs: Any) -> None:
            if but is not None and isinstance(instance, but):  # a ThreadPool: threads, not processes
                init(instance, *args, **kwargs)
                return
            asked = args[0] if args else kwargs.pop(argument, None)
            most = protocol.MAX_POOL_WORKERS
            workers = asked
            if asked is None:
                workers = min(os.cpu_count() or 1, most)
            elif isinstance(asked, int) and asked > most:
                workers = most
                pools.warn(POOL_CLAMPED.format(pool=pool.__name__, asked=asked, most=most), sys._getframe(1))
            init(instance, workers, *args[1:], **kwargs)

        pool.__init__ = clamped_init  # type: ignore[misc]

    def warn(self, message: str, caller: Any) -> None:
        recorder = self._recorder
        if recorder is not None and recorder.enabled:
            task = recorder.current if recorder.stepping_here() else None
            recorder.event("warning", message, task, snippet_line(caller))

    def _patch_submit(self, executor_type: Any) -> None:
        submit: Any = executor_type.submit
        pools = self

        @functools.wraps(submit)
        def timed_submit(executor: Any, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
            recorder = pools._recorder
            number = executor_work.number() if recorder is not None and recorder.enabled else None
            if recorder is None or number is None:
                return submit(executor, fn, *args, **kwargs)
            task = recorder.current if recorder.stepping_here() else None
            # Noted before it is submitted: a quick worker's result may reach
            # the manager thread before submit returns.
            with pools._lock:
                pools._submitted[number] = (number, _label(fn), task, snippet_line(sys._getframe(1)))
            try:
                future: Future[Any] = submit(executor, TimedCall(fn, number), *args, **kwargs)
            except BaseException:
                with pools._lock:
                    pools._submitted.pop(number, None)
                raise
            with executor_work._lock:
                executor_work.pending += 1
            with pools._lock:
                pools._pending[id(future)] = future
            if future.done():
                pools._settle(future)  # its result came first: the manager found nothing to settle
            future.add_done_callback(pools._cancelled)
            return future

        executor_type.submit = timed_submit

    def _patch_results(self, manager: Any) -> None:
        process_result_item = manager.process_result_item
        terminate_broken = manager.terminate_broken
        pools = self

        @functools.wraps(process_result_item)
        def timed_result_item(thread: Any, result_item: Any) -> None:
            work_item = None if isinstance(result_item, int) else thread.pending_work_items.get(result_item.work_id)
            if work_item is not None:
                pools.unwrap(result_item)
            process_result_item(thread, result_item)
            if work_item is not None:
                # Only now: the future's callbacks have woken the loop.
                pools._settle(work_item.future)

        @functools.wraps(terminate_broken)
        def settled_terminate_broken(thread: Any, cause: Any) -> None:
            futures = [item.future for item in thread.pending_work_items.values()]
            pools.tell_broken([_exit_code(process) for process in list(thread.processes.values())])
            terminate_broken(thread, cause)
            for future in futures:
                pools._settle(future)

        manager.process_result_item = timed_result_item
        manager.terminate_broken = settled_terminate_broken

    def unwrap(self, result_item: Any) -> None:
        """The result as the snippet expects it; its times told as a job."""
        result, exception = result_item.result, result_item.exception
        if isinstance(result, TimedResult):
            result_item.result = result.value
            self._tell(result.times, None)
        elif exception is not None:
            times = exception.__dict__.pop(TIMES_ATTRIBUTE, None) if hasattr(exception, "__dict__") else None
            if isinstance(times, tuple) and len(times) == 4:
                self._tell(times, type(exception).__name__)

    def _tell(self, times: Times, error: str | None) -> None:
        """A job a worker ran, on the run's clock; what the worker printed first."""
        recorder = self._recorder
        number, pid, start, end = times
        with self._lock:
            submitted = self._submitted.pop(number, None)
        if recorder is None or submitted is None:
            return
        if self._output is not None:
            self._output.drain()
        _, fn, task, line = submitted
        offset = recorder.clock.skipped_ns - recorder.clock.origin_ns
        first = max(0, start + offset)
        channel = recorder.channel
        channel.send_now(protocol.JOB_START, number, f"process {pid}", fn, task, first, line)
        channel.send_now(protocol.JOB, number, max(first, end + offset), error)

    def tell_broken(self, exit_codes: list[int | None]) -> None:
        """A worker died and broke its pool: a hint says how."""
        recorder = self._recorder
        ended = [code for code in exit_codes if code]
        if recorder is None or not recorder.enabled or not ended:
            return
        code = next((code for code in ended if code == -signal.SIGXCPU), ended[0])
        if code == -signal.SIGXCPU:
            cpu_seconds, _ = resource.getrlimit(resource.RLIMIT_CPU)
            message = WORKER_OUT_OF_CPU.format(cpu_seconds=cpu_seconds)
        elif code < 0:
            message = WORKER_KILLED.format(how=f"by signal {signal.Signals(-code).name}" if -code in
                                           signal.valid_signals() else f"by signal {-code}")
        else:
            message = WORKER_KILLED.format(how=f"with exit code {code}")
        recorder.channel.send_now(protocol.EVENT, recorder.clock.now_ns(), "hint", None, message, None)

    def _cancelled(self, future: Future[Any]) -> None:
        if future.cancelled():
            self._settle(future)

    def _settle(self, future: Future[Any]) -> None:
        with self._lock:
            settled = self._pending.pop(id(future), None)
        if settled is not None:
            executor_work._job_over()

    def forget_in_child(self) -> None:
        self._recorder = None
        self._submitted.clear()
        self._pending.clear()
