"""A self-signed certificate for 127.0.0.1, for the tests' TLS servers."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate and its key for 127.0.0.1 in ``folder`` (openssl, valid one day)."""
    if shutil.which("openssl") is None:
        pytest.fail("openssl is needed to make the TLS tests' certificate")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key
