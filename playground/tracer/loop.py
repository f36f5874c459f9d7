"""The instrumented event loop: every step, every task, on the run's clock.

``TracingEventLoop`` is asyncio's own selector loop with three hooks, using
asyncio internals that exist unchanged in Python 3.11 to 3.13:

* ``BaseEventLoop._call_soon`` builds the ``Handle`` for every callback the
  loop will run; ours builds a ``StepHandle`` whose ``_run`` reports the step.
  A task's steps and wake-ups are bound methods of the task, so
  ``callback.__self__`` says which task ran.
* ``create_task`` registers each task with the recorder, with its parent (the
  task running when it was created) and the snippet line that created it.
* The selector's ``select(timeout)`` is where the loop would wait: on the
  virtual clock it jumps the clock to the next timer instead of sleeping,
  unless real I/O or a thread could still wake it; when nothing at all can,
  the run is a deadlock.
"""

from __future__ import annotations

import asyncio
import selectors
import threading
from collections.abc import Callable
from concurrent.futures.thread import _worker as _executor_worker
from contextvars import Context
from typing import Any, NoReturn

from .recorder import Recorder


class StepHandle(asyncio.Handle):
    __slots__ = ()

    def _run(self) -> None:
        loop: TracingEventLoop = self._loop  # type: ignore[attr-defined]
        recorder = loop.recorder
        if not recorder.enabled:
            return super()._run()
        task = getattr(self._callback, "__self__", None)  # type: ignore[attr-defined]
        if not isinstance(task, asyncio.Task):
            task = None
        try:
            recorder.step_started(task)
        except Exception as exc:
            recorder.disable("step_started", exc)
            return super()._run()
        try:
            super()._run()
        finally:
            if recorder.enabled:
                try:
                    recorder.step_finished(task)
                except Exception as exc:
                    recorder.disable("step_finished", exc)


class WaitingSelector(selectors.DefaultSelector):  # type: ignore[misc,valid-type]
    """The loop's selector, which skips or detects waits nobody can end."""

    def __init__(self, recorder: Recorder, on_deadlock: Callable[[asyncio.AbstractEventLoop], NoReturn]) -> None:
        super().__init__()
        self.recorder = recorder
        self.on_deadlock = on_deadlock
        self.loop: TracingEventLoop | None = None

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        recorder = self.recorder
        recorder.flush()
        if timeout == 0 or self.loop is None or self._something_can_arrive(self.loop):
            return super().select(timeout)
        if timeout is None:
            self.on_deadlock(self.loop)
        ready = super().select(0)
        if ready:
            return ready
        if recorder.clock.virtual:
            recorder.clock.advance(timeout)
            return []
        return super().select(timeout)

    def _something_can_arrive(self, loop: TracingEventLoop) -> bool:
        own = {loop._ssock.fileno()}  # type: ignore[attr-defined]
        if any(key.fd not in own for key in self.get_map().values()):
            return True
        if loop.executor_jobs:
            return True
        # A thread the snippet started may call the loop back at any time;
        # idle executor workers cannot (their jobs are counted above).
        return any(
            getattr(thread, "_target", None) is not _executor_worker
            for thread in threading.enumerate()
            if thread is not threading.main_thread()
        )


class TracingEventLoop(asyncio.SelectorEventLoop):
    def __init__(self, recorder: Recorder, on_deadlock: Callable[[asyncio.AbstractEventLoop], NoReturn]) -> None:
        selector = WaitingSelector(recorder, on_deadlock)
        self.recorder = recorder
        self.executor_jobs = 0
        super().__init__(selector)
        selector.loop = self
        recorder.loop_started()

    def time(self) -> float:
        return self.recorder.clock.now()

    def _call_soon(self, callback: Callable[..., Any], args: Any, context: Context | None) -> asyncio.Handle:
        handle = StepHandle(callback, args, self, context)
        if handle._source_traceback:  # type: ignore[attr-defined]
            del handle._source_traceback[-1]  # type: ignore[attr-defined]
        self._ready.append(handle)  # type: ignore[attr-defined]
        return handle

    def create_task(  # type: ignore[override]
        self, coro: Any, *, name: str | None = None, context: Context | None = None
    ) -> asyncio.Task[Any]:
        task = super().create_task(coro, name=name, context=context)
        if self.recorder.enabled:
            try:
                self.recorder.task_created(task)
            except Exception as exc:
                self.recorder.disable("task_created", exc)
        return task

    def run_in_executor(  # type: ignore[override]
        self, executor: Any, func: Callable[..., Any], *args: Any
    ) -> asyncio.Future[Any]:
        future = super().run_in_executor(executor, func, *args)
        self.executor_jobs += 1
        future.add_done_callback(self._executor_job_done)
        return future

    def _executor_job_done(self, future: asyncio.Future[Any]) -> None:
        self.executor_jobs -= 1

    def close(self) -> None:
        if not self.is_closed():
            self.recorder.loop_closed()
        super().close()


class TracingPolicy(asyncio.DefaultEventLoopPolicy):  # type: ignore[misc,valid-type]
    """Makes ``asyncio.run`` and ``new_event_loop`` build tracing loops."""

    def __init__(self, recorder: Recorder, on_deadlock: Callable[[asyncio.AbstractEventLoop], NoReturn]) -> None:
        super().__init__()
        self.recorder = recorder
        self.on_deadlock = on_deadlock

    def new_event_loop(self) -> asyncio.AbstractEventLoop:
        return TracingEventLoop(self.recorder, self.on_deadlock)
