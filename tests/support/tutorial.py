"""An author's tutorial page for the embed tests and bench/embeds.py: a
plain static file server on its own loopback port (another origin than the
playground's), serving the pages a test writes; and the tutorial of many
autorun embeds, each a different snippet."""

from __future__ import annotations

import html
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from playwright.sync_api import Page


class Tutorial:
    """Another origin: a plain static file server for the author's pages."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        handler = partial(QuietHandler, directory=str(folder))
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def page(self, name: str, body: str) -> str:
        (self.folder / name).write_text(
            "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>A tutorial</title></head>"
            f"<body style='max-width:820px;margin:20px auto;font-family:sans-serif'>{body}</body></html>")
        return f"{self.url}/{name}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


# A snippet per embed of the many-embeds tutorial, each different (so no
# run answers for another): a gather of sleeps on the virtual clock.
SNIPPET = """\
import asyncio

async def step(n):
    await asyncio.sleep(0.1 * n)
    print("step", n)

async def main():
    await asyncio.gather(*(step(n) for n in range({count})))
    print("snippet {number} done")

asyncio.run(main())
"""


def autorun_tutorial(tutorial: Tutorial, playground: str, embeds: int, name: str = "dozen.html") -> str:
    """A page of ``embeds`` autorun snippets through ``playground``'s
    embed.js, each under words of its own; snippet k prints "snippet k done"."""
    sections = "".join(
        f"<h2>Part {number}</h2><p>Some words about part {number}.</p>"
        f"<pre data-asyncio-playground data-autorun>{html.escape(SNIPPET.format(count=number % 5 + 1, number=number))}"
        "</pre>"
        for number in range(1, embeds + 1))
    script = f"<script src='{playground}/static/embed.js' async></script>"
    return tutorial.page(name, f"<h1>{embeds} snippets</h1>{sections}{script}")


def read_down_to(page: Page, index: int) -> None:
    """Scroll the tutorial to its embed ``index`` (the block's placeholder or
    its frame), as a reader reading on: at once, in the page. A locator's
    scroll would wait for the element to stand still, while frames above
    grow as they show their runs, and fail when the placeholder it found
    became the frame meanwhile."""
    page.evaluate("""(index) => document.querySelectorAll("pre[data-asyncio-playground]")[index]
        .nextElementSibling.scrollIntoView({block: "nearest"})""", index)
