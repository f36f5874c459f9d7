"""What the tracer still sends past the event cap, and what it counts instead.

Past ``max_events`` a trace is cut, but a reader needs some of it whole:
what the run printed, the run's and its tasks' errors and ends, and events
of the kinds in ``protocol.KEPT_EVENT_KINDS`` go on (at most
``protocol.MAX_KEPT_PAST_CUT`` messages), so the answer a program prints is
never lost. The rest (steps, waits, tasks announced, other events) is only
counted, and sent once at the end as a ``cut`` message.
"""

from __future__ import annotations

import base64
from typing import Any

from . import protocol

# Past the cut these still go: what the printed answer, the errors and the
# end of every task and of the run need.
KEPT = frozenset({protocol.OUTPUT, protocol.ERROR, protocol.TASK_END, protocol.END})
_COUNTED_AS = {protocol.STEP: "steps", protocol.STEPS: "steps", protocol.TASK: "tasks", protocol.TASKS: "tasks",
               protocol.WAIT: "waits", protocol.ENDS: "ends", protocol.TASK_END: "ends", protocol.OUTPUT: "output"}
# Told of what is open, not items themselves: past the cut they go unsent and uncounted.
NOTES = frozenset({protocol.RUNNING, protocol.WAITING})
_RECORD_BYTES = {protocol.STEPS: protocol.STEP_RECORD_BYTES, protocol.ENDS: protocol.END_RECORD_BYTES}


class PastCut:
    """The tracer's side of a cut trace: when it was cut, what was kept, what was not."""

    def __init__(self) -> None:
        self.at = 0
        self.kept = 0
        self.dropped = dict.fromkeys(("tasks", "steps", "waits", "ends", "events", "output"), 0)

    def keeps(self, message: tuple[Any, ...]) -> bool:
        """Whether a message past the cut is sent; what is not is counted."""
        kind = message[0]
        if kind in NOTES:
            return False  # what is open now: its items are counted when they end
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
        kept = ends[:protocol.END_RECORD_BYTES * room]
        self.kept += len(kept) // protocol.END_RECORD_BYTES
        self.dropped["ends"] += (len(ends) - len(kept)) // protocol.END_RECORD_BYTES
        return kept

    def message(self) -> tuple[Any, ...]:
        return (protocol.CUT, self.at, {kind: count for kind, count in self.dropped.items() if count})

    def cut_batch(self, buffer: list[tuple[Any, ...]], tasks: tuple[bytes, list[str], list[str]], steps: bytes,
                  ends: bytes, waits: list[Any], over: int) -> None:
        """The batch that crosses the cap, cut ``over`` messages from its end:
        its packed records as messages (base64, in pieces that fit a line,
        so that cutting from the end cuts whole messages), then the mark,
        then what is kept past it."""
        packed, names, coros = tasks
        step = _PACKED_BYTES // 32
        buffer[:0] = [(protocol.TASKS, _encode(packed[at * 32:(at + step) * 32]),
                       [name[:protocol.MAX_NAME_CHARS] for name in names[at:at + step]],
                       [coro[:protocol.MAX_NAME_CHARS] for coro in coros[at:at + step]])
                      for at in range(0, len(names), step)]
        piece = _PACKED_BYTES - _PACKED_BYTES % protocol.STEP_RECORD_BYTES
        buffer += [(protocol.STEPS, _encode(steps[at:at + piece])) for at in range(0, len(steps), piece)]
        buffer += [(protocol.ENDS, _encode(ends[at:at + _PACKED_BYTES])) for at in range(0, len(ends), _PACKED_BYTES)]
        buffer += [(protocol.WAIT, *wait) for wait in waits]
        past = buffer[max(0, len(buffer) - over):]
        del buffer[max(0, len(buffer) - over):]
        buffer.append((protocol.TRUNCATED,))
        buffer += [message for message in past if self.keeps(message)]


def _encode(packed: bytes) -> str:
    return base64.b64encode(packed).decode("ascii")


# Bytes of packed numbers in one message past the event cap, so it fits a line.
_PACKED_BYTES = 8 * 1024
