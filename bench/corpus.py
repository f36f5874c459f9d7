"""How faithful the playground is: the figure "N of M faithful" on the corpus
of public asyncio snippets (tests/corpus/, sources in tests/corpus/sources.json).

Runs every snippet as tests/tracer/test_corpus.py does (in the playground
through a real jail on the virtual clock, and with plain python3 in the
background) and prints, per snippet, whether it matched; then the figure,
and every difference with the reason the manifest gives, grouped by cause.
A snippet whose result disagrees with the manifest is flagged: the manifest
needs updating (or the playground regressed).

On one Python (``--python``, default the server's default), compared with
that same version's plain interpreter.

    python3 bench/corpus.py [--python 3.14] [--only 012_docs_queue_workers.py ...] [--verbose]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playground.sandbox.jail import Bubblewrap  # noqa: E402
from tests.support.pythonruns import PYTHONS, JailedRuns  # noqa: E402
from tests.tracer.test_corpus import (  # noqa: E402
    SNIPPETS,
    Python3Runs,
    compared,
    preloaded_modules,
    run_playground,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", help="snippet files to run (default: all)")
    parser.add_argument("--verbose", action="store_true", help="print each difference in full")
    parser.add_argument("--python", help="the id of the Python (default: the server's default)")
    args = parser.parse_args()
    jail = Bubblewrap(pythons=PYTHONS)
    python = jail.pythons.get(args.python)
    snippets = [s.on(python.id) for s in SNIPPETS if not args.only or s.file in args.only]
    started = time.monotonic()
    runs = Python3Runs(python, preloaded_modules(jail, python), JailedRuns(jail, python)).start(snippets)
    print(f"Python {python.version}")
    found: dict[str, list[str]] = {}
    for snippet in snippets:
        trace = run_playground(runs, snippet)
        found[snippet.file] = compared(snippet, runs.result(snippet.file), trace, runs)
        verdict = "faithful" if not found[snippet.file] else "differs"
        flag = "" if verdict == snippet.expect else f"   <-- manifest says {snippet.expect}"
        print(f"{snippet.file:45} {verdict}{flag}", flush=True)
        if args.verbose:
            for line in found[snippet.file]:
                print(f"    {line[:400]}")
    faithful = sum(1 for snippet in snippets if not found[snippet.file])
    print(f"\n{faithful} of {len(snippets)} faithful ({time.monotonic() - started:.0f} s)\n")
    by_cause: dict[str, list[str]] = defaultdict(list)
    for snippet in snippets:
        if found[snippet.file]:
            aspects = ", ".join(sorted({line.split(":", 1)[0] for line in found[snippet.file]}))
            reason = snippet.why or "(the manifest expects it to be faithful)"
            by_cause[snippet.cause or "unexpected"].append(f"{snippet.file} [{aspects}]: {reason}")
    for cause, lines in sorted(by_cause.items(), key=lambda item: -len(item[1])):
        print(f"{cause} ({len(lines)}):")
        for line in lines:
            print(f"    {line}")


if __name__ == "__main__":
    main()
