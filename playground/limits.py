"""Limits on a run, with their defaults, and what we tell people about them.

Every limit is a named setting (``PLAYGROUND_<NAME>`` in the environment, or
the Flask config key of that name) and every user-facing sentence about a
limit is a constant here, so the numbers people read are the numbers in force.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

KIB = 1024
MIB = 1024 * KIB


@dataclass(frozen=True)
class Limits:
    wall_seconds: float = 10.0
    cpu_seconds: int = 5
    memory_bytes: int = 256 * MIB
    output_bytes: int = 64 * KIB
    max_events: int = 20_000
    max_tasks: int = 20_000
    horizon_seconds: float = 3600.0
    blocking_threshold: float = 0.05
    file_size_bytes: int = 1 * MIB
    tmp_bytes: int = 8 * MIB
    open_files: int = 64
    processes: int = 32
    code_bytes: int = 64 * KIB
    channel_bytes: int = 32 * MIB

    @classmethod
    def from_config(cls, config: Any) -> Limits:
        """Read ``LIMIT_<NAME>`` keys (e.g. ``PLAYGROUND_LIMIT_WALL_SECONDS``)."""
        values = {}
        for item in fields(cls):
            key = f"LIMIT_{item.name.upper()}"
            if key in config:
                values[item.name] = type(getattr(cls, item.name))(config[key])
        return cls(**values)


TIMEOUT_MESSAGE = (
    "The run took longer than the {wall_seconds:g} s wall-clock limit and was stopped. "
    "Look for a loop that never awaits, or a real-clock wait that is too long."
)
CPU_MESSAGE = (
    "The run used more than the {cpu_seconds} s CPU limit and was stopped. "
    "Look for a loop that computes without end."
)
MEMORY_MESSAGE = (
    "The run needed more than the {memory_mib} MiB memory limit. "
    "Look for a list or string that grows without end."
)
OUTPUT_MESSAGE = (
    "The run printed more than the {output_kib} KiB output limit and was stopped. "
    "Print less, or print inside a loop that ends."
)
CRASH_MESSAGE = "The run ended abruptly ({how}) without reporting how it finished."
EVENTS_MESSAGE = "The trace was cut at {max_events} events; the run itself went on."


def limit_message(template: str, limits: Limits, **extra: Any) -> str:
    return template.format(
        memory_mib=limits.memory_bytes // MIB,
        output_kib=limits.output_bytes // KIB,
        **{item.name: getattr(limits, item.name) for item in fields(limits)},
        **extra,
    )
