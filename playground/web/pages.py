"""The pages people open: the playground itself."""

from __future__ import annotations

from flask import Blueprint, render_template

from playground.web.context import index_context

bp = Blueprint("pages", __name__)


@bp.get("/")
def index() -> str:
    return render_template("index.html", **index_context())
