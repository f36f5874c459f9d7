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
    cpu_seconds: int = 8
    memory_bytes: int = 512 * MIB
    output_bytes: int = 64 * KIB
    max_events: int = 400_000
    max_tasks: int = 120_000
    horizon_seconds: float = 3600.0
    blocking_threshold: float = 0.05
    file_size_bytes: int = 1 * MIB
    tmp_bytes: int = 8 * MIB
    tmp_files: int = 4096
    open_files: int = 64
    processes: int = 32
    code_bytes: int = 64 * KIB
    channel_bytes: int = 32 * MIB
    # Messages of the trace stream the server rejects before it stops the
    # run; a rejected line or frame counts one more for every 8 KiB of it
    # read in vain (playground.sandbox.stream), so a 64 KiB one stops it.
    max_rejected: int = 8
    # The largest answer (the trace's JSON): past it the trace is cut, as
    # at max_events. A 100,000-task gather's trace is about 35 MB as v1 JSON.
    answer_bytes: int = 96 * MIB
    # The server's CPU to read a run, at most this many times the jail's to
    # produce it (where the slot's cgroup counts the jail's CPU).
    parse_cpu_ratio: float = 2.0


# What each limit says when it stops or cuts a run. Placeholders are the
# limits' own names (and ``*_kib`` / ``*_mib`` / ``*_size`` forms of the byte sizes).
TIMEOUT_MESSAGE = (
    "The run took longer than the {wall_seconds:g} s wall-clock limit and was stopped. "
    "Look for a loop that never awaits, or a real-clock wait that is too long."
)
HORIZON_MESSAGE = (
    "The run would sleep past the virtual clock's horizon of {horizon_seconds:g} s and was stopped. "
    "Look for a sleep that is far too long, or a loop of sleeps that never ends."
)
CPU_MESSAGE = (
    "The run used more than the {cpu_seconds} s CPU limit and was stopped. "
    "Look for a loop that computes without end."
)
MEMORY_MESSAGE = (
    "The run needed more than the {memory_bytes_mib} MiB memory limit. "
    "Look for a list or string that grows without end."
)
OUTPUT_MESSAGE = (
    "The run printed more than the {output_bytes_size} output limit and was stopped. "
    "Print less, or print inside a loop that ends."
)
CHANNEL_MESSAGE = (
    "The run sent more than the {channel_bytes_mib} MiB of trace data the server reads and was stopped."
)
REJECTED_MESSAGE = (
    "The run wrote into the tracer's stream what the server could not read ({max_rejected} bad messages' worth) "
    "and was stopped. That stream belongs to the tracer: print with print(), and leave its descriptor alone."
)
ANSWER_MESSAGE = (
    "The trace was cut at {answer_bytes_size}, the most the server sends back; the run itself went on. "
    "Long task names and messages take the most room."
)
EVENTS_MESSAGE = "The trace was cut at {max_events} events; the run itself went on."
TASKS_MESSAGE = "The trace was cut at {max_tasks} tasks; the run itself went on."
PROCESSES_MESSAGE = (
    "The run hit the limit of {processes} processes and threads, so starting another process or thread failed. "
    "Start fewer of them; asyncio tasks cost none."
)
OPEN_FILES_MESSAGE = (
    "The run hit the limit of {open_files} open files, so opening another failed. "
    "Close files when done with them (with open(...) as f:)."
)
FILE_SIZE_MESSAGE = (
    "The run tried to write a file larger than the {file_size_bytes_kib} KiB file size limit."
)
TMP_MESSAGE = "The run filled /tmp: its {tmp_bytes_kib} KiB of space, or its {tmp_files} files."
# The reason given for a step still running when the run was stopped.
STILL_RUNNING = "still running when the run was stopped"
CRASH_MESSAGE = "The run ended abruptly ({how}) without reporting how it finished."
PARSE_COST_MESSAGE = (
    "The run sent trace data that cost the server more than {parse_cpu_ratio:g} times the CPU the run spent "
    "making it, and was stopped. A program that only prints and awaits never comes near this."
)
BAD_SETTINGS_MESSAGE = (
    "The server could not hand this run its settings, so the snippet was not run. "
    "This is the server's fault, not the snippet's: please report it."
)
NO_FILTER_MESSAGE = (
    "The sandbox could not install its system-call filter (seccomp), so the snippet was not run. "
    "The server needs libseccomp (Debian's libseccomp2) where the sandbox's Python can load it."
)

# The status a run gets from each limit that stops it. None: the limit cuts
# the trace, and the run goes on with the status it earns. The processes,
# open files, file size and /tmp limits make the call that crosses them fail
# inside the snippet, which then ends with ``error`` unless it handles it.
LIMIT_STATUS: dict[str, str | None] = {
    "wall_seconds": "timeout",
    "horizon_seconds": "timeout",
    "cpu_seconds": "cpu_limit",
    "memory_bytes": "memory_limit",
    "output_bytes": "output_limit",
    "channel_bytes": "output_limit",
    "max_rejected": "output_limit",
    "processes": "error",
    "open_files": "error",
    "file_size_bytes": "error",
    "tmp_bytes": "error",
    "max_events": None,
    "max_tasks": None,
    "answer_bytes": None,
    "parse_cpu_ratio": "output_limit",
}
LIMIT_MESSAGES: dict[str, str] = {
    "wall_seconds": TIMEOUT_MESSAGE,
    "horizon_seconds": HORIZON_MESSAGE,
    "cpu_seconds": CPU_MESSAGE,
    "memory_bytes": MEMORY_MESSAGE,
    "output_bytes": OUTPUT_MESSAGE,
    "channel_bytes": CHANNEL_MESSAGE,
    "max_rejected": REJECTED_MESSAGE,
    "processes": PROCESSES_MESSAGE,
    "open_files": OPEN_FILES_MESSAGE,
    "file_size_bytes": FILE_SIZE_MESSAGE,
    "tmp_bytes": TMP_MESSAGE,
    "max_events": EVENTS_MESSAGE,
    "max_tasks": TASKS_MESSAGE,
    "answer_bytes": ANSWER_MESSAGE,
    "parse_cpu_ratio": PARSE_COST_MESSAGE,
}


def _size(value: int) -> str:
    """A size as people read it: ``1 MiB``, ``64 KiB``, ``1500 bytes``."""
    if value and value % MIB == 0:
        return f"{value // MIB} MiB"
    if value and value % KIB == 0:
        return f"{value // KIB} KiB"
    return f"{value} bytes"


def limit_message(template: str, limits: Limits, **extra: Any) -> str:
    values: dict[str, Any] = {item.name: getattr(limits, item.name) for item in fields(limits)}
    for name, value in list(values.items()):
        if name.endswith("_bytes"):
            values[f"{name}_kib"] = value // KIB
            values[f"{name}_mib"] = value // MIB
            values[f"{name}_size"] = _size(value)
    return template.format(**values, **extra)


# What the run is told when its error reads like a limit's but nothing the
# server saw confirms it (see playground.sandbox.status): a possibility.
HINT_MESSAGES: dict[str, str] = {
    "memory_bytes": (
        "This MemoryError may come from the {memory_bytes_mib} MiB memory limit: "
        "asking for more than that at once fails straight away."
    ),
    "processes": (
        "This may be the limit of {processes} processes and threads. "
        "Start fewer of them; asyncio tasks cost none."
    ),
    "open_files": (
        "This may be the limit of {open_files} open files. "
        "Close files when done with them (with open(...) as f:)."
    ),
    "file_size_bytes": "This may be the {file_size_bytes_kib} KiB limit on the size of a file the run writes.",
    "tmp_bytes": "This may be /tmp filling up: it holds {tmp_bytes_kib} KiB in at most {tmp_files} files.",
}
