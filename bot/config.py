"""One settings object: a TOML file for everything but secrets, the environment for those."""

from __future__ import annotations

import os
import tomllib
from datetime import date, time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from domain.plan import CalendarOverrides

CONFIG_ENV = "CUIBAO_CONFIG"
TOKEN_ENV = "TELEGRAM_BOT_TOKEN"
WEBHOOK_SECRET_ENV = "CUIBAO_WEBHOOK_SECRET"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BotSettings(_Section):
    language: Literal["zh-CN", "en"] = "zh-CN"
    coordinators: tuple[int, ...] = ()
    api_base_url: str = "https://api.telegram.org/bot"
    api_file_url: str = "https://api.telegram.org/file/bot"
    local_mode: bool = False  # a self-hosted Bot API server (`--local`): no 20 MB limit
    mode: Literal["polling", "webhook"] = "polling"
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    webhook_url: str = ""  # public HTTPS URL Telegram posts to
    invite_days: int = Field(default=14, ge=1, le=365)


class DatabaseSettings(_Section):
    url: str = "sqlite:///cuibao.sqlite3"


class FileSettings(_Section):
    dir: str = "files"
    max_mb: int = Field(default=20, ge=1, le=2000)
    extensions: tuple[str, ...] = ("doc", "docx", "xls", "xlsx", "wps", "pdf", "jpg", "jpeg",
                                   "png")


class CalendarSettings(_Section):
    workdays: tuple[date, ...] = ()
    holidays: tuple[date, ...] = ()

    def overrides(self) -> CalendarOverrides:
        return CalendarOverrides(frozenset(self.workdays), frozenset(self.holidays))


class RateLimitSettings(_Section):
    overall_per_second: float = Field(default=30, gt=0)
    per_chat_per_second: float = Field(default=1, gt=0)
    max_retries: int = Field(default=5, ge=0)


class ReminderSettings(_Section):
    """Automatic nudges (see scheduler/reminders.py for the policy and its plan syntax)."""

    enabled: bool = True
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    digest_at: time | None = time(8, 30)  # "off": no digest for anybody
    stale_after_seconds: float = Field(default=300, gt=0)
    retry_after_seconds: float = Field(default=60, gt=0)
    max_attempts: int = Field(default=4, ge=1, le=20)
    concurrency: int = Field(default=4, ge=1, le=64)
    claim_batch: int = Field(default=50, ge=1, le=1000)
    safety_interval_seconds: float = Field(default=300, gt=0)
    replan_delay_seconds: float = Field(default=2, ge=0)
    send_retries: int = Field(default=3, ge=0, le=10)  # 5xx and timeouts, per message
    send_backoff_seconds: float = Field(default=0.5, ge=0)

    @field_validator("digest_at", mode="before")
    @classmethod
    def _off(cls, value: object) -> object:
        # TOML has no null: a deployment turns the digest off with digest_at = "off".
        return None if isinstance(value, str) and value.strip().lower() == "off" else value


class Settings(_Section):
    bot: BotSettings = BotSettings()
    database: DatabaseSettings = DatabaseSettings()
    files: FileSettings = FileSettings()
    calendar: CalendarSettings = CalendarSettings()
    rate_limit: RateLimitSettings = RateLimitSettings()
    reminders: ReminderSettings = ReminderSettings()
    # Where relative paths in the file are resolved: the config file's own folder.
    base_dir: Path = Path(".")
    token: SecretStr | None = None
    webhook_secret: SecretStr | None = None

    @property
    def database_url(self) -> str:
        url = self.database.url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
            return prefix + str((self.base_dir / url[len(prefix):]).resolve())
        return url

    @property
    def files_dir(self) -> Path:
        return (self.base_dir / self.files.dir).resolve()


class ConfigError(Exception):
    pass


def load_settings(path: str | Path | None = None, env: dict[str, str] | None = None) -> Settings:
    """Read the config file (explicit path, $CUIBAO_CONFIG, ./config.toml, or defaults)."""
    env = dict(os.environ) if env is None else env
    local = "config.toml" if Path("config.toml").is_file() else None
    chosen = path or env.get(CONFIG_ENV) or local
    data: dict[str, object] = {}
    base_dir = Path.cwd()
    if chosen:
        file = Path(chosen)
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{file}: file not found") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file}: {exc}") from None
        base_dir = file.resolve().parent
    secrets = {"token": env.get(TOKEN_ENV) or None, "webhook_secret": env.get(WEBHOOK_SECRET_ENV)
               or None}
    try:
        return Settings.model_validate({**data, "base_dir": base_dir, **secrets})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{chosen or 'config'}: {where}: {first['msg']}") from None
