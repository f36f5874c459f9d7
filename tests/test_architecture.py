"""The boundaries between subsystems (docs/architecture.md), held by tests:
who may import the tracer, Flask and each other, and modules and functions
small enough to read in one sitting."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import ROOT

PACKAGE = ROOT / "playground"
FLASK_PACKAGES = ("flask", "flask_limiter", "werkzeug", "markupsafe", "jinja2")
# Where Flask may be imported: the web layer, the operator's endpoints and
# logs, the wiring that builds the app (and, for a type only, the package's
# lazy create_app).
FLASK_ALLOWED = ("web", "ops", "app.py", "services.py", "__init__.py")
MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 80


GALLERY = PACKAGE / "sharing" / "gallery"  # the examples: data, not the server's code


def modules() -> list[Path]:
    return sorted(path for path in PACKAGE.rglob("*.py") if GALLERY not in path.parents)


def where(path: Path) -> str:
    """The subsystem of a module: its package under playground/, or its file name."""
    return path.relative_to(PACKAGE).parts[0]


def imported(path: Path) -> Iterator[tuple[str, int]]:
    """Every module ``path`` imports (absolute names), with its line."""
    package = ".".join(("playground", *path.relative_to(PACKAGE).parent.parts))
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                name = f"{base}.{node.module}" if node.module else base
            else:
                name = node.module or ""
            yield name, node.lineno
            for alias in node.names:  # "from playground.tracer import protocol"
                yield f"{name}.{alias.name}", node.lineno


def test_only_the_protocol_of_the_tracer_is_imported_outside_it() -> None:
    crossings = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in modules() if where(path) != "tracer"
        for name, line in imported(path)
        if name.startswith("playground.tracer")
        and name != "playground.tracer" and not name.startswith("playground.tracer.protocol")
    ]
    assert crossings == []


def test_the_tracer_imports_only_the_standard_library() -> None:
    allowed = set(sys.stdlib_module_names) | {"seccomp"}  # libseccomp's bindings, bound beside it in the jail
    outside = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in (PACKAGE / "tracer").glob("*.py")
        for name, line in imported(path)
        if not name.startswith("playground.tracer") and name.split(".")[0] not in allowed
    ]
    assert outside == []


def test_flask_stays_in_the_web_layer() -> None:
    leaks = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in modules() if where(path) not in FLASK_ALLOWED
        for name, line in imported(path)
        if name.split(".")[0] in FLASK_PACKAGES
    ]
    assert leaks == []


def test_the_web_layer_knows_the_sandbox_only_as_a_service() -> None:
    """Views run snippets through ``Sandbox.run`` and read its limits; how a
    jail is built, forked or read stays inside the sandbox."""
    allowed = ("playground.sandbox.service", "playground.sandbox.limits")
    reaching = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in (PACKAGE / "web").glob("*.py")
        for name, line in imported(path)
        if name.startswith("playground.sandbox.") and not name.startswith(allowed)
    ]
    assert reaching == []


@pytest.mark.parametrize(("module", "must_not_load"), [
    ("playground.sandbox.service", "flask"),
    ("playground.sandbox.runner", "flask"),
    ("playground.sandbox.forkclient", "playground.tracer.prelude"),
    ("playground.sandbox.runner", "playground.tracer.recorder"),
    ("playground.tracer.protocol", "flask"),
    ("playground.urls.fetcher", "flask"),
    ("playground.egress.broker", "flask"),
    ("playground.egress.broker", "playground.sandbox.jail"),
])
def test_importing_a_subsystem_loads_nothing_across_its_boundary(module: str, must_not_load: str) -> None:
    """What a module pulls in with everything it imports, in a fresh interpreter."""
    check = f"import sys, {module}; print({must_not_load!r} in sys.modules)"
    result = subprocess.run([sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_every_module_says_what_it_is_for() -> None:
    silent = [str(path.relative_to(ROOT)) for path in modules() if not ast.get_docstring(ast.parse(path.read_text()))]
    assert silent == []


def test_modules_and_functions_are_small_enough_to_read() -> None:
    long_modules = [
        f"{path.relative_to(ROOT)}: {lines} lines"
        for path in modules() if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    ]
    long_functions = [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: {size} lines"
        for path in modules()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and (size := (node.end_lineno or node.lineno) - node.lineno + 1) > MAX_FUNCTION_LINES
    ]
    assert long_modules == [] and long_functions == []


def test_no_test_module_imports_another() -> None:
    tests = ROOT / "tests"
    crossings = []
    for path in tests.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                name = ("." * node.level) + (node.module or "")
                if any(part.startswith(("test_", "conftest")) for part in name.replace(".", " ").split()):
                    crossings.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {name}")
    assert crossings == []
