"""Another commit of this project, checked out beside it for a benchmark
side by side (bench/against.py, bench/embeds.py)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ACCELERATOR_BUILDERS = ("playground.sandbox.speedups", "playground.speedups")


@contextmanager
def worktree(rev: str) -> Iterator[Path]:
    """``rev`` in a temporary git worktree, its tracer's C accelerator built as its setup would."""
    folder = Path(tempfile.mkdtemp(prefix="playground-against-"))
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(folder), rev], check=True)
    try:
        for builder in ACCELERATOR_BUILDERS:  # where the tree has it
            if (folder / (builder.replace(".", "/") + ".py")).exists():
                subprocess.run([sys.executable, "-m", builder], cwd=folder, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        yield folder
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(folder)], check=False)
        shutil.rmtree(folder, ignore_errors=True)
