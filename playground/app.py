"""``create_app``, the Flask application factory: settings, services,
blueprints, in that order.

Settings come from :class:`playground.settings.Settings` (defaults, then
``PLAYGROUND_*`` environment variables, then ``test_config``). The instance
folder (where the default SQLite database lives) is ``instance/`` beside the
package, or ``INSTANCE_PATH``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from playground.ops import endpoints, logs
from playground.services import Services
from playground.settings import Settings
from playground.web import assets, errors, headers, live, pages, ratelimit, runs, snippets, urlmode

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    settings = Settings.load(overrides=test_config)
    app = Flask(
        "playground",
        instance_path=os.path.abspath(settings.instance_path) if settings.instance_path else None,
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.from_mapping(settings.flask_config())
    Services.from_settings(settings, app.instance_path).install(app)
    errors.register(app)
    headers.register(app, settings.embed_frame_ancestors)
    for blueprint in (pages.bp, assets.bp, runs.bp, live.bp, urlmode.bp, snippets.bp, endpoints.bp):
        app.register_blueprint(blueprint)
    ratelimit.register(app, settings)
    logs.register(app, trust_proxy=settings.trusted_proxies > 0)
    if settings.trusted_proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies)  # type: ignore[method-assign]
    return app
