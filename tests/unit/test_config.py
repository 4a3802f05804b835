"""The config file: the documented example loads, and the digest can be switched off."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings

ROOT = Path(__file__).resolve().parents[2]


def test_the_example_config_loads_with_the_documented_digest_time() -> None:
    settings = load_settings(ROOT / "config.example.toml", env={})

    assert settings.reminders.digest_at == time(8, 30)


def test_digest_at_off_switches_the_digest_off_for_everybody(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[reminders]\ndigest_at = "off"\n', encoding="utf-8")

    assert load_settings(config, env={}).reminders.digest_at is None


def test_a_digest_time_that_is_not_a_time_is_refused_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[reminders]\ndigest_at = "soon"\n', encoding="utf-8")

    with pytest.raises(ConfigError) as refused:
        load_settings(config, env={})

    assert "reminders.digest_at" in str(refused.value)
