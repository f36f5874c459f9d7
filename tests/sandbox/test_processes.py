"""Child processes in a real jail, through the real API (Flask's test
client, bubblewrap, the filter): programs started with subprocess and
asyncio (pipes, communicate, wait, terminate, kill, exit codes), what they
print, the programs the playground has, both clocks, and process pools and
multiprocessing with each start method."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from playground import create_app
from playground.services import services
from playground.sharing.examples import BY_NAME
from playground.tracer.protocol import MAX_POOL_WORKERS, PROGRAMS
from tests.support.traces import posted as run
from tests.support.traces import printed

Trace = dict[str, Any]


@pytest.fixture(scope="module")
def app() -> Iterator[Flask]:
    app = create_app({"TESTING": True, "SANDBOX": "bwrap", "RATELIMIT_ENABLED": False, "RUN_CACHE_SECONDS": 0})
    yield app
    services(app).sandbox.close()


@pytest.fixture(scope="module")
def client(app: Flask) -> FlaskClient:
    return app.test_client()



def ok(trace: Trace) -> Trace:
    assert trace["status"] == "ok", (trace["error"], trace["output"][-5:], trace["events"][-3:])
    return trace


def test_pipes_communicate_wait_terminate_and_kill_behave_as_on_a_laptop(client: FlaskClient) -> None:
    trace = ok(run(client, """
        import asyncio, subprocess
        PIPE = asyncio.subprocess.PIPE
        async def main():
            p = await asyncio.create_subprocess_exec("cat", stdin=PIPE, stdout=PIPE)
            out, _ = await p.communicate(b"through cat\\n")
            print(out.decode().strip(), p.returncode)
            p = await asyncio.create_subprocess_exec("sleep", "30")
            p.terminate()
            print("terminate", await p.wait())
            p = await asyncio.create_subprocess_exec("sleep", "30")
            p.kill()
            print("kill", await p.wait())
            p = await asyncio.create_subprocess_shell("exit 3")
            print("exit", await p.wait())
            p = await asyncio.create_subprocess_exec("grep", "x", stdin=PIPE, stdout=PIPE)
            p.stdin.write(b"a\\nxb\\nc\\nxd\\n")
            await p.stdin.drain()
            p.stdin.close()
            print([line async for line in p.stdout], await p.wait())
        asyncio.run(main())
        print(subprocess.run(["false"]).returncode,
              subprocess.check_output("printf 'b\\\\na\\\\n' | sort", shell=True, text=True).split())
        p = subprocess.Popen(["sleep", "30"])
        p.terminate()
        print("sync terminate", p.wait())
    """))
    assert printed(trace) == ["through cat 0", "terminate -15", "kill -9", "exit 3", "[b'xb\\n', b'xd\\n'] 0",
                              "1 ['a', 'b']", "sync terminate -15"]
    children = trace["children"]
    assert [child["returncode"] for child in children] == [0, -15, -9, 3, 0, 1, 0, -15]
    assert [child["argv"] for child in children[:2]] == [["cat"], ["sleep", "30"]]
    assert children[3]["argv"] == ["/bin/sh", "-c", "exit 3"]
    main_task = trace["tasks"][0]["id"]
    assert {child["task"] for child in children[:5]} == {main_task}
    assert {child["task"] for child in children[5:]} == {None}
    assert [child["line"] for child in children[:2]] == [5, 8]
    for child in children:
        assert 0 <= child["start"] <= child["end"] <= trace["duration"] and child["pid"] > 1


def test_a_program_the_playground_lacks_says_which_it_has(client: FlaskClient) -> None:
    trace = ok(run(client, """
        import asyncio, subprocess
        for argv in (["perl", "-e", "1"], ["/usr/bin/env"], ["/proc/self/exe"]):
            try:
                subprocess.run(argv)
            except FileNotFoundError as exc:
                print(exc.errno, exc.filename, exc.strerror)
        print(subprocess.run("exec /usr/bin/env", shell=True, capture_output=True, text=True))
    """))
    lines = printed(trace)
    said = f"No such file or directory (the playground has only these programs: {', '.join(PROGRAMS)})"
    assert lines[:3] == [f"2 perl {said}", f"2 /usr/bin/env {said}", f"2 /proc/self/exe {said}"]
    assert "returncode=127" in lines[3] and "/usr/bin/env: not found" in lines[3]


def test_what_children_print_is_the_run_output_in_order(client: FlaskClient) -> None:
    trace = ok(run(client, """
        import asyncio, os, subprocess, sys
        print("before")
        subprocess.run(["echo", "from echo"])
        subprocess.run("echo to stderr >&2", shell=True)
        print("after")
        async def main():
            print("in a task")
            p = await asyncio.create_subprocess_exec(sys.executable, "-c", "print('from python3')")
            await p.wait()
            print("done")
        asyncio.run(main())
        os.write(1, b"raw write\\n")
        print("end")
    """))
    lines = [(line["stream"], line["text"]) for line in trace["output"]]
    # The run's own raw write comes through the same pipe, a moment later.
    assert ("stdout", "raw write") in lines
    lines.remove(("stdout", "raw write"))
    assert lines == [("stdout", "before"), ("stdout", "from echo"), ("stderr", "to stderr"), ("stdout", "after"),
                     ("stdout", "in a task"), ("stdout", "from python3"), ("stdout", "done"), ("stdout", "end")]
    times = [line["t"] for line in trace["output"] if line["text"] != "raw write"]
    assert times == sorted(times)


@pytest.mark.parametrize("clock", ["virtual", "real"])
def test_a_program_takes_its_real_time_and_the_clock_waits_for_it(client: FlaskClient, clock: str) -> None:
    trace = ok(run(client, """
        import asyncio
        async def tick():
            for _ in range(4):
                await asyncio.sleep(0.2)
                print("tick")
        async def main():
            loop = asyncio.get_running_loop()
            ticking = asyncio.create_task(tick())
            start = loop.time()
            p = await asyncio.create_subprocess_exec("sleep", "0.5")
            await p.wait()
            print(f"slept {loop.time() - start:.3f}")
            await ticking
            await asyncio.sleep(5)
        asyncio.run(main())
    """, clock))
    lines = printed(trace)
    [slept] = [line for line in lines if line.startswith("slept ")]
    # The clock waited for the program: its 0.5 s passed on the loop's clock
    # too, plus the moment starting and collecting it took (some ms, more on
    # a busy machine). A virtual clock that jumped to the ticks' timers
    # meanwhile would have been at the last one's 0.8 s already.
    assert 0.5 <= float(slept.removeprefix("slept ")) < 0.8, lines
    # The loop went on meanwhile: the first tick (due at 0.2 s) came before
    # it. The second usually does too, and the third once the program's
    # start and collection took more than 0.1 s: where "slept" falls among
    # the later ticks is the machine's speed, not the clock's.
    assert lines[0] == "tick" and lines.count("tick") == 4 and len(lines) == 5, lines
    ticks = [line["t"] for line in trace["output"] if line["text"] == "tick"]
    for tick, due in zip(ticks, (0.2, 0.4, 0.6, 0.8), strict=True):
        # Never early; late by what a busy machine's loop may lag (the ticks
        # while the program runs are in real time on both clocks).
        assert due <= tick < due + 0.3, ticks
    [child] = trace["children"]
    assert 0.45 < child["end"] - child["start"] < 0.8
    # The last tick (within the bounds above), then the 5 s sleep.
    assert 5.7 < trace["duration"] < 6.4
    if clock == "virtual":
        assert trace["wall"] < 4  # the five seconds after the program were skipped (else 5.8 s at least)


@pytest.mark.parametrize("method", ["fork", "forkserver", "spawn"])
def test_process_pools_run_with_each_start_method(client: FlaskClient, method: str) -> None:
    trace = ok(run(client, f"""
        import asyncio, multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        def square(n):
            print("worker", n, flush=True)
            return n * n
        def fail(n):
            raise ValueError(n)
        async def main():
            loop = asyncio.get_running_loop()
            context = multiprocessing.get_context({method!r})
            with ProcessPoolExecutor(2, mp_context=context) as pool:
                print(await asyncio.gather(*(loop.run_in_executor(pool, square, n) for n in range(3))))
                try:
                    await loop.run_in_executor(pool, fail, 7)
                except ValueError as exc:
                    print("raised", repr(exc))
                print(pool.submit(square, 5).result(), list(pool.map(square, [6])))
        if __name__ == "__main__":
            asyncio.run(main())
            multiprocessing.set_start_method({method!r}, force=True)
            with multiprocessing.Pool(2) as mp_pool:
                print(mp_pool.map(abs, [-1, -2]))
            queue = multiprocessing.Queue()
            process = multiprocessing.Process(target=queue.put, args=("through a queue",))
            process.start()
            print(queue.get(), process.join(), process.exitcode)
    """))
    lines = printed(trace)
    assert [line for line in lines if not line.startswith("worker")] == [
        "[0, 1, 4]", "raised ValueError(7)", "25 [36]", "[1, 2]", "through a queue None 0"]
    assert sorted(line for line in lines if line.startswith("worker")) == [f"worker {n}" for n in (0, 1, 2, 5, 6)]
    jobs = trace["jobs"]
    assert [job["fn"] for job in jobs].count("square") == 5, jobs
    assert [job["fn"] for job in jobs].count("fail") == 1
    assert all(job["thread"].startswith("process ") for job in jobs)
    assert len({job["thread"] for job in jobs}) <= 2
    assert [job["error"] for job in jobs if job["fn"] == "fail"] == ["ValueError"]
    main_task = trace["tasks"][0]["id"]
    assert {job["task"] for job in jobs} == {main_task}
    assert all(0 <= job["start"] <= job["end"] <= trace["duration"] for job in jobs)


def test_a_pool_gets_at_most_its_workers_and_says_so(client: FlaskClient) -> None:
    trace = ok(run(client, """
        from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
        from multiprocessing.pool import ThreadPool
        if __name__ == "__main__":  # 3.14+: the workers (from a fork server) import this file
            with ProcessPoolExecutor(max_workers=12) as pool:
                print(pool._max_workers, sum(pool.map(abs, range(-20, 0))))
            with ThreadPool(8) as threads:
                print(len(threads._pool))
    """))
    assert printed(trace) == [f"{MAX_POOL_WORKERS} 210", "8"]
    warnings = [event for event in trace["events"] if event["kind"] == "warning"]
    assert [(event["message"], event["line"]) for event in warnings] == [
        (f"ProcessPoolExecutor(12): the playground runs at most {MAX_POOL_WORKERS} worker processes, "
         f"so this pool has {MAX_POOL_WORKERS}.", 5)]


def test_the_virtual_clock_waits_for_process_jobs_and_skips_an_idle_pool(client: FlaskClient) -> None:
    trace = ok(run(client, """
        import asyncio, time
        from concurrent.futures import ProcessPoolExecutor
        def nap():
            time.sleep(0.4)
            return "rested"
        async def main():
            loop = asyncio.get_running_loop()
            with ProcessPoolExecutor(1) as pool:
                # Its worker started first (3.14+ starts a fork server for it, in the loop's time).
                await loop.run_in_executor(pool, abs, -1)
                start = loop.time()
                print(await asyncio.wait_for(loop.run_in_executor(pool, nap), 10))
                print(f"{loop.time() - start:.3f}")
                await asyncio.sleep(30)
        if __name__ == "__main__":
            asyncio.run(main())
    """))
    [rested, waited] = printed(trace)
    assert rested == "rested"
    # The loop's clock waited for the job's 0.4 s, plus its round trip to the
    # worker and back (some ms; room left for a busy machine).
    assert 0.4 <= float(waited) < 0.6, waited
    [_, job] = trace["jobs"]
    assert 0.38 < job["end"] - job["start"] < 0.6
    assert trace["duration"] > 30 and trace["wall"] < 5


@pytest.mark.parametrize(("name", "lanes"), [("subprocesses", 3), ("process_pool", 2)])
def test_the_process_examples_run(client: FlaskClient, name: str, lanes: int) -> None:
    trace = ok(run(client, BY_NAME[name].code))
    assert trace["output"]
    if name == "subprocesses":
        assert sorted(child["argv"][0] for child in trace["children"]) == ["echo", "sh", "sleep"]
        assert all(child["returncode"] == 0 for child in trace["children"])
        # The three at once: the slowest's 1 s, plus starting and collecting
        # them (some ms); one after the other would take 1.5 s at least.
        assert 0.95 < trace["duration"] < 1.5
    else:
        # Both crunch() jobs ran in the pool's workers (the other two jobs are
        # to_thread's). Each usually has a worker of its own, but a worker
        # that is ready first may take both: on 3.14+ the workers come from a
        # fork server, and the second may be ready only once the first is done.
        jobs = trace["jobs"]
        pooled = [job for job in jobs if job["thread"].startswith("process ")]
        threaded = [job for job in jobs if job["thread"].startswith("asyncio_")]
        assert len(pooled) == len(threaded) == 2 and len(jobs) == 4, jobs
        assert all(job["fn"] == "crunch" for job in jobs), jobs
        workers = {job["thread"] for job in pooled}
        assert 1 <= len(workers) <= lanes, jobs
        if len(workers) == 1:  # one worker's jobs ran one after the other
            first, second = sorted(pooled, key=lambda job: job["start"])
            assert first["end"] <= second["start"], jobs
