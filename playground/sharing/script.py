"""A snippet as a Python file to keep: its inline script metadata (PEP 723)
says which Python it was run on, as ``requires-python = ">=3.14"``, and what
it needs from PyPI, so ``uv run snippet.py`` (or pipx) picks the same.

``script_text`` is the one place that writes the block: the Download of the
page (``POST /api/script``), a shared snippet's ``/s/<id>.py`` and URL
mode's code all go through it. A block the code already has keeps its other
lines; its ``requires-python`` is replaced.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

START = "# /// script"
END = "# ///"
# The first block of type "script", as PEP 723's reference regex finds it.
_BLOCK = re.compile(r"^# /// script$\s(?P<content>(^#(| .*)$\s)+)^# ///$", re.MULTILINE)
_REQUIRES = re.compile(r"^# requires-python\s*=.*$\n?", re.MULTILINE)


def requires_python(python: str) -> str:
    """The line that asks for this Python or newer: ``# requires-python = ">=3.14"``."""
    return f'# requires-python = ">={python}"'


def script_text(code: str, python: str | None, dependencies: Sequence[str] = ()) -> str:
    """``code`` with a PEP 723 block naming ``python`` (an id, "3.14") and
    ``dependencies``; without a Python, the code as it is."""
    if python is None:
        return code
    found = _BLOCK.search(code)
    if found is not None:
        content = _REQUIRES.sub("", found.group("content"))
        block = f"{START}\n{requires_python(python)}\n{content}{END}"
        return code[:found.start()] + block + code[found.end():]
    lines = [START, requires_python(python)]
    if dependencies:
        lines.append("# dependencies = [")
        lines += [f'#     "{name}",' for name in dependencies]
        lines.append("# ]")
    lines.append(END)
    return "\n".join(lines) + "\n\n" + code
