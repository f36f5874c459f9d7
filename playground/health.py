"""``/healthz``: 200 when the server can start a jail, 503 with the reason."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    sandbox = current_app.extensions["playground.sandbox"]
    problem = sandbox.health()
    if problem is not None:
        return jsonify(status="unavailable", reason=problem), 503
    return jsonify(status="ok", sandbox=sandbox.jail.name), 200
