"""The contract between server and jail fails closed: each key of the run's
settings and of the fork server's request is required, an unknown key or a
value of the wrong type refuses the run, and a jail that gets such a request
runs nothing."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from playground.sandbox.jail import Bubblewrap, Unsandboxed
from playground.sandbox.limits import Limits
from playground.sandbox.runner import run_snippet, settings_for
from playground.tracer.protocol import ForkRequest, ProtocolError, ResourceLimits, RunSettings

SETTINGS = dataclasses.asdict(settings_for(Bubblewrap(), "virtual", Limits()))
REQUEST = {"isolate": True, "tmp_bytes": 8 << 20, "tmp_files": 4096, "workdir": None}


def without(data: dict[str, Any], key: str) -> dict[str, Any]:
    return {name: value for name, value in data.items() if name != key}


@pytest.mark.parametrize("key", [item.name for item in dataclasses.fields(RunSettings)])
def test_every_run_setting_is_required(key: str) -> None:
    assert RunSettings.from_json(SETTINGS).seccomp is True
    with pytest.raises(ProtocolError, match=key):
        RunSettings.from_json(without(SETTINGS, key))


@pytest.mark.parametrize("key", [item.name for item in dataclasses.fields(ResourceLimits)])
def test_every_resource_limit_is_required(key: str) -> None:
    with pytest.raises(ProtocolError, match=key):
        RunSettings.from_json({**SETTINGS, "limits": without(SETTINGS["limits"], key)})


@pytest.mark.parametrize("key", [item.name for item in dataclasses.fields(ForkRequest)])
def test_every_fork_request_key_is_required(key: str) -> None:
    assert ForkRequest.from_bytes(json.dumps(REQUEST).encode()).isolate is True
    with pytest.raises(ProtocolError, match=key):
        ForkRequest.from_bytes(json.dumps(without(REQUEST, key)).encode())


@pytest.mark.parametrize(("changed", "why"), [
    ({"surprise": 1}, "unknown surprise"),
    ({"seccomp": "yes"}, "seccomp has the wrong type"),
    ({"seccomp": 1}, "seccomp has the wrong type"),
    ({"max_events": True}, "max_events must not be a boolean"),
    ({"clock": "sundial"}, "clock"),
])
def test_wrong_settings_are_refused(changed: dict[str, Any], why: str) -> None:
    with pytest.raises(ProtocolError, match=why):
        RunSettings.from_json({**SETTINGS, **changed})


@pytest.mark.parametrize("changed", [
    {"isolate": 1}, {"isolate": True, "tmp_bytes": None}, {"isolate": False, "workdir": None}, {"extra": 0},
])
def test_wrong_fork_requests_are_refused(changed: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError):
        ForkRequest.from_bytes(json.dumps({**REQUEST, **changed}).encode())


def test_a_run_whose_settings_lack_a_key_is_not_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """Through a real jail: the server forgets the filter's key; the run ends
    before the snippet exists, and says it is the server's fault."""
    real = RunSettings.to_line

    def forgetful(self: RunSettings) -> bytes:
        data = json.loads(real(self))
        del data["seccomp"]
        return json.dumps(data).encode() + b"\n"

    monkeypatch.setattr(RunSettings, "to_line", forgetful)
    trace = run_snippet(Bubblewrap(), "print('ran')", "virtual", Limits())
    assert trace.status == "crashed"
    assert [o.text for o in trace.output if o.stream == "stdout"] == []
    assert [e.kind for e in trace.events] == ["sandbox"]
    assert "server's fault" in trace.events[0].message


def test_a_fork_request_without_isolation_is_not_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """Through a real jail's fork server: a request that does not say whether
    to isolate the run sets nothing up."""
    def forgetful(self: ForkRequest) -> bytes:
        return json.dumps(without(dataclasses.asdict(self), "isolate")).encode()

    monkeypatch.setattr(ForkRequest, "to_bytes", forgetful)
    from playground.sandbox.jail import JailUnavailable

    with pytest.raises(JailUnavailable, match="broke the protocol: ForkRequest lacks isolate"):
        run_snippet(Bubblewrap(), "print('ran')", "virtual", Limits())


def test_an_unsandboxed_run_sets_no_process_limit() -> None:
    assert settings_for(Unsandboxed(), "virtual", Limits()).limits.processes is None
