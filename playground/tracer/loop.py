"""The instrumented event loop: every step, every task, on the run's clock.

``TracingEventLoop`` is asyncio's own selector loop with a few hooks, using
only asyncio internals that exist on every Python it runs on (3.11 to 3.15;
what changed between them is named in :mod:`playground.tracer.versions`):

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
* ``asyncio.tasks.__sleep0``, the bare ``yield`` of ``asyncio.sleep(0)``,
  notes the snippet line where the step yields (``trace_yields``).
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
import math
import selectors
import sys
import threading
import types
from collections.abc import Callable, Generator
from concurrent.futures.thread import _worker as _executor_worker
from concurrent.futures.thread import _WorkItem
from types import FrameType
from typing import Any, NoReturn

from . import network, protocol
from .eager import EagerTasks
from .hotpath import ReadyQueue
from .recorder import Recorder
from .sockets import GuardedSocket
from .versions import FACTORY_NAMED_AFTER, WAIT_FOR_USES_TIMEOUT, WORK_ITEM_TASK
from .waits import library_code, snippet_line

# Executor jobs told to the server at most (each is two messages, sent
# from its thread): a snippet that submits a million tiny jobs runs them all,
# and the trace shows the first ones.
MAX_JOBS_TOLD = 10_000
# Seconds of a wait without a timeout after which the loop looks again at
# what could still wake it.
ENDLESS_WAIT_SLICE = 0.1


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
        # No flush here unless the loop is about to wait in real time (see
        # _wait_for_real): a loop that only polls, or jumps the virtual clock,
        # would send a batch of two steps per iteration, each costing the
        # server more to read than the steps cost the run. The hot path
        # flushes every FLUSH_INTERVAL meanwhile.
        if timeout == 0 or self.loop is None:
            return super().select(timeout)
        real = self._real_wait(self.loop)
        if real:
            return self._wait_for_real(timeout if timeout is not None and timeout < real else real)
        ready = super().select(0)
        if ready:
            return ready
        if timeout is None:
            if self._open_connections():
                return self._wait_for_real(None)
            self.on_deadlock(self.loop)
        if recorder.clock.virtual:
            recorder.clock.advance(timeout)
            return []
        return self._wait_for_real(timeout)

    def _wait_for_real(self, timeout: float | None) -> list[tuple[selectors.SelectorKey, int]]:
        """Wait in real time, where a stop at the wall-clock limit may find
        the run: first tell the server which waits are open."""
        recorder = self.recorder
        recorder.hook("open", recorder.announce_open)
        recorder.flush()
        # An endless wait is a slice at a time: what could arrive may stop
        # being able to (an executor job's thread counts it done just after
        # waking the loop), and then the loop must look again, to tell a
        # deadlock from a wait. On the virtual clock so is a long one: once
        # nothing can arrive any more, the clock jumps to the timer.
        if timeout is None or timeout == math.inf or (recorder.clock.virtual and timeout > ENDLESS_WAIT_SLICE):
            timeout = ENDLESS_WAIT_SLICE
        return super().select(timeout)

    def _real_wait(self, loop: TracingEventLoop) -> float:
        """How long the loop must wait in real time for what could still
        arrive: ``math.inf`` for as long as it takes, 0 not at all (the
        virtual clock may jump to the next timer). A connection waiting for
        an answer, or still receiving one, counts (see ``network.Network.real_wait``);
        one idle, or the run's own loopback, does not."""
        own = loop._ssock.fileno()  # type: ignore[attr-defined]
        net = network.network
        real = 0.0
        for key in self.get_map().values():
            if key.fd != own:
                wait = net.real_wait(key.fd) if net is not None else None
                if wait is None:
                    return math.inf
                real = max(real, wait)
        return math.inf if self._something_can_arrive(loop) else real

    def _open_connections(self) -> bool:
        """Whether the loop watches a connection that could still bring data."""
        own = self.loop._ssock.fileno() if self.loop is not None else -1  # type: ignore[attr-defined]
        return any(key.fd != own for key in self.get_map().values())

    def _something_can_arrive(self, loop: TracingEventLoop) -> bool:
        if loop.executor_jobs or executor_work.pending:
            return True
        # Any other thread, the main one included when the loop runs in
        # another, may call the loop back at any time (call_soon_threadsafe,
        # run_coroutine_threadsafe, a future it sets); idle executor workers
        # cannot (their jobs are counted above).
        here = threading.get_ident()
        return any(not executor_work.quiet(thread) for thread in threading.enumerate() if thread.ident != here)


class ExecutorWork:
    """Jobs of any ``ThreadPoolExecutor`` (``to_thread``, ``run_in_executor``,
    ``submit``): how many have not ended (a loop waiting on one waits for
    real work, however the job reached the executor), and each one's run in
    its thread, told to the recorder as it starts and ends (its thread, its
    function, the task and snippet line that submitted it)."""

    def __init__(self) -> None:
        self.pending = 0
        self._lock = threading.Lock()
        self._recorder: Recorder | None = None
        self._jobs = 0
        # Threads that never call the loop back (idle executor workers, a
        # process pool's helpers): by their target function, or by their type.
        self.quiet_targets: list[Any] = [_executor_worker]
        self.quiet_types: tuple[type, ...] = ()

    def quiet(self, thread: threading.Thread) -> bool:
        target = getattr(thread, "_target", None)  # compared by identity: a snippet's may not hash
        return isinstance(thread, self.quiet_types) or any(target is quiet for quiet in self.quiet_targets)

    def install(self, recorder: Recorder) -> None:
        self._recorder = recorder
        submit = concurrent.futures.ThreadPoolExecutor.submit
        item_init = _WorkItem.__init__
        item_run = _WorkItem.run
        work = self

        def counted_submit(executor: Any, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
            future = submit(executor, fn, *args, **kwargs)
            with work._lock:
                work.pending += 1
            future.add_done_callback(work._done)
            return future

        def noted_init(item: Any, future: Any, *work_args: Any) -> None:
            # _WorkItem(future, fn, args, kwargs); 3.14+: _WorkItem(future, (fn, args, kwargs)).
            item_init(item, future, *work_args)
            fn = work_args[0]
            if WORK_ITEM_TASK:
                fn = fn[0] if isinstance(fn, tuple) and fn else fn
            item.playground_job = work._submitted(fn, sys._getframe(1))

        def traced_run(item: Any, *ctx: Any) -> None:  # 3.14+: run(ctx)
            job = getattr(item, "playground_job", None)
            if job is not None:
                work._started(job)
            item.future.playground_ran = True
            try:
                item_run(item, *ctx)
            finally:
                if job is not None:
                    work._ended(job, item.future)
                # Only now: the future's callbacks (wrap_future's
                # call_soon_threadsafe) have run, so the loop has been woken.
                work._job_over()

        concurrent.futures.ThreadPoolExecutor.submit = counted_submit  # type: ignore[method-assign]
        _WorkItem.__init__ = noted_init  # type: ignore[method-assign,assignment]
        _WorkItem.run = traced_run  # type: ignore[method-assign,assignment]

    def _done(self, future: Any) -> None:
        if not getattr(future, "playground_ran", False):
            self._job_over()  # cancelled before it ran
            return
        # The job's end, stamped by the first of its future's callbacks (this
        # one was added at submit, before wrap_future's): before the loop is
        # woken, so a job never ends after the wait on it does.
        recorder = self._recorder
        if recorder is not None:
            future.playground_ended_ns = recorder.clock.now_ns()

    def _job_over(self) -> None:
        with self._lock:
            self.pending -= 1

    def _submitted(self, fn: Callable[..., Any], caller: FrameType) -> tuple[int, str, int | None, int | None] | None:
        """A job's number, function, task and snippet line, as it is submitted."""
        recorder = self._recorder
        if recorder is None or not recorder.enabled:
            return None
        number = self.number()
        if number is None:
            return None
        task = recorder.current if recorder.stepping_here() else None
        return number, task_label_of_callable(fn), task, snippet_line(caller)

    def number(self) -> int | None:
        """The next job's number, or None past ``MAX_JOBS_TOLD``."""
        with self._lock:
            if self._jobs >= MAX_JOBS_TOLD:
                return None
            self._jobs += 1
            return self._jobs

    def _started(self, job: tuple[int, str, int | None, int | None]) -> None:
        recorder = self._recorder
        if recorder is not None:
            number, fn, task, line = job
            recorder.channel.send_now(protocol.JOB_START, number, threading.current_thread().name, fn, task,
                                      recorder.clock.now_ns(), line)

    def _ended(self, job: tuple[int, str, int | None, int | None], future: Any) -> None:
        recorder = self._recorder
        if recorder is not None:
            error = getattr(future, "_exception", None)
            ended = getattr(future, "playground_ended_ns", None)
            recorder.channel.send_now(protocol.JOB, job[0], recorder.clock.now_ns() if ended is None else ended,
                                      None if error is None else type(error).__name__)


executor_work = ExecutorWork()


class TracingEventLoop(asyncio.SelectorEventLoop):
    def __init__(self, recorder: Recorder, on_deadlock: Callable[[asyncio.AbstractEventLoop], NoReturn]) -> None:
        selector = WaitingSelector(recorder, on_deadlock)
        self.recorder = recorder
        self.executor_jobs = 0
        self.eager = EagerTasks(recorder)
        super().__init__(selector)
        self._ready = ReadyQueue(recorder)
        selector.loop = self
        recorder.loop_started()

    def time(self) -> float:
        return self.recorder.clock.now()

    def create_task(self, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:  # type: ignore[override]
        # Every keyword goes on as given (3.13+: eager_start; 3.14+: a factory
        # gets name and context only when given, and nothing is named after it).
        caller = sys._getframe(1)
        if self._task_factory is not None:  # type: ignore[attr-defined]
            name = kwargs.get("name")
            if FACTORY_NAMED_AFTER and name is not None:
                self.eager.named_after = str(name)
            try:
                task = super().create_task(coro, **kwargs)
            finally:
                self.eager.named_after = None
        else:
            self._check_closed()  # type: ignore[attr-defined]
            task = self.construct_task(TracedTask, coro, kwargs, caller)
            if task._source_traceback:  # type: ignore[attr-defined]
                del task._source_traceback[-1]  # type: ignore[attr-defined]
        recorder = self.recorder
        if recorder.enabled and not self.eager.registered_already(task):
            try:
                recorder.task_created(task, caller)
            except Exception as exc:
                recorder.disable("task_created", exc)
        return task

    def construct_task(self, constructor: Callable[..., Any], coro: Any, kwargs: dict[str, Any],
                       caller: FrameType | None) -> Any:
        """``constructor(coro, loop=self, **kwargs)``; a task that starts
        eagerly gets its first step told as its own (see eager.py)."""
        return self.eager.construct(self, constructor, coro, kwargs, caller)

    def is_running(self) -> bool:
        running = super().is_running()
        if running and self.eager.pending is not None:
            # Task.__init__ asks right before an eager first step.
            self.eager.loop_asked()
        return running

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

    async def sock_connect(self, sock: Any, address: Any) -> None:
        if isinstance(sock, GuardedSocket) and sock.pretend:
            return await network.connect_async(self, sock, address)
        return await super().sock_connect(sock, address)

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
    inner = getattr(func, "func", func)  # a functools.partial
    args = getattr(func, "args", None)
    if getattr(inner, "__qualname__", None) == "Context.run" and args:
        # to_thread's partial(context.run, func, ...): the function is its first argument.
        return task_label_of_callable(args[0])
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
        caller = sys._getframe(1)
        if WAIT_FOR_USES_TIMEOUT and caller.f_code.co_qualname == "wait_for" and library_code(caller.f_code):
            self.playground_source = "wait_for timeout"  # 3.12+: wait_for's own timeout
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


def trace_yields(recorder: Recorder) -> None:
    """Note where a step gives the loop back with ``asyncio.sleep(0)``, the
    task staying ready: ``sleep`` awaits ``asyncio.tasks.__sleep0`` (a bare
    ``yield``, which ``Task.__step`` answers by scheduling the task again),
    looked up as a module global at each call, on every Python it runs on."""

    def step_yields(frame: FrameType) -> None:
        if recorder.stepping_here():
            line = snippet_line(frame)
            recorder.yield_line = -1 if line is None else line

    @types.coroutine
    def __sleep0() -> Generator[None, None, None]:
        recorder.hook("sleep(0)", step_yields, sys._getframe(1))
        yield

    vars(asyncio.tasks)["__sleep0"] = __sleep0
