"""Every ``LANES_*`` variable is a typed setting; a bad value is one line naming it."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.settings import LanesSettings, SettingsError, load_settings
from core.telemetry import configure_logging


class _Probe(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LANES_PROBE_")

    size: int = Field(default=1, le=100)
    token: SecretStr = Field(default=SecretStr("x" * 12), min_length=12)


def test_a_bad_value_names_the_variable_and_what_is_allowed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LANES_PROBE_SIZE", "1000")
    with pytest.raises(SettingsError) as raised:
        load_settings(_Probe, "probe settings")
    assert str(raised.value) == (
        "invalid probe settings: LANES_PROBE_SIZE='1000': Input should be less than or equal to 100"
    )


def test_a_bad_secret_is_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANES_PROBE_TOKEN", "sk-live")
    with pytest.raises(SettingsError) as raised:
        load_settings(_Probe)
    assert "LANES_PROBE_TOKEN=(hidden)" in str(raised.value)
    assert "sk-live" not in str(raised.value)


def test_log_settings_are_typed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANES_LOG_LEVEL", "Warning")
    monkeypatch.setenv("LANES_LOG_FORMAT", "JSON")
    config = load_settings(LanesSettings)
    assert (config.log_level, config.log_format) == ("warning", "json")

    monkeypatch.setenv("LANES_LOG_LEVEL", "verbose")
    with pytest.raises(SettingsError, match=r"LANES_LOG_LEVEL='verbose': Input should be 'debug'"):
        configure_logging()


async def test_a_worker_with_a_bad_log_level_exits_with_one_line(
    lanes_env: dict[str, str],
) -> None:
    worker = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("sync-worker")),
        env=dict(lanes_env, LANES_LOG_LEVEL="verbose"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(worker.communicate(), 60)
    stderr = err.decode()
    assert worker.returncode == 1, stderr
    assert "Traceback" not in stderr
    assert "LANES_LOG_LEVEL='verbose'" in stderr
