"""The snippet's ``sys.stdout`` and ``sys.stderr``: text goes to the recorder."""

from __future__ import annotations

import io

from .recorder import Recorder


class RecordedStream(io.TextIOBase):
    def __init__(self, recorder: Recorder, name: str) -> None:
        self._recorder = recorder
        self._name = name

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
        self._recorder.write(self._name, text)
        return len(text)

    def flush(self) -> None:
        pass
