"""Picking a Python through the API, with the real jail behind it: the list
(``GET /api/pythons``) and each run's ``trace.python``, bad requests, the run
cache per Python, shared snippets (new ones keep their Python, old rows read
as 3.11), the files a snippet downloads as, and the gallery's examples that
need a newer Python, each on the Python it needs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from playground import create_app
from playground.services import services
from playground.sharing.examples import BY_NAME, EXAMPLES
from playground.sharing.store import LEGACY_PYTHON, canonical, snippet_id, snippets

VERSION = "import platform, sys\nprint(platform.python_version())\n"
NEWER_EXAMPLES = [example for example in EXAMPLES if example.python is not None]


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    """The real jail, and a snippets database of the test's own."""
    app = create_app({"TESTING": True, "SANDBOX": "bwrap", "RATELIMIT_ENABLED": False,
                      "INSTANCE_PATH": str(tmp_path / "instance")})
    yield app
    services(app).sandbox.close()
    services(app).snippets.close()


def listing(client: FlaskClient) -> list[dict[str, Any]]:
    response = client.get("/api/pythons")
    assert response.status_code == 200
    return response.get_json()["pythons"]  # type: ignore[no-any-return]


def error_of(response: Any) -> dict[str, str]:
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    return body["error"]  # type: ignore[no-any-return]


def test_the_list_names_each_python_and_the_default(client: FlaskClient, app: Flask) -> None:
    pythons = listing(client)
    ids = [python["id"] for python in pythons]
    assert {"3.11", "3.13", "3.14", "3.15"} <= set(ids)
    assert ids == sorted(ids, key=lambda i: tuple(map(int, i.split("."))))  # oldest first
    assert [python["id"] for python in pythons if python["default"]] == [services(app).sandbox.pythons.default]
    assert all(set(python) == {"id", "version", "default"} for python in pythons)


def test_each_run_says_the_exact_version_it_ran_on(client: FlaskClient) -> None:
    for python in listing(client):
        trace = client.post("/api/run", json={"code": VERSION, "python": python["id"]}).get_json()
        assert trace["status"] == "ok", trace["error"]
        assert trace["python"] == python["version"]
        assert [line["text"] for line in trace["output"]] == [python["version"]]
    default = next(python for python in listing(client) if python["default"])
    assert client.post("/api/run", json={"code": VERSION}).get_json()["python"] == default["version"]


@pytest.mark.parametrize("python", ["2.7", "3.14.10", "python3", "", "3.99"])
def test_an_unknown_python_is_a_400_naming_those_there_are(client: FlaskClient, python: str) -> None:
    response = client.post("/api/run", json={"code": VERSION, "python": python})
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "unknown_python"
    for known in listing(client):
        assert known["id"] in error["message"]


@pytest.mark.parametrize("python", [3.14, 3, None, ["3.14"], {"id": "3.14"}, True])
def test_a_python_of_the_wrong_type_is_a_400(client: FlaskClient, python: object) -> None:
    response = client.post("/api/run", data=json.dumps({"code": VERSION, "python": python}),
                           content_type="application/json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "wrong_fields"
    assert "python" in error_of(response)["message"]


def test_the_run_cache_keeps_each_python_apart(client: FlaskClient, app: Flask) -> None:
    code = VERSION + "# cache per Python\n"
    versions = {python["id"]: python["version"] for python in listing(client)}
    first = client.post("/api/run", json={"code": code, "python": "3.13"}).get_json()
    other = client.post("/api/run", json={"code": code, "python": "3.14"}).get_json()
    assert (first["cached"], first["python"]) == (False, versions["3.13"])
    assert (other["cached"], other["python"]) == (False, versions["3.14"])
    again = client.post("/api/run", json={"code": code, "python": "3.13"}).get_json()
    assert (again["cached"], again["python"]) == (True, versions["3.13"])
    # The default is resolved: naming it or not is the same run.
    default = services(app).sandbox.pythons.default
    assert default is not None
    named = client.post("/api/run", json={"code": code, "python": default}).get_json()
    unnamed = client.post("/api/run", json={"code": code}).get_json()
    assert unnamed["cached"] is True and unnamed["python"] == named["python"] == versions[default]


def test_a_shared_snippet_keeps_its_python(client: FlaskClient, app: Flask) -> None:
    saved = client.post("/api/snippets", json={"mode": "code", "code": VERSION, "python": "3.14"})
    assert saved.status_code == 201
    body = client.get(f"/api/snippets/{saved.get_json()['id']}").get_json()
    assert (body["code"], body["python"]) == (VERSION, "3.14")
    # The same code for another Python is another snippet.
    other = client.post("/api/snippets", json={"mode": "code", "code": VERSION, "python": "3.13"}).get_json()
    assert other["id"] != saved.get_json()["id"]
    # Without one, the default's.
    plain = client.post("/api/snippets", json={"mode": "code", "code": VERSION}).get_json()
    assert client.get(f"/api/snippets/{plain['id']}").get_json()["python"] == services(app).sandbox.pythons.default
    # A URL list has none.
    urls = client.post("/api/snippets", json={"mode": "urls", "urls": ["https://example.com/"]}).get_json()
    assert "python" not in client.get(f"/api/snippets/{urls['id']}").get_json()


def test_a_bad_python_saves_nothing(client: FlaskClient, app: Flask) -> None:
    for python, code in (("2.7", "unknown_python"), (314, "wrong_fields")):
        response = client.post("/api/snippets", json={"mode": "code", "code": VERSION, "python": python})
        assert response.status_code == 400 and error_of(response)["code"] == code
    response = client.post("/api/snippets", json={"mode": "urls", "urls": ["https://example.com/"], "python": "3.14"})
    assert response.status_code == 400
    assert services(app).snippets.count() == 0


def test_snippets_saved_before_pythons_could_be_picked_read_as_3_11(client: FlaskClient, app: Flask) -> None:
    old = {"mode": "code", "code": VERSION, "clock": "virtual"}  # a row as the playground wrote it before
    old_id = snippet_id(canonical(old))
    with services(app).snippets.engine.begin() as connection:
        connection.execute(snippets.insert().values(id=old_id, mode="code", body=canonical(old),
                                                    created=datetime.now(UTC)))
    assert LEGACY_PYTHON == "3.11"
    assert client.get(f"/api/snippets/{old_id}").get_json()["python"] == "3.11"
    assert '# requires-python = ">=3.11"' in client.get(f"/s/{old_id}.py").get_data(as_text=True)
    # The same code shared for 3.11 now is that same snippet, with the same link.
    again = client.post("/api/snippets", json={"mode": "code", "code": VERSION, "python": "3.11"}).get_json()
    assert again["id"] == old_id
    assert services(app).snippets.count() == 1


def test_a_download_names_its_python(client: FlaskClient, app: Flask) -> None:
    saved = client.post("/api/snippets", json={"mode": "code", "code": VERSION, "python": "3.14"}).get_json()
    text = client.get(f"/s/{saved['id']}.py").get_data(as_text=True)
    assert text == '# /// script\n# requires-python = ">=3.14"\n# ///\n\n' + VERSION
    # The page's Download makes the same file; a block the code has is kept, its Python replaced.
    script = client.post("/api/script", json={"code": VERSION, "python": "3.14"}).get_json()["script"]
    assert script == text
    assert client.post("/api/script", json={"code": text, "python": "3.13"}).get_json()["script"] == (
        text.replace(">=3.14", ">=3.13"))
    default = services(app).sandbox.pythons.default
    assert f'>={default}"' in client.post("/api/script", json={"code": VERSION}).get_json()["script"]
    assert client.post("/api/script", json={"code": VERSION, "python": "4.0"}).status_code == 400


def test_url_modes_code_names_its_python_and_aiohttp(client: FlaskClient, app: Flask) -> None:
    urls = ["https://example.com/"]
    code = client.post("/api/fetch/code", json={"urls": urls, "python": "3.13"}).get_json()["code"]
    assert code.startswith('# /// script\n# requires-python = ">=3.13"\n# dependencies = [\n#     "aiohttp",\n# ]\n')
    compile(code, "urls.py", "exec")
    default = services(app).sandbox.pythons.default
    plain = client.post("/api/fetch/code", json={"urls": urls}).get_json()["code"]
    assert f'# requires-python = ">={default}"' in plain
    assert client.post("/api/fetch/code", json={"urls": urls, "python": "2.7"}).status_code == 400
    shared = client.post("/api/snippets", json={"mode": "urls", "urls": urls}).get_json()
    assert f'# requires-python = ">={default}"' in client.get(f"/s/{shared['id']}.py").get_data(as_text=True)


def test_the_pages_offer_the_pythons(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    assert 'data-testid="python"' in page
    for python in listing(client):
        assert f'<option value="{python["id"]}"' in page and f"Python {python['version']}" in page
    for example in NEWER_EXAMPLES:
        assert f"(needs Python {example.python}+)" in page
    embed = client.get("/embed").get_data(as_text=True)
    assert 'id="pythons-data"' in embed


def test_the_examples_say_which_python_they_need(client: FlaskClient) -> None:
    examples = {e["name"]: e for e in client.get("/api/examples").get_json()["examples"]}
    assert {name: examples[name]["python"] for name in ("eager_tasks", "queue_shutdown", "call_graph")} == {
        "eager_tasks": "3.12", "queue_shutdown": "3.13", "call_graph": "3.14"}
    assert examples["gather"]["python"] is None
    assert BY_NAME["call_graph"].runs_on("3.15") and not BY_NAME["call_graph"].runs_on("3.13")


def printed(trace: dict[str, Any]) -> list[str]:
    return [line["text"].rstrip("\n") for line in trace["output"]]


def run_example(client: FlaskClient, name: str, python: str) -> dict[str, Any]:
    trace: dict[str, Any] = client.post("/api/run", json={"code": BY_NAME[name].code, "python": python}).get_json()
    return trace


def test_eager_tasks_finish_inside_create_task(client: FlaskClient) -> None:
    trace = run_example(client, "eager_tasks", "3.13")  # the oldest Python here that has them
    assert trace["status"] == "ok", trace["error"]
    assert printed(trace) == ["done before the first await: []", "lazy tasks: [1, 2, 4]",
                              "done before the first await: ['lookup a', 'lookup b']", "eager tasks: [1, 2, 4]"]
    lookups = [task for task in trace["tasks"] if task["name"].startswith("lookup")]
    assert len(lookups) == 6


def test_queue_shutdown_ends_every_worker(client: FlaskClient) -> None:
    trace = run_example(client, "queue_shutdown", "3.13")
    assert trace["status"] == "ok", trace["error"]
    lines = printed(trace)
    assert lines[-1] == "every worker has stopped"
    assert sum("queue shut down, stopping" in line for line in lines) == 3
    workers = [task for task in trace["tasks"] if task["name"].startswith("worker")]
    shut = next(line["t"] for line in trace["output"] if line["text"].rstrip("\n") == "queue shut down")
    # Each worker ends on its own once the queue is shut down and empty, not cancelled.
    assert len(workers) == 3 and all(task["state"] == "done" and task["ended"] >= shut for task in workers)


def test_the_call_graph_prints_who_awaits_whom(client: FlaskClient) -> None:
    trace = run_example(client, "call_graph", "3.14")
    assert trace["status"] == "ok", trace["error"]
    text = "".join(line["text"] for line in trace["output"])
    assert "waiting on poll temperature are: ['Task-1']" in text
    assert "* Task(name='poll humidity'" in text and "Awaited by:" in text and "async main()" in text
    humidity = next(task["id"] for task in trace["tasks"] if task["name"] == "poll humidity")
    assert {line["task"] for line in trace["output"] if "Call stack" in line["text"]} == {humidity}


@pytest.mark.parametrize("example", NEWER_EXAMPLES, ids=[example.name for example in NEWER_EXAMPLES])
def test_an_example_on_too_old_a_python_fails_truthfully(client: FlaskClient, example: Any) -> None:
    trace = client.post("/api/run", json={"code": example.code, "python": "3.11"}).get_json()
    assert trace["status"] == "error"
    assert "AttributeError" in json.dumps(trace["error"]) + json.dumps(trace["tasks"])
