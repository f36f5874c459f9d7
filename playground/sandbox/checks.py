"""The checks on each value of the trace stream: untrusted values from the
jail to the trace model's types, or ``Invalid``."""

from __future__ import annotations

import base64
import binascii
import struct
from array import array
from collections.abc import Container
from typing import Any

from playground.model.answer import ITEM_BYTES, json_size
from playground.model.trace import (
    MAX_CHAIN,
    MAX_ID,
    MAX_MESSAGE,
    MAX_NAME,
    MAX_TEXT,
    MAX_TIME_NS,
    MAX_TRACEBACK,
    Invalid,
    clean_text,
)
from playground.tracer import protocol

_RECORDS_COUNT = struct.Struct(protocol.FRAME_TASKS_COUNT)
_ERROR_KEYS = frozenset({"type", "message", "line", "traceback"})
_FRAME_KEYS = frozenset({"line", "name", "text"})


class Dropped(Invalid):
    """A message the contract allows that the server does not keep (about a
    task cut at the cap, or a limit event, which only the server writes):
    dropped, and not held against the run."""


def optional_text(value: object, limit: int) -> str | None:
    return None if value is None else clean_text(value, limit)


def nanoseconds(value: object) -> int:
    """A time on the wire: integer nanoseconds since the run started."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TIME_NS:
        raise Invalid("not a time")
    return value


def seconds(nanoseconds: int) -> float:
    # Microseconds are finer than anything the trace can show truthfully,
    # and the short form keeps large traces small. Rounded in whole
    # microseconds (a tie to the even one): twice as fast as round(x, 6).
    return round(nanoseconds / 1000) / 1e6


def number(value: object) -> float:
    return seconds(nanoseconds(value))


def integer(value: object, *, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= MAX_ID:
        raise Invalid("not an id")
    return value


def optional_integer(value: object) -> int | None:
    return None if value is None else integer(value)


def one_of(value: object, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise Invalid("unexpected value")
    return value  # type: ignore[return-value]


def unpack(packed: object, width: int) -> array[int]:
    """Numbers packed by the tracer: native int64 (raw from a frame, or
    base64 in a message), ``width`` a record."""
    if isinstance(packed, bytes):
        raw = packed
    elif isinstance(packed, str):
        try:
            raw = base64.b64decode(packed, validate=True)
        except (binascii.Error, ValueError):
            raise Invalid("not base64") from None
    else:
        raise Invalid("not packed numbers")
    if len(raw) % (8 * width):
        raise Invalid("not whole records")
    numbers = array("q")
    numbers.frombytes(raw)
    return numbers


def described_error(error: object) -> dict[str, Any]:
    """The run's error, ``{type, message, line, traceback: [{line, name,
    text}]}``: every key there, none other, at most ``MAX_TRACEBACK`` frames."""
    if not isinstance(error, dict) or set(error) != _ERROR_KEYS:
        raise Invalid("not an error")
    frames = error["traceback"]
    if not isinstance(frames, list) or len(frames) > MAX_TRACEBACK:
        raise Invalid("not a traceback")
    if not all(isinstance(frame, dict) and set(frame) == _FRAME_KEYS for frame in frames):
        raise Invalid("not a frame")
    return {
        "type": clean_text(error["type"], MAX_NAME),
        "message": clean_text(error["message"], MAX_MESSAGE),
        "line": optional_integer(error["line"]),
        "traceback": [{"line": optional_integer(frame["line"]), "name": clean_text(frame["name"], MAX_NAME),
                       "text": clean_text(frame["text"], MAX_TEXT)} for frame in frames],
    }


# The tracer's names for what it did not send past its cut, as the trace's.
_CUT_KINDS = {"tasks": "tasks", "steps": "slices", "waits": "waits", "ends": "ends", "events": "events",
              "output": "output"}


def cut_counts(dropped: object) -> dict[str, int]:
    """The tracer's counts of what it did not send past its cut, by the trace's names."""
    if not isinstance(dropped, dict) or len(dropped) > len(_CUT_KINDS) or not all(
            kind in _CUT_KINDS and isinstance(count, int) and not isinstance(count, bool) and 0 <= count <= MAX_ID
            for kind, count in dropped.items()):
        raise Invalid("not a cut")
    return {_CUT_KINDS[kind]: count for kind, count in dropped.items()}


def counted_records(payload: bytes, record_bytes: int) -> tuple[bytes, bytes]:
    """A frame of a count, that many records of ``record_bytes``, then text."""
    (count,) = _RECORDS_COUNT.unpack_from(payload)
    numbers_end = _RECORDS_COUNT.size + record_bytes * count
    if numbers_end > len(payload):
        raise Invalid("fewer numbers than the count says")
    return payload[_RECORDS_COUNT.size:numbers_end], payload[numbers_end:]


def wait_label(label: object) -> tuple[str | None, list[str], int]:
    """A waits frame's label ``[on or null, *chain]``: what the wait is on,
    its await chain, and the answer's bytes of a wait with them."""
    if (not isinstance(label, list) or not 1 <= len(label) <= MAX_CHAIN + 1
            or not (label[0] is None or isinstance(label[0], str))
            or not all(isinstance(name, str) for name in label[1:])):
        raise Invalid("not a wait's label")
    what, names = optional_text(label[0], MAX_NAME), [clean_text(name, MAX_NAME) for name in label[1:]]
    return what, names, ITEM_BYTES["wait"] + json_size(what) + sum(json_size(name) + 1 for name in names)


WaitEnding = tuple["float | None", "str | None", "int | None", "int | None"]


def wait_ending(due: int, wake: int, waker: int, waker_line: int, tasks: Container[int]) -> WaitEnding:
    """How a waits frame's wait ended, its numbers (-1 for none) as the
    trace's: the due time of its timer (seconds), the wake (a
    ``protocol.WAKE_KINDS`` name), the waker (a task the trace holds, else
    None) and the waker's line. A waker only for the wakes by a task."""
    if (not (due == -1 or 0 <= due <= MAX_TIME_NS) or not -1 <= wake < len(protocol.WAKE_KINDS)
            or not (waker == -1 or 1 <= waker <= MAX_ID) or not -1 <= waker_line <= MAX_ID):
        raise Invalid("not how a wait ended")
    kind = None if wake == -1 else protocol.WAKE_KINDS[wake]
    if waker != -1 and kind not in protocol.WAKES_BY_TASK:
        raise Invalid("a waker for a wake no task makes")
    return (None if due == -1 else seconds(due), kind, waker if waker in tasks else None,
            None if waker_line == -1 else waker_line)


def told_ending(how: tuple[object, ...], tasks: Container[int]) -> WaitEnding:
    """How a ``wait`` message's wait ended, its last fields (due, wake,
    waker, waker's line; null for none, or none of them), as ``wait_ending``."""
    if not how:
        return None, None, None, None
    due, wake, waker, waker_line = how
    if wake is not None and wake not in protocol.WAKE_KINDS:
        raise Invalid("not a wake")
    code = -1 if wake is None else protocol.WAKE_KINDS.index(wake)  # type: ignore[arg-type]
    return wait_ending(-1 if due is None else nanoseconds(due), code, -1 if waker is None else integer(waker),
                       -1 if waker_line is None else integer(waker_line), tasks)


_ENDING_KEYS = ("due", "wake", "waker", "waker_line")


def ending_bytes(ending: WaitEnding) -> int:
    """What a wait's ending adds to its bytes in the answer (``ITEM_BYTES``)."""
    return sum(ITEM_BYTES[key] for key, value in zip(_ENDING_KEYS, ending, strict=True) if value is not None)
