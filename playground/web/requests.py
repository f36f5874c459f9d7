"""The request parsing of every endpoint, checked before any work is done.

A request body is JSON only (415), within the body size (413), an object
with exactly the fields its endpoint takes (400). Each endpoint's request is
a frozen dataclass made by ``parse(body, ...)``, which raises ``APIError``
with a sentence for the reader; a view gets either a whole, typed request or
the error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, cast

from flask import request
from werkzeug.exceptions import RequestEntityTooLarge

from playground.model.columnar import COLUMNAR
from playground.sandbox.limits import Limits
from playground.sandbox.service import Pythons, UnknownPython
from playground.urls.codegen import MAX_OUTCOME
from playground.urls.fetcher import DEFAULT_SEMAPHORE, STRATEGIES, Strategy
from playground.urls.limits import BAD_LIMIT, NO_URLS, TOO_MANY_URLS, FetchLimits
from playground.web.errors import APIError

Clock = Literal["virtual", "real"]
AnswerFormat = Literal["v1", "columnar"]
CLOCKS: tuple[Clock, ...] = ("virtual", "real")
# The trace as contract v1 (the default), or in the compact columnar form a
# client asks for (see docs/trace.md).
FORMATS: tuple[AnswerFormat, ...] = ("v1", COLUMNAR)
MAX_URL_FIELD_CHARS = 8192
MAX_TOOK_SECONDS = 3600
SNIPPET_TOO_LARGE = "This snippet is {size} bytes; the limit for a shared snippet is {max_bytes} bytes."


def json_body(allowed: frozenset[str]) -> dict[str, Any]:
    """The request's JSON object, or an APIError saying what is wrong."""
    if not request.is_json:
        raise APIError(415, "unsupported_media_type",
                       "Send the request as JSON, with Content-Type: application/json.")
    raw = request.get_data(cache=False)  # raises 413 past a declared MAX_CONTENT_LENGTH
    limit = request.max_content_length
    if request.content_length is None and limit is not None and len(raw) >= limit:
        # A body of unannounced length (chunked) is read only up to the limit;
        # reaching it means there was more.
        raise RequestEntityTooLarge()
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise APIError(400, "malformed_json", f"The body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise APIError(400, "wrong_fields", "The body must be a JSON object.")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise APIError(400, "wrong_fields",
                       f"Unknown field {unknown[0]!r}; this call takes {', '.join(sorted(allowed))}.")
    return body


def _wrong(message: str) -> APIError:
    return APIError(400, "wrong_fields", message)


def _encodable(text: str, what: str) -> int:
    """The UTF-8 size of ``text``; a lone surrogate is a 400 naming ``what``."""
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise _wrong(f"{what} holds invalid Unicode (a lone surrogate).") from None


def text_field(body: dict[str, Any], name: str, max_bytes: int) -> str:
    value = body.get(name)
    if not isinstance(value, str):
        raise _wrong(f"Field {name!r} must be a string.")
    size = _encodable(value, f"Field {name!r}")
    if size > max_bytes:
        raise APIError(413, "too_large", f"Field {name!r} is {size} bytes; the limit is {max_bytes} bytes.")
    return value


def clock_field(body: dict[str, Any]) -> Clock:
    clock = body.get("clock", "virtual")
    if clock not in CLOCKS:
        raise _wrong("Field 'clock' must be 'virtual' or 'real'.")
    return cast(Clock, clock)


def python_field(body: dict[str, Any], pythons: Pythons) -> str | None:
    """The id of the Python a run asks for, the default when it names none.

    A wrong type is a 400 like any field; an id the server lacks is a 400
    ``unknown_python`` naming those it has. With no Python at all (no jail
    can start) the id is passed on as asked, for the sandbox to answer 503.
    """
    if "python" not in body:
        return pythons.default
    value = body["python"]
    if not isinstance(value, str):
        raise _wrong(f"Field 'python' must be a string: the id of a Python ({pythons.ids_text()}).")
    if not pythons.by_id:
        return value
    try:
        return pythons.get(value).id
    except UnknownPython as exc:
        raise APIError(400, "unknown_python", str(exc)) from None


def format_field(body: dict[str, Any]) -> AnswerFormat:
    answer_format = body.get("format", "v1")
    if answer_format not in FORMATS:
        raise _wrong("Field 'format' must be 'v1' or 'columnar'.")
    return cast(AnswerFormat, answer_format)


def urls_field(body: dict[str, Any], limits: FetchLimits) -> list[str]:
    """The URLs: a list of strings; blank ones are skipped."""
    value = body.get("urls")
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _wrong("Field 'urls' must be a list of strings, one URL each.")
    urls = []
    for item in value:
        text = item.strip()
        if not text:
            continue
        if len(text) > MAX_URL_FIELD_CHARS:
            raise APIError(413, "too_large", f"A URL is {len(text)} characters long; the limit is "
                                             f"{MAX_URL_FIELD_CHARS}.")
        _encodable(text, "A URL")
        urls.append(text)
    if not urls:
        raise APIError(400, "no_urls", NO_URLS)
    if len(urls) > limits.max_urls:
        raise APIError(400, "too_many_urls", TOO_MANY_URLS.format(count=len(urls), max_urls=limits.max_urls))
    return urls


def strategy_field(body: dict[str, Any]) -> Strategy:
    strategy = body.get("strategy", "gather")
    if strategy not in STRATEGIES:
        raise _wrong(f"Field 'strategy' must be one of {', '.join(STRATEGIES)}.")
    return cast(Strategy, strategy)


def limit_field(body: dict[str, Any], limits: FetchLimits) -> int:
    limit = body.get("limit", DEFAULT_SEMAPHORE)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= limits.concurrency:
        raise _wrong(BAD_LIMIT.format(concurrency=limits.concurrency))
    return limit


def took_field(body: dict[str, Any], count: int) -> list[float | None] | None:
    took = body.get("took")
    if took is None:
        return None
    if (not isinstance(took, list) or len(took) != count or not all(
            t is None or (not isinstance(t, bool) and isinstance(t, (int, float)) and 0 <= t <= MAX_TOOK_SECONDS)
            for t in took)):
        raise _wrong(f"Field 'took' must be a list of seconds (0 to {MAX_TOOK_SECONDS}, or null), one for each URL.")
    return [None if t is None else float(t) for t in took]


def outcomes_field(body: dict[str, Any], count: int) -> list[str | None] | None:
    outcomes = body.get("outcomes")
    if outcomes is None:
        return None
    if (not isinstance(outcomes, list) or len(outcomes) != count or not all(
            o is None or (isinstance(o, str) and len(o) <= MAX_OUTCOME) for o in outcomes)):
        raise _wrong(f"Field 'outcomes' must be a list of short strings (up to {MAX_OUTCOME} characters, "
                     "or null), one for each URL.")
    _encodable("".join(o or "" for o in outcomes), "Field 'outcomes'")
    return outcomes


@dataclass(frozen=True)
class RunRequest:
    """``POST /api/run``."""

    FIELDS: ClassVar[frozenset[str]] = frozenset({"code", "clock", "format", "python"})
    code: str
    clock: Clock
    answer_format: AnswerFormat
    python: str | None  # the id of the Python it runs on, the default resolved

    @classmethod
    def parse(cls, body: dict[str, Any], limits: Limits, pythons: Pythons) -> RunRequest:
        return cls(text_field(body, "code", limits.code_bytes), clock_field(body), format_field(body),
                   python_field(body, pythons))


@dataclass(frozen=True)
class ScriptRequest:
    """``POST /api/script``: code to download, with the Python it is for."""

    FIELDS: ClassVar[frozenset[str]] = frozenset({"code", "python"})
    code: str
    python: str | None

    @classmethod
    def parse(cls, body: dict[str, Any], limits: Limits, pythons: Pythons) -> ScriptRequest:
        return cls(text_field(body, "code", limits.code_bytes), python_field(body, pythons))


@dataclass(frozen=True)
class FetchRequest:
    """``POST /api/fetch``."""

    FIELDS: ClassVar[frozenset[str]] = frozenset({"urls", "strategy", "limit"})
    urls: list[str]
    strategy: Strategy
    limit: int

    @classmethod
    def parse(cls, body: dict[str, Any], limits: FetchLimits) -> FetchRequest:
        return cls(urls_field(body, limits), strategy_field(body), limit_field(body, limits))


@dataclass(frozen=True)
class FetchCodeRequest:
    """``POST /api/fetch/code``: a fetch, and what each URL took and gave."""

    FIELDS: ClassVar[frozenset[str]] = frozenset({"urls", "strategy", "limit", "took", "outcomes", "python"})
    fetch: FetchRequest
    took: list[float | None] | None
    outcomes: list[str | None] | None
    python: str | None  # the Python the code is for (its ``requires-python``)

    @classmethod
    def parse(cls, body: dict[str, Any], limits: FetchLimits, pythons: Pythons) -> FetchCodeRequest:
        fetch = FetchRequest.parse(body, limits)
        return cls(fetch, took_field(body, len(fetch.urls)), outcomes_field(body, len(fetch.urls)),
                   python_field(body, pythons))


@dataclass(frozen=True)
class SnippetRequest:
    """``POST /api/snippets``: the snippet in the one form that is hashed and stored.
    A code snippet keeps the id of its Python (the default when it names none)."""

    FIELDS: ClassVar[frozenset[str]] = frozenset({"mode", "code", "urls", "clock", "strategy", "limit", "python"})
    MODE_FIELDS: ClassVar[dict[str, frozenset[str]]] = {"code": frozenset({"mode", "code", "clock", "python"}),
                   "urls": frozenset({"mode", "urls", "strategy", "limit"})}
    data: dict[str, Any]

    @classmethod
    def parse(cls, body: dict[str, Any], url_limits: FetchLimits, max_bytes: int,
              pythons: Pythons) -> SnippetRequest:
        mode = body.get("mode")
        if mode not in cls.MODE_FIELDS:
            raise _wrong("Field 'mode' must be 'code' or 'urls'.")
        takes = cls.MODE_FIELDS[mode]
        stray = sorted(set(body) - takes)
        if stray:
            raise _wrong(f"Field {stray[0]!r} does not apply to a {mode} snippet; it takes {', '.join(sorted(takes))}.")
        if mode == "code":
            data = {"mode": "code", "code": text_field(body, "code", max_bytes), "clock": clock_field(body)}
            python = python_field(body, pythons)
            return cls(data if python is None else {**data, "python": python})
        fetch = FetchRequest.parse(body, url_limits)
        size = len("\n".join(fetch.urls).encode("utf-8"))
        if size > max_bytes:
            raise APIError(413, "too_large", SNIPPET_TOO_LARGE.format(size=size, max_bytes=max_bytes))
        return cls({"mode": "urls", "urls": fetch.urls, "strategy": fetch.strategy, "limit": fetch.limit})
