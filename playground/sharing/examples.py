"""The examples gallery: snippets written the way asyncio tutorials write
them, kept as data files. ``gallery/gallery.json`` lists them in the order
the page offers them, each with its title; ``gallery/<name>.py`` is its code.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

GALLERY = Path(__file__).resolve().parent / "gallery"


@dataclass(frozen=True)
class Example:
    name: str
    title: str
    code: str

    def to_json(self) -> dict[str, str]:
        return asdict(self)


def load_gallery(folder: Path = GALLERY) -> list[Example]:
    entries = json.loads((folder / "gallery.json").read_text())
    return [Example(entry["name"], entry["title"], (folder / f"{entry['name']}.py").read_text())
            for entry in entries]


EXAMPLES = load_gallery()
BY_NAME = {example.name: example for example in EXAMPLES}
