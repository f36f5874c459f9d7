"""Picking a Python: the registry, and each interpreter in its real jail
(the host's 3.11 and the Pythons' root's), its files all its own."""

from __future__ import annotations

import importlib.metadata
import json
import textwrap
from pathlib import Path

import pytest

from playground.ops import metrics
from playground.sandbox.admission import Admission
from playground.sandbox.jail import DEFAULT_JAIL_PYTHON, Bubblewrap
from playground.sandbox.limits import Limits
from playground.sandbox.pool import WarmPool
from playground.sandbox.pythons import DEFAULT_ROOT, MANIFEST, Python, Pythons, UnknownPython, host_python
from playground.sandbox.runner import run_snippet
from playground.sandbox.service import Sandbox
from tests.support.pythonruns import PYTHON_IDS, PYTHONS, jail_on
from tests.support.traces import printed

WANTED = {"3.11", "3.13", "3.14", "3.15"}


def test_the_machine_has_every_python_the_issue_names() -> None:
    assert set(PYTHON_IDS) == WANTED
    manifest = json.loads((DEFAULT_ROOT / MANIFEST).read_text())
    assert {entry["id"] for entry in manifest["pythons"]} == WANTED - {"3.11"}
    for entry in manifest["pythons"]:
        assert entry["version"].startswith(entry["id"] + "."), entry


def test_an_unknown_id_is_refused_naming_the_ids() -> None:
    pythons = PYTHONS
    with pytest.raises(UnknownPython) as raised:
        pythons.get("2.7")
    assert "2.7" in str(raised.value)
    for id_ in PYTHON_IDS:
        assert id_ in str(raised.value)
    assert pythons.get(None).id == pythons.default


def test_the_default_is_the_operators_when_named_and_must_exist() -> None:
    available = list(PYTHONS.by_id.values())
    assert Pythons(available, default="3.13").get(None).id == "3.13"
    with pytest.raises(UnknownPython):
        Pythons(available, default="3.99")


def test_a_root_without_a_manifest_offers_the_hosts_python_only(tmp_path: Path) -> None:
    pythons = Pythons.discover(DEFAULT_JAIL_PYTHON, tmp_path)
    assert list(pythons.by_id) == ["3.11"]
    assert pythons.default == "3.11"


def test_a_manifest_naming_a_missing_interpreter_does_not_offer_it(tmp_path: Path) -> None:
    (tmp_path / MANIFEST).write_text(json.dumps({"pythons": [
        {"id": "3.14", "version": "3.14.10", "executable": "/usr/bin/python3.14", "cache_tag": "cpython-314"}]}))
    assert list(Pythons.discover(DEFAULT_JAIL_PYTHON, tmp_path).by_id) == ["3.11"]


def run(jail: Bubblewrap, code: str, python: Python | None = None) -> dict[str, object]:
    return run_snippet(jail, textwrap.dedent(code), "virtual", Limits(), python=python).to_json()


@pytest.mark.parametrize("python_id", PYTHON_IDS)
def test_each_python_runs_as_itself_with_its_own_files(python_id: str) -> None:
    """The version the run reports is the one listed and the trace's; its C
    library is its root's; aiohttp is the server's pin, built for it; its
    programs are its root's; the filter is in force."""
    jail = jail_on(python_id)
    python = jail.pythons.get(python_id)
    trace = run(jail, """
        import os, platform, subprocess
        print(platform.python_version())
        print(platform.libc_ver()[1])
        import aiohttp
        print(aiohttp.__version__)
        print(subprocess.run(["sh", "-c", "echo from sh; cat --version | head -1"],
                             capture_output=True, text=True).stdout.strip().replace("\\n", " | "))
        try:
            os.chroot("/tmp")
        except OSError as exc:
            print("chroot", exc.errno)
    """)
    assert trace["status"] == "ok", trace["error"]
    lines = printed(trace)
    assert lines[0] == python.version == trace["python"]
    host = host_python(DEFAULT_JAIL_PYTHON)
    assert host is not None
    if python.root is None:
        assert lines[1] == "2.36"  # Debian 12's glibc
    else:
        assert lines[1] > "2.36"  # unstable's own, never a mix with the host's
    assert lines[2] == importlib.metadata.version("aiohttp")
    assert lines[3].startswith("from sh | cat (GNU coreutils)")
    assert lines[4] == "chroot 1"


def test_a_warm_slot_runs_the_python_each_run_asks_for() -> None:
    """One jail per slot: a run of another Python replaces the slot's jail,
    and the slot then keeps warm runs of the Python last asked for."""
    jail = Bubblewrap(pythons=PYTHONS)
    pool = WarmPool(jail, Limits(), slots=1)
    pool.start()
    default = jail.pythons.get(None).id
    # The default first (the slot warms it at first), then every other, then
    # the default twice: once to switch back, once to find it warm.
    asked = [default, *(id_ for id_ in PYTHON_IDS if id_ != default), default, default]
    try:
        seen = []
        for python_id in asked:
            python = jail.pythons.get(python_id)
            assert pool.settle()
            jailed = pool.take(0, python)
            assert jailed is not None
            trace = run_snippet(jail, "import platform\nprint(platform.python_version())", "virtual", Limits(),
                                jailed=jailed).to_json()
            pool.replace(0)
            seen.append((printed(trace), trace["python"], jailed.warm))
            assert len(pool.pids()) <= 1
        assert [lines for lines, _, _ in seen] == [[jail.pythons.get(i).version] for i in asked]
        assert all(lines == [version] for lines, version, _ in seen)
        # A run of the Python the slot ran last finds a warm run; one of
        # another Python does not (its jail is started for it).
        assert [warm for _, _, warm in seen] == [True, *([False] * len(PYTHON_IDS)), True]
    finally:
        pool.close()


def test_runs_alternating_between_two_pythons_find_warm_jails() -> None:
    """With two slots, a run goes to the free slot that keeps its Python
    warm: "the same code on two Pythons", over and over, starts no jail
    after the first switch."""
    jail = Bubblewrap(pythons=PYTHONS)
    sandbox = Sandbox(jail, Limits(), Admission(slots=2, wait_seconds=10))
    sandbox.start()
    other = next(id_ for id_ in PYTHON_IDS if id_ != jail.pythons.default)
    try:
        misses = []
        for python_id in (other, jail.pythons.default, other, jail.pythons.default, other):
            assert sandbox.pool is not None and sandbox.pool.settle()
            before = metrics.WARM_MISSES._value.get()
            trace = sandbox.run("import platform\nprint(platform.python_version())", "virtual", python=python_id)
            assert printed(trace.to_json()) == [jail.pythons.get(python_id).version]
            misses.append(metrics.WARM_MISSES._value.get() - before)
        assert misses == [1, 0, 0, 0, 0]
    finally:
        sandbox.close()
