"""What a run told the server was still open while it ran (protocol.RUNNING,
WAITING, JOB_START): the step holding the loop, the waits begun, the
executor jobs running. What ends is forgotten as it ends; when the server
stops the run at a limit, the stream parser keeps what is left up to that
moment, marked cut off (``StreamParser.close_open``)."""

from __future__ import annotations

from collections.abc import Callable

from playground.model.trace import MAX_NAME, Invalid, clean_text
from playground.sandbox.checks import integer, nanoseconds, optional_integer, wait_label

# Executor jobs running at once that the server keeps track of (a run has
# at most LIMIT_PROCESSES threads to run them in).
MAX_OPEN_JOBS = 256
# Labels of open waits remembered, to clean each once.
MAX_OPEN_LABELS = 1024

# The step told as running: its task, start (ns) and snippet line.
Running = tuple["int | None", int, "int | None"]
# An open wait: its start (ns), what it is on, its line, its await chain,
# and the answer's bytes of a wait with them.
OpenWait = tuple[int, "str | None", "int | None", list[str], int]
# A job started: its thread, function, task (looked up when it is kept), start (ns), line.
StartedJob = tuple[str, str, "int | None", int, "int | None"]


class StillOpen:
    def __init__(self, known_task: Callable[[object], int | None]) -> None:
        self._known_task = known_task
        self.running: Running | None = None
        self.last_step_end = 0
        self.waits: dict[int, OpenWait] = {}
        self.jobs: dict[int, StartedJob] = {}
        self._labels: dict[str, tuple[str | None, list[str], int]] = {}

    def steps_ended(self, last: int) -> None:
        """Steps ended as late as ``last``: a step told as running before it is over."""
        if last > self.last_step_end:
            self.last_step_end = last

    def told_running(self, task: object, start: object, line: object) -> None:
        self.running = (self._known_task(task), nanoseconds(start), optional_integer(line))

    def told_waiting(self, waits: object) -> None:
        if not isinstance(waits, list):
            raise Invalid("not a list of waits")
        for wait in waits:
            if not isinstance(wait, list) or len(wait) != 5:
                raise Invalid("not an open wait")
            task, start, on, line, chain = wait
            task_id = self._known_task(task)
            if task_id is None or not (chain is None or isinstance(chain, list)):
                raise Invalid("not an open wait")
            label = [on, *(chain or ())]
            key = repr(label)  # waits told together mostly share a label: clean and size each once
            known = self._labels.get(key)
            if known is None:
                if len(self._labels) >= MAX_OPEN_LABELS:
                    self._labels.clear()
                known = self._labels[key] = wait_label(label)
            what, names, size = known
            self.waits[task_id] = (nanoseconds(start), what, optional_integer(line), names, size)

    def job_started(self, job_id: object, thread: object, fn: object, task: object, start: object,
                    line: object) -> None:
        number = integer(job_id, low=1)
        if number in self.jobs or len(self.jobs) >= MAX_OPEN_JOBS:
            raise Invalid("a job already running, or too many")
        # The submitting task may not be announced yet: the job's thread tells
        # of it at once, the loop at its next flush. It is looked up at the end.
        self.jobs[number] = (clean_text(thread, MAX_NAME), clean_text(fn, MAX_NAME), optional_integer(task),
                             nanoseconds(start), optional_integer(line))

    def job_ended(self, job_id: object, end: object) -> tuple[StartedJob, int]:
        """The job that ended, and when (ns)."""
        started = self.jobs.pop(integer(job_id, low=1), None)
        if started is None:
            raise Invalid("a job that did not start")
        last = nanoseconds(end)
        if last < started[3]:
            raise Invalid("a job that ends before it starts")
        return started, last

    def at_stop(self, stop: int) -> tuple[Running | None, list[tuple[int, OpenWait]], list[StartedJob]]:
        """What was open at ``stop`` (ns): the step running, if none ended
        after it began; the open waits, by task; the jobs. Forgotten here."""
        running, self.running = self.running, None
        if running is not None and not self.last_step_end <= running[1] <= stop:
            running = None
        waits = [(task_id, wait) for task_id, wait in self.waits.items() if wait[0] <= stop]
        jobs = [job for job in self.jobs.values() if job[3] <= stop]
        self.waits.clear()
        self.jobs.clear()
        return running, waits, jobs
