"""Security headers on every response.

The page runs no inline script and loads nothing from other origins, so the
Content-Security-Policy can be strict; anything a run prints is text, and
this policy is the second line should that ever slip. No page may be framed,
except the embed pages, which exist to be framed by anyone's tutorial: they
set ``EMBED_CONTENT_SECURITY_POLICY`` themselves, the same policy with
``frame-ancestors *``.
"""

from __future__ import annotations

from flask import Flask, Response


def content_security_policy(frame_ancestors: str) -> str:
    return "; ".join([
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "font-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        f"frame-ancestors {frame_ancestors}",
    ])


CONTENT_SECURITY_POLICY = content_security_policy("'none'")
EMBED_CONTENT_SECURITY_POLICY = content_security_policy("*")


def register(app: Flask) -> None:
    @app.after_request
    def add_security_headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response
