"""Shared snippets: save by link, open, download, embed anywhere, oEmbed.

``POST /api/snippets`` stores a snippet (code with its clock and Python, or a
URL list with its strategy) and answers 201 ``{id, url}``; ids are content-addressed,
so saving the same snippet again gives the same id. ``GET /api/snippets/<id>``
gives it back. ``/s/<id>`` opens it in the playground, ``/s/<id>.py``
downloads it as a Python file (``POST /api/script`` makes the page's
Download the same way: ``sharing/script.py``), ``/embed/<id>`` and ``/embed#code=...`` are the
compact page for an iframe (the only pages any site may frame), and
``/oembed?url=...`` lets blog platforms turn a shared link into an embed.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request, url_for
from markupsafe import escape

from playground.services import services
from playground.sharing.script import script_text
from playground.sharing.store import StoredSnippet, StoreError, is_snippet_id
from playground.urls.codegen import real_script
from playground.web.context import index_context
from playground.web.errors import APIError
from playground.web.headers import embeddable
from playground.web.requests import ScriptRequest, SnippetRequest, json_body

bp = Blueprint("snippets", __name__)

# Snippets never change (the id is their hash); a day of caching is safe.
SNIPPET_CACHE_SECONDS = 86400
STORAGE_RETRY_SECONDS = 60

# oEmbed: the iframe's size when the consumer gives no maximum.
OEMBED_WIDTH = 760
OEMBED_MIN_HEIGHT = 360
OEMBED_MAX_HEIGHT = 900
OEMBED_LINE_PX = 19
OEMBED_CHROME_PX = 300
PROVIDER_NAME = "asyncio playground"

NOT_FOUND = "No snippet has this id. Check the link, or share the snippet again."
STORE_DOWN = "Snippets cannot be saved or read right now."  # the page adds when it tries again


def load_or_404(snippet_id: str, api: bool) -> StoredSnippet:
    try:
        snippet = services().snippets.load(snippet_id)
    except StoreError:
        current_app.logger.exception("reading snippet %s", snippet_id)
        if api:
            raise APIError(503, "storage_unavailable", STORE_DOWN, retry_after=STORAGE_RETRY_SECONDS) from None
        abort(503)
    if snippet is None:
        if api:
            raise APIError(404, "not_found", NOT_FOUND)
        abort(404)
    return snippet


def share_url(snippet_id: str) -> str:
    return url_for("snippets.shared", snippet_id=snippet_id, _external=True)


def public_json(snippet: StoredSnippet) -> dict[str, Any]:
    return {
        "id": snippet.id,
        "url": share_url(snippet.id),
        **snippet.data,
        "created": snippet.created.replace(tzinfo=snippet.created.tzinfo or UTC).isoformat(),
    }


# ------------------------------------------------------------------ API


@bp.post("/api/snippets")
def create() -> tuple[Response, int]:
    found = services()
    asked = SnippetRequest.parse(json_body(SnippetRequest.FIELDS), found.fetcher.limits,
                                 found.settings.snippet_max_bytes, found.sandbox.pythons)
    try:
        snippet_id = found.snippets.save(asked.data)
    except StoreError:
        current_app.logger.exception("saving a snippet")
        raise APIError(503, "storage_unavailable", STORE_DOWN, retry_after=STORAGE_RETRY_SECONDS) from None
    url = share_url(snippet_id)
    response = jsonify(id=snippet_id, url=url)
    response.headers["Location"] = url
    return response, 201


@bp.post("/api/script")
def script() -> Response:
    """The page's Download .py: the code with the block naming its Python."""
    found = services()
    asked = ScriptRequest.parse(json_body(ScriptRequest.FIELDS), found.sandbox.limits, found.sandbox.pythons)
    return jsonify(script=script_text(asked.code, asked.python))


@bp.get("/api/snippets/<snippet_id>")
def get_snippet(snippet_id: str) -> Response:
    response = jsonify(public_json(load_or_404(snippet_id, api=True)))
    response.headers["Cache-Control"] = f"public, max-age={SNIPPET_CACHE_SECONDS}"
    return response


# ---------------------------------------------------------------- pages


@bp.get("/s/<snippet_id>")
def shared(snippet_id: str) -> str:
    snippet = load_or_404(snippet_id, api=False)
    return render_template(
        "shared.html",
        **index_context(),
        snippet=public_json(snippet),
        share_url=share_url(snippet.id),
        oembed_url=url_for("snippets.oembed", url=share_url(snippet.id), format="json", _external=True),
    )


@bp.get("/s/<snippet_id>.py")
def download(snippet_id: str) -> Response:
    snippet = load_or_404(snippet_id, api=False)
    data = snippet.data
    if snippet.mode == "code":
        text = script_text(str(data["code"]), str(data["python"]))
    else:
        text = real_script(data["urls"], data["strategy"], int(data["limit"]), services().sandbox.pythons.default)
    response = current_app.response_class(text, mimetype="text/x-python")
    response.headers["Content-Disposition"] = f'attachment; filename="{snippet.id}.py"'
    response.headers["Cache-Control"] = f"public, max-age={SNIPPET_CACHE_SECONDS}"
    return response


def embed_response(snippet: StoredSnippet | None) -> Response:
    html = render_template(
        "embed.html",
        snippet=public_json(snippet) if snippet is not None else None,
        unsandboxed=not services().sandbox.sandboxed,
        pythons=services().sandbox.pythons.listing(),
    )
    return current_app.response_class(html, mimetype="text/html")


@bp.get("/embed")
@embeddable
def embed_fragment() -> Response:
    """The code comes in the fragment (``#code=...``), which never reaches us."""
    return embed_response(None)


@bp.get("/embed/<snippet_id>")
@embeddable
def embed(snippet_id: str) -> Response:
    return embed_response(load_or_404(snippet_id, api=False))


# --------------------------------------------------------------- oEmbed


def snippet_id_of(url: str) -> str | None:
    """The id in a link to one of our shared or embed pages, or None."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or parts.netloc.lower() != request.host.lower():
        return None
    root = request.script_root.rstrip("/")
    for prefix in (f"{root}/s/", f"{root}/embed/"):
        if parts.path.startswith(prefix):
            candidate = parts.path[len(prefix):]
            return candidate if is_snippet_id(candidate) else None
    return None


def size_arg(name: str) -> int | None:
    value = request.args.get(name)
    if value is None or value == "":
        return None
    if not value.isdigit() or int(value) < 1:
        raise APIError(400, "wrong_fields", f"Parameter {name!r} must be a whole number of pixels.")
    return int(value)


@bp.get("/oembed")
def oembed() -> Response:
    if request.args.get("format", "json") != "json":
        raise APIError(501, "not_implemented", "Only format=json is offered.")
    snippet_id = snippet_id_of(request.args.get("url", ""))
    if snippet_id is None:
        raise APIError(404, "not_found", "Parameter 'url' must be a link to a shared snippet of this playground "
                                         "(…/s/<id>).")
    snippet = load_or_404(snippet_id, api=True)
    lines = str(snippet.data.get("code", "")).count("\n") + 1 if snippet.mode == "code" else 8
    width = OEMBED_WIDTH
    height = max(OEMBED_MIN_HEIGHT, min(OEMBED_MAX_HEIGHT, OEMBED_CHROME_PX + OEMBED_LINE_PX * lines))
    max_width, max_height = size_arg("maxwidth"), size_arg("maxheight")
    if max_width is not None:
        width = min(width, max_width)
    if max_height is not None:
        height = min(height, max_height)
    src = url_for("snippets.embed", snippet_id=snippet.id, _external=True)
    title = f"asyncio playground snippet {snippet.id}"
    html = (f'<iframe src="{escape(src)}" width="{width}" height="{height}" title="{escape(title)}" '
            f'style="border:0;max-width:100%" loading="lazy"></iframe>')
    response = jsonify(
        version="1.0",
        type="rich",
        provider_name=PROVIDER_NAME,
        provider_url=url_for("pages.index", _external=True),
        title=title,
        html=html,
        width=width,
        height=height,
        cache_age=SNIPPET_CACHE_SECONDS,
    )
    response.headers["Cache-Control"] = f"public, max-age={SNIPPET_CACHE_SECONDS}"
    return response
