"""The `cuibao` command line. Exit codes: 0 ok, 1 invalid input (message on stderr)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from bot.config import ConfigError, Settings, load_settings
from bot.export_cli import add_export_parser
from bot.i18n import LANGUAGES, Catalogue, config_error_text, plan_error_text
from bot.render import render_schedule, schedule_json
from bot.status_cli import add_status_parsers
from domain.plan import Plan
from domain.plan_toml import PlanError, parse_plan
from scheduler.calendar import WorkdayCalendar
from scheduler.deadlines import expand_plan

if TYPE_CHECKING:
    from services.plans import TemplateFile


class UsageError(Exception):
    """Invalid input: printed on stderr, exit code 1."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    for option in ("config", "lang"):  # SUPPRESS leaves them unset when not given
        setattr(args, option, getattr(args, option, None))
    if not hasattr(args, "run"):
        parser.print_help()
        return 0
    try:
        code = int(args.run(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not at exit where it cannot be caught
        return code
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return 1
    except BrokenPipeError:
        # `cuibao plan extract … | head`: the reader has what it wanted. Say nothing, and
        # keep the interpreter's final flush from failing again on the same pipe.
        _discard_stdout()
        return 141  # what a shell reports for a writer stopped by SIGPIPE


def _parser() -> argparse.ArgumentParser:
    # The options are accepted before and after the command; SUPPRESS keeps a value given
    # before the command from being reset by the subcommand's own default.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", default=argparse.SUPPRESS,
                        help="config file (default: $CUIBAO_CONFIG or ./config.toml)")
    common.add_argument("--lang", choices=LANGUAGES, default=argparse.SUPPRESS,
                        help="language of messages (default: config)")
    parser = argparse.ArgumentParser(prog="cuibao", parents=[common],
                                     description="催报 cuibao: campaign reporting bot")
    commands = parser.add_subparsers(title="commands")

    plan = commands.add_parser("plan", help="check, load or extract campaign plans")
    plan_commands = plan.add_subparsers(title="plan commands")
    check = plan_commands.add_parser("check", parents=[common],
                                     help="validate a plan file and print its deadlines")
    check.add_argument("plan", type=Path)
    check.add_argument("--json", action="store_true", help="machine-readable output")
    check.add_argument("--now", help=argparse.SUPPRESS)  # tests: bounds open-ended rules
    check.set_defaults(run=_plan_check)
    load = plan_commands.add_parser("load", parents=[common],
                                    help="store a plan, or apply an edited one")
    load.add_argument("plan", type=Path)
    load.add_argument("--yes", action="store_true",
                      help="apply the changes to an existing campaign without asking")
    load.set_defaults(run=_plan_load)

    extract = plan_commands.add_parser(
        "extract", parents=[common], help="find the reporting deadlines in a notice (.txt/.docx)")
    extract.add_argument("notice", type=Path)
    extract.add_argument("--json", action="store_true",
                         help="print {doc_date, obligations} in the annotation schema")
    extract.add_argument("--toml-out", type=Path, help="write a draft plan file here")
    extract.set_defaults(run=_plan_extract)

    run = commands.add_parser("run", parents=[common],
                              help="serve the bot (long polling, or webhook per config)")
    run.set_defaults(run=_run)

    invite = commands.add_parser("invite", parents=[common],
                                 help="print one invitation deep link per unit")
    invite.add_argument("--campaign", required=True)
    invite.add_argument("--units", help="comma-separated unit ids (default: every unit)")
    invite.add_argument("--coordinator", action="store_true",
                        help="one link that makes its first user a coordinator")
    invite.add_argument("--bot-username", help="the bot's @username (default: ask Telegram)")
    invite.set_defaults(run=_invite)

    demo = commands.add_parser("demo", parents=[common],
                               help="play a short campaign offline against a fake Telegram")
    demo.add_argument("--data-dir", type=Path, default=Path("demo-data"),
                      help="where the demo leaves its database, files and config")
    demo.set_defaults(run=_demo)

    add_export_parser(commands, common)
    add_status_parsers(commands, common)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(title="db commands")
    upgrade = db_commands.add_parser("upgrade", parents=[common],
                                     help="create or migrate the schema to the latest revision")
    upgrade.set_defaults(run=_db_upgrade)
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    try:
        return load_settings(args.config)
    except ConfigError as exc:
        raise UsageError(config_error_text(Catalogue(args.lang or "zh-CN"), exc)) from None


def _catalogue(args: argparse.Namespace, settings: Settings | None = None) -> Catalogue:
    return Catalogue(args.lang or (settings.bot.language if settings else "zh-CN"))


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
        raise UsageError(catalogue.text("plan.error", source=str(path), where="export.file",
                                        message=catalogue.text("cli.not_found",
                                                               path=str(workbook)))) from None
    problem = template_problem(plan.export, data, len(plan.units))
    if problem is not None:
        message = catalogue.text(f"export.{problem.code}", **problem.params)
        where = f"export.{problem.params.get('at', 'file')}"
        raise UsageError(catalogue.text("plan.error", source=str(path), where=where,
                                        message=message))
    return TemplateFile(plan.export.file_name, data)


def _now(args: argparse.Namespace) -> datetime:
    if getattr(args, "now", None):
        try:
            moment = datetime.fromisoformat(args.now)
        except ValueError:
            raise UsageError(f"--now: {args.now!r} is not an ISO date-time") from None
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    return datetime.now(UTC)


def _plan_check(args: argparse.Namespace) -> int:
    settings = _settings(args) if args.config else None
    catalogue = _catalogue(args, settings)
    plan, _ = read_plan(args.plan, catalogue)
    read_template(args.plan, plan, catalogue)
    overrides = settings.calendar.overrides() if settings else None
    calendar = WorkdayCalendar(*(o for o in (overrides, plan.calendar) if o is not None))
    expansion = expand_plan(plan, _now(args), calendar)
    if args.json:
        print(json.dumps(schedule_json(plan, expansion, catalogue), ensure_ascii=False, indent=2))
    else:
        print(render_schedule(plan, expansion, catalogue))
    return 0


def _run_async(factory: Callable[[], Any]) -> Any:
    return asyncio.run(factory())


def _plan_load(args: argparse.Namespace) -> int:
    from bot.revisions import revision_text
    from services.plans import RevisionConflict, load_plan, plan_revision_of
    from storage.database import Database

    settings = _settings(args)
    catalogue = _catalogue(args, settings)
    plan, text = read_plan(args.plan, catalogue)
    template = read_template(args.plan, plan, catalogue)
    overrides = settings.calendar.overrides()
    now = datetime.now(UTC)

    async def difference() -> Any:
        async with Database.open(settings.database_url) as db:
            return await plan_revision_of(db.sessions, plan, text, now, overrides)

    def confirmed() -> bool:
        if args.yes:
            return True
        if not sys.stdin.isatty():
            raise UsageError(catalogue.text("revision.cli_needs_yes"))
        try:
            answer = input(catalogue.text("revision.cli_ask"))
        except EOFError:
            answer = ""
        return answer.strip().lower() in ("y", "yes", "是")

    # Over an existing campaign a load is a revision: its difference first, then consent.
    revision = _run_async(difference)
    if revision is not None and not revision.unchanged:
        print(revision_text(catalogue, revision))
        sys.stdout.flush()
        if not confirmed():
            raise UsageError(catalogue.text("revision.cli_declined"))

    async def go() -> Any:
        async with Database.open(settings.database_url) as db:
            return await load_plan(db.sessions, plan, str(args.plan), text, now, overrides,
                                   template, expected_version=revision.base_version
                                   if revision is not None else 0)

    try:
        report = _run_async(go)
    except RevisionConflict as exc:
        raise UsageError(catalogue.text("revision.cli_stale", campaign=exc.campaign,
                                        version=exc.version)) from None
    key = "load.unchanged" if report.unchanged else "load.done"
    print(catalogue.text(key, **vars(report)))
    if report.template is not None:
        print(catalogue.text(f"load.template_{report.template}", file=report.template_file))
    for w in report.warnings:
        print("  ! " + catalogue.text(f"warning.{w.code}", **w.params))
    return 0


def _db_upgrade(args: argparse.Namespace) -> int:
    from storage.database import Database

    settings = _settings(args)

    async def go() -> str | None:
        async with Database.open(settings.database_url) as db:
            return await db.revision()

    revision = _run_async(go)
    print(_catalogue(args, settings).text("db.upgraded", revision=revision,
                                          url=_redact(settings.database_url)))
    return 0


def _plan_extract(args: argparse.Namespace) -> int:
    from bot.notices import extract_command

    return extract_command(args.notice, as_json=args.json, toml_out=args.toml_out,
                           catalogue=_catalogue(args), error=UsageError)


def _run(args: argparse.Namespace) -> int:
    from bot.app import run

    settings = _settings(args)
    catalogue = _catalogue(args, settings)
    if settings.token is None:
        raise UsageError(catalogue.text("cli.no_token"))
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx logs every request with the token in the URL: keep it out of the logs.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # A start that cannot reach Telegram is said in one line below; PTB would log it first
    # as a hundred-line traceback.
    logging.getLogger("telegram.ext").addFilter(_not_a_failed_start)
    with _reaching_telegram(settings, catalogue):
        run(settings)
    return 0


def _not_a_failed_start(record: logging.LogRecord) -> bool:
    from telegram.error import InvalidToken, NetworkError

    failure = record.exc_info[1] if record.exc_info else None
    return not ("(Bootstrap" in record.getMessage()
                and isinstance(failure, InvalidToken | NetworkError))


@contextlib.contextmanager
def _reaching_telegram(settings: Settings, catalogue: Catalogue) -> Iterator[None]:
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


def _invite(args: argparse.Namespace) -> int:
    from services.access import AccessService, Role
    from storage.database import Database

    settings = _settings(args)
    catalogue = _catalogue(args, settings)
    username = args.bot_username or _bot_username(settings, catalogue)
    units = [u.strip() for u in args.units.split(",")] if args.units else None
    role = Role.COORDINATOR if args.coordinator else Role.LIAISON

    async def go() -> Any:
        async with Database.open(settings.database_url) as db:
            service = AccessService(db.sessions)
            return await service.create_invites(args.campaign, datetime.now(UTC),
                                                settings.bot.invite_days, units, role)

    try:
        invites = _run_async(go)
    except LookupError as exc:
        raise UsageError(catalogue.text("cli.unknown_campaign_or_unit", value=str(exc))) from None
    for invite in invites:
        label = invite.unit_name or catalogue.text("role.coordinator")
        print(f"{label}\thttps://t.me/{username}?start={invite.token}")
    footer = "cli.invites_expire_coordinator" if args.coordinator else "cli.invites_expire"
    print(catalogue.text(footer, days=settings.bot.invite_days), file=sys.stderr)
    return 0


def _bot_username(settings: Settings, catalogue: Catalogue) -> str:
    if settings.token is None:
        raise UsageError(catalogue.text("cli.no_token_for_username"))
    from telegram import Bot

    async def go() -> str:
        async with Bot(settings.token.get_secret_value() if settings.token else "",
                       base_url=settings.bot.api_base_url) as bot:
            return bot.username

    with _reaching_telegram(settings, catalogue):
        return str(_run_async(go))


def _demo(args: argparse.Namespace) -> int:
    from bot.demo import run_demo

    return run_demo(args.data_dir, language=args.lang or "zh-CN")


def _discard_stdout() -> None:
    with contextlib.suppress(OSError, ValueError):  # not a real file (tests capture it)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
