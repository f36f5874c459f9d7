"""What a run did since the last look: the items its trace gained while it
goes on, in the trace's own shapes, for a live view (docs/live.md).

``Progress`` remembers how much of each list of a growing trace it has
handed out, and which tasks it handed out while they were still pending,
so that each batch holds only what is new: items appended since, and the
tasks that ended since (the newer record replaces the older one); and,
when it changed, what is open now (the step holding the loop, the waits
begun and not ended), which no list holds until it ends. No I/O.

Live batches repeat what the final trace will hold, so their bytes are
bounded too: past ``budget`` bytes a batch carries only output and events,
and the final trace still holds everything.
"""

from __future__ import annotations

from typing import Any

from playground.model.answer import dumps
from playground.model.trace import ITEM_JSON, TaskRecord, Trace
from playground.sandbox.checks import seconds
from playground.sandbox.stillopen import StillOpen

# Lists a batch carries even past the budget: what a reader waits for.
ALWAYS_SENT = ("output", "events")
# Open waits a batch tells at most (the earliest begun).
MAX_OPEN_WAITS = 200


class Progress:
    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.sent_bytes = 0
        self._counts = dict.fromkeys(ITEM_JSON, 0)
        # Tasks handed out while pending, by id: sent again once they end.
        self._pending: dict[int, TaskRecord] = {}
        self._open: dict[str, Any] = {"running": None, "waits": []}

    def batch(self, trace: Trace, duration: float, still_open: StillOpen | None = None) -> bytes | None:
        """The JSON of what ``trace`` gained since the last batch (with
        ``duration``, how far the run's clock has come, and ``still_open``'s
        state when it changed), or None when it gained nothing."""
        over = self.sent_bytes >= self.budget
        batch: dict[str, Any] = {"duration": duration}
        if still_open is not None and not over:
            now_open = _open(still_open)
            if now_open != self._open:
                batch["open"] = self._open = now_open
        tasks = self._task_changes(trace)
        if tasks and not over:
            batch["tasks"] = tasks
        for name, as_json in ITEM_JSON.items():
            if name == "tasks":
                continue
            items: list[Any] = getattr(trace, name)
            start = min(self._counts[name], len(items))
            self._counts[name] = len(items)
            if start < len(items) and (not over or name in ALWAYS_SENT):
                batch[name] = [as_json(item) for item in items[start:]]
        if len(batch) == 1:
            return None
        body = dumps(batch)
        self.sent_bytes += len(body)
        return body

    def _task_changes(self, trace: Trace) -> list[dict[str, Any]]:
        """Tasks new since the last batch, and those handed out pending that
        have ended since."""
        changed = [record for record in self._pending.values() if record.ended is not None]
        for record in changed:
            del self._pending[record.id]
        start = self._counts["tasks"]
        new = trace.tasks[start:]
        self._counts["tasks"] = len(trace.tasks)
        for record in new:
            if record.ended is None:
                self._pending[record.id] = record
        return [record.to_json() for record in (*changed, *new)]


def _open(still_open: StillOpen) -> dict[str, Any]:
    """What is open now, in the trace's shapes (no end yet)."""
    running = None
    if still_open.running is not None:
        task, start, line = still_open.running
        if start >= still_open.last_step_end:  # else that step has ended since
            running = {"task": task, "start": seconds(start), "line": line}
    waits = sorted(still_open.waits.items(), key=lambda item: item[1][0])[:MAX_OPEN_WAITS]
    return {"running": running, "waits": [
        {"task": task, "start": seconds(start), "on": on, "line": line, "chain": chain}
        for task, (start, on, line, chain, _) in waits]}
