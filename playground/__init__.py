"""The asyncio playground: run asyncio snippets in a jail, see their timeline.

The subsystems are packages (docs/architecture.md maps them): ``web`` (Flask
views), ``ops`` (health, metrics, logs), ``sandbox`` (jails and runs, no
Flask), ``tracer`` (what runs inside the jail, standard library only),
``model`` (the trace), ``urls`` (URL mode), ``sharing`` (snippets, run cache,
examples). This package imports none of them until ``create_app`` is called,
so importing ``playground.tracer.protocol`` or ``playground.sandbox`` never
loads Flask.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """The Flask app (see :func:`playground.app.create_app`)."""
    from playground.app import create_app as factory

    return factory(test_config)
