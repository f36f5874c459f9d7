"""An author's tutorial page for the embed tests: a plain static file server
on its own loopback port (another origin than the playground's), serving
the pages a test writes."""

from __future__ import annotations

import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


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
