"""Eager tasks (Python 3.12+): a task whose first step runs inside its own
creation, without a loop step.

``asyncio.eager_task_factory``, a factory of ``create_eager_task_factory``
and (3.14+) ``create_task(..., eager_start=True)`` build the task with
``eager_start=True``; ``Task.__init__`` then asks ``loop.is_running()`` and,
when it is, runs the task's first step at once, inside the ``create_task``
call of the task that created it. The ready queue never sees that step, so
the tracer brackets it instead:

* the loop builds an eager task in two halves, ``__new__`` then
  ``__init__`` (``construct_task``), and notes the task in between;
* ``TracingEventLoop.is_running``, which ``Task.__init__`` calls once the
  task's name, coroutine and context are set and right before its first step,
  hands the noted task to ``eager_started``: the creating step pauses there
  (its slice ends), the new task is registered and its first step begins,
  as at a ``popleft`` of the ready queue (``Core.next_step``, with a handle
  that stands for the task);
* when ``__init__`` returns, ``eager_ended`` ends that first step the same
  way (a task that finished eagerly ends there; one that awaits something
  starts its wait) and the creating step goes on, in a slice of its own.

So the first slice, the output and the children of an eager task are its
own, slices never overlap, and a task that completes eagerly still has its
lane. ``asyncio``'s eager factories are replaced by ones that build through
``construct_task`` (``asyncio.Task`` itself becomes the tracer's
``TracedTask``, which says who cancelled it); a ``Task(..., eager_start=True)``
the snippet builds by hand runs its first step inside its creator's.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from types import FrameType, MethodType
from typing import TYPE_CHECKING, Any

from .versions import EAGER_TASKS

if TYPE_CHECKING:
    from .recorder import Recorder


def _no_callback() -> None:
    """What a step that runs no task stands for."""


class StepOf:
    """A stand-in for the loop's handle of a step of ``task`` (None: a plain
    callback), for ``Core.next_step``, which reads ``_cancelled`` and
    ``_callback.__self__``."""

    __slots__ = ("_callback",)
    _cancelled = False

    def __init__(self, task: asyncio.Task[Any] | None) -> None:
        self._callback = _no_callback if task is None else MethodType(_no_callback, task)


def eager_started(recorder: Recorder, task: asyncio.Task[Any], caller: FrameType | None,
                  name: str | None = None) -> tuple[Any]:
    """``task`` runs its first step now, inside the running step: that step
    pauses, the task is registered and its step begins (announced as
    ``name`` when given: the name 3.13 gives it after the step). Returns the
    paused step's task (in a tuple: None is a plain callback), for ``eager_ended``."""
    paused = recorder._step_task
    recorder.task_created(task, caller)
    own = task.get_name()
    if name is not None:
        task.set_name(name)
    try:
        recorder.next_step(StepOf(task))  # type: ignore[arg-type]
    finally:
        if name is not None:
            task.set_name(own)  # as the snippet sees it, until create_task names it
    return (paused,)


def eager_ended(recorder: Recorder, paused: asyncio.Task[Any] | None) -> None:
    """The eager first step is over: it ends, and the paused step goes on."""
    recorder.next_step(StepOf(paused))  # type: ignore[arg-type]


class EagerTasks:
    """The loop's side: build a task in two halves when it may start
    eagerly, and begin its step when ``Task.__init__`` asks whether the loop
    runs."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        # [task, caller] while its __init__ may start it; [task, caller, (paused,)] once it did.
        self.pending: list[Any] | None = None
        # The last task registered by its eager start, which create_task must not register again.
        self.registered: asyncio.Task[Any] | None = None
        # The name create_task gives a factory's task after building it (3.13: FACTORY_NAMED_AFTER).
        self.named_after: str | None = None

    def construct(self, loop: asyncio.AbstractEventLoop, constructor: Callable[..., Any], coro: Any,
                  kwargs: dict[str, Any], caller: FrameType | None) -> Any:
        recorder = self.recorder
        if not (kwargs.get("eager_start") and isinstance(constructor, type) and recorder.enabled
                and recorder.stepping_here()):
            return constructor(coro, loop=loop, **kwargs)
        task: Any = constructor.__new__(constructor, coro, loop=loop, **kwargs)  # type: ignore[call-overload]
        outer, pending = self.pending, [task, caller]
        self.pending = pending
        try:
            if isinstance(task, constructor):
                task.__init__(coro, loop=loop, **kwargs)  # type: ignore[misc]
        finally:
            self.pending = outer
            if len(pending) == 3 and pending[2] is not None:
                recorder.hook("eager step", eager_ended, recorder, pending[2][0])
                self.registered = task
        return task

    def loop_asked(self) -> None:
        """The loop runs and was asked so: the pending task's first step begins."""
        pending = self.pending
        if pending is not None and len(pending) == 2:
            recorder = self.recorder
            name, self.named_after = self.named_after, None
            pending.append(recorder.hook("eager step", eager_started, recorder, pending[0], pending[1], name))

    def registered_already(self, task: Any) -> bool:
        """Whether ``task`` was registered by its eager start (once)."""
        if task is self.registered:
            self.registered = None
            return True
        return False


def patch_factories(traced_task: type) -> None:
    """asyncio's eager task factories, as ones that build through the
    loop's ``construct_task`` (``asyncio.Task`` as ``traced_task``)."""
    if not EAGER_TASKS:
        return
    tasks: Any = asyncio.tasks
    original_task = tasks.Task

    def create_eager_task_factory(custom_task_constructor: Any) -> Callable[..., Any]:
        constructor = traced_task if custom_task_constructor is original_task else custom_task_constructor

        def factory(loop: Any, coro: Any, *, eager_start: bool = True, **kwargs: Any) -> Any:
            construct = getattr(loop, "construct_task", None)
            kwargs["eager_start"] = eager_start
            if construct is None:
                return constructor(coro, loop=loop, **kwargs)
            return construct(constructor, coro, kwargs, sys._getframe(1))

        return factory

    create_eager_task_factory.__doc__ = tasks.create_eager_task_factory.__doc__
    factory = create_eager_task_factory(original_task)
    modules: tuple[Any, ...] = (tasks, asyncio)
    for module in modules:
        module.create_eager_task_factory = create_eager_task_factory
        module.eager_task_factory = factory
