"""The instrumented event loop: every step, every task, on the run's clock.

``TracingEventLoop`` is asyncio's own selector loop with a few hooks, using
only asyncio internals that exist unchanged in Python 3.11 to 3.13:

* ``BaseEventLoop._ready`` is the deque of callbacks ready to run, which
  ``_run_once`` empties with ``popleft()`` right before running each one,
  and to which ``_call_soon`` (every ``call_soon``) and ``_run_once`` (due
  timers) ``append()`` handles; ``_run_once`` also takes its ``len()`` and
  truth, and ``close`` calls ``clear()``. Ours is a ``ReadyQueue``
  (:mod:`playground.tracer.hotpath`, in C when built) whose ``popleft``
  tells the recorder that the previous step ended and the next begins: one
  clock reading per step, and no wrapper around the callback. A task's steps
  and wake-ups are bound to the task, so ``Handle._callback.__self__`` says
  which task runs (``Handle._callback`` and ``Handle._cancelled`` are read).
  Its ``append`` of a ``call_soon`` handle (an ``asyncio.Handle``, not a
  timer's) notes when a parked task is woken, so its wait ends there and the
  time until it runs counts as scheduled (the loop's contention).
* ``Task._fut_waiter`` (the future a task is parked on) and
  ``Task._exception`` (read without marking the error retrieved) tell how a
  step ended.
* ``create_task`` builds a ``TracedTask`` (a subclass of ``asyncio.Task``
  whose ``cancel`` says who cancelled) and registers it with its parent and
  the snippet line that created it.
* The selector's ``select(timeout)`` is where the loop would wait: the step
  before it ends there; on the virtual clock it jumps the clock to the next
  timer instead of sleeping, unless real I/O, a job of any thread pool or
  another thread could still wake it (then it waits for real: a thread's
  work takes the real time it takes); when nothing at all can, the run is a
  deadlock.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import selectors
import sys
import threading
from collections.abc import Callable
from concurrent.futures.thread import _worker as _executor_worker
from contextvars import Context
from typing import Any, NoReturn

from .hotpath import ReadyQueue
from .recorder import Recorder


class TracedTask(asyncio.Task):  # type: ignore[type-arg]
    """An ``asyncio.Task`` that tells the recorder who cancelled it."""

    def cancel(self, msg: Any = None) -> bool:
        loop = self.get_loop()
        recorder = getattr(loop, "recorder", None)
        if recorder is not None and not self.done():
            recorder.hook("cancel", recorder.cancel_requested, self, sys._getframe(1))
        return super().cancel(msg)

    def uncancel(self) -> int:
        remaining = super().uncancel()
        recorder = getattr(self.get_loop(), "recorder", None)
        if remaining == 0 and recorder is not None:
            recorder.hook("uncancel", recorder.cancel_withdrawn, self)
        return remaining


# Snippets that print a task see asyncio's own name for it.
TracedTask.__name__ = TracedTask.__qualname__ = "Task"


class WaitingSelector(selectors.DefaultSelector):  # type: ignore[misc,valid-type]
    """The loop's selector, which skips or detects waits nobody can end."""

    def __init__(self, recorder: Recorder, on_deadlock: Callable[[asyncio.AbstractEventLoop], NoReturn]) -> None:
        super().__init__()
        self.recorder = recorder
        self.on_deadlock = on_deadlock
        self.loop: TracingEventLoop | None = None

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        recorder = self.recorder
        recorder.hook("end_step", recorder.end_step)
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
        if loop.executor_jobs or executor_work.pending:
            return True
        # Any other thread, the main one included when the loop runs in
        # another, may call the loop back at any time (call_soon_threadsafe,
        # run_coroutine_threadsafe, a future it sets); idle executor workers
        # cannot (their jobs are counted above).
        here = threading.get_ident()
        return any(
            getattr(thread, "_target", None) is not _executor_worker
            for thread in threading.enumerate()
            if thread.ident != here
        )


class ExecutorWork:
    """How many jobs submitted to any ``ThreadPoolExecutor`` have not ended:
    a loop waiting on one (``asyncio.wrap_future``, a future it sets) waits
    for real work, however the job reached the executor."""

    def __init__(self) -> None:
        self.pending = 0
        self._lock = threading.Lock()

    def install(self) -> None:
        submit = concurrent.futures.ThreadPoolExecutor.submit
        work = self

        def counted_submit(executor: Any, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
            future = submit(executor, fn, *args, **kwargs)
            with work._lock:
                work.pending += 1
            future.add_done_callback(work._done)
            return future

        concurrent.futures.ThreadPoolExecutor.submit = counted_submit  # type: ignore[method-assign]

    def _done(self, future: Any) -> None:
        with self._lock:
            self.pending -= 1


executor_work = ExecutorWork()


class TracingEventLoop(asyncio.SelectorEventLoop):
    def __init__(self, recorder: Recorder, on_deadlock: Callable[[asyncio.AbstractEventLoop], NoReturn]) -> None:
        selector = WaitingSelector(recorder, on_deadlock)
        self.recorder = recorder
        self.executor_jobs = 0
        super().__init__(selector)
        self._ready = ReadyQueue(recorder)
        selector.loop = self
        recorder.loop_started()

    def time(self) -> float:
        return self.recorder.clock.now()

    def create_task(  # type: ignore[override]
        self, coro: Any, *, name: str | None = None, context: Context | None = None
    ) -> asyncio.Task[Any]:
        if self._task_factory is not None:  # type: ignore[attr-defined]
            task = super().create_task(coro, name=name, context=context)
        else:
            self._check_closed()  # type: ignore[attr-defined]
            task = TracedTask(coro, loop=self, name=name, context=context)
            if task._source_traceback:  # type: ignore[attr-defined]
                del task._source_traceback[-1]  # type: ignore[attr-defined]
        recorder = self.recorder
        if recorder.enabled:
            try:
                recorder.task_created(task, sys._getframe(1))
            except Exception as exc:
                recorder.disable("task_created", exc)
        return task

    def run_in_executor(  # type: ignore[override]
        self, executor: Any, func: Callable[..., Any], *args: Any
    ) -> asyncio.Future[Any]:
        future = super().run_in_executor(executor, func, *args)
        self.executor_jobs += 1
        self.recorder.executor_labels[id(future)] = f"run_in_executor({task_label_of_callable(func)})"
        future.add_done_callback(self._executor_job_done)
        return future

    def _executor_job_done(self, future: asyncio.Future[Any]) -> None:
        self.executor_jobs -= 1
        self.recorder.executor_labels.pop(id(future), None)

    def call_exception_handler(self, context: dict[str, Any]) -> None:
        recorder = self.recorder
        if self._exception_handler is None and recorder.hook(  # type: ignore[attr-defined]
            "exception handler", recorder.exception_unhandled, context
        ):
            return
        super().call_exception_handler(context)

    def run_forever(self) -> None:
        try:
            super().run_forever()
        finally:
            self.recorder.hook("end_step", self.recorder.end_step)

    def close(self) -> None:
        if not self.is_closed():
            self.recorder.loop_closed()
        super().close()


def task_label_of_callable(func: Any) -> str:
    inner = getattr(func, "func", func)  # to_thread passes a functools.partial
    name = getattr(inner, "__qualname__", None) or getattr(inner, "__name__", None)
    return name if isinstance(name, str) else type(inner).__name__


class TracingPolicy(asyncio.DefaultEventLoopPolicy):  # type: ignore[misc,valid-type]
    """Makes ``asyncio.run`` and ``new_event_loop`` build tracing loops."""

    def __init__(self, recorder: Recorder, on_deadlock: Callable[[asyncio.AbstractEventLoop], NoReturn]) -> None:
        super().__init__()
        self.recorder = recorder
        self.on_deadlock = on_deadlock

    def new_event_loop(self) -> asyncio.AbstractEventLoop:
        return TracingEventLoop(self.recorder, self.on_deadlock)


def track_timeouts(recorder: Recorder) -> None:
    """Note each task's active ``asyncio.timeout()`` blocks, so a wait inside
    one says when it will be cut short."""
    timeout_type: Any = asyncio.timeouts.Timeout
    enter, leave = timeout_type.__aenter__, timeout_type.__aexit__

    async def __aenter__(self: Any) -> Any:
        result = await enter(self)
        task = asyncio.current_task()
        if task is not None:
            recorder.timeouts.setdefault(id(task), []).append(self)
        return result

    async def __aexit__(self: Any, *exc_info: Any) -> Any:
        task = asyncio.current_task()
        active = recorder.timeouts.get(id(task))
        if active and self in active:
            active.remove(self)
            if not active:
                del recorder.timeouts[id(task)]
        return await leave(self, *exc_info)

    timeout_type.__aenter__ = __aenter__
    timeout_type.__aexit__ = __aexit__
