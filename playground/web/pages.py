"""The pages people open: the playground itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, render_template

from playground.web.assets import asset_url
from playground.web.context import index_context
from playground.web.modules import module_tree

bp = Blueprint("pages", __name__)


@bp.app_context_processor
def module_preloads() -> dict[str, Any]:
    """``module_preloads(entry)`` in templates: the URLs of the page's entry
    module and of every module it imports, for ``<link rel="modulepreload">``."""

    def preloads(entry: str) -> list[str]:
        static = Path(current_app.static_folder or "")
        return [asset_url(path) for path in (entry, *module_tree(static, entry))]

    return {"module_preloads": preloads}


@bp.get("/")
def index() -> str:
    return render_template("index.html", **index_context())
