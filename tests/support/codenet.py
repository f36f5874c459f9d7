"""Helpers of the code-mode network tests: a real sandbox with given settings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from playground.sandbox.service import Sandbox
from playground.settings import Settings

RunCode = Callable[..., dict[str, Any]]


def sandbox_for(**settings: Any) -> Sandbox:
    """A sandbox (bubblewrap, no warm pool) with these settings over the defaults."""
    return Sandbox.from_settings(Settings.load({}, {"WARM_POOL": False, **settings}))
