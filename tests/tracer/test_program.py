"""A snippet looks like a program run as ``python3 main.py``: its argv, its
file, its ``__main__`` module, and its name in tracebacks and reprs; and
where a run in the playground differs from a laptop (in a real jail), the
error says so in plain words."""

from __future__ import annotations

import pytest

from tests.support.traces import RunTrace, printed


def test_argv_file_and_main_module_are_a_programs(run_trace: RunTrace) -> None:
    trace = run_trace("""
        import argparse, os, pickle, sys
        from dataclasses import dataclass
        print(sys.argv, __file__, os.path.exists(__file__))
        parser = argparse.ArgumentParser()
        parser.add_argument("--count", type=int, default=3)
        print(parser.parse_args())
        print(sys.argv[1:] or "no arguments")

        @dataclass
        class Point:
            x: int

        print(pickle.loads(pickle.dumps(Point(1))), sys.modules["__main__"].Point is Point)
        print(open(__file__).read().split()[:2])
    """)
    assert trace["status"] == "ok", trace["error"]
    assert printed(trace) == [
        "['main.py'] main.py True", "Namespace(count=3)", "no arguments", "Point(x=1) True",
        "['import', 'argparse,']",
    ]


def test_tracebacks_and_reprs_name_main_py(run_trace: RunTrace) -> None:
    trace = run_trace("""
        import asyncio, traceback

        async def work():
            await asyncio.sleep(1)

        async def main():
            task = asyncio.create_task(work())
            await asyncio.sleep(0)
            print(repr(task))
            task.cancel()
            try:
                1 / 0
            except ZeroDivisionError:
                print(traceback.format_exc().splitlines()[1].strip())

        asyncio.run(main())
    """)
    assert trace["status"] == "ok", trace["error"]
    task_repr, frame = printed(trace)
    assert "coro=<work() running at main.py:5>" in task_repr
    assert frame == 'File "main.py", line 13, in main'


@pytest.mark.parametrize(("code", "error", "words"), [
    ("name = input('Your name? ')", "EOFError", "no keyboard"),
    ("import sys\nprint(sys.stdin.readline() or input())", "EOFError", "no keyboard"),
    ("import requests", "ModuleNotFoundError", "standard library and aiohttp only, so requests"),
    ("open('/usr/notes.txt', 'w')", "OSError", "Only /tmp"),
    ("import os\nos.chroot('/tmp')", "PermissionError", "reach anything outside itself"),
])
def test_where_the_playground_differs_it_says_so(code: str, error: str, words: str, run_trace: RunTrace) -> None:
    trace = run_trace(code)
    assert trace["status"] == "error" and trace["error"]["type"] == error
    hints = [event for event in trace["events"] if event["kind"] == "hint"]
    assert len(hints) == 1 and words in hints[0]["message"], hints
    assert hints[0]["line"] == trace["error"]["line"]
