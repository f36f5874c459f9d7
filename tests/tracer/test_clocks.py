"""Every clock a snippet can read agrees with the virtual clock, and every
function of ``time`` and ``datetime`` is either made virtual or known not to
read "now", on every Python: a Python that adds one fails here until it is
sorted (the names are those the snippet sees in the jail, virtual clock and all)."""

from __future__ import annotations

import json

from playground.tracer.clock import READS_NOW
from tests.support.traces import RunTrace, printed

# What does not read the current time: constants, conversions of a time
# given as an argument, and CPU-time clocks, which measure work, not time.
NOT_NOW = {
    "time": frozenset({
        "CLOCK_BOOTTIME", "CLOCK_MONOTONIC", "CLOCK_MONOTONIC_RAW", "CLOCK_PROCESS_CPUTIME_ID", "CLOCK_REALTIME",
        "CLOCK_TAI", "CLOCK_THREAD_CPUTIME_ID", "altzone", "daylight", "timezone", "tzname", "tzset",
        "clock_getres", "clock_settime", "clock_settime_ns", "get_clock_info", "mktime", "strptime", "struct_time",
        "process_time", "process_time_ns", "thread_time", "thread_time_ns", "pthread_getcpuclockid",
    }),
    "datetime.datetime": frozenset({
        "astimezone", "combine", "ctime", "date", "dst", "fromisocalendar", "fromisoformat", "fromordinal",
        "fromtimestamp", "isocalendar", "isoformat", "isoweekday", "replace", "strftime", "strptime", "time",
        "timestamp", "timetuple", "timetz", "toordinal", "tzname", "utcfromtimestamp", "utcoffset",
        "utctimetuple", "weekday", "max", "min", "resolution", "day", "fold", "hour", "microsecond", "minute",
        "month", "second", "tzinfo", "year",
    }),
    "datetime.date": frozenset({
        "ctime", "fromisocalendar", "fromisoformat", "fromordinal", "fromtimestamp", "isocalendar", "isoformat",
        "isoweekday", "replace", "strftime", "timetuple", "toordinal", "weekday", "max", "min", "resolution",
        "day", "month", "year", "strptime",
    }),
}
# Names a newer Python added, which an older one lacks: 3.14's date.strptime.
ADDED_LATER: dict[str, frozenset[str]] = {"datetime.date": frozenset({"strptime"})}
OWNERS = {"time": "time", "datetime.datetime": "datetime.datetime", "datetime.date": "datetime.date"}
# Prints, in the run, the public names of each owner, as JSON.
NAMES = f"""
    import datetime, json, time
    owners = {OWNERS!r}
    print(json.dumps({{owner: sorted(name for name in dir(eval(path)) if not name.startswith("_"))
                       for owner, path in owners.items()}}))
"""


def test_every_function_is_virtual_or_known_not_to_read_now(run_trace: RunTrace) -> None:
    trace = run_trace(NAMES)
    assert trace["status"] == "ok", trace["error"]
    found = json.loads(printed(trace)[0])
    for owner, names in found.items():
        public = set(names)
        unsorted = public - READS_NOW[owner] - NOT_NOW[owner]
        assert not unsorted, f"{owner}: sort these into READS_NOW (playground/tracer/clock.py) or NOT_NOW: {unsorted}"
        # Every name sorted is one this Python has, or a newer one added.
        assert (READS_NOW[owner] | NOT_NOW[owner]) - public <= ADDED_LATER.get(owner, frozenset()), owner


def test_every_clock_that_reads_now_moves_with_the_virtual_clock(run_trace: RunTrace) -> None:
    """Three virtual seconds pass; each reader of "now" says so."""
    trace = run_trace("""
        import asyncio, calendar, datetime, logging, time

        def readings():
            return {
                "time": time.time(), "time_ns": time.time_ns() / 1e9, "monotonic": time.monotonic(),
                "monotonic_ns": time.monotonic_ns() / 1e9, "perf_counter": time.perf_counter(),
                "perf_counter_ns": time.perf_counter_ns() / 1e9,
                "localtime": time.mktime(time.localtime()), "gmtime": calendar.timegm(time.gmtime()),
                "ctime": time.mktime(time.strptime(time.ctime())),
                "asctime": time.mktime(time.strptime(time.asctime())),
                "strftime": time.mktime(time.strptime(time.strftime("%c"))),
                "clock_gettime": time.clock_gettime(time.CLOCK_REALTIME),
                "clock_gettime_ns": time.clock_gettime_ns(time.CLOCK_MONOTONIC) / 1e9,
                "datetime.now": datetime.datetime.now().timestamp(),
                "datetime.utcnow": datetime.datetime.utcnow().replace(tzinfo=datetime.timezone.utc).timestamp(),
                "datetime.today": datetime.datetime.today().timestamp(),
                "loop.time": asyncio.get_running_loop().time(),
                "logging": logging.makeLogRecord({}).created,
            }

        async def main():
            # Whole seconds, so the one-second readers change by exactly 3.
            await asyncio.sleep(1 - time.time() % 1)
            before = readings()
            day = datetime.date.today()
            await asyncio.sleep(3)
            after = readings()
            for name in before:
                print(name, round(after[name] - before[name]))
            print("date.today", datetime.date.today() == day or (datetime.date.today() - day).days == 1)

        asyncio.run(main())
    """)
    assert trace["status"] == "ok", trace["error"]
    lines = printed(trace)
    assert lines[-1] == "date.today True"
    assert {line.split()[0]: line.split()[1] for line in lines[:-1]} == dict.fromkeys([
        "time", "time_ns", "monotonic", "monotonic_ns", "perf_counter", "perf_counter_ns", "localtime", "gmtime",
        "ctime", "asctime", "strftime", "clock_gettime", "clock_gettime_ns", "datetime.now", "datetime.utcnow",
        "datetime.today", "loop.time", "logging"], "3")
    assert trace["wall"] < 1.0  # and none of it was waited for


def test_the_coroutines_and_tasks_page_first_example(run_trace: RunTrace) -> None:
    """The CPython docs' first example: started and finished three seconds apart."""
    trace = run_trace("""
        import asyncio
        import time

        async def say_after(delay, what):
            await asyncio.sleep(delay)
            print(what)

        async def main():
            print(f"started at {time.strftime('%X')}")
            await say_after(1, 'hello')
            await say_after(2, 'world')
            print(f"finished at {time.strftime('%X')}")

        asyncio.run(main())
    """)
    started, hello, world, finished = printed(trace)
    seconds = [sum(int(part) * 60 ** (2 - i) for i, part in enumerate(line.split()[-1].split(":")))
               for line in (started, finished)]
    assert (hello, world) == ("hello", "world")
    assert (seconds[1] - seconds[0]) % 86400 in (3, 4)  # 3 s, and a second boundary may fall inside
