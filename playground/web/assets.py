"""The pages' static files under URLs that name their content, kept by
browsers without asking again.

A page links its stylesheets, scripts and modules as
``/assets/<digest>/<path>``: the digest is a hash of the whole static
folder, so a browser may keep each file for a year (``immutable``), and a
deployment that changes any file changes every URL. A module's relative
imports resolve under the same digest. Without it, every one of a tutorial
page's embeds asked the server again for each of its 46 files (``no-cache``):
twelve embeds, 552 requests to one server process while the page loaded.

``/static/<path>`` stays as it was, revalidated on every use, for what other
pages link to by name: ``embed.js`` in authors' pages. A page opened before
a deployment asks for its old digest: it gets today's files, not kept.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from flask import Blueprint, Response, current_app, g, send_from_directory, url_for

ASSET_CACHE_SECONDS = 365 * 24 * 3600
DIGEST_CHARS = 16

bp = Blueprint("assets", __name__)


def static_digest(folder: Path) -> str:
    """A hash of every file under ``folder``: their paths and their bytes."""
    digest = hashlib.blake2b(digest_size=DIGEST_CHARS // 2)
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


_deployed_digest = functools.cache(static_digest)


def current_digest() -> str:
    """The static folder's digest: once per process, or once per request in
    debug mode, where the files change while the server runs."""
    folder = Path(current_app.static_folder or "")
    if not current_app.debug:
        return _deployed_digest(folder)
    if "static_digest" not in g:
        g.static_digest = static_digest(folder)
    digest: str = g.static_digest
    return digest


def asset_url(filename: str) -> str:
    """The URL of ``filename`` (a path under the static folder) that names today's files."""
    return url_for("assets.versioned", digest=current_digest(), filename=filename)


@bp.app_context_processor
def asset_urls() -> dict[str, object]:
    return {"asset_url": asset_url}


@bp.get("/assets/<digest>/<path:filename>")
def versioned(digest: str, filename: str) -> Response:
    if digest != current_digest():
        return send_from_directory(current_app.static_folder or "", filename)
    response = send_from_directory(current_app.static_folder or "", filename, max_age=ASSET_CACHE_SECONDS)
    response.cache_control.immutable = True
    return response
