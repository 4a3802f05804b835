"""What every command of the command line shares: its one-line usage error, the config
and database it opens, and how it reads plans and times. Imported by bot/cli.py and by
the command modules (bot/*_cli.py), which bot/cli.py imports in turn."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from bot.config import ConfigError, Settings, load_settings
from conversation.i18n import Catalogue, plan_error_text
from domain.plan import Plan
from domain.plan_toml import PlanError, parse_plan
from storage.db import missing_sqlite_file, missing_sqlite_folder

if TYPE_CHECKING:
    from services.plans import TemplateFile


class UsageError(Exception):
    """Invalid input: printed on stderr, exit code 1."""


def config_error_text(
    catalogue: Catalogue, error: ConfigError, language: str | None = None
) -> str:
    """The one line a config file is refused with: file, key path or line, cause."""
    message = catalogue.text(f"config.{error.code}", language, **error.params)
    detail = ": ".join(part for part in (error.source, error.where, message) if part)
    return catalogue.text("cli.config_error", language, detail=detail)


def database_setup(args: argparse.Namespace) -> tuple[Settings, Catalogue, str, str]:
    """How every command that reads or changes a campaign starts: the config (a mistake in
    it is one localized line), the user's language and its catalogue, and the database
    URL, refused in one line when the database is not there (never created by a read)."""
    language = getattr(args, "lang", None)
    try:
        settings = load_settings(getattr(args, "config", None))
    except ConfigError as exc:
        raise UsageError(
            config_error_text(Catalogue(language or "zh-CN"), exc, language)
        ) from None
    language = language or settings.bot.language
    catalogue = Catalogue(language)
    return settings, catalogue, language, database_url(settings, catalogue)


def cli_settings(args: argparse.Namespace) -> Settings:
    try:
        return load_settings(args.config)
    except ConfigError as exc:
        raise UsageError(config_error_text(Catalogue(args.lang or "zh-CN"), exc)) from None


def cli_settings_or_none(args: argparse.Namespace) -> Settings | None:
    try:
        return load_settings(args.config)
    except ConfigError:
        return None


def cli_catalogue(args: argparse.Namespace, settings: Settings | None = None) -> Catalogue:
    return Catalogue(args.lang or (settings.bot.language if settings else "zh-CN"))


def database_url(settings: Settings, catalogue: Catalogue, *, create: bool = False) -> str:
    """The database URL a command may open. Only `db upgrade`, `plan load` and `run` create
    a SQLite file (`create`); the others refuse to leave an empty one behind. No command
    creates a missing folder: a typo in the path is the usual cause."""
    url = settings.database_url
    folder = missing_sqlite_folder(url)
    if folder is not None:
        raise UsageError(
            catalogue.text("cli.database_no_folder", folder=str(folder), url=settings.database.url)
        )
    missing = None if create else missing_sqlite_file(url)
    if missing is not None:
        raise UsageError(catalogue.text("export.cli_no_database", path=str(missing)))
    return url


def read_plan(path: Path, catalogue: Catalogue) -> tuple[Plan, str]:
    """Parse a plan file, turning every problem into one line naming file, place and cause."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(catalogue.text("cli.not_found", path=str(path))) from None
    except (OSError, UnicodeDecodeError) as exc:
        message = catalogue.text("plan.file_unreadable", detail=str(exc))
        raise UsageError(f"{path}: {message}") from None
    try:
        return parse_plan(text, str(path)), text
    except PlanError as exc:
        raise UsageError(plan_error_text(catalogue, exc)) from None


def read_template(path: Path, plan: Plan, catalogue: Catalogue) -> TemplateFile | None:
    """The workbook the plan's `[export]` names, read next to the plan file and checked
    against the mapping; None when the plan names none."""
    from services.export import template_problem
    from services.plans import TemplateFile

    if plan.export is None:
        return None
    workbook = path.parent / plan.export.file
    try:
        data = workbook.read_bytes()
    except OSError:
        raise UsageError(
            catalogue.text(
                "plan.error",
                source=str(path),
                where="export.file",
                message=catalogue.text("cli.not_found", path=str(workbook)),
            )
        ) from None
    problem = template_problem(plan.export, data, len(plan.units))
    if problem is not None:
        message = catalogue.text(f"export.{problem.code}", **problem.params)
        where = f"export.{problem.params.get('at', 'file')}"
        raise UsageError(
            catalogue.text("plan.error", source=str(path), where=where, message=message)
        )
    return TemplateFile(plan.export.file_name, data)


def parse_now(value: str | None, zone: str, catalogue: Catalogue) -> datetime:
    """`--now`: an ISO date-time; without an offset it is wall-clock time in `zone` (the
    campaign's), as the person typing it reads their clock. None: now."""
    if not value:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(catalogue.text("cli.bad_now", value=value)) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(zone))).astimezone(UTC)


def redact_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@contextlib.contextmanager
def reaching_telegram(settings: Settings, catalogue: Catalogue) -> Iterator[None]:
    """Turn "Telegram cannot be reached" and "the token was refused" into one line each:
    api.telegram.org is blocked on many networks, so this is a setup step, not a crash."""
    from telegram.error import InvalidToken, NetworkError

    parts = urlsplit(settings.bot.api_base_url)
    url = f"{parts.scheme}://{parts.netloc}" if parts.netloc else settings.bot.api_base_url
    try:
        yield
    except InvalidToken:
        raise UsageError(catalogue.text("cli.token_refused", url=url)) from None
    except NetworkError:  # TimedOut included
        raise UsageError(catalogue.text("cli.unreachable", url=url)) from None
    except RuntimeError as exc:
        if "socks" not in str(exc).lower():
            raise
        # HTTPS_PROXY / ALL_PROXY = socks5://…: httpx needs the extra package for that.
        raise UsageError(catalogue.text("cli.socks_proxy")) from None


def bot_username(settings: Settings, catalogue: Catalogue) -> str:
    if settings.token is None:
        raise UsageError(catalogue.text("cli.no_token_for_username"))
    from telegram import Bot

    async def go() -> str:
        async with Bot(
            settings.token.get_secret_value() if settings.token else "",
            base_url=settings.bot.api_base_url,
        ) as bot:
            return bot.username

    with reaching_telegram(settings, catalogue):
        return str(asyncio.run(go()))
