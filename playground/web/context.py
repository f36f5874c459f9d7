"""What the playground page's template needs, wherever it is opened from
(``/`` or a shared snippet's ``/s/<id>``)."""

from __future__ import annotations

from typing import Any

from playground.services import services
from playground.sharing.examples import EXAMPLES

# URL mode's strategies as the page offers them.
STRATEGY_TITLES = [
    ("sequential", "sequential (one after another)"),
    ("gather", "asyncio.gather (all at once)"),
    ("semaphore", "Semaphore(N) + gather"),
    ("as_completed", "asyncio.as_completed"),
    ("taskgroup", "asyncio.TaskGroup"),
]


def index_context() -> dict[str, Any]:
    found = services()
    return {
        "examples": [example.to_json() for example in EXAMPLES],
        # The same list GET /api/pythons answers, for the Python picker.
        "pythons": found.sandbox.pythons.listing(),
        "unsandboxed": not found.sandbox.sandboxed,
        "strategies": STRATEGY_TITLES,
        "url_limits": found.fetcher.limits,
    }
