"""The pages people open: the playground itself."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template

from .examples import EXAMPLES

# URL mode's strategies as the page offers them.
STRATEGY_TITLES = [
    ("sequential", "sequential (one after another)"),
    ("gather", "asyncio.gather (all at once)"),
    ("semaphore", "Semaphore(N) + gather"),
    ("as_completed", "asyncio.as_completed"),
    ("taskgroup", "asyncio.TaskGroup"),
]

bp = Blueprint("pages", __name__)


def index_context() -> dict[str, Any]:
    """What index.html needs (also to open a shared snippet in it)."""
    sandbox = current_app.extensions["playground.sandbox"]
    return {
        "examples": [example.to_json() for example in EXAMPLES],
        "unsandboxed": not sandbox.sandboxed,
        "strategies": STRATEGY_TITLES,
        "url_limits": current_app.extensions["playground.fetch"].limits,
    }


@bp.get("/")
def index() -> str:
    return render_template("index.html", **index_context())
