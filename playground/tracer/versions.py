"""What changed, between the Pythons the tracer runs on (3.11, 3.13, 3.14,
3.15), in the asyncio and ``concurrent.futures`` internals it relies on: one
named flag per change, read from ``sys.version_info``, so every version check
in the tracer says what it is about (see docs/trace.md, "The asyncio
internals the tracer relies on").
"""

from __future__ import annotations

import sys

VERSION = sys.version_info[:2]

# 3.12: eager tasks. ``Task(..., eager_start=True)`` (and the task factories
# ``asyncio.eager_task_factory`` and ``create_eager_task_factory``) run the
# task's first step inside ``Task.__init__``, without a loop step, when the
# loop is running; ``Task.__init__`` asks ``loop.is_running()`` right before
# that first step, once the task's name, coroutine and context are set.
EAGER_TASKS = VERSION >= (3, 12)

# 3.12: ``wait_for`` is an ``async with timeouts.timeout(timeout)`` around
# the await (before, a waiter future and ``_cancel_and_wait``): a wait_for
# that runs out cancels through ``Timeout._on_timeout``.
WAIT_FOR_USES_TIMEOUT = VERSION >= (3, 12)

# 3.13: ``loop.create_task(coro, *, name=None, context=None, **kwargs)``
# hands ``kwargs`` (``eager_start``) to the factory or ``Task``, and names the
# factory's task afterwards with ``task.set_name(name)``. 3.14: the signature
# is ``create_task(coro, **kwargs)``, and a factory gets every keyword
# (``name`` too) and nothing is named after it.
CREATE_TASK_ANY_KEYWORD = VERSION >= (3, 13)
FACTORY_NAMED_AFTER = (3, 13) <= VERSION < (3, 14)

# 3.14: ``concurrent.futures.thread._WorkItem(future, task)``, whose task is
# ``(fn, args, kwargs)`` for a thread pool, and ``run(ctx)`` (before:
# ``_WorkItem(future, fn, args, kwargs)`` and ``run()``).
WORK_ITEM_TASK = VERSION >= (3, 14)

# 3.14: ``TaskGroup.create_task(coro, **kwargs)`` and
# ``asyncio.create_task(coro, **kwargs)``: any keyword reaches
# ``loop.create_task`` (``eager_start=True`` included).
CREATE_TASK_EAGER_START = VERSION >= (3, 14)
