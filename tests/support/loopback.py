"""The tests that reach the network talk to loopback only: ``loopback_only``
makes any connection attempt of this process to another address fail the
test instead of leaving the machine, so a guard that let one through never
sends traffic to a private or public address from a test."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest


def loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Fail loudly on a connection to anything but loopback (nothing is sent);
    yields the list of attempts, which must be empty at the end."""
    attempted: list[Any] = []
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def check(address: Any) -> None:
        host = address[0] if isinstance(address, tuple) else None
        if host is not None and not ipaddress.ip_address(str(host).split("%")[0]).is_loopback:
            attempted.append(address)
            raise AssertionError(f"the guard let a connection to {address!r} through")

    def connect(self: socket.socket, address: Any) -> None:
        check(address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        check(address)
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    yield attempted
    assert attempted == [], f"connections attempted outside loopback: {attempted}"
