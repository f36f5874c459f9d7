"""What is open while a run goes on, told to the server where a stop at a
limit is likely to find it (see ``Recorder.announce_open``): the step that
holds the loop (``protocol.RUNNING``, once per step) and the waits begun
since last told (``protocol.WAITING``), so that a run stopped at a limit is
drawn up to the stop rather than to its last event."""

from __future__ import annotations

from typing import Any

from . import protocol

# A step holding the loop this long (CPU time ticks, or a time.sleep that
# long) is told as running, with the waits then open: a stop at a limit
# comes seconds into a run, and shorter holds (a collection of 100,000
# tasks' garbage takes 400 ms) would tell every wait of a big run twice.
TELL_OPEN_AFTER_NS = 1_000_000_000
# Open waits told in one message (each about 60 bytes: well within a line).
OPEN_WAITS_PER_MESSAGE = 256
# Waits begun and never told that are remembered before those that ended
# are forgotten (a virtual-clock run tells none).
NEW_WAITS_ROOM = 4096


class OpenNotes:
    def __init__(self) -> None:
        # Waits begun since last told, by id(task), and the step last told.
        self._new_waits: list[int] = []
        self._room = NEW_WAITS_ROOM
        self._told_step: int | None = None

    def wait_started(self, key: int, waits: dict[int, Any]) -> None:
        new = self._new_waits
        new.append(key)
        if len(new) > self._room:
            # Never told (no stop was likely): keep those still open only.
            self._new_waits = [key for key in dict.fromkeys(new) if key in waits]
            self._room = max(NEW_WAITS_ROOM, 2 * len(self._new_waits))

    def messages(self, running: tuple[int | None, int, int | None] | None,
                 waits: dict[int, tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """The messages that tell what is open now: ``running``, the step in
        progress (task, start, line), unless told already, and the waits
        begun since last told that are still open (``waits``, by id(task))."""
        told: list[tuple[Any, ...]] = []
        if running is not None and self._told_step != running[1]:
            self._told_step = running[1]
            told.append((protocol.RUNNING, *running))
        if self._new_waits:
            still = [list(waits[key]) for key in dict.fromkeys(self._new_waits) if key in waits]
            self._new_waits.clear()
            told += [(protocol.WAITING, still[at:at + OPEN_WAITS_PER_MESSAGE])
                     for at in range(0, len(still), OPEN_WAITS_PER_MESSAGE)]
        return told
