"""The ``time.sleep`` calls of the running step: what held the loop, and
where, should the step turn out to block. A step's start time is its
identity, so the calls of an earlier step that did not block never name a
later one's reason."""

from __future__ import annotations

from .waits import number


class StepSleeps:
    def __init__(self) -> None:
        self._step = -1
        self._reason: str | None = None
        self._line: int | None = None

    def called(self, step_start: int, seconds: float, line: int | None) -> None:
        """The step that began at ``step_start`` called ``time.sleep(seconds)`` at ``line``."""
        label = f"time.sleep({number(seconds)})"
        if self._step != step_start:
            self._step, self._reason = step_start, label
        else:
            self._reason = "time.sleep() calls"
        self._line = line

    def take(self, step_start: int) -> tuple[str | None, int | None]:
        """The reason and line of the step that began at ``step_start``
        (None, None without a call), and forget them."""
        taken = (self._reason, self._line) if self._step == step_start else (None, None)
        self._step, self._reason, self._line = -1, None, None
        return taken
