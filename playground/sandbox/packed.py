"""The bulk of a trace, read from the tracer's binary frames: tasks
announced, ordinary steps, normal ends and waits, as packed int64 records
(see playground/tracer/protocol.py), each record checked, in loops kept
lean (a 100,000-task gather sends 400,000 of them). A part of
:class:`playground.sandbox.stream.StreamParser`, whose state it shares."""

from __future__ import annotations

from playground.model.answer import ITEM_BYTES, json_size, plain_ascii
from playground.model.trace import MAX_ID, MAX_NAME, MAX_TIME_NS, Invalid, Slice, TaskRecord, Trace, Wait, clean_text
from playground.sandbox.caps import TraceCaps
from playground.sandbox.checks import WaitEnding, ending_bytes, seconds, unpack, wait_ending, wait_label
from playground.sandbox.stillopen import StillOpen

_NO_ENDING: WaitEnding = (None, None, None, None)


class PackedRecords:
    trace: Trace
    caps: TraceCaps
    max_tasks: int
    messages: int
    rejected: int
    still_open: StillOpen
    _tasks: dict[int, TaskRecord]
    # Per task: busy ns, waiting ns, steps.
    _figures: dict[int, list[int]]

    def _tasks_packed(self, packed: object, names: object, coros: object) -> None:
        """Tasks announced, packed: (id, parent or -1, line or -1, created)."""
        numbers = unpack(packed, 4)
        self.messages += len(numbers) // 4 - 1
        if not isinstance(names, list) or not isinstance(coros, list):
            raise Invalid("no names")
        if not len(names) == len(coros) == len(numbers) // 4:
            raise Invalid("names do not match the tasks")
        # Many tasks share a coroutine: clean each name once.
        cleaned: dict[object, tuple[str, int]] = {}
        tasks, figures, items = self._tasks, self._figures, self.trace.tasks
        count, task_bytes = self.caps.count, ITEM_BYTES["task"]
        for task_id, parent, line, created, name, coro in zip(
            numbers[0::4], numbers[1::4], numbers[2::4], numbers[3::4], names, coros, strict=True
        ):
            if not isinstance(name, str) or not isinstance(coro, str):
                raise Invalid("a name that is not text")
            if (not 1 <= task_id <= MAX_ID or task_id in tasks or not 0 <= created <= MAX_TIME_NS
                    or (parent != -1 and parent not in tasks) or not -1 <= line <= MAX_ID):
                self.rejected += 1  # a task cut at the cap is no one's parent: not held against the run
                continue
            coro_name = cleaned.get(coro)
            if coro_name is None:
                text = clean_text(coro, MAX_NAME)
                coro_name = cleaned[coro] = (text, json_size(text))
            task_name = name if len(name) <= MAX_NAME and name.isascii() else clean_text(name, MAX_NAME)
            if len(tasks) >= self.max_tasks:
                self.caps.dropped("tasks")
                continue
            name_bytes = len(task_name) + 2 if plain_ascii(task_name) else json_size(task_name)
            if not count(task_bytes + coro_name[1] + name_bytes, "tasks"):
                continue
            record = TaskRecord(task_id, task_name, coro_name[0], None if parent == -1 else parent,
                                None if line == -1 else line, round(created / 1000) / 1e6)
            tasks[task_id] = record
            figures[task_id] = [0, 0, 0]
            items.append(record)

    def _ends(self, packed: object) -> None:
        """Tasks that ended normally, packed: (id, ended)."""
        numbers = unpack(packed, 2)
        self.messages += len(numbers) // 2 - 1
        tasks = self._tasks
        for task_id, ended in zip(numbers[0::2], numbers[1::2], strict=True):
            record = tasks.get(task_id)
            if record is None or not 0 <= ended <= MAX_TIME_NS:
                self.rejected += 1
                continue
            record.ended = seconds(ended)
            record.state = "done"

    def _steps(self, packed: object) -> None:
        """Ordinary steps, packed: (task id, start, end, yield line or -1)."""
        numbers = unpack(packed, 4)
        self.messages += len(numbers) // 4 - 1
        if numbers:
            self.still_open.steps_ended(max(numbers[2::4]))
        tasks, figures = self._tasks, self._figures
        slices = self.trace.slices
        (room, by_answer), dropped = self.caps.slices_room(), False
        start_room = room
        for task_id, first, last, yielded in zip(numbers[0::4], numbers[1::4], numbers[2::4], numbers[3::4],
                                                 strict=True):
            if task_id not in tasks or not 0 <= first <= last <= MAX_TIME_NS or not -1 <= yielded <= MAX_ID:
                self.rejected += 1
                continue
            counts = figures[task_id]
            counts[0] += last - first
            counts[2] += 1
            if room > 0:
                room -= 1
                slices.append(Slice(task_id, round(first / 1000) / 1e6, round(last / 1000) / 1e6, False, None,
                                    yield_line=None if yielded == -1 else yielded))
            else:
                self.caps.dropped("slices")
                dropped = True
        self.caps.took_slices(start_room - room, dropped, by_answer)

    def _waits_packed(self, packed: bytes, labels: object) -> None:
        """Waits that ended, packed: (task id, start, end, line or -1, label,
        due, wake, waker, waker's line, each -1 for none), each label
        ``[on or null, *chain]`` in ``labels``."""
        numbers = unpack(packed, 9)
        self.messages += len(numbers) // 9 - 1
        if not isinstance(labels, list):
            raise Invalid("no labels")
        # Many waits share a label: clean and size each once.
        cleaned: dict[int, tuple[str | None, list[str], int]] = {}
        tasks, figures, waits, caps = self._tasks, self._figures, self.trace.waits, self.caps
        still_open = self.still_open
        for task_id, first, last, line, index, due, wake, waker, waker_line in zip(
            numbers[0::9], numbers[1::9], numbers[2::9], numbers[3::9], numbers[4::9], numbers[5::9],
            numbers[6::9], numbers[7::9], numbers[8::9], strict=True
        ):
            if (task_id not in tasks or not 0 <= first <= last <= MAX_TIME_NS or not -1 <= line <= MAX_ID
                    or not 0 <= index < len(labels)):
                self.rejected += 1
                continue
            ending = _NO_ENDING
            if due != -1 or wake != -1 or waker != -1 or waker_line != -1:
                try:
                    ending = wait_ending(due, wake, waker, waker_line, tasks)
                except Invalid:
                    self.rejected += 1
                    continue
            label = cleaned.get(index)
            if label is None:
                label = cleaned[index] = wait_label(labels[index])
            figures[task_id][1] += last - first
            if still_open.waits:
                still_open.waits.pop(task_id, None)
            if caps.room("waits"):
                what, names, size = label
                if caps.count(size + ending_bytes(ending), "waits"):
                    waits.append(Wait(task_id, round(first / 1000) / 1e6, round(last / 1000) / 1e6, what,
                                      None if line == -1 else line, names, None, *ending))
