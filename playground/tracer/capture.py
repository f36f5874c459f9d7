"""The snippet's ``sys.stdout`` and ``sys.stderr``: text goes to the recorder.

A line longer than ``MAX_LINE_CHARS`` is broken there, as a terminal wraps
it: the server keeps no more of one line, and a flood without newlines then
reaches the server as lines, where the output limit stops it, instead of
growing one endless line in the jail that nobody sees.
"""

from __future__ import annotations

import io

from .recorder import Recorder

MAX_LINE_CHARS = 4000


class RecordedStream(io.TextIOBase):
    def __init__(self, recorder: Recorder, name: str) -> None:
        self._recorder = recorder
        self._name = name
        self._column = 0  # characters since the last newline

    @property
    def name(self) -> str:
        return f"<{self._name}>"

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        self._recorder.write(self._name, self._wrap(text))
        return len(text)

    def _wrap(self, text: str) -> str:
        """``text`` with a newline wherever a line would pass the cap."""
        last = text.rfind("\n")
        tail = len(text) - last - 1
        if last < 0 and self._column + tail <= MAX_LINE_CHARS:
            self._column += tail  # the common case: a short piece of a line
            return text
        pieces = []
        for index, line in enumerate(text.split("\n")):
            if index:
                pieces.append("\n")
                self._column = 0
            while self._column + len(line) > MAX_LINE_CHARS:
                room = MAX_LINE_CHARS - self._column
                pieces += [line[:room], "\n"]
                line = line[room:]
                self._column = 0
            pieces.append(line)
            self._column += len(line)
        return "".join(pieces)

    def flush(self) -> None:
        pass
