"""What an operator asks the server: ``/healthz`` (200 when the server can
start a jail and run a snippet in it, 503 with the reason; ``cgroups`` says
whether runs get a cgroup of their own, or why not) and ``/metrics``
(Prometheus). Neither is rate-limited."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from playground.ops import metrics
from playground.services import services

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    sandbox = services().sandbox
    problem = sandbox.health()
    if problem is not None:
        return jsonify(status="unavailable", reason=problem), 503
    return jsonify(status="ok", sandbox=sandbox.jail_name, cgroups=sandbox.cgroups), 200


@bp.get("/metrics", endpoint="metrics")
def metrics_page() -> Response:
    response = Response(generate_latest(metrics.registry()), content_type=CONTENT_TYPE_LATEST)
    response.headers["Cache-Control"] = "no-store"
    return response
