"""Share and embed in a real browser: Debian's Chromium driven by Playwright
against a live gunicorn (with its own temporary instance folder), and a
tutorial page served from another local origin that embeds snippets through
static/embed.js, an iframe or oEmbed."""

from __future__ import annotations

import html
import json
import re
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.browsing import BROWSER_ENV, screenshot, wait_for_status
from tests.support.servers import gunicorn_node
from tests.support.tutorial import Tutorial

pytestmark = pytest.mark.browser

GATHER = """\
import asyncio

async def say(what, delay):
    await asyncio.sleep(delay)
    print(what)

async def main():
    await asyncio.gather(say("Hello", 1), say("World", 2))

asyncio.run(main())
"""

# Markup in the code must stay code: the tutorial escapes it in its <pre>,
# and neither embed.js nor the embed page may ever turn it back into HTML.
PITFALL = """\
import asyncio, time
# <img src=x onerror="window.__pwned = 1"> is just a comment

async def blocker():
    time.sleep(0.5)

async def main():
    await asyncio.gather(blocker(), asyncio.sleep(0.1))

asyncio.run(main())
"""


@pytest.fixture(scope="module")
def instance(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("embed-instance")


@pytest.fixture(scope="module")
def live(instance: Path) -> Iterator[str]:
    """The live playground's URL; it keeps its data in ``instance``."""
    with gunicorn_node({**BROWSER_ENV, "PLAYGROUND_INSTANCE_PATH": str(instance)}) as (url, _):
        yield url


@pytest.fixture(scope="module")
def tutorial(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tutorial]:
    server = Tutorial(tmp_path_factory.mktemp("tutorial"))
    yield server
    server.close()


def share_via_page(page: Page, base: str, code: str, clock: str = "virtual") -> str:
    page.goto(f"{base}/")
    page.evaluate("code => window.playground.editor.setValue(code)", code)
    page.get_by_test_id("clock").select_option(clock)
    page.get_by_test_id("share").click()
    field = page.get_by_test_id("share-url")
    expect(field).to_have_value(re.compile(r"/s/[0-9A-Za-z]{10}$"))
    return field.input_value()


def wait_until_frames_fit(page: Page) -> list[float]:
    """Wait until every iframe is exactly as tall as its embed's content; the heights."""
    deadline = time.monotonic() + 10
    while True:
        contents = [frame.evaluate("Math.ceil(document.getElementById('embed').getBoundingClientRect().height)")
                    for frame in page.frames[1:]]
        heights = iframe_heights(page)
        if heights == contents:
            return heights
        assert time.monotonic() < deadline, f"frames {heights} never fit their content {contents}"
        page.wait_for_timeout(100)


def iframe_heights(page: Page) -> list[float]:
    return page.locator("iframe").evaluate_all("frames => frames.map(f => f.getBoundingClientRect().height)")


# ---------------------------------------------------------------- tests


def test_one_script_tag_embeds_two_snippets_that_run(page: Page, live: str, tutorial: Tutorial) -> None:
    url = tutorial.page("two.html", f"""
        <h1>Waiting together</h1>
        <p>Two coroutines, one loop:</p>
        <pre data-asyncio-playground data-autorun>
{html.escape(GATHER)}</pre>
        <p>And the pitfall, which you can run but not edit:</p>
        <pre data-asyncio-playground data-read-only data-clock="virtual">{html.escape(PITFALL)}</pre>
        <p>The end.</p>
        <script src="{live}/static/embed.js" async></script>
    """)
    page.goto(url)
    frames = page.locator("iframe")
    expect(frames).to_have_count(2)
    assert page.locator("pre[data-asyncio-playground]:visible").count() == 0
    sources = frames.evaluate_all("frames => frames.map(f => f.src)")
    assert all(src.startswith(f"{live}/embed#code=") for src in sources)
    assert tutorial.url != live  # really another origin

    first = page.frame_locator("iframe").nth(0)
    second = page.frame_locator("iframe").nth(1)
    # The first runs by itself (data-autorun) and draws its timeline.
    wait_for_status(first, "ok")
    expect(first.locator('[data-testid="timeline"] [data-task-id]')).to_have_count(3)
    expect(first.locator('[data-testid="output"] [data-output-line]')).to_have_count(2)
    # Two seconds of sleeps, and the steps' own time (the virtual clock
    # counts it in real time: a loaded machine's preemption shows, up to a
    # tenth of a second or so; 2.002 s on a quiet one).
    expect(first.get_by_test_id("status")).to_contain_text(re.compile(r"2\.[01]\d s"))
    # The second waits for a click; it is read-only.
    wait_for_status(second, "idle")
    second.locator(".CodeMirror").click()
    page.keyboard.type("garbage")
    assert page.frames[2].evaluate("window.playgroundEmbed.editor.getValue()") == PITFALL
    second.get_by_test_id("run").click()
    wait_for_status(second, "ok")
    expect(second.locator('[data-testid="timeline"] [data-task-id]')).to_have_count(3)
    expect(second.locator('[data-testid="timeline"] .tl-blocking').first).to_be_attached()

    expect(second.locator(".note-blocking")).to_contain_text("time.sleep(0.5)")

    # Each frame is as tall as its content says (postMessage), not the guess,
    # also after the tutorial's page gets narrower and the content reflows.
    wide = wait_until_frames_fit(page)
    screenshot(page, "embed-two-snippets")
    page.set_viewport_size({"width": 340, "height": 900})  # the status lines wrap
    expect(frames.first).not_to_have_attribute("style", re.compile(rf"height: {wide[0]}px"))
    narrow = wait_until_frames_fit(page)
    assert narrow != wide, (wide, narrow)  # the frames followed their content's new height
    # Messages from anywhere but the playground's frames change nothing: the
    # frames keep fitting their content (which may still be settling from
    # the reflow, so their heights are not compared to an earlier reading).
    page.evaluate("window.postMessage({type: 'asyncio-playground:height', height: 5}, '*')")
    page.wait_for_timeout(200)
    assert min(iframe_heights(page)) > 5
    assert min(wait_until_frames_fit(page)) > 5
    # The markup in the code stayed text everywhere.
    assert page.locator("img").count() == 0
    assert page.evaluate("window.__pwned") is None
    for frame in page.frames[1:]:
        assert frame.evaluate("window.__pwned") is None
        assert frame.locator("img").count() == 0
    expect(second.get_by_test_id("editor")).to_contain_text('<img src=x onerror="window.__pwned = 1">')


def test_embed_a_shared_snippet_with_a_fixed_height(page: Page, live: str, tutorial: Tutorial) -> None:
    shared = share_via_page(page, live, GATHER, clock="real")
    snippet_id = shared.rsplit("/", 1)[1]
    url = tutorial.page("by-id.html", f"""
        <pre data-asyncio-playground data-snippet="{snippet_id}" data-height="480" data-autorun></pre>
        <script src="{live}/static/embed.js"></script>
    """)
    page.goto(url)
    frame = page.frame_locator("iframe")
    wait_for_status(frame, "ok")
    expect(frame.get_by_test_id("clock")).to_have_text("real clock")
    expect(frame.locator('[data-testid="timeline"] [data-task-id]')).to_have_count(3)
    page.wait_for_timeout(300)
    assert iframe_heights(page) == [480]
    expect(frame.get_by_test_id("open-in-playground")).to_have_attribute("href", f"/s/{snippet_id}")


def test_share_link_round_trip(page: Page, live: str) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live)
    code = GATHER.replace("World", "shared world")
    shared = share_via_page(page, live, code, clock="real")
    assert shared.startswith(f"{live}/s/")
    page.get_by_test_id("copy-share-url").click()
    expect(page.get_by_test_id("copy-share-url")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == shared
    screenshot(page, "share-dialog")
    # Sharing the same snippet again gives the same link.
    page.get_by_test_id("share-dialog-close").click()
    page.get_by_test_id("share").click()
    expect(page.get_by_test_id("share-url")).to_have_value(shared)
    page.get_by_test_id("share-dialog-close").click()

    with page.expect_download() as download_info:
        page.get_by_test_id("download").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".py")
    # The code, after the block that names the Python it ran on (PEP 723).
    assert Path(download.path()).read_text().endswith("# ///\n\n" + code)

    other = page.context.new_page()
    other.goto(shared)
    expect(other.get_by_test_id("editor")).to_contain_text("shared world")
    assert other.evaluate("window.playground.editor.getValue()") == code
    expect(other.get_by_test_id("clock")).to_have_value("real")
    other.get_by_test_id("run").click()
    wait_for_status(other, "ok")
    expect(other.locator('[data-testid="output"] [data-output-line]').nth(1)).to_contain_text("shared world")

    with urllib.request.urlopen(f"{live}/api/snippets/{shared.rsplit('/', 1)[1]}") as response:
        saved = json.load(response)
    assert (saved["code"], saved["clock"], saved["mode"]) == (code, "real", "code")


def test_a_url_list_is_shared_and_opens_in_url_mode(page: Page, live: str) -> None:
    page.goto(f"{live}/?mode=urls")
    page.get_by_test_id("url-list").fill("https://example.com/a\nhttps://example.com/b")
    page.get_by_test_id("strategy").select_option("semaphore")
    page.get_by_test_id("limit").fill("2")
    page.get_by_test_id("share").click()
    field = page.get_by_test_id("share-url")
    expect(field).to_have_value(re.compile(r"/s/[0-9A-Za-z]{10}$"))
    other = page.context.new_page()
    other.goto(field.input_value())
    expect(other.locator("#playground")).to_have_attribute("data-mode", "urls")
    expect(other.get_by_test_id("url-list")).to_have_value("https://example.com/a\nhttps://example.com/b")
    expect(other.get_by_test_id("strategy")).to_have_value("semaphore")
    expect(other.get_by_test_id("limit")).to_have_value("2")
    # URL mode is not embedded: the embed says so and links to the playground.
    snippet_id = field.input_value().rsplit("/", 1)[1]
    other.goto(f"{live}/embed/{snippet_id}")
    expect(other.get_by_test_id("status")).to_contain_text("list of URLs")
    expect(other.get_by_test_id("run")).to_be_disabled()
    expect(other.get_by_test_id("open-in-playground")).to_have_attribute("href", f"/s/{snippet_id}")


def test_embed_dialog_snippets_work_when_pasted(page: Page, live: str, tutorial: Tutorial) -> None:
    page.goto(f"{live}/?example=gather")
    page.get_by_test_id("embed").click()
    iframe_field = page.get_by_test_id("embed-iframe")
    expect(iframe_field).to_have_value(re.compile(r"^<iframe src=\"http://127\.0\.0\.1:\d+/embed/[0-9A-Za-z]{10}\""))
    page.get_by_test_id("embed-autorun").check()
    page.get_by_test_id("embed-read-only").check()
    screenshot(page, "embed-dialog")
    iframe_html = iframe_field.input_value()
    script_html = page.get_by_test_id("embed-script").input_value()
    assert "autorun=1" in iframe_html and "readonly=1" in iframe_html
    assert script_html.startswith(f'<script src="{live}/static/embed.js" async></script>')
    assert "data-autorun" in script_html and "data-read-only" in script_html

    for name, pasted in (("pasted-iframe.html", iframe_html), ("pasted-script.html", script_html)):
        page.goto(tutorial.page(name, pasted))
        frame = page.frame_locator("iframe")
        wait_for_status(frame, "ok")
        expect(frame.locator('[data-testid="timeline"] [data-task-id]')).to_have_count(4)
        expect(frame.locator('[data-testid="output"] [data-output-line]')).to_have_count(6)


def test_oembed_discovery_embeds_by_link(page: Page, live: str, tutorial: Tutorial) -> None:
    shared = share_via_page(page, live, PITFALL)
    page.goto(shared)
    discovery = page.locator('link[rel="alternate"][type="application/json+oembed"]')
    expect(discovery).to_have_count(1)
    href = discovery.get_attribute("href") or ""
    with urllib.request.urlopen(href) as response:
        assert response.headers["Content-Type"] == "application/json"
        oembed = json.load(response)
    assert oembed["type"] == "rich" and oembed["version"] == "1.0"
    # What a blog platform does with it: put the html into its page.
    page.goto(tutorial.page("blog.html", f"<p>Look:</p>{oembed['html']}"))
    frame = page.frame_locator("iframe")
    expect(frame.get_by_test_id("editor")).to_contain_text("time.sleep(0.5)")
    frame.get_by_test_id("run").click()
    wait_for_status(frame, "ok")
    expect(frame.locator('[data-testid="timeline"] [data-task-id]')).to_have_count(3)


def test_shared_snippets_survive_a_restart(page: Page, instance: Path, browser: Browser) -> None:
    env = {**BROWSER_ENV, "PLAYGROUND_INSTANCE_PATH": str(instance)}
    code = GATHER.replace("Hello", "before the restart")
    with gunicorn_node(env) as (first, _):
        shared = share_via_page(page, first, code)
    snippet_id = shared.rsplit("/", 1)[1]
    with gunicorn_node(env) as (second, _):
        page.goto(f"{second}/s/{snippet_id}")
        expect(page.get_by_test_id("editor")).to_contain_text("before the restart")
        assert page.evaluate("window.playground.editor.getValue()") == code
        page.get_by_test_id("run").click()
        wait_for_status(page, "ok")
