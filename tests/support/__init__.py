"""What the tests share: servers they start, browsers, jails they look for,
readers of a trace. Test modules import from here, never from each other."""

from pathlib import Path

# The project's folder.
ROOT = Path(__file__).resolve().parents[2]
