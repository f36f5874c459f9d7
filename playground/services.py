"""The long-lived services one app holds, and the typed way views reach them.

``create_app`` builds one ``Services`` from the settings and keeps it on the
Flask app; a view asks ``services()`` for it (``services(app)`` outside a
request), and gets the settings, the sandbox, the URL fetcher, the run cache
and the snippet store as typed attributes, never by string key.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app

from playground.sandbox.service import Sandbox
from playground.settings import Settings
from playground.sharing.runcache import WAIT_MARGIN_SECONDS, RunCache
from playground.sharing.store import SnippetStore
from playground.urls.fetcher import Fetcher

_EXTENSION = "playground"


@dataclass(frozen=True)
class Services:
    settings: Settings
    sandbox: Sandbox
    fetcher: Fetcher
    run_cache: RunCache
    snippets: SnippetStore

    @classmethod
    def from_settings(cls, settings: Settings, instance_path: str) -> Services:
        return cls(
            settings=settings,
            sandbox=Sandbox.from_settings(settings),
            fetcher=Fetcher(settings.urls),
            run_cache=RunCache(
                seconds=settings.run_cache_seconds,
                entries=settings.run_cache_entries,
                max_bytes=settings.run_cache_bytes,
                # A reader waits for the same snippet's run at most as long as
                # that run can take, queue included (an admitted run waits at
                # most twice QUEUE_WAIT_SECONDS: see playground.sandbox.admission).
                wait_seconds=2 * settings.queue_wait_seconds + settings.limits.wall_seconds + WAIT_MARGIN_SECONDS,
            ),
            snippets=SnippetStore.open(settings.database_url, instance_path),
        )

    def install(self, app: Flask) -> None:
        app.extensions[_EXTENSION] = self

    def close(self) -> None:
        """End the warm jails and close the database's connections."""
        self.sandbox.close()
        self.snippets.close()


def services(app: Flask | None = None) -> Services:
    """The services of ``app``, or of the app handling this request."""
    found = (app if app is not None else current_app).extensions.get(_EXTENSION)
    if not isinstance(found, Services):
        raise RuntimeError("This Flask app was not made by playground.create_app.")
    return found
