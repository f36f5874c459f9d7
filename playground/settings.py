"""The server's settings: one frozen, typed ``Settings``, and the only place
that reads configuration.

Each setting has a default here; the environment overrides it as
``PLAYGROUND_<KEY>``, and ``create_app(test_config)`` overrides both with
``{"<KEY>": value}``. The limits on a run are ``LIMIT_<NAME>`` keys (the
fields of :class:`playground.sandbox.limits.Limits`), URL mode's caps are
``URL_<NAME>`` keys (the fields of :class:`playground.urls.limits.FetchLimits`).

Parsing fails closed: an unknown key (a typo such as
``PLAYGROUND_LIMIT_WAL_SECONDS``) or a value of the wrong type stops the
server from starting with ``SettingsError``, rather than leaving a limit at
a default nobody meant.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from limits import parse_many

from playground.sandbox.limits import Limits
from playground.sandbox.pythons import DEFAULT_ROOT
from playground.sharing import runcache
from playground.urls.limits import FetchLimits
from playground.urls.ssrf import parse_allow, parse_ports

ENV_PREFIX = "PLAYGROUND_"
CORES = os.cpu_count() or 2
KIB = 1024

# PLAYGROUND_* variables that are not the app's settings: gunicorn.conf.py
# reads the first five, the jail the last (see playground.sandbox.jail).
OTHER_ENV_KEYS = frozenset({"BIND", "WORKERS", "THREADS", "MAX_REQUESTS", "MAX_REQUESTS_JITTER", "TRACER_SPEEDUPS"})

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


class SettingsError(ValueError):
    """A setting is unknown or its value cannot be read; the message names it."""


@dataclass(frozen=True)
class Settings:
    # The jail: "bwrap", or "none" for local use without one.
    sandbox: str = "bwrap"
    # The host's interpreter (Debian 12's 3.11), and the root of newer ones
    # (playground.sandbox.pythonroot; missing: runs have the host's only).
    jail_python: str = "/usr/bin/python3"
    pythons_root: str = str(DEFAULT_ROOT)
    # The Python a run gets when it names none (an id, "3.14"); "": the
    # newest that passes every test (playground.sandbox.pythons).
    default_python: str = ""
    jail_uid_base: int = 61000
    concurrency: int = CORES
    # A run is refused when its predicted wait for a jail slot passes this
    # (playground.sandbox.admission); an admitted run waits at most its
    # predicted wait plus this.
    queue_wait_seconds: float = 10.0
    # Runs that may wait at once: a guard of the request threads, not the
    # admission rule (before admission by time it was, with the number of
    # cores as default). Each waiting run holds one of gunicorn's threads
    # (THREADS defaults to CONCURRENCY + this + 16), so past this many
    # waiting a run is refused whatever the wait. Twice the 64 clients a
    # node is sized for.
    queue_size: int = 128
    # Keep a jail started ahead for each slot (see playground.sandbox.pool).
    warm_pool: bool = True
    # Whether code mode reaches the network through the server's guard
    # (playground.egress); off: every connection and lookup is refused.
    code_network: bool = True
    # Which of the node's gunicorn workers this process is (gunicorn.conf.py
    # sets it): worker k's jails use the k-th range of CONCURRENCY uids.
    worker_index: int = 0
    # Where the node's live runs can be stopped from, whichever worker a stop
    # reaches: a directory only the server can write (gunicorn.conf.py makes
    # one per node); "": one of the process's own.
    live_dir: str = ""
    max_content_length: int = 256 * KIB
    ratelimit_enabled: bool = True
    ratelimit_storage_uri: str = "memory://"
    # Give up on a call to Redis after this long, so a lost Redis is never a
    # hang; each node then counts in memory until it is back.
    ratelimit_storage_timeout_seconds: float = 0.5
    # Seconds of jail slot one client address may use (each run counts the
    # time it held its slot, at least the server's own cost of a run; see
    # playground.web.ratelimit): a class behind one address may keep one slot
    # busy for a minute, and half a slot over an hour (docs/live.md).
    ratelimit_run_seconds: str = "60/minute;1800/hour"
    ratelimit_fetch: str = "20/minute;200/hour"
    ratelimit_share: str = "30/minute;500/hour"
    # Proxies in front of the server that set X-Forwarded-For (0: none), so
    # the rate limits count the client's address, not the proxy's.
    trusted_proxies: int = 0
    # Who may put the embed pages in an iframe: "*" any site, or origins.
    embed_frame_ancestors: str = "*"
    # Where shared snippets are kept (any SQLAlchemy URL); "" is SQLite in
    # the instance folder.
    database_url: str = ""
    instance_path: str = ""
    snippet_max_bytes: int = 64 * KIB
    run_cache_seconds: float = runcache.DEFAULT_SECONDS
    run_cache_entries: int = runcache.DEFAULT_ENTRIES
    run_cache_bytes: int = runcache.DEFAULT_BYTES
    testing: bool = False
    secret_key: str = ""
    limits: Limits = field(default_factory=Limits)
    urls: FetchLimits = field(default_factory=FetchLimits)

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None,
             overrides: Mapping[str, Any] | None = None) -> Settings:
        """The defaults, then ``PLAYGROUND_*`` from ``environ`` (the process's
        environment by default), then ``overrides``."""
        environ = os.environ if environ is None else environ
        given: dict[str, Any] = {
            name[len(ENV_PREFIX):]: value for name, value in environ.items()
            if name.startswith(ENV_PREFIX) and name[len(ENV_PREFIX):] not in OTHER_ENV_KEYS
        }
        given.update(overrides or {})
        top: dict[str, Any] = {}
        limits: dict[str, Any] = {}
        urls: dict[str, Any] = {}
        for key, value in given.items():
            owner, prefix, into = ((Limits, "LIMIT_", limits) if key.startswith("LIMIT_")
                                   else (FetchLimits, "URL_", urls) if key.startswith("URL_")
                                   else (cls, "", top))
            name = _field_of(owner, key, prefix)
            into[name] = _parse(owner, key, name, value)
        return cls(**top, limits=Limits(**limits), urls=FetchLimits(**urls))

    def flask_config(self) -> dict[str, Any]:
        """What Flask and Flask-Limiter read from ``app.config``."""
        return {
            "TESTING": self.testing,
            "SECRET_KEY": self.secret_key or None,
            "MAX_CONTENT_LENGTH": self.max_content_length,
            "RATELIMIT_ENABLED": self.ratelimit_enabled,
            "RATELIMIT_STORAGE_URI": self.ratelimit_storage_uri,
            "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
            "RATELIMIT_SWALLOW_ERRORS": True,
        }

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


_NESTED = frozenset({"limits", "urls"})
_SPECIAL: dict[tuple[type, str], Callable[[str], Any]] = {
    (FetchLimits, "allow"): parse_allow,
    (FetchLimits, "ports"): parse_ports,
}


def _field_of(owner: type, key: str, prefix: str) -> str:
    name = key[len(prefix):].lower()
    known = {item.name for item in fields(owner)} - _NESTED
    if name not in known:
        raise SettingsError(f"Unknown setting {key!r} (PLAYGROUND_{key}); see the settings table in README.md.")
    return name


def _parse(owner: type, key: str, name: str, value: Any) -> Any:
    special = _SPECIAL.get((owner, name))
    if special is not None:
        return special(value) if isinstance(value, str) else frozenset(value)
    default = next(item for item in fields(owner) if item.name == name)
    kind = type(default.default) if default.default is not dataclasses.MISSING else str
    try:
        converted = _convert(kind, value)
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"Setting {key!r} must be {_KIND_WORDS[kind]}, not {value!r}.") from exc
    if owner is Settings and name in _RATE_LIMITS:
        try:
            parse_many(converted)
        except ValueError as exc:
            raise SettingsError(f"Setting {key!r} must be rate limits such as '60/minute;1800/hour', "
                                f"not {value!r}.") from exc
    return converted


_RATE_LIMITS = frozenset({"ratelimit_run_seconds", "ratelimit_fetch", "ratelimit_share"})


_KIND_WORDS = {bool: "true or false", int: "a whole number", float: "a number", str: "text"}


def _convert(kind: type, value: Any) -> Any:
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            return value != 0
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise ValueError(value)
    if kind is int:
        if isinstance(value, bool):
            raise TypeError(value)
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(value)
        return int(value)
    if kind is float:
        if isinstance(value, bool):
            raise TypeError(value)
        return float(value)
    if not isinstance(value, str):
        raise TypeError(value)
    return value
