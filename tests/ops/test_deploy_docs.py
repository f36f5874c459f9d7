"""docs/deploy.md lists every setting with its default: each key of
playground.settings.Settings, and each gunicorn setting gunicorn.conf.py
takes from the environment, has a row in its table."""

from __future__ import annotations

import re
from dataclasses import fields

from playground.sandbox.limits import Limits
from playground.settings import OTHER_ENV_KEYS, Settings
from playground.urls.limits import FetchLimits
from tests.support import ROOT

NESTED = {"limits", "urls"}
# Settings only for tests, not for operators.
TEST_ONLY = {"TESTING", "SECRET_KEY"}


def documented() -> dict[str, str]:
    """Key -> default, from the table of docs/deploy.md."""
    text = (ROOT / "docs" / "deploy.md").read_text()
    table = text.split("## Every setting", 1)[1]
    rows = re.findall(r"^\| `([A-Z_]+)`(?: \(gunicorn\))? \| ([^|]+) \|", table, re.MULTILINE)
    return {key: default.strip() for key, default in rows}


def read_by_the_code() -> set[str]:
    keys = {item.name.upper() for item in fields(Settings) if item.name not in NESTED} - TEST_ONLY
    keys |= {f"LIMIT_{item.name.upper()}" for item in fields(Limits)}
    keys |= {f"URL_{item.name.upper()}" for item in fields(FetchLimits)}
    keys |= set(re.findall(r'_setting\("([A-Z_]+)"', (ROOT / "gunicorn.conf.py").read_text()))
    keys |= set(re.findall(r'"PLAYGROUND_([A-Z_]+)"', (ROOT / "gunicorn.conf.py").read_text()))
    return keys


def test_gunicorn_reads_only_the_keys_the_settings_leave_to_it() -> None:
    gunicorn = set(re.findall(r'_setting\("([A-Z_]+)"', (ROOT / "gunicorn.conf.py").read_text()))
    gunicorn |= set(re.findall(r'"PLAYGROUND_([A-Z_]+)"', (ROOT / "gunicorn.conf.py").read_text()))
    assert gunicorn - {"WORKER_INDEX", "LIVE_DIR"} <= OTHER_ENV_KEYS  # settings it sets for the workers


def test_every_setting_is_in_the_table() -> None:
    missing = read_by_the_code() - set(documented())
    assert not missing, f"add these to the table in docs/deploy.md: {sorted(missing)}"


def shown(value: object) -> str:
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float) and value.is_integer():
        return f"`{int(value)}`"
    if value == "":
        return "(empty)"
    return f"`{value}`"


def test_the_defaults_in_the_table_are_the_codes() -> None:
    table = documented()
    for item in fields(Settings):
        key = item.name.upper()
        if item.name in NESTED or key in TEST_ONLY or key in ("CONCURRENCY", "DATABASE_URL",
                                                                 "INSTANCE_PATH"):
            continue  # "number of cores", set by gunicorn.conf.py, or described rather than given
        assert table[key] == shown(item.default), key
    for item in fields(Limits):
        assert table[f"LIMIT_{item.name.upper()}"] == shown(item.default), item.name
