"""Settings: one typed object from defaults, PLAYGROUND_* and test_config;
an unknown key or a value of the wrong type stops the app from starting."""

from __future__ import annotations

import pytest

from playground import create_app
from playground.services import services
from playground.settings import Settings, SettingsError


def test_defaults_then_environment_then_test_config() -> None:
    settings = Settings.load(
        {"PLAYGROUND_QUEUE_WAIT_SECONDS": "3.5", "PLAYGROUND_WARM_POOL": "0", "PLAYGROUND_LIMIT_CPU_SECONDS": "2",
         "PLAYGROUND_URL_ALLOW": "127.0.0.1:8080", "PLAYGROUND_RATELIMIT_RUN_SECONDS": "5/minute", "HOME": "/root"},
        {"LIMIT_CPU_SECONDS": 3, "SANDBOX": "none"},
    )
    assert settings.queue_wait_seconds == 3.5
    assert settings.warm_pool is False
    assert settings.limits.cpu_seconds == 3  # test_config wins
    assert settings.limits.wall_seconds == 10.0  # untouched default
    assert settings.urls.allow == frozenset({("127.0.0.1", 8080)})
    assert settings.ratelimit_run_seconds == "5/minute"
    assert settings.sandbox == "none"


@pytest.mark.parametrize(("environ", "overrides", "why"), [
    ({"PLAYGROUND_LIMIT_WAL_SECONDS": "5"}, {}, "Unknown setting 'LIMIT_WAL_SECONDS'"),
    ({}, {"URL_MAX_URL": 3}, "Unknown setting 'URL_MAX_URL'"),
    ({}, {"LIMITS": 3}, "Unknown setting 'LIMITS'"),
    ({"PLAYGROUND_LIMIT_CPU_SECONDS": "five"}, {}, "'LIMIT_CPU_SECONDS' must be a whole number"),
    ({"PLAYGROUND_WARM_POOL": "perhaps"}, {}, "'WARM_POOL' must be true or false"),
    ({}, {"CONCURRENCY": 2.5}, "'CONCURRENCY' must be a whole number"),
    ({}, {"SANDBOX": 1}, "'SANDBOX' must be text"),
    ({}, {"QUEUE_WAIT_SECONDS": True}, "'QUEUE_WAIT_SECONDS' must be a number"),
    ({"PLAYGROUND_QUEUE_SIZE": "many"}, {}, "'QUEUE_SIZE' must be a whole number"),
    ({}, {"RATELIMIT_RUN_SECONDS": "lots"}, "'RATELIMIT_RUN_SECONDS' must be rate limits"),
    ({"PLAYGROUND_RATELIMIT_SHARE": "30 a minute"}, {}, "'RATELIMIT_SHARE' must be rate limits"),
])
def test_a_wrong_setting_refuses_to_start(environ: dict[str, str], overrides: dict[str, object], why: str) -> None:
    with pytest.raises(SettingsError, match=why):
        Settings.load(environ, overrides)


def test_the_app_refuses_an_unknown_setting() -> None:
    with pytest.raises(SettingsError):
        create_app({"TESTING": True, "SANDBOX": "none", "RATELIMT_RUN": "1/minute"})


def test_the_app_holds_its_settings() -> None:
    app = create_app({"TESTING": True, "SANDBOX": "none", "SNIPPET_MAX_BYTES": 100})
    try:
        assert services(app).settings.snippet_max_bytes == 100
        assert app.config["MAX_CONTENT_LENGTH"] == services(app).settings.max_content_length
    finally:
        services(app).close()
