"""One settings object: a TOML file for everything but secrets, the environment for those."""

from __future__ import annotations

import difflib
import json
import os
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from domain.plan import CalendarOverrides

CONFIG_ENV = "CUIBAO_CONFIG"
TOKEN_ENV = "TELEGRAM_BOT_TOKEN"
WEBHOOK_SECRET_ENV = "CUIBAO_WEBHOOK_SECRET"
DINGTALK_SECRET_ENV = "DINGTALK_CLIENT_SECRET"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BotSettings(_Section):
    language: Literal["zh-CN", "en"] = "zh-CN"
    coordinators: tuple[int, ...] = ()
    # Who is told when handling an update fails (the coordinators when empty).
    operators: tuple[int, ...] = ()
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

    @field_validator("url")
    @classmethod
    def _supported(cls, url: str) -> str:
        from storage.db import url_problem

        problem = url_problem(url)
        if problem is not None:
            raise PydanticCustomError(problem, "not a database URL cuibao can use")
        return url


class FileSettings(_Section):
    dir: str = "files"
    max_mb: int = Field(default=20, ge=1, le=2000)
    extensions: tuple[str, ...] = (
        "doc",
        "docx",
        "xls",
        "xlsx",
        "wps",
        "pdf",
        "jpg",
        "jpeg",
        "png",
    )


class CalendarSettings(_Section):
    workdays: tuple[date, ...] = ()
    holidays: tuple[date, ...] = ()
    # Years whose holidays and 调休 days are all listed above: no "no holiday data" warning.
    complete_years: tuple[int, ...] = ()

    def overrides(self) -> CalendarOverrides:
        return CalendarOverrides(
            frozenset(self.workdays), frozenset(self.holidays), frozenset(self.complete_years)
        )


TELEGRAM_MESSAGES_PER_SECOND = 30  # Telegram's published broadcast limit per bot
# The default limiter keeps this share of it: the sends leave the limiter a few ms apart
# and reach Telegram with jitter, so a limiter at exactly 30/s still draws 429s from a
# bucket of exactly 30 (bench/reminders.py: 14-20 per 10,000 at 1.0, none at 0.93).
HEADROOM = 0.93


class RateLimitSettings(_Section):
    overall_per_second: float = Field(
        default=round(TELEGRAM_MESSAGES_PER_SECOND * HEADROOM, 1), gt=0
    )
    per_chat_per_second: float = Field(default=1, gt=0)
    max_retries: int = Field(default=5, ge=0)


class ReminderSettings(_Section):
    """Automatic nudges (see scheduler/nudge_policy.py for the policy and its plan syntax)."""

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
    # On PostgreSQL, nudges per second for all processes of the bot together (Telegram's
    # limit is per bot); the rest of the ~30/s stays for chat replies. 0: per process only.
    shared_per_second: int = Field(default=20, ge=0, le=1000)

    @field_validator("quiet_start", "quiet_end", "digest_at", mode="before")
    @classmethod
    def _clock_time(cls, value: object, info: ValidationInfo) -> object:
        # TOML has no null: a deployment turns the digest off with digest_at = "off".
        off = value is None or (isinstance(value, str) and value.strip().lower() == "off")
        if info.field_name == "digest_at" and off:
            return None
        return wall_clock_time(value)


_HH_MM = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")


def wall_clock_time(value: object) -> time:
    """A time of day as people write it in the config: "HH:MM" ("8:30" too) or a TOML
    local time. A bare number is refused: pydantic would read `21` as 21 seconds past
    midnight UTC, an aware time no reminder run can compare with a local one."""
    if isinstance(value, time) and value.tzinfo is None:
        return value
    match = _HH_MM.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is not None:
        hour, minute, second = (int(g or 0) for g in match.groups())
        if hour < 24 and minute < 60 and second < 60:
            return time(hour, minute, second)
    raise PydanticCustomError("time_parsing", 'Input should be a time written "HH:MM"')


class DingTalkSettings(_Section):
    # The app's Client ID (AppKey); its secret comes from DINGTALK_CLIENT_SECRET. Empty:
    # no DingTalk. robot_code defaults to the client id, as for an internal app's robot.
    client_id: str = ""
    robot_code: str = ""
    # Staff ids (userid) of coordinators on DingTalk.
    coordinators: tuple[str, ...] = ()
    # Where the OpenAPI and the Stream gateway are (专有钉钉 and tests point elsewhere).
    api_base_url: str = "https://api.dingtalk.com"
    oapi_base_url: str = "https://oapi.dingtalk.com"
    per_second: float = Field(default=15.0, gt=0, le=1000)  # robot messages, the whole app
    # An interactive card template (卡片模板 ID, "….schema") with a text variable `content`
    # and a loop over `buttons` ({label, data}) whose button passes `data` back. Empty:
    # choices are numbered lists answered by typing the number.
    card_template_id: str = ""


class OpsSettings(_Section):
    # host:port for /healthz and /metrics in polling mode ("" = not served); in webhook
    # mode they are served beside the webhook as well.
    listen: str = ""
    log_format: Literal["text", "json"] = "text"  # json: one JSON object per line
    # `cuibao run --role worker|all` (PostgreSQL): updates one process handles at once
    # (one person's always one at a time), and how long a worker may stop beating before
    # another process gives its updates back to the queue.
    queue_concurrency: int = Field(default=16, ge=1, le=256)
    queue_stalled_after_seconds: float = Field(default=30.0, ge=1.0, le=3600.0)
    # Slow jobs (exports, 通报, pictures, notices) one process runs at once (`--role
    # jobs|all`, or the single process); while it runs, an export uses a worker process
    # of up to 2 GB, a notice one of up to 512 MB.
    slow_jobs: int = Field(default=2, ge=1, le=64)
    # A stopping jobs process lets its slow jobs run this long, then gives them back to
    # the queue (another process starts them again). Keep systemd's TimeoutStopSec above.
    slow_jobs_grace_seconds: float = Field(default=60.0, ge=1.0, le=3600.0)


class Settings(_Section):
    bot: BotSettings = BotSettings()
    database: DatabaseSettings = DatabaseSettings()
    files: FileSettings = FileSettings()
    calendar: CalendarSettings = CalendarSettings()
    rate_limit: RateLimitSettings = RateLimitSettings()
    reminders: ReminderSettings = ReminderSettings()
    ops: OpsSettings = OpsSettings()
    # Where relative paths in the file are resolved: the config file's own folder.
    base_dir: Path = Path()
    token: SecretStr | None = None
    webhook_secret: SecretStr | None = None
    dingtalk: DingTalkSettings = DingTalkSettings()
    dingtalk_secret: SecretStr | None = None

    @property
    def database_url(self) -> str:
        url = self.database.url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
            return prefix + str((self.base_dir / url[len(prefix) :]).resolve())
        return url

    @property
    def files_dir(self) -> Path:
        return (self.base_dir / self.files.dir).resolve()


@dataclass
class ConfigError(Exception):
    """A config file that cannot be used. `code` names a catalogue text (``config.<code>``)
    and `params` fill it, so the CLI says it in the user's language; `where` is a key path
    (``bot.coordinators[0]``) or ``line N``."""

    code: str
    where: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    source: str = ""

    def __str__(self) -> str:
        detail = self.params.get("detail") or f"{self.code} {self.params}"
        return ": ".join(part for part in (self.source, self.where, str(detail)) if part)


# Settings fields that never come from the file: the secrets come from the environment.
_NOT_IN_FILE = {
    "base_dir": "",
    "token": TOKEN_ENV,
    "webhook_secret": WEBHOOK_SECRET_ENV,
    "dingtalk_secret": DINGTALK_SECRET_ENV,
}

# pydantic's error types, as the few things a person has to be told; the rest fall back
# to pydantic's own (English) message.
_PYDANTIC_CODES = {
    "extra_forbidden": "unknown_key",
    "missing": "missing",
    "int_parsing": "not_integer",
    "int_type": "not_integer",
    "int_from_float": "not_integer",
    "float_parsing": "not_number",
    "float_type": "not_number",
    "bool_parsing": "not_bool",
    "bool_type": "not_bool",
    "time_parsing": "not_time",
    "time_type": "not_time",
    "date_parsing": "not_date",
    "date_type": "not_date",
    "date_from_datetime_parsing": "not_date",
    "date_from_datetime_inexact": "not_date",
    "string_type": "not_string",
    "tuple_type": "not_array",
    "list_type": "not_array",
    "model_type": "not_table",
    "dict_type": "not_table",
    "greater_than": "greater_than",
    "greater_than_equal": "greater_than_equal",
    "less_than": "less_than",
    "less_than_equal": "less_than_equal",
    "literal_error": "not_allowed",
    "database_plain_path": "database_plain_path",
    "database_unsupported": "database_unsupported",
}
_LIMITS = {
    "greater_than": "gt",
    "greater_than_equal": "ge",
    "less_than": "lt",
    "less_than_equal": "le",
}
# tomllib's commonest complaints, each with what usually causes it in a hand-edited file.
_TOML_CODES = (
    ("Invalid value", "toml_value"),
    ("Expected '=' after a key", "toml_equals"),
    ("Invalid statement", "toml_statement"),
    ("Unterminated string", "toml_string"),
    ("Illegal character '\\n'", "toml_string"),
    ("Unclosed array", "toml_array"),
    ("Cannot declare", "toml_twice"),
    ("Cannot overwrite", "toml_twice"),
    ("Cannot redefine", "toml_twice"),
)


def load_settings(path: str | Path | None = None, env: dict[str, str] | None = None) -> Settings:
    """Read the config file (explicit path, $CUIBAO_CONFIG, ./config.toml, or defaults)."""
    env = dict(os.environ) if env is None else env
    local = "config.toml" if Path("config.toml").is_file() else None
    chosen = path or env.get(CONFIG_ENV) or local
    data: dict[str, object] = {}
    base_dir = Path.cwd()
    source = str(chosen) if chosen else ""
    if chosen:
        file = Path(chosen)
        data = _read(file)
        base_dir = file.resolve().parent
        for key in data:
            if key in _NOT_IN_FILE:
                raise _refused_key((key,), source)
    secrets = {
        "token": env.get(TOKEN_ENV) or None,
        "webhook_secret": env.get(WEBHOOK_SECRET_ENV) or None,
        "dingtalk_secret": env.get(DINGTALK_SECRET_ENV) or None,
    }
    try:
        return Settings.model_validate({**data, "base_dir": base_dir, **secrets})
    except ValidationError as exc:
        raise _from_pydantic(exc.errors()[0], source) from None


def _read(file: Path) -> dict[str, object]:
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file_not_found", source=str(file)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            "file_unreadable", params={"detail": str(exc)}, source=str(file)
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        detail = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", message)
        line = re.search(r"\(at line (\d+), column \d+\)", message)
        if line is None:  # the file ended inside something: an array, a string, a table
            last = len(text.rstrip().splitlines()) or 1
            raise ConfigError(
                "toml_unfinished", f"line {last}", {"detail": detail}, str(file)
            ) from None
        code = next((c for prefix, c in _TOML_CODES if detail.startswith(prefix)), "toml_syntax")
        raise ConfigError(code, f"line {line.group(1)}", {"detail": detail}, str(file)) from None


def _from_pydantic(error: ErrorDetails, source: str) -> ConfigError:
    loc = tuple(error["loc"])
    where = _where(loc)
    kind = error["type"]
    context = error.get("ctx") or {}
    params: dict[str, Any] = {"value": _shown(error.get("input")), "detail": error["msg"]}
    code = _PYDANTIC_CODES.get(kind, "invalid")
    if code == "unknown_key":
        return _refused_key(loc, source)
    if code == "not_integer" and loc[:2] == ("bot", "coordinators"):
        code = "coordinator_id"  # `coordinators = ["@wang"]`: a username, not the id
    elif code == "not_time" and loc == ("reminders", "digest_at"):
        code = "not_time_or_off"
    elif code in _LIMITS:
        params["limit"] = _shown(context.get(_LIMITS[code]))
    elif code == "not_allowed":
        expected = str(context.get("expected", ""))
        params["allowed"] = ", ".join(f'"{v}"' for v in re.findall(r"'([^']*)'", expected))
    return ConfigError(code, where, params, source)


def _refused_key(loc: tuple[Any, ...], source: str) -> ConfigError:
    """An unknown key, with the known key it most resembles: a typo is the usual cause."""
    key = str(loc[-1])
    if _NOT_IN_FILE.get(key):  # a secret written into the file
        return ConfigError("secret_in_file", _where(loc), {"env": _NOT_IN_FILE[key]}, source)
    known = _known_keys(loc[:-1])
    like = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if like:
        return ConfigError("unknown_key_like", _where(loc), {"suggestion": like[0]}, source)
    return ConfigError("unknown_key", _where(loc), {"known": ", ".join(known)}, source)


def _known_keys(path: tuple[Any, ...]) -> list[str]:
    model: type[BaseModel] = Settings
    for part in path:
        info = model.model_fields.get(str(part))
        annotation = info.annotation if info else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return [k for k in model.model_fields if model is not Settings or k not in _NOT_IN_FILE]


def _where(loc: tuple[Any, ...]) -> str:
    """A pydantic location as the file reads: ``bot.coordinators[0]``."""
    where = ""
    for part in loc:
        where += f"[{part}]" if isinstance(part, int) else (f".{part}" if where else str(part))
    return where


def _shown(value: Any) -> str:
    """A value as it was written in TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, str | list | dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)
