"""The pages people open: the playground itself."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from .examples import EXAMPLES

bp = Blueprint("pages", __name__)


@bp.get("/")
def index() -> str:
    sandbox = current_app.extensions["playground.sandbox"]
    return render_template(
        "index.html",
        examples=[example.to_json() for example in EXAMPLES],
        unsandboxed=not sandbox.sandboxed,
    )
