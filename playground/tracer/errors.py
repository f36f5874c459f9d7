"""Turn the snippet's exceptions into errors a learner can act on.

Only the snippet's own frames are shown, with its line numbers and source
text. ``NameError`` and ``AttributeError`` get the nearest existing name,
which the traceback module of Python 3.11 does not add by itself. Where the
playground differs from a laptop (no keyboard, no network, a read-only
disk but for ``/tmp``, only the standard library), ``explain`` says so in
plain words, beside the error itself.
"""

from __future__ import annotations

import builtins
import difflib
import errno
import importlib.util
import json
import socket
from types import TracebackType
from typing import Any

from .protocol import MAX_LINE_BYTES, SNIPPET_FILENAME

MAX_TRACEBACK_FRAMES = 50
MAX_MESSAGE = 2000
# The most of a frame's source line sent (the server keeps no more).
MAX_FRAME_TEXT = 4000
# An error is one message, which must fit in one line of the stream with
# room to spare; the oldest frames go first when it would not.
MAX_ERROR_BYTES = MAX_LINE_BYTES - 1024

NO_KEYBOARD = (
    "Runs in the playground have no keyboard: input() and sys.stdin find nothing to read. "
    "Put the value in the code instead (name = \"Ada\"), or loop over a list of answers."
)
NOT_PERMITTED = (
    "The playground does not let a run do this: it may not change its own sandbox or reach "
    "anything outside itself except by TCP connections to public addresses. Everything asyncio "
    "does works, and so do those connections and child processes running the programs the playground has."
)
NAME_NOT_FOUND = (
    "The host name could not be looked up. The playground looks names up from its server, as a "
    "laptop does from its network: check the name's spelling."
)
READ_ONLY = "Only /tmp, the run's working directory, can be written to in the playground."
ONLY_STDLIB = (
    "The playground has Python's standard library{and_aiohttp} only, so {module} cannot be imported "
    "here. asyncio, its streams{aiohttp} and everything else in the standard library work."
)


def explain(exc: BaseException) -> str | None:
    """Where the playground differs from a laptop, what the error means here."""
    if isinstance(exc, EOFError) and "reading a line" in str(exc):
        return NO_KEYBOARD
    if isinstance(exc, socket.gaierror) and "CODE_NETWORK" not in str(exc):
        return NAME_NOT_FOUND
    if isinstance(exc, PermissionError) and exc.errno == errno.EPERM:
        return NOT_PERMITTED
    if isinstance(exc, OSError) and exc.errno == errno.EROFS:
        return READ_ONLY
    if isinstance(exc, ModuleNotFoundError) and exc.name is not None:
        offered = importlib.util.find_spec("aiohttp") is not None  # bound in when the Python matches
        return ONLY_STDLIB.format(module=exc.name.split(".")[0], and_aiohttp=" and aiohttp" if offered else "",
                                  aiohttp=", aiohttp" if offered else "")
    return None


def _near_name(name: str, candidates: list[str]) -> str | None:
    names = [c for c in candidates if isinstance(c, str) and not (c.startswith("_") and not name.startswith("_"))]
    matches = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    return matches[0] if matches else None


def _suggestion(exc: BaseException, tb: TracebackType | None) -> str | None:
    name = getattr(exc, "name", None)
    if not isinstance(name, str):
        return None
    if isinstance(exc, NameError):
        frame = None
        while tb is not None:
            frame, tb = tb.tb_frame, tb.tb_next
        if frame is None:
            return None
        candidates = list(frame.f_locals) + list(frame.f_globals) + dir(builtins)
        return _near_name(name, candidates)
    if isinstance(exc, AttributeError):
        try:
            candidates = dir(getattr(exc, "obj", None))
        except Exception:
            return None
        return _near_name(name, candidates)
    return None


def _source_line(lines: list[str], number: int | None) -> str:
    if number is None or not 1 <= number <= len(lines):
        return ""
    return lines[number - 1].strip()


def describe(exc: BaseException, source: str) -> dict[str, Any]:
    """The trace's ``error`` object for an exception the snippet raised."""
    lines = source.splitlines()
    if isinstance(exc, SyntaxError) and exc.filename == SNIPPET_FILENAME:
        line = exc.lineno
        message = exc.msg
        frames: list[dict[str, Any]] = [{"line": line, "name": "<module>", "text": _source_line(lines, line)}]
    else:
        frames = []
        tb = exc.__traceback__
        while tb is not None:
            code = tb.tb_frame.f_code
            if code.co_filename == SNIPPET_FILENAME:
                frames.append({"line": tb.tb_lineno, "name": code.co_name, "text": _source_line(lines, tb.tb_lineno)})
            tb = tb.tb_next
        frames = frames[-MAX_TRACEBACK_FRAMES:]
        line = frames[-1]["line"] if frames else None
        message = str(exc)
        near = _suggestion(exc, exc.__traceback__)
        if near is not None:
            message = f"{message}. Did you mean: '{near}'?"
    for frame in frames:
        frame["text"] = frame["text"][:MAX_FRAME_TEXT]
    error: dict[str, Any] = {
        "type": type(exc).__name__[:MAX_MESSAGE],
        "message": message[:MAX_MESSAGE],
        "line": line,
        "traceback": frames,
    }
    return fitted(error)


def fitted(error: dict[str, Any]) -> dict[str, Any]:
    """``error`` within ``MAX_ERROR_BYTES`` as the stream encodes it: its
    oldest frames dropped, then its innermost frame's text cut, until it fits."""
    frames = error["traceback"]
    while len(json.dumps(error)) > MAX_ERROR_BYTES and len(frames) > 1:
        del frames[:max(1, len(frames) // 4)]
    if len(json.dumps(error)) > MAX_ERROR_BYTES and frames:
        frames[-1]["text"] = frames[-1]["text"][:200]
    return error
