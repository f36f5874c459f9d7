"""Security headers on every response.

The page runs no inline script and loads nothing from other origins, so the
Content-Security-Policy can be strict; anything a run prints is text, and
this policy is the second line should that ever slip. No page may be framed
by another site (``frame-ancestors 'none'``, and ``X-Frame-Options`` for old
browsers) except the views marked ``@embeddable``, the embed pages meant for
other sites' iframes, which the sites in ``EMBED_FRAME_ANCESTORS`` may frame.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Flask, Response, current_app, request

POLICY = [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    # blob: lets the page draw its own SVG timeline into a PNG download.
    "img-src 'self' blob:",
    "connect-src 'self'",
    "font-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
]
CONTENT_SECURITY_POLICY = "; ".join([*POLICY, "frame-ancestors 'none'"])
REFERRER_POLICY = "no-referrer"
View = TypeVar("View", bound=Callable[..., object])


def embeddable(view: View) -> View:
    """Mark a view as an embed page: other sites may frame it."""
    view.playground_embeddable = True  # type: ignore[attr-defined]
    return view


def _is_embeddable() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, "playground_embeddable", False))


def register(app: Flask, frame_ancestors: str) -> None:
    """Add the headers to every response; ``frame_ancestors``: who may frame the embed pages."""
    embed_policy = "; ".join([*POLICY, f"frame-ancestors {frame_ancestors}"])

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        if _is_embeddable():
            response.headers.setdefault("Content-Security-Policy", embed_policy)
        else:
            response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
            response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", REFERRER_POLICY)
        return response
