"""The pages people open: the playground itself."""

from __future__ import annotations

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


@bp.get("/")
def index() -> str:
    sandbox = current_app.extensions["playground.sandbox"]
    return render_template(
        "index.html",
        examples=[example.to_json() for example in EXAMPLES],
        unsandboxed=not sandbox.sandboxed,
        strategies=STRATEGY_TITLES,
        url_limits=current_app.extensions["playground.fetch"].limits,
    )
