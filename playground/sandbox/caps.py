"""What a trace may keep, and where it was cut.

The stream parser asks ``TraceCaps`` before keeping each item: within
``max_items`` items (slices, waits, events; tasks have their own cap) and
within the answer's bytes (an upper bound of each item's JSON, so the answer
never passes ``LIMIT_ANSWER_BYTES``). Output, errors, task ends and the kinds
of event a reader needs whole pass the item cap (they have caps of their
own) and take the answer's bytes from a share of their own
(``KEPT_SHARE``), so items filling the answer never cut them. Past a cap the trace is ``truncated``, and
``seal`` writes its ``cut``: the moment from which it no longer holds
everything, and how many of each kind it left out, the tracer's count of
what it did not send added in.
"""

from __future__ import annotations

from collections.abc import Callable

from playground.model.answer import ITEM_BYTES
from playground.model.trace import Trace

# The share of the answer kept for what a reader needs whole.
KEPT_SHARE = 4


class TraceCaps:
    def __init__(self, trace: Trace, max_items: int, answer_room: int, now: Callable[[], float]) -> None:
        self.trace = trace
        self.max_items = max_items
        self.items = 0
        # The answer's bytes taken by the items kept (an upper bound of their
        # JSON), and by what is kept whole, each within its share.
        self.kept_room = answer_room // KEPT_SHARE
        self.kept_spent = 0
        self.answer_room = answer_room - self.kept_room
        self.answer_spent = 0
        self.answer_cut = False
        self._now = now
        self._cut_at: float | None = None
        self._counts: dict[str, int] = {}

    def room(self, kind: str) -> bool:
        """Whether another item may still be kept: checked before cleaning
        and sizing one, which items past the caps are spared (and counted)."""
        if self.items < self.max_items and not self.answer_cut:
            return True
        self.dropped(kind)
        return False

    def count(self, size: int, kind: str) -> bool:
        """Keep one more item of ``kind``, of ``size`` bytes in the answer;
        False once a cap is reached (the trace is then cut)."""
        # One call per item of a 100,000-task trace: the common case inline.
        if self.items < self.max_items and not self.answer_cut and self.answer_spent + size <= self.answer_room:
            self.items += 1
            self.answer_spent += size
            return True
        if self.room(kind):
            self.spend(size)  # does not fit: the answer is cut here
            self.dropped(kind)
        return False

    def spend(self, size: int) -> bool:
        """Take ``size`` bytes of the answer; once one does not fit, none does."""
        if self.answer_cut or self.answer_spent + size > self.answer_room:
            self.answer_cut = self.trace.truncated = True
            return False
        self.answer_spent += size
        return True

    def keep(self, size: int) -> bool:
        """Take ``size`` bytes of the answer for what is kept whole (output,
        errors, the events a reader needs), within its own share."""
        if self.kept_spent + size > self.kept_room:
            self.trace.truncated = True
            return False
        self.kept_spent += size
        return True

    def slices_room(self) -> tuple[int, bool]:
        """How many packed slices may still be kept, and whether the answer
        (rather than the item cap) is what limits them."""
        by_items = self.max_items - self.items
        by_answer = 0 if self.answer_cut else (self.answer_room - self.answer_spent) // ITEM_BYTES["slice"]
        return max(0, min(by_items, by_answer)), by_answer < by_items

    def took_slices(self, count: int, some_dropped: bool, by_answer: bool) -> None:
        self.items += count
        self.answer_spent += count * ITEM_BYTES["slice"]
        if some_dropped and by_answer:
            self.answer_cut = True  # the answer is full: cut it there

    def dropped(self, kind: str, count: int = 1) -> None:
        """Items of ``kind`` past the caps: the trace is cut, and says where and what."""
        if self._cut_at is None:
            self._cut_at = self._now()
        self.trace.truncated = True
        self._counts[kind] = self._counts.get(kind, 0) + count

    def cut(self, at: float, counts: dict[str, int]) -> None:
        """The tracer's own cut: when, and what it did not send after it."""
        self.trace.truncated = True
        self._cut_at = at if self._cut_at is None else min(self._cut_at, at)
        for kind, count in counts.items():
            self._counts[kind] = self._counts.get(kind, 0) + count

    def seal(self) -> None:
        """Write the trace's ``cut`` (None when nothing was cut)."""
        if self.trace.truncated:
            at = self._cut_at if self._cut_at is not None else self._now()
            self.trace.cut = {"at": at, "dropped": dict(sorted(self._counts.items()))}
