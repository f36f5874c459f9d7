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
from playground.model.columnar import expand_columnar
from playground.model.trace import Event, Slice, Trace
from playground.sandbox.limits import Limits
from playground.services import services
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
        if isinstance(o, dict) and "tasks" in o:
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
