"""How faithful the playground is to a laptop, on public asyncio snippets as
their authors wrote them (tests/corpus/, listed with source and licence in
tests/corpus/sources.json).

Each snippet runs twice on every Python the server offers (the host's and
the Pythons' root's, tests/support/pythonruns.py): in the playground,
through a real jail of that Python on the virtual clock (forked from a warm
jail, as the server runs it; its network through the server's guard as by
default), and with that same version's plain interpreter (with the
packages the playground offers for it) as ``python3 main.py`` in a fresh
temporary folder, stdin empty; a Python of the root runs there as that root
sees the world (``rootview.inside``, the folder bound). Three things are compared:

- what it printed on stdout, line by line as a terminal shows it (a carriage
  return overwrites), after ``masked`` hides what differs between any two runs:
  addresses, clock times, dates, timings, and the folder python3 ran in;
- how it ended: exit code 0 is status "ok"; a traceback is status "error"
  with the same exception type; a python3 run still going at its timeout
  (then stopped with Ctrl-C, as at a terminal) is status "timeout";
- how long it took: the trace's ``duration`` (virtual seconds) against
  python3's wall time, within 10% + 0.1 s. Both count from the snippet's
  start, with the same modules already imported (``usercustomize``).

A snippet the manifest calls "faithful" must match; one it calls "differs"
carries the reason and must still differ (an entry's ``versions`` may say
otherwise for some Python, with why), so that a fix shows up here as
"now faithful: update the manifest". The python3 side of every snippet is
started once per module (``Python3Runs``): the CPU-heavy ones and those that
use a port alone first, then the rest in the background, a few at a time and
staggered, so the suite waits for the longest snippet rather than for the sum
of their sleeps. A snippet that differs only as a loaded machine explains
(python3 slower, or timers due together firing in another order) runs again.
``python3 bench/corpus.py`` prints the figure "N of M faithful".
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import subprocess
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from playground.egress.broker import Egress
from playground.egress.policy import EgressPolicy
from playground.sandbox.jail import Bubblewrap
from playground.sandbox.limits import Limits
from playground.sandbox.pythons import Python
from playground.sandbox.rootview import inside
from playground.sandbox.runner import run_snippet
from playground.sandbox.sitepackages import site_for
from playground.urls.limits import FetchLimits
from tests.support import ROOT
from tests.support.pythonruns import PYTHON_IDS, PYTHONS, JailedRuns

CORPUS = ROOT / "tests" / "corpus"
MANIFEST = CORPUS / "sources.json"
# python3 runs at once (most of them sleep), and the pause between two starts,
# so that interpreters starting together do not slow each other's clocks.
PARALLEL = 8
STAGGER_SECONDS = 0.15
PYTHON3_TIMEOUT = 30.0
INTERRUPT_SECONDS = 2.0
# Durations agree within this share of python3's wall time, plus a constant.
DURATION_SHARE = 0.10
DURATION_SLACK = 0.10
# Further runs of a snippet that differs only as the machine's load explains.
RETRIES = 3


@dataclass(frozen=True)
class Snippet:
    """One entry of the manifest."""

    file: str
    title: str
    source: str
    licence: str
    expect: str  # "faithful" or "differs"
    why: str = ""  # why it differs
    cause: str = ""  # the reason in a word or two, to group by: "network", "threads"
    note: str = ""  # what else to know about how it compares
    edits: str = ""  # what was added to the authors' code, if anything
    # "lines", "sorted" (order is not the snippet's), "shape" (random values)
    # or "ending" (what it prints is a race's outcome: only how it ended counts)
    compare: str = "lines"
    mask: tuple[str, ...] = ()  # further patterns this snippet's output varies by
    duration: bool = True  # False: its timing is random, so it is not compared
    python3_timeout: float = PYTHON3_TIMEOUT
    exclusive: bool = False  # runs alone: it uses much CPU, or a port another snippet uses
    # Python id -> what differs on that version ("expect", "why", "cause", ...).
    versions: dict[str, dict[str, Any]] = field(default_factory=dict, hash=False)

    @property
    def code(self) -> str:
        return (CORPUS / self.file).read_text()

    def on(self, python_id: str) -> Snippet:
        """The entry as it holds for one Python."""
        return dataclasses.replace(self, **self.versions.get(python_id, {}))


def load_manifest() -> list[Snippet]:
    data = json.loads(MANIFEST.read_text())
    snippets = []
    for entry in data["snippets"]:
        entry = dict(entry)
        entry["mask"] = tuple(entry.get("mask", ()))
        snippets.append(Snippet(**entry))
    return snippets


SNIPPETS = load_manifest()


# How a run ended, as a pair: ("ok", None), ("error", "ValueError"), ("timeout", None).
Ending = tuple[str, str | None]


@dataclass(frozen=True)
class Python3Run:
    stdout: str
    stderr: str
    returncode: int | None  # None: still running at the timeout, and killed
    wall: float
    folder: str  # where it ran: its __file__ and tracebacks name it

    @property
    def ending(self) -> Ending:
        if self.returncode is None:
            return ("timeout", None)
        if self.returncode == 0:
            return ("ok", None)
        return ("error", exception_type(self.stderr))


# Where a traceback starts (the last one is the one the run died of), and an
# exception group's line: "  | ExceptionGroup: unhandled errors in a TaskGroup (1 sub-exception)".
TRACEBACK_STARTS = ("Traceback (most recent call last):", "  + Exception Group Traceback (most recent call last):")
GROUP_LINE = re.compile(r"^\s*\| ([A-Za-z_][\w.]*): ")
EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*)(?::|$)")
# Without a traceback (a SyntaxError in main.py itself), the error's own line.
ERROR_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt)):")


def exception_type(stderr: str) -> str | None:
    """The type of the exception the last traceback on ``stderr`` ends with, unqualified."""
    lines = stderr.splitlines()
    starts = [index for index, line in enumerate(lines) if line in TRACEBACK_STARTS]
    if not starts:
        errors = [match.group(1) for line in lines if (match := ERROR_LINE.match(line))]
        return errors[-1].rsplit(".", 1)[-1] if errors else None
    header, rest = lines[starts[-1]], lines[starts[-1] + 1:]
    pattern = GROUP_LINE if header.startswith("  +") else EXCEPTION_LINE
    for line in rest:
        if match := pattern.match(line):
            return match.group(1).rsplit(".", 1)[-1]
    return None


class Stagger:
    """Spaces the starts of python3 runs, so that interpreters starting
    together do not slow each other's clocks."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next = 0.0

    def wait(self) -> None:
        with self._lock:
            delay = self._next - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self._next = time.monotonic() + STAGGER_SECONDS


# Put in the run's own HOME as usercustomize, which the site module imports just
# before main.py runs: it imports the modules the playground has loaded when a
# snippet starts (so neither side counts importing them), then notes the moment
# on the system's monotonic clock, so that python3's time, like the playground's
# duration, counts from the snippet's start and not the interpreter's.
# Only the first process does either: the Pythons the snippet starts (a
# subprocess, a process pool's fork server, multiprocessing's resource
# tracker) import usercustomize too, start as they would without it, and may
# start after the snippet ended.
STARTED_FILE = ".corpus-started"
# And the moment it ended, as interpreter shutdown begins (after its threads
# and pools were joined): the shutdown itself, slow on a loaded machine, is
# not the snippet's time, nor is it in the playground's duration.
ENDED_FILE = ".corpus-ended"
JAIL_OWN_MODULES = ("__main__", "cython_runtime", "seccomp", "tracer")


def usercustomize(preload: tuple[str, ...]) -> str:
    return textwrap.dedent(f"""\
        import importlib, os, time, warnings
        home = os.path.expanduser("~")
        try:
            started = os.open(os.path.join(home, {STARTED_FILE!r}), os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        except FileExistsError:
            started = None  # a Python the snippet started: neither preloaded nor timed
        if started is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for name in {list(preload)!r}:
                    try:
                        importlib.import_module(name)
                    except Exception:
                        pass
            os.write(started, repr(time.monotonic()).encode())
            os.close(started)
            def _ended():
                with open(os.path.join(home, {ENDED_FILE!r}), "w") as f:
                    f.write(repr(time.monotonic()))
            import atexit
            atexit.register(_ended)
    """)


def preloaded_modules(jail: Bubblewrap, python: Python) -> tuple[str, ...]:
    """The standard modules a snippet finds already imported in the playground."""
    trace = run_snippet(jail, "import sys\nprint(*sorted(sys.modules))", "virtual", Limits(), python=python).to_json()
    names = " ".join(playground_lines(trace)).split()
    # Private modules are left to the public ones that import them: importing
    # _asyncio before asyncio, for one, breaks asyncio.current_task().
    return tuple(name for name in names
                 if name.split(".")[0] not in JAIL_OWN_MODULES and not name.startswith("_"))


# What python3 prints reaches the pipe at once, as it reaches a terminal: a
# run stopped at its timeout keeps it even when Ctrl-C cannot reach Python
# itself (a root's Python runs under bubblewrap, which dies of the Ctrl-C
# and takes its child with it before Python has flushed a pipe's buffer).
UNBUFFERED = {"PYTHONUNBUFFERED": "1"}


def interrupted(process: subprocess.Popen[bytes]) -> tuple[bytes, bytes]:
    """Stop a run that goes on forever as someone at a terminal would, with
    Ctrl-C (so that Python flushes what it printed), killing it if that does
    not end it; only the session this run started is signalled."""
    os.killpg(process.pid, signal.SIGINT)
    try:
        return process.communicate(timeout=INTERRUPT_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        return process.communicate()


def python3_command(python: Python, folder: str, packages: Path | None) -> list[str]:
    """``python3 main.py`` in ``folder``: the host's as it is, a root's as
    that root sees the world, the folder (and its packages) bound where they are."""
    if python.root is None:
        return [python.executable, "main.py"]
    read_only = {str(packages): str(packages)} if packages is not None else None
    return inside(python, [python.executable, "main.py"], {folder: folder}, writable=True, read_only=read_only,
                  chdir=folder, env={"HOME": folder, **UNBUFFERED})


def run_python3(snippet: Snippet, python: Python, preload: tuple[str, ...] = (),
                stagger: Stagger | None = None) -> Python3Run:
    """``python3 main.py`` in a fresh folder, as someone would run the snippet."""
    with tempfile.TemporaryDirectory(prefix="corpus-") as folder:
        Path(folder, "main.py").write_text(snippet.code)
        site = Path(folder, ".local", "lib", f"python{python.id}", "site-packages")
        site.mkdir(parents=True)
        (site / "usercustomize.py").write_text(usercustomize(preload))
        packages = site_for(python)
        if packages is not None:
            # The packages the playground offers (aiohttp), as if installed.
            (site / "playground.pth").write_text(f"{packages}\n")
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": folder, **UNBUFFERED}
        if stagger is not None:
            stagger.wait()
        launched = time.monotonic()
        process = subprocess.Popen(
            python3_command(python, folder, packages), cwd=folder, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
        )
        try:
            stdout, stderr = process.communicate(timeout=snippet.python3_timeout)
            returncode: int | None = process.returncode
        except subprocess.TimeoutExpired:
            stdout, stderr = interrupted(process)
            returncode = None
        ended = time.monotonic()
        started_file, ended_file = Path(folder, STARTED_FILE), Path(folder, ENDED_FILE)
        started = float(started_file.read_text() or launched) if started_file.exists() else launched
        if ended_file.exists() and ended_file.read_text():
            ended = float(ended_file.read_text())
    return Python3Run(stdout.decode("utf-8", "replace"), stderr.decode("utf-8", "replace"), returncode,
                      ended - started, folder)


@dataclass
class Python3Runs:
    """The python3 side of every snippet: first the exclusive ones, alone and
    one after another (while nothing else runs), then the others in the
    background, a few at a time."""

    python: Python
    preload: tuple[str, ...] = ()
    playground: JailedRuns | None = None  # the other side, on the same Python
    futures: dict[str, Future[Python3Run]] = field(default_factory=dict)

    def start(self, snippets: list[Snippet]) -> Python3Runs:
        stagger = Stagger()
        for snippet in snippets:
            if snippet.exclusive:
                future: Future[Python3Run] = Future()
                future.set_result(run_python3(snippet, self.python, self.preload, stagger))
                self.futures[snippet.file] = future
        pool = ThreadPoolExecutor(PARALLEL, thread_name_prefix="python3")
        for snippet in snippets:
            if not snippet.exclusive:
                self.futures[snippet.file] = pool.submit(run_python3, snippet, self.python, self.preload, stagger)
        pool.shutdown(wait=False)
        return self

    def result(self, file: str) -> Python3Run:
        return self.futures[file].result()


# Code mode's network as a server has it by default: names resolve as on
# this machine, and the guard refuses what it refuses anywhere.
EGRESS = Egress(EgressPolicy.from_limits(FetchLimits(), enabled=True))


def run_playground(runs: Python3Runs, snippet: Snippet) -> dict[str, Any]:
    """The snippet in the playground, on the same Python, forked from a warm jail as the server does."""
    assert runs.playground is not None
    return runs.playground.run(snippet.code, "virtual", egress=EGRESS, dedent=False)


# What differs between two runs of the same snippet on the same machine, in
# the order applied. Only decimals with two or more digits after the point
# are timings: "took 2.00 seconds", time.time(), loop.time(); "1.5s" is not.
MASKS = (
    (re.compile(r"0x[0-9a-fA-F]+"), "0x<addr>"),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}\b"), "<date>"),
    (re.compile(r"\b\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?\b"), "<time>"),
    (re.compile(r"\b\d+\.\d{2,}(?:e[-+]?\d+)?\b"), "<float>"),
)


def rendered(line: str) -> str:
    """A line as a terminal shows it: each carriage return goes back to the
    start of the line and what follows overwrites; trailing blanks dropped."""
    if "\r" not in line:
        return line.rstrip()
    screen: list[str] = []
    for piece in line.split("\r"):
        screen[: len(piece)] = list(piece)
    return "".join(screen).rstrip()


def masked(lines: list[str], snippet: Snippet) -> list[str]:
    """The lines as compared: rendered, masked, and for "sorted" and "shape"
    snippets in sorted order ("shape" also hides every digit)."""
    out = []
    for line in lines:
        text = rendered(line)
        for pattern, replacement in MASKS:
            text = pattern.sub(replacement, text)
        for extra in snippet.mask:
            text = re.sub(extra, "<masked>", text)
        if snippet.compare == "shape":
            text = re.sub(r"\d", "#", text)
        out.append(text)
    return sorted(out) if snippet.compare in ("sorted", "shape") else out


def python3_lines(stdout: str) -> list[str]:
    """stdout split at newlines only (a carriage return stays in its line)."""
    if not stdout:
        return []
    return stdout.removesuffix("\n").split("\n")


def playground_lines(trace: dict[str, Any]) -> list[str]:
    return [line["text"] for line in trace["output"] if line["stream"] == "stdout"]


def playground_ending(trace: dict[str, Any]) -> Ending:
    status = trace["status"]
    if status == "error":
        kind = (trace.get("error") or {}).get("type")
        return ("error", kind.rsplit(".", 1)[-1] if kind else None)
    return (status, None)


def durations_agree(virtual: float, wall: float) -> bool:
    return abs(virtual - wall) <= DURATION_SHARE * wall + DURATION_SLACK


def differences(snippet: Snippet, python3: Python3Run, trace: dict[str, Any]) -> list[str]:
    """How the playground's run differs from python3's, in words; [] if faithful."""
    found = []
    ours = masked(playground_lines(trace), snippet)
    theirs = masked(python3_lines(python3.stdout.replace(python3.folder + "/", "")), snippet)
    if ours != theirs and snippet.compare != "ending":
        found.append(f"stdout: playground {ours!r} != python3 {theirs!r}")
    if playground_ending(trace) != python3.ending:
        detail = f" ({trace['error'].get('message')})" if trace.get("error") else ""
        found.append(f"ending: playground {playground_ending(trace)}{detail} != python3 {python3.ending}")
    timed_out = python3.returncode is None or trace["status"] == "timeout"
    if snippet.duration and not timed_out and not durations_agree(trace["duration"], python3.wall):
        found.append(f"duration: playground {trace['duration']:.3f} s != python3 {python3.wall:.3f} s")
    return found


def worth_another_try(found: list[str]) -> bool:
    """Whether another pair of runs might match: a loaded machine slows a real
    run (python3's, and the playground's where it waits on real work: threads,
    processes, the network), and timers due at the same moment fire in the
    order of their drift, on a real clock and on the virtual one (which moves
    on by the time code takes to run); how a run ended does not change."""
    return bool(found) and not any(line.startswith("ending:") for line in found)


def compared(snippet: Snippet, python3: Python3Run, trace: dict[str, Any], runs: Python3Runs) -> list[str]:
    """``differences``; while they are only what the machine's load explains,
    both sides run again, up to ``RETRIES`` times. Every run of either side is
    kept and the closest pair counts: timers due together make a snippet print
    one of a few orders on either side, and a python3 run counts with the
    quickest time of the runs that printed what it printed."""
    python3s, traces = [python3], [trace]
    found = differences(snippet, python3, trace)
    for _ in range(RETRIES):
        if not worth_another_try(found):
            break
        python3s.append(run_python3(snippet, runs.python, runs.preload))
        if any(line.startswith("stdout:") for line in found) or trace["duration"] > python3.wall:
            traces.append(run_playground(runs, snippet))
        pairs = [(quickest(python3s, like=each), ours) for each in python3s for ours in traces]
        found, python3, trace = min(((differences(snippet, theirs, ours), theirs, ours)
                                     for theirs, ours in pairs), key=lambda diff: len(diff[0]))
    return found


def quickest(python3s: list[Python3Run], like: Python3Run) -> Python3Run:
    """``like`` with the quickest wall time of the runs that
    printed the same: a loaded machine slows a real run, never speeds it up."""
    same = [run.wall for run in python3s if run.stdout == like.stdout]
    return dataclasses.replace(like, wall=min(same))


@pytest.fixture(scope="module", params=PYTHON_IDS)
def python3_runs(request: pytest.FixtureRequest, tracer_jail: Bubblewrap) -> Iterator[Python3Runs]:
    """The python3 side of every snippet on one Python (the test's parameter)."""
    python = PYTHONS.get(request.param)
    runs = Python3Runs(python, preloaded_modules(tracer_jail, python), JailedRuns(tracer_jail, python))
    runs.start(SNIPPETS)
    yield runs
    for future in runs.futures.values():
        future.exception()  # let none outlive the module
    if runs.playground is not None:
        runs.playground.close()


def test_the_manifest_lists_every_snippet_once_with_its_source() -> None:
    files = sorted(path.name for path in CORPUS.glob("*.py"))
    assert sorted(s.file for s in SNIPPETS) == files
    assert len(files) >= 60
    for snippet in SNIPPETS:
        assert snippet.source and snippet.licence and snippet.title, snippet.file
        assert snippet.expect in ("faithful", "differs"), snippet.file
        assert snippet.expect == "faithful" or (snippet.why and snippet.cause), f"{snippet.file} differs: say why"
        assert snippet.compare in ("lines", "sorted", "shape", "ending"), snippet.file
        for python_id, differs in snippet.versions.items():
            assert python_id in PYTHON_IDS and set(differs) <= {field.name for field in dataclasses.fields(Snippet)}
            on = snippet.on(python_id)
            assert on.expect == "faithful" or (on.why and on.cause), f"{snippet.file} differs on {python_id}: say why"


@pytest.mark.parametrize("snippet", SNIPPETS, ids=[s.file for s in SNIPPETS])
def test_the_playground_runs_the_snippet_as_python3_does(
        snippet: Snippet, python3_runs: Python3Runs) -> None:
    snippet = snippet.on(python3_runs.python.id)
    trace = run_playground(python3_runs, snippet)
    found = compared(snippet, python3_runs.result(snippet.file), trace, python3_runs)
    if snippet.expect == "faithful":
        assert found == [], f"{snippet.file} is no longer faithful:\n" + "\n".join(found)
    else:
        assert found, f"{snippet.file} is now faithful ({snippet.why}): update tests/corpus/sources.json"
