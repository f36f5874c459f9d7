"""The tracer's tests run on every Python the server offers, through the
real jail: ``run_trace`` here is parametrized over the Pythons' ids (a test
``test_x[3.14]`` ran on 3.14), each with a fork server of its own kept warm
for the module (tests/support/pythonruns.py). The unsandboxed runner of the
top conftest stays for the tests about the unsandboxed mode (``run_unsandboxed``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from playground.sandbox.jail import Bubblewrap, JailUnavailable
from tests.support.pythonruns import PYTHON_IDS, PYTHONS, JailedRuns
from tests.support.traces import RunTrace


@pytest.fixture(scope="session")
def tracer_jail() -> Bubblewrap:
    try:
        return Bubblewrap(pythons=PYTHONS)
    except JailUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module", params=PYTHON_IDS)
def python_runs(request: pytest.FixtureRequest, tracer_jail: Bubblewrap) -> Iterator[JailedRuns]:
    """Runs on one Python (the test's parameter), in the real jail."""
    runs = JailedRuns(tracer_jail, PYTHONS.get(request.param))
    yield runs
    runs.close()


@pytest.fixture
def run_trace(python_runs: JailedRuns) -> RunTrace:
    """Run a snippet through the tracer in the jail, on the test's Python,
    and return the trace as JSON, the way the API would."""
    return python_runs.run
