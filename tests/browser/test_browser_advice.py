"""The summary's advice, derived from what each run's trace shows: a table of
snippets, each run through the real server and jail, with the words its
summary must say and the words it must never say (issue 19: "Start the
tasks together" was said of runs whose tasks already overlapped, of a lone
wait_for timeout and of one task that raises)."""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

import pytest
from playwright.sync_api import Page, expect

from tests.support import ROOT
from tests.support.browsing import wait_for_status

pytestmark = pytest.mark.browser

START_TOGETHER = "start them together"
ONE_AFTER_ANOTHER = "one after another"
BLOCKING_WORDS = "blocking steps held the loop"
# A step that held the loop past the blocking threshold is flagged, and the
# summary rightly says so; on a loaded machine (CI beside other jobs) a step
# of a snippet that never blocks can be descheduled that long. Such a run's
# summary is true to its trace but not the one this table is about, so a
# case that does not expect blocking is run again, a few times at most. The
# server hands a virtual-clock run's trace to everyone who runs the same code
# (playground/sharing/runcache.py), so the same code again would only get the
# stalled run back: each try ends with a comment of its own, a run of its own.
LOADED_MACHINE_TRIES = 3


@dataclass(frozen=True)
class Case:
    name: str
    code: str
    must: tuple[str, ...]
    must_not: tuple[str, ...]
    status: str = "ok"
    python: str = ""


ONE_TASK_RAISES = """\
import asyncio

async def main():
    await asyncio.sleep(1)
    raise ValueError("boom")

asyncio.run(main())
"""

ONE_AFTER_THE_OTHER = """\
import asyncio

async def say_after(delay, what):
    await asyncio.sleep(delay)
    print(what)

async def main():
    await say_after(1, "hello")
    await say_after(2, "world")

asyncio.run(main())
"""

TASKS_AWAITED_IN_TURN = """\
import asyncio

async def job(n):
    await asyncio.sleep(1)
    return n

async def main():
    for n in range(3):
        print(await asyncio.create_task(job(n)))

asyncio.run(main())
"""

GATHER = """\
import asyncio

async def job(n):
    await asyncio.sleep(1)

async def main():
    await asyncio.gather(job(1), job(2), job(3))

asyncio.run(main())
"""

QUEUE = """\
import asyncio

async def consumer(queue):
    while (item := await queue.get()) is not None:
        print("got", item)

async def main():
    queue = asyncio.Queue()
    task = asyncio.create_task(consumer(queue))
    for item in range(3):
        await queue.put(item)
    await queue.put(None)
    await task

asyncio.run(main())
"""

BLOCKING = """\
import asyncio
import time

async def main():
    time.sleep(0.5)

asyncio.run(main())
"""

GALLERY = ROOT / "playground" / "sharing" / "gallery"
# The Python documentation's own examples of cancellation and wait_for.
CORPUS = ROOT / "tests" / "corpus"
CANCELLATION = (CORPUS / "011_docs_cancel_me.py").read_text()
WAIT_FOR_TIMEOUT = (CORPUS / "009_docs_wait_for_eternity.py").read_text()

CASES = [
    Case("cancellation", CANCELLATION, ("2 tasks overlapped",), (START_TOGETHER, ONE_AFTER_ANOTHER)),
    Case("wait_for timeout", WAIT_FOR_TIMEOUT, ("One wait",), (START_TOGETHER, ONE_AFTER_ANOTHER)),
    Case("wait_for timeout on 3.11", WAIT_FOR_TIMEOUT, ("One wait",), (START_TOGETHER, ONE_AFTER_ANOTHER),
         python="3.11"),
    Case("one task raises", ONE_TASK_RAISES, ("One wait",), (START_TOGETHER, ONE_AFTER_ANOTHER), status="error"),
    Case("eager tasks (gallery)", (GALLERY / "eager_tasks.py").read_text(), (ONE_AFTER_ANOTHER,), (START_TOGETHER,),
         python="3.14"),
    Case("create_task (gallery)", (GALLERY / "create_task.py").read_text(), ("2 tasks overlapped",),
         (START_TOGETHER, ONE_AFTER_ANOTHER)),
    Case("gather", GATHER, ("3 tasks overlapped",), (START_TOGETHER, ONE_AFTER_ANOTHER)),
    Case("one coroutine after the other", ONE_AFTER_THE_OTHER, (ONE_AFTER_ANOTHER, START_TOGETHER), ()),
    Case("tasks awaited in turn", TASKS_AWAITED_IN_TURN, (ONE_AFTER_ANOTHER, START_TOGETHER), ()),
    Case("a queue", QUEUE, ("waited only on each other",), (START_TOGETHER, "none waited")),
    Case("time.sleep", BLOCKING, (BLOCKING_WORDS,), (START_TOGETHER,)),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_the_summary_says_only_what_the_trace_shows(page: Page, live_server: str, case: Case) -> None:
    for attempt in range(LOADED_MACHINE_TRIES):
        code = case.code + (f"# try {attempt + 1}\n" if attempt else "")
        fragment = f"code={urllib.parse.quote(code)}&run=1" + (f"&python={case.python}" if case.python else "")
        page.goto("about:blank")
        page.goto(f"{live_server}/#{fragment}")
        wait_for_status(page, case.status, timeout=60_000)
        if BLOCKING_WORDS in case.must or not page.get_by_test_id("summary-warning").count():
            break
    sentence = page.get_by_test_id("summary-concurrency")
    for words in case.must:
        expect(sentence).to_contain_text(words, ignore_case=True)
    said = " ".join(page.locator("main").all_inner_texts()).lower()
    for words in case.must_not:
        assert words.lower() not in said, f"{case.name}: the page says {words!r}: {sentence.inner_text()!r}"
