"""The pages' static files under URLs naming their content
(playground/web/assets.py): kept by browsers for good, and new URLs as soon
as any file changes; the stable /static/ URLs stay, revalidated."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from playground.web.assets import ASSET_CACHE_SECONDS, static_digest

STATIC = Path(__file__).resolve().parents[2] / "static"
LINKED = re.compile(r'(?:href|src)="(/(?:assets|static)/[^"]+)"')


def linked_files(client: FlaskClient, path: str) -> list[str]:
    return LINKED.findall(client.get(path).get_data(as_text=True))


@pytest.mark.parametrize("path", ["/", "/embed"])
def test_a_page_links_every_file_of_its_own_under_the_static_folder_s_digest(client: FlaskClient,
                                                                           path: str) -> None:
    digest = static_digest(STATIC)
    linked = linked_files(client, path)
    assert len(linked) > 10
    assert all(url.startswith(f"/assets/{digest}/") for url in linked), linked


def test_a_file_under_today_s_digest_is_the_static_file_kept_for_a_year(client: FlaskClient) -> None:
    url = next(url for url in linked_files(client, "/embed") if url.endswith("codemirror.js"))
    response = client.get(url)
    assert response.status_code == 200
    assert response.data == (STATIC / "vendor/codemirror/codemirror.js").read_bytes()
    assert response.cache_control.max_age == ASSET_CACHE_SECONDS
    assert response.cache_control.immutable and response.cache_control.public
    assert response.headers["Content-Type"].startswith("text/javascript")


def test_an_old_digest_gets_today_s_file_revalidated_and_the_stable_url_is_unchanged(client: FlaskClient) -> None:
    for url in ("/assets/0123456789abcdef/lib/dom.js", "/static/lib/dom.js", "/static/embed.js"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.cache_control.no_cache and not response.cache_control.immutable, url
    assert client.get("/assets/0123456789abcdef/lib/dom.js").data == (STATIC / "lib/dom.js").read_bytes()


@pytest.mark.parametrize("outside", ["../playground/app.py", "%2e%2e/playground/app.py", "..%2fwsgi.py",
                                     "/etc/passwd", "lib/nothing.js"])
def test_nothing_outside_the_static_folder_is_served(client: FlaskClient, outside: str) -> None:
    assert client.get(f"/assets/{static_digest(STATIC)}/{outside}", follow_redirects=True).status_code == 404


def test_the_digest_changes_with_any_file_s_bytes_or_name(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "a.js").write_text("export const a = 1;\n")
    (tmp_path / "b.css").write_text("p {}\n")
    first = static_digest(tmp_path)
    assert static_digest(tmp_path) == first
    (tmp_path / "lib" / "a.js").write_text("export const a = 2;\n")
    changed = static_digest(tmp_path)
    assert changed != first
    (tmp_path / "b.css").rename(tmp_path / "c.css")
    assert static_digest(tmp_path) not in (first, changed)


def test_in_debug_mode_the_urls_follow_files_edited_while_the_server_runs(app: Flask, tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "dom.js").write_text("")
    app.static_folder = str(tmp_path)
    app.debug = True
    client = app.test_client()
    before = {url.split("/")[2] for url in linked_files(client, "/embed")}
    (tmp_path / "lib" / "dom.js").write_text("// edited\n")
    after = {url.split("/")[2] for url in linked_files(client, "/embed")}
    assert after == {static_digest(tmp_path)} and before != after
    response = client.get(f"/assets/{static_digest(tmp_path)}/lib/dom.js")
    assert response.data == b"// edited\n" and response.cache_control.immutable
