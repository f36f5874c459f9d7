"""The trace as the API answers it: JSON encoded once, as UTF-8, within a cap.

``dumps`` is the one encoder of answers: compact, and UTF-8 rather than
``\\u`` escapes (``é`` is 2 bytes, not 6; the API's Content-Type is
``application/json``, whose encoding is UTF-8). ``EncodedTrace`` carries a
trace already encoded, so that whoever passes it on (the run cache) does not
encode it again. ``json_size`` and ``ITEM_BYTES`` let the stream parser
bound the answer while it builds the trace, before anything is encoded: the
size of each item as v1 JSON is at most its ``ITEM_BYTES`` plus the
``json_size`` of each of its texts (the columnar form is smaller still).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from json.encoder import encode_basestring
from typing import Any

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode

# The most one item takes in v1 JSON besides its texts: the keys, the
# punctuation, the numbers at their longest (ids and lines of 10 digits,
# times such as 999999999.999999, which the stream parser rounds to the
# microsecond), ``null`` for a missing text, and a comma; a few bytes over
# what the longest values print (tests/web/test_answer.py checks it).
ITEM_BYTES = {
    "task": 264,  # and the error's texts, when it has one
    "slice": 124,  # with a line (a blocking one's) or a yield_line (an ordinary one's)
    "yield_line": 24,  # what a blocking slice's yield_line adds
    "wait": 110,  # and a comma for each name of the chain
    "output": 72,
    "event": 86,
    "job": 136,  # and the texts of its thread, function and error
    "connection": 560,  # and the texts of its host and error
    "child": 144,  # and each argument's text and a comma
    "cut_off": 16,  # what a slice or wait cut off by a stop adds
    "due": 24,  # and what a wait's ending adds, each field there (docs/trace.md)
    "wake": 18,
    "waker": 20,
    "waker_line": 25,
    "error": 96,  # and per frame of the traceback:
    "frame": 48,
}


def dumps(data: Any) -> bytes:
    """``data`` as the API sends it: compact JSON in UTF-8. A lone surrogate
    (which the stream parser replaces, so none should be left) becomes ``?``
    rather than an error."""
    return _dumps(data).encode("utf-8", "replace")


def json_size(text: str | None) -> int:
    """The bytes of ``text`` as a JSON string in the answer, quotes and
    escapes included (4 for null)."""
    if text is None:
        return 4
    escaped = encode_basestring(text)
    return len(escaped) if escaped.isascii() else len(escaped.encode("utf-8", "replace"))


# The end of every fresh answer's JSON, and of a cached copy's.
FRESH_MARK = b'"cached":false}'
CACHED_MARK = b'"cached":true}'


# Items turned into JSON objects at a time: a 100,000-task trace's 400,000
# items as dicts at once took 140 MB of the server's memory.
ITEMS_PER_CHUNK = 4096


class Items:
    """A list of the answer's items (slices, waits...), each made a JSON
    object by ``as_json`` only when its chunk is encoded."""

    def __init__(self, items: Sequence[Any], as_json: Callable[[Any], Any]) -> None:
        self.items = items
        self.as_json = as_json

    def encoded(self) -> bytes:
        chunks = (dumps([self.as_json(item) for item in self.items[at:at + ITEMS_PER_CHUNK]])[1:-1]
                  for at in range(0, len(self.items), ITEMS_PER_CHUNK))
        return b"[" + b",".join(chunks) + b"]"


def encode_answer(data: dict[str, Any]) -> bytes:
    """``data`` as ``dumps`` would encode it, its ``Items`` a chunk at a time
    (in one piece when each fits in one chunk, as most answers do)."""
    if all(len(value.items) <= ITEMS_PER_CHUNK for value in data.values() if isinstance(value, Items)):
        return dumps({key: [value.as_json(item) for item in value.items] if isinstance(value, Items) else value
                      for key, value in data.items()})
    fields = (dumps(key) + b":" + (value.encoded() if isinstance(value, Items) else dumps(value))
              for key, value in data.items())
    return b"{" + b",".join(fields) + b"}"


class EncodedTrace(dict[str, Any]):
    """A trace encoded already, as the API answers it fresh (its JSON ends
    with ``FRESH_MARK``): its ``body``, and, as the dict itself, the one field
    that those who hand it on decide by (``status``)."""

    def __init__(self, data: dict[str, Any]) -> None:
        super().__init__(status=data["status"])
        self.body = encode_answer({**data, "cached": False})
        assert self.body.endswith(FRESH_MARK)

    def marked(self, cached: bool) -> bytes:
        """The answer, fresh or as a cached copy (the body with its mark changed)."""
        return self.body[:-len(FRESH_MARK)] + CACHED_MARK if cached else self.body


def plain_ascii(text: str) -> bool:
    """Whether ``text`` is printable ASCII with nothing JSON escapes, so its
    ``json_size`` is its length and two quotes (cheaper to tell than to encode)."""
    return text.isascii() and text.isprintable() and '"' not in text and "\\" not in text
