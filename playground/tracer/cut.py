"""What the tracer still sends past the event cap, and what it counts instead.

Past ``max_events`` a trace is cut, but a reader needs some of it whole:
what the run printed, the run's and its tasks' errors and ends, and events
of the kinds in ``protocol.KEPT_EVENT_KINDS`` go on (at most
``protocol.MAX_KEPT_PAST_CUT`` messages), so the answer a program prints is
never lost. The rest (steps, waits, tasks announced, other events) is only
counted, and sent once at the end as a ``cut`` message.
"""

from __future__ import annotations

from typing import Any

from . import protocol

# Past the cut these still go: what the printed answer, the errors and the
# end of every task and of the run need.
KEPT = frozenset({protocol.OUTPUT, protocol.ERROR, protocol.TASK_END, protocol.END})
_COUNTED_AS = {protocol.STEP: "steps", protocol.STEPS: "steps", protocol.TASK: "tasks", protocol.TASKS: "tasks",
               protocol.WAIT: "waits", protocol.ENDS: "ends", protocol.TASK_END: "ends", protocol.OUTPUT: "output"}
_RECORD_BYTES = {protocol.STEPS: 24, protocol.ENDS: 16}


class PastCut:
    """The tracer's side of a cut trace: when it was cut, what was kept, what was not."""

    def __init__(self) -> None:
        self.at = 0
        self.kept = 0
        self.dropped = dict.fromkeys(("tasks", "steps", "waits", "ends", "events", "output"), 0)

    def keeps(self, message: tuple[Any, ...]) -> bool:
        """Whether a message past the cut is sent; what is not is counted."""
        kind = message[0]
        wanted = kind in KEPT or (kind == protocol.EVENT and message[2] in protocol.KEPT_EVENT_KINDS)
        if wanted and self.kept < protocol.MAX_KEPT_PAST_CUT:
            self.kept += 1
            return True
        name = _COUNTED_AS.get(kind, "events")
        if kind == protocol.TASKS:
            self.dropped["tasks"] += len(message[2])
        elif kind in _RECORD_BYTES:  # base64 of packed records
            self.dropped[name] += len(message[1]) * 3 // 4 // _RECORD_BYTES[kind]
        else:
            self.dropped[name] += 1
        return False

    def ends(self, ends: bytes) -> bytes:
        """Of a batch's packed normal ends, those still sent (the rest counted)."""
        room = max(0, protocol.MAX_KEPT_PAST_CUT - self.kept)
        kept = ends[:16 * room]
        self.kept += len(kept) // 16
        self.dropped["ends"] += (len(ends) - len(kept)) // 16
        return kept

    def message(self) -> tuple[Any, ...]:
        return (protocol.CUT, self.at, {kind: count for kind, count in self.dropped.items() if count})
