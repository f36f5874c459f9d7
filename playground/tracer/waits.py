"""Name what a suspended task is waiting for, and who cancelled it, in words a learner knows.

``describe_wait`` walks the task's await chain (coroutine frames, from the
task's own coroutine down): the snippet's frames give the chain of function
names and the line of the innermost ``await``; the first asyncio coroutine
below them, or the future the task is parked on, names the awaitable:
``asyncio.sleep(1)``, ``gather(3 tasks)``, ``Lock.acquire()``,
``Queue.get()``, ``to_thread(download)``, ``socket read: StreamReader.readline()``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from types import CodeType, CoroutineType, FrameType
from typing import Any

from .protocol import SNIPPET_FILENAME
from .wakes import timer_due

_ASYNCIO_DIR = os.path.dirname(asyncio.__file__) + os.sep
_GatheringFuture: type = getattr(asyncio.tasks, "_GatheringFuture", type(None))
MAX_CHAIN = 12


def number(value: object) -> str:
    """A number as the snippet wrote it; anything else is not shown."""
    return repr(value) if type(value) in (int, float) else "…"


_RUN_CALLBACK = asyncio.Handle._run.__code__


def snippet_line(frame: FrameType | None) -> int | None:
    """The line of the innermost snippet frame at or above ``frame``, within
    the callback the loop is running (the loop's own caller is not asked)."""
    while frame is not None:
        code = frame.f_code
        if code.co_filename == SNIPPET_FILENAME:
            return frame.f_lineno
        if code is _RUN_CALLBACK:
            return None
        frame = frame.f_back
    return None


def library_code(code: CodeType) -> bool:
    """Whether ``code`` is asyncio's own."""
    return code.co_filename.startswith(_ASYNCIO_DIR)


def exception_line(exc: BaseException) -> int | None:
    """The snippet line where ``exc`` was raised (its last snippet frame)."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == SNIPPET_FILENAME:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _self_type(frame: FrameType) -> str:
    return type(frame.f_locals.get("self")).__name__


def _callable_name(value: object) -> str:
    name = getattr(value, "__qualname__", None) or getattr(value, "__name__", None)
    func = getattr(value, "func", None)  # functools.partial
    if name is None and func is not None:
        return _callable_name(func)
    return name if isinstance(name, str) else type(value).__name__


def task_label(task: asyncio.Future[Any]) -> str:
    """A task by its name, or by its coroutine when it kept asyncio's default name."""
    if not isinstance(task, asyncio.Task):
        return type(task).__name__
    name = task.get_name()
    if name.startswith("Task-"):
        coro = task.get_coro()
        qualname = getattr(coro, "__qualname__", None)
        if isinstance(qualname, str):
            return f"{qualname}() ({name})"
    return name


def _count(items: object, noun: str) -> str:
    count = len(items) if isinstance(items, (list, set, tuple, dict)) else 0
    return f"{count} {noun}{'s' if count != 1 else ''}"


def _wait_for(frame: FrameType) -> str:
    local = frame.f_locals
    inner = local.get("fut")
    if isinstance(inner, asyncio.Future):
        inner_label = task_label(inner)
    else:  # 3.12+: the coroutine itself, awaited inside an asyncio.timeout()
        qualname = getattr(inner, "__qualname__", None)
        inner_label = f"{qualname}()" if isinstance(qualname, str) else "…"
    return f"wait_for({inner_label}, timeout={number(local.get('timeout'))})"


# The asyncio coroutine a snippet awaited, by its qualified name, and how to
# say what it waits for. Names, not code objects, so 3.11 to 3.15 all match.
_LABELS: dict[str, Callable[[FrameType], str]] = {
    "sleep": lambda f: f"asyncio.sleep({number(f.f_locals.get('delay'))})",
    "Lock.acquire": lambda f: "Lock.acquire()",
    "Semaphore.acquire": lambda f: f"{_self_type(f)}.acquire()",
    "_ContextManagerMixin.__aenter__": lambda f: f"{_self_type(f)}.acquire()",
    "Event.wait": lambda f: "Event.wait()",
    "Condition.wait": lambda f: "Condition.wait()",
    "Condition.wait_for": lambda f: "Condition.wait_for()",
    "Barrier.wait": lambda f: "Barrier.wait()",
    "Queue.get": lambda f: f"{_self_type(f)}.get()",
    "Queue.put": lambda f: f"{_self_type(f)}.put()",
    "Queue.join": lambda f: f"{_self_type(f)}.join()",
    "to_thread": lambda f: f"to_thread({_callable_name(f.f_locals.get('func'))})",
    "wait_for": _wait_for,
    "wait": lambda f: f"asyncio.wait({_count(f.f_locals.get('fs'), 'task')})",
    "TaskGroup.__aexit__": lambda f: f"TaskGroup ({_count(getattr(f.f_locals.get('self'), '_tasks', ()), 'task')})",
    "_cancel_and_wait": lambda f: "a cancelled task to finish",
    "open_connection": lambda f: "socket connect: open_connection()",
    "open_unix_connection": lambda f: "socket connect: open_unix_connection()",
    "StreamWriter.drain": lambda f: "socket write: StreamWriter.drain()",
    "StreamWriter.wait_closed": lambda f: "socket close: StreamWriter.wait_closed()",
    "BaseEventLoop.getaddrinfo": lambda f: "DNS lookup: getaddrinfo()",
    "BaseEventLoop.create_connection": lambda f: "socket connect: create_connection()",
    "BaseEventLoop.sock_connect": lambda f: "socket connect: sock_connect()",
    "BaseSelectorEventLoop.sock_connect": lambda f: "socket connect: sock_connect()",
}


def _fixed(label: str) -> Callable[[FrameType], str]:
    return lambda frame: label


for _method in ("read", "readline", "readexactly", "readuntil"):
    _LABELS[f"StreamReader.{_method}"] = _fixed(f"socket read: StreamReader.{_method}()")
for _method in ("sock_recv", "sock_recv_into", "sock_recvfrom", "sock_recvfrom_into"):
    _LABELS[f"BaseSelectorEventLoop.{_method}"] = _fixed(f"socket read: {_method}()")
for _method in ("sock_sendall", "sock_sendto"):
    _LABELS[f"BaseSelectorEventLoop.{_method}"] = _fixed(f"socket write: {_method}()")
_LABELS["BaseSelectorEventLoop.sock_accept"] = _fixed("socket accept: sock_accept()")


def _library_label(code_qualname: str, frame: FrameType) -> str:
    labeler = _LABELS.get(code_qualname)
    if labeler is None and code_qualname.endswith("._wait_for_one"):
        return "as_completed()"
    if labeler is None:
        return f"{code_qualname}()"
    try:
        return labeler(frame)
    except Exception:
        return f"{code_qualname}()"


def _waiter_label(waiter: object, executor_labels: dict[int, str]) -> str | None:
    if waiter is None:
        return None
    if isinstance(waiter, asyncio.Task):
        return task_label(waiter)
    if isinstance(waiter, _GatheringFuture):
        return f"gather({_count(getattr(waiter, '_children', ()), 'task')})"
    label = executor_labels.get(id(waiter))
    if label is not None:
        return label
    return "a Future"


# Chains are kept as interned tuples, and a label's last word once worked out:
# a gather of 100,000 tasks describes 100,000 waits alike, and allocating
# less keeps the garbage collector (which the snippet pays for) quiet.
_chains: dict[tuple[str, ...], tuple[str, ...]] = {}
_label_words: dict[str, str] = {}
MAX_INTERNED = 4096


def _interned(chain: tuple[str, ...]) -> tuple[str, ...]:
    kept = _chains.get(chain)
    if kept is not None:
        return kept
    if len(_chains) >= MAX_INTERNED:
        _chains.clear()
    _chains[chain] = chain
    return chain


def _label_word(label: str) -> str:
    """The awaitable's name in a chain: ``asyncio.sleep(1)`` -> ``asyncio.sleep``,
    ``socket read: StreamReader.readline()`` -> ``StreamReader.readline``."""
    word = _label_words.get(label)
    if word is None:
        word = label.split(": ")[-1].split("(", 1)[0].strip()
        if len(_label_words) >= MAX_INTERNED:
            _label_words.clear()
        _label_words[label] = word
    return word


def _frame_of(awaitable: Any) -> FrameType | None:
    if type(awaitable) is CoroutineType:
        return awaitable.cr_frame
    frame = getattr(awaitable, "cr_frame", None) or getattr(awaitable, "gi_frame", None)
    return frame if frame is not None else getattr(awaitable, "ag_frame", None)


def _awaited_by(awaitable: Any) -> Any:
    if type(awaitable) is CoroutineType:
        return awaitable.cr_await
    return (getattr(awaitable, "cr_await", None) or getattr(awaitable, "gi_yieldfrom", None)
            or getattr(awaitable, "ag_await", None))


def describe_wait(
    task: asyncio.Task[Any], executor_labels: dict[int, str]
) -> tuple[str | None, int | None, tuple[str, ...], float | None]:
    """What ``task`` awaits, the snippet line of the ``await``, the await
    chain, and when the timer of the ``asyncio.sleep`` (or 3.11's ``wait_for``) it awaits is due."""
    line = None
    names: list[str] = []
    library: tuple[str, FrameType] | None = None
    awaitable: Any = task.get_coro()
    while awaitable is not None and len(names) < MAX_CHAIN:
        frame = _frame_of(awaitable)
        if frame is None:
            break
        code = frame.f_code
        filename = code.co_filename
        if filename == SNIPPET_FILENAME:
            line = frame.f_lineno
            names.append(code.co_qualname)
            library = None
        elif library is None and filename.startswith(_ASYNCIO_DIR):
            library = (code.co_qualname, frame)
        awaitable = _awaited_by(awaitable)
    due = None
    if library is not None:
        on: str | None = _library_label(*library)
        due = timer_due(*library)
    else:
        on = _waiter_label(getattr(task, "_fut_waiter", None), executor_labels)
    if on is not None:
        names.append(_label_word(on))
    return on, line, _interned(tuple(names)), due


# Who cancels a task, told by the asyncio function that called cancel(), and
# whether that is a timeout.
_CANCELLERS = {
    "Timeout._on_timeout": ("asyncio.timeout(), whose deadline passed", True),
    "_cancel_and_wait": ("wait_for(), whose timeout expired", True),
    "TaskGroup._abort": ("its TaskGroup, because {failed} failed", False),
    "TaskGroup._on_task_done": ("its TaskGroup, because {failed} failed", False),
    "_GatheringFuture.cancel": ("gather(), which was cancelled", False),
    "_cancel_all_tasks": ("asyncio.run(), because main() returned", False),
    "wait_for": ("wait_for(), which was cancelled", False),
}


def describe_canceller(qualname: str, frame: FrameType) -> tuple[str, bool] | None:
    """Who cancels, and whether on a timeout, when ``frame`` (a caller of
    ``Task.cancel``) tells."""
    if qualname == "TracedTask.cancel":
        outer = frame.f_locals.get("self")
        if isinstance(outer, asyncio.Task):
            return f"{task_label(outer)}, which awaited it and was cancelled", False
        return None
    if qualname == "_cancel_and_wait" and frame.f_back is not None:
        waiter = frame.f_back.f_locals.get("waiter")
        if isinstance(waiter, asyncio.Future) and waiter.cancelled():
            return "wait_for(), which was cancelled", False
    known = _CANCELLERS.get(qualname)
    if known is None:
        return None
    if qualname == "Timeout._on_timeout" and getattr(frame.f_locals.get("self"), "playground_source", None):
        known = _CANCELLERS["_cancel_and_wait"]  # 3.12+: wait_for's timeout (see versions.WAIT_FOR_USES_TIMEOUT)
    template, on_timeout = known
    failed = frame.f_locals.get("task")
    if failed is None and frame.f_back is not None:
        failed = frame.f_back.f_locals.get("task")
    culprit = task_label(failed) if isinstance(failed, asyncio.Task) else "the async with body"
    return template.format(failed=culprit), on_timeout
