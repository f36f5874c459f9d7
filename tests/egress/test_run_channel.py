"""A run's network channel is handed to the egress loop at its first
request, not before (``RunChannel``): a run that never asks is never
served, and the request that wakes it is left whole for the loop to read.
The run's end of the channel is a real socket, as the jail's is."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

from playground.egress.broker import Egress, NetworkReport, RunChannel
from playground.egress.policy import EgressPolicy
from playground.urls.limits import FetchLimits


@pytest.fixture
def egress() -> Iterator[Egress]:
    running = Egress(EgressPolicy.from_limits(FetchLimits(), enabled=True))
    yield running
    running.close()


def test_a_run_that_never_asks_is_never_served(egress: Egress) -> None:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    channel = RunChannel(egress, ours)
    theirs.close()  # the run ended
    channel.readable()
    assert channel.network is None
    assert channel.detach() == NetworkReport()
    ours.close()


def test_the_first_request_is_left_whole_for_the_egress_loop(egress: Egress) -> None:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    channel = RunChannel(egress, ours)
    answer, answer_theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    socket.send_fds(theirs, [b'{"op": "nothing it knows"}'], [answer_theirs.fileno()])
    answer_theirs.close()
    channel.readable()
    assert channel.network is not None
    answer.settimeout(10)
    refused = json.loads(answer.recv(4096))  # the loop read the request, and refused it
    assert "refused this request" in refused["message"]
    theirs.close()
    assert channel.detach().connections == {}
    answer.close()
    ours.close()
