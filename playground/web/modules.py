"""The ES modules a page loads, named up front for ``<link rel="modulepreload">``.

Without a bundler, a browser learns a module's imports only once it has
fetched it: one level of the import tree per round trip, and on a tutorial
page of embeds, in every frame, one revalidation per module per level. A
page that names its whole tree in its head has it fetched at once (a page of
twelve embeds showed its first run 3.6 s after it opened, on a slow machine,
most of it spent so). Each file is fetched once for all the frames: see assets.py."""

from __future__ import annotations

import functools
import posixpath
import re
from pathlib import Path

# A static import or re-export of a relative module: `import ... from "./x.js"`,
# `import "./x.js"`, `export ... from "../y.js"` (over several lines too).
IMPORTED = re.compile(r"""^\s*(?:import|export)\b[^;"'()]*?["'](\.{1,2}/[^"']+\.js)["']""", re.MULTILINE)


@functools.cache
def module_tree(static: Path, entry: str) -> tuple[str, ...]:
    """The modules ``entry`` (a path under ``static``) imports, at any depth,
    as paths under ``static``, each once, in the order first found."""
    found: dict[str, None] = {}
    waiting = [entry]
    while waiting:
        module = waiting.pop(0)
        try:
            source = (static / module).read_text(encoding="utf-8")
        except OSError:
            continue
        for specifier in IMPORTED.findall(source):
            path = posixpath.normpath(posixpath.join(posixpath.dirname(module), specifier))
            if path not in found and path != entry and not path.startswith(".."):
                found[path] = None
                waiting.append(path)
    return tuple(found)
