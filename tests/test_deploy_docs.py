"""docs/deploy.md lists every setting with its default: each config key the
code reads, and each gunicorn setting gunicorn.conf.py takes from the
environment, has a row in its table."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

from playground import DEFAULTS
from playground.limits import Limits
from playground.urllimits import FetchLimits

ROOT = Path(__file__).resolve().parent.parent


def documented() -> dict[str, str]:
    """Key -> default, from the table of docs/deploy.md."""
    text = (ROOT / "docs" / "deploy.md").read_text()
    table = text.split("## Every setting", 1)[1]
    rows = re.findall(r"^\| `([A-Z_]+)`(?: \(gunicorn\))? \| ([^|]+) \|", table, re.MULTILINE)
    return {key: default.strip() for key, default in rows}


def read_by_the_code() -> set[str]:
    keys = set(DEFAULTS)
    keys |= {f"LIMIT_{item.name.upper()}" for item in fields(Limits)}
    keys |= {f"URL_{item.name.upper()}" for item in fields(FetchLimits)}
    for path in (ROOT / "playground").glob("*.py"):
        keys |= set(re.findall(r'config(?:\.get\(|\[)"([A-Z_]+)"', path.read_text()))
    keys |= set(re.findall(r'_setting\("([A-Z_]+)"', (ROOT / "gunicorn.conf.py").read_text()))
    keys |= set(re.findall(r'"PLAYGROUND_([A-Z_]+)"', (ROOT / "gunicorn.conf.py").read_text()))
    keys.add("INSTANCE_PATH")  # read by create_app from the environment
    keys.add("RATELIMIT_ENABLED")  # Flask-Limiter's own
    return keys


def test_every_setting_is_in_the_table() -> None:
    missing = read_by_the_code() - set(documented())
    assert not missing, f"add these to the table in docs/deploy.md: {sorted(missing)}"


def shown(value: object) -> str:
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float) and value.is_integer():
        return f"`{int(value)}`"
    return f"`{value}`"


def test_the_defaults_in_the_table_are_the_codes() -> None:
    table = documented()
    for key, value in DEFAULTS.items():
        if key not in ("CONCURRENCY", "QUEUE_SIZE"):  # "number of cores"
            assert table[key] == shown(value), key
    for item in fields(Limits):
        assert table[f"LIMIT_{item.name.upper()}"] == shown(item.default), item.name
