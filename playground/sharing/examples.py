"""The examples gallery: snippets written the way asyncio tutorials write
them, kept as data files. ``gallery/gallery.json`` lists them in the order
the page offers them, each with its title (and the URL it fetches, for one
that uses the network, and the oldest Python it runs on, for one that shows
what a newer Python changes); ``gallery/<name>.py`` is its code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from playground.sandbox.pythons import release

GALLERY = Path(__file__).resolve().parent / "gallery"


@dataclass(frozen=True)
class Example:
    name: str
    title: str
    code: str
    # The public URL an example that uses the network fetches (the tests
    # put their loopback server's in its place).
    url: str | None = None
    # The id of the oldest Python it runs on ("3.13"); None: any.
    python: str | None = None

    def to_json(self) -> dict[str, str | None]:
        return {"name": self.name, "title": self.title, "code": self.code, "python": self.python}

    def runs_on(self, python: str) -> bool:
        """Whether this example runs on the Python of id ``python`` (it is ``self.python`` or newer)."""
        if self.python is None:
            return True
        return release(python) >= release(self.python)


def load_gallery(folder: Path = GALLERY) -> list[Example]:
    entries = json.loads((folder / "gallery.json").read_text())
    return [Example(entry["name"], entry["title"], (folder / f"{entry['name']}.py").read_text(), entry.get("url"),
                    entry.get("python")) for entry in entries]


EXAMPLES = load_gallery()
BY_NAME = {example.name: example for example in EXAMPLES}
