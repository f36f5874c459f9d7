"""The answer to ``POST /api/run``: encoded once, as UTF-8 rather than
``\\u`` escapes, and never larger than ``LIMIT_ANSWER_BYTES``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from playground import create_app
from playground.model.answer import ITEM_BYTES, ITEMS_PER_CHUNK, Items, dumps, encode_answer, json_size, plain_ascii
from playground.model.columnar import expand_columnar
from playground.model.trace import MAX_ID, MAX_TIME, Connection, Event, Output, Slice, TaskRecord, Trace, Wait
from playground.sandbox.limits import Limits
from playground.services import services
from playground.tracer.protocol import WAKE_KINDS
from playground.web.runs import encoded


def test_text_is_sent_as_utf_8_not_as_escapes(client: FlaskClient) -> None:
    code = "for _ in range(7):\n    print('é' * 4000)\n"
    response = client.post("/api/run", json={"code": code})
    assert response.mimetype == "application/json"
    body = response.get_data()
    # 56 KB of text: as \\u00e9 escapes it was 168 KB.
    assert len(body) < 70_000, len(body)
    trace = json.loads(body.decode("utf-8"))
    assert trace["status"] == "ok" and [line["text"] for line in trace["output"]] == ["é" * 4000] * 7


def test_the_trace_is_encoded_once(client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    encodings: list[int] = []
    iterencode = json.JSONEncoder.iterencode

    def counted(self: json.JSONEncoder, o: Any, _one_shot: bool = False) -> Any:
        tasks = o.get("tasks") if isinstance(o, dict) else o  # the whole answer, or its tasks alone
        if isinstance(tasks, list) and tasks and isinstance(tasks[0], dict) and "coro" in tasks[0]:
            encodings.append(1)
        return iterencode(self, o, _one_shot)

    monkeypatch.setattr(json.JSONEncoder, "iterencode", counted)
    code = "import asyncio\nasync def main():\n    await asyncio.sleep(1)\nasyncio.run(main())\n# encoded once\n"
    fresh = client.post("/api/run", json={"code": code}).get_json()
    assert fresh["status"] == "ok" and fresh["cached"] is False
    assert len(encodings) == 1  # the run cache keeps those bytes, with their mark changed
    cached = client.post("/api/run", json={"code": code}).get_json()
    assert cached["cached"] is True and len(encodings) == 1
    assert {**cached, "cached": False} == fresh


@pytest.fixture
def small_answers() -> Iterator[Flask]:
    app = create_app({"TESTING": True, "SANDBOX": "bwrap", "RATELIMIT_ENABLED": False,
                      "LIMIT_ANSWER_BYTES": 256 * 1024})
    yield app
    services(app).sandbox.close()


@pytest.mark.parametrize("answer_format", ["v1", "columnar"])
def test_the_answer_is_cut_at_its_cap(small_answers: Flask, answer_format: str) -> None:
    code = ("import asyncio\nasync def work():\n    await asyncio.sleep(0)\n"
            "async def main():\n"
            "    await asyncio.gather(*(asyncio.create_task(work(), name='é' * 200) for _ in range(3000)))\n"
            "asyncio.run(main())\nprint('done')\n")
    response = small_answers.test_client().post("/api/run", json={"code": code, "format": answer_format})
    body = response.get_data()
    assert response.status_code == 200 and len(body) <= 256 * 1024
    trace = response.get_json()
    if answer_format == "columnar":
        trace = expand_columnar(trace)
    assert trace["status"] == "ok" and trace["truncated"]
    assert [limit["name"] for limit in trace["limits"]] == ["answer_bytes"]
    said = [event["message"] for event in trace["events"] if event["kind"] == "limit"]
    assert said and "256 KiB" in said[-1]


def test_an_answer_that_passes_its_cap_all_the_same_goes_without_its_items() -> None:
    # The stream parser's estimate keeps this from happening; should it not,
    # the answer is still bounded.
    trace = Trace(status="ok", clock="virtual", duration=2.0)
    trace.slices = [Slice(None, 0.0, 1.0, False, None)] * 5000
    trace.events = [Event(1.0, "note", None, "x" * 1000)] * 100
    limits = Limits(answer_bytes=64 * 1024)
    for answer_format in ("v1", "columnar"):
        answer = encoded(trace, answer_format, limits)
        assert len(answer.body) <= 64 * 1024
        data = json.loads(answer.body)
        if answer_format == "columnar":
            data = expand_columnar(data)
        assert data["truncated"] and data["slices"] == []
        assert data["limits"] == [{"name": "answer_bytes", "value": 64 * 1024}]
        assert "64 KiB" in data["events"][0]["message"]


def test_each_item_bound_holds_for_its_longest_numbers() -> None:
    """ITEM_BYTES is an upper bound of each item's v1 JSON besides its texts:
    with every id and line at MAX_ID and every time at its longest."""
    longest_time = MAX_TIME - 1e-6
    task = TaskRecord(MAX_ID, "", "", MAX_ID, MAX_ID, longest_time, longest_time, "cancelled", None,
                      busy=longest_time, waiting=longest_time, scheduled=longest_time, steps=MAX_ID)
    items = {
        "task": task.to_json(),
        "slice": Slice(MAX_ID, longest_time, longest_time, False, None, MAX_ID).to_json(),
        "yielded slice": Slice(MAX_ID, longest_time, longest_time, False, None, yield_line=MAX_ID).to_json(),
        "wait": Wait(MAX_ID, longest_time, longest_time, None, MAX_ID, []).to_json(),
        "output": vars(Output(longest_time, MAX_ID, "stdout", "")),
        "event": vars(Event(longest_time, "", MAX_ID, "", MAX_ID)),
        "connection": Connection(MAX_ID, MAX_ID, "", 65535, longest_time, longest_time, MAX_ID,
                                 [{"name": "first_byte", "start": longest_time, "end": longest_time}] * 5,
                                 None, MAX_ID, MAX_ID, True).to_json(),
    }
    for kind, item in items.items():
        size = len(dumps(item)) + 1  # and the comma after it
        assert size <= ITEM_BYTES[kind.removeprefix("yielded ")], (kind, size)
    # A blocking slice that also yielded adds its yield_line's bound.
    blocked = Slice(MAX_ID, longest_time, longest_time, True, None, MAX_ID, yield_line=MAX_ID).to_json()
    assert len(dumps(blocked)) + 1 <= ITEM_BYTES["slice"] + ITEM_BYTES["yield_line"]
    # How a wait ended adds at most its fields' bounds (the longest wake's name, "callback").
    ended = Wait(MAX_ID, longest_time, longest_time, None, MAX_ID, [], None, longest_time, "callback", MAX_ID,
                 MAX_ID).to_json()
    bound = ITEM_BYTES["wait"] + sum(ITEM_BYTES[key] for key in ("due", "wake", "waker", "waker_line"))
    assert len(dumps(ended)) + 1 <= bound
    assert max(map(len, WAKE_KINDS)) <= len("callback")


def test_plain_ascii_text_is_sized_without_encoding() -> None:
    texts = [chr(code) for code in range(256)] + ["Task-100001", "a b", "", "é", "x" * 300]
    for text in texts:
        if plain_ascii(text):
            assert json_size(text) == len(text) + 2, repr(text)
    assert plain_ascii("Task-100001") and not plain_ascii('"') and not plain_ascii("\\") and not plain_ascii("\n")


def test_an_answer_encoded_a_chunk_at_a_time_is_the_trace_whole() -> None:
    trace = Trace(status="ok", clock="virtual", duration=1.0)
    trace.tasks = [TaskRecord(i, f"Task-{i}", "work", None, 3, 0.0) for i in range(1, 2 * ITEMS_PER_CHUNK + 7)]
    trace.slices = [Slice(1, i / 1e4, i / 1e4 + 1e-5, False, None, None, True if i == 5 else None)
                    for i in range(ITEMS_PER_CHUNK + 1)]
    trace.output = [Output(0.5, 1, "stdout", "é")]
    assert json.loads(encode_answer(trace.to_answer())) == json.loads(dumps(trace.to_json()))
    assert encode_answer({"empty": Items([], dict)}) == b'{"empty":[]}'


def test_a_small_answer_encoded_in_one_piece_is_byte_for_byte_the_chunked_one() -> None:
    trace = Trace(status="ok", clock="virtual", duration=1.0)
    trace.tasks = [TaskRecord(i, f"Task-{i}", "work", None, 3, 0.0) for i in range(1, 4)]
    trace.output = [Output(0.5, 1, "stdout", "é \" \u2028")]
    answer = trace.to_answer()
    chunked = b"{" + b",".join(dumps(key) + b":" + (value.encoded() if isinstance(value, Items) else dumps(value))
                              for key, value in answer.items()) + b"}"
    assert encode_answer(answer) == chunked
    assert encode_answer(answer) == dumps(trace.to_json())
