"""Each page names its whole ES module tree up front (``<link
rel="modulepreload">``): every module its entry imports, at any depth, and
nothing that is not there."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from playground.web.modules import module_tree

STATIC = Path(__file__).resolve().parents[2] / "static"
PRELOADED = re.compile(r'<link rel="modulepreload" href="/assets/[0-9a-f]+/([^"]+)">')


def imports_of(module: str) -> set[str]:
    """What a module imports, read the way a browser resolves it (a second reading, by line)."""
    found = set()
    for specifier in re.findall(r'from "(\.{1,2}/[^"]+)"|^import "(\.{1,2}/[^"]+)"',
                                (STATIC / module).read_text(), re.MULTILINE):
        relative = specifier[0] or specifier[1]
        found.add(str((STATIC / module).parent.joinpath(relative).resolve().relative_to(STATIC)))
    return found


@pytest.mark.parametrize(("path", "entry"), [("/", "pages/main.js"), ("/embed", "pages/embed.js")])
def test_a_page_preloads_its_entry_and_every_module_it_imports(client: FlaskClient, path: str, entry: str) -> None:
    preloaded = PRELOADED.findall(client.get(path).get_data(as_text=True))
    assert preloaded[0] == entry and len(preloaded) == len(set(preloaded))
    assert all((STATIC / module).is_file() for module in preloaded)
    for module in preloaded:
        assert imports_of(module) <= set(preloaded), module


def test_imports_over_several_lines_and_re_exports_are_followed(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "main.js").write_text('import {\n  a,\n  b,\n} from "./lib/a.js";\nimport "./lib/side.js";\n'
                                      'const later = () => import("./lib/lazy.js");\n')
    (tmp_path / "lib" / "a.js").write_text('export { c } from "../c.js";\nexport const a = 1, b = 2;\n')
    (tmp_path / "lib" / "side.js").write_text("")
    (tmp_path / "c.js").write_text('import "./main.js";\nexport const c = 3;\n')
    assert module_tree(tmp_path, "main.js") == ("lib/a.js", "lib/side.js", "c.js")
