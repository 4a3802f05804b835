"""The `cuibao` command line. Exit codes: 0 ok, 1 invalid input (message on stderr)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import re
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url

from bot.backup_cli import add_backup_parsers
from bot.cli_common import (
    UsageError,
    bot_username,
    cli_catalogue,
    cli_settings,
    cli_settings_or_none,
    database_url,
    parse_now,
    reaching_telegram,
    read_plan,
    read_template,
    redact_url,
)
from bot.config import CONFIG_ENV, ConfigError, Settings, load_settings
from bot.exempt_cli import add_exempt_parser
from bot.export_cli import add_export_parser
from bot.people_cli import add_people_parser
from bot.render import render_schedule, schedule_json
from bot.status_cli import add_status_parsers
from conversation.i18n import LANGUAGES, Catalogue
from domain.plan_toml import placeholders
from scheduler.calendar import WorkdayCalendar
from scheduler.deadlines import expand_plan
from storage.database import Database, DatabaseUnavailable

if TYPE_CHECKING:
    pass


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    catalogue = Catalogue(_language_before_parsing(argv))
    parser = _parser(catalogue)
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return 1
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
    except DatabaseUnavailable as exc:
        print(
            cli_catalogue(args, cli_settings_or_none(args)).text(
                "cli.database_unavailable", url=exc.url, detail=exc.detail
            ),
            file=sys.stderr,
        )
        return 1
    except BrokenPipeError:
        # `cuibao plan extract … | head`: the reader has what it wanted. Say nothing, and
        # keep the interpreter's final flush from failing again on the same pipe.
        _discard_stdout()
        return 141  # what a shell reports for a writer stopped by SIGPIPE


def _language_before_parsing(argv: Sequence[str]) -> str:
    """The language of usage errors and --help: `--lang`, else the config's, else zh-CN."""
    for i, arg in enumerate(argv):
        if arg == "--lang" and i + 1 < len(argv) and argv[i + 1] in LANGUAGES:
            return argv[i + 1]
        if arg.startswith("--lang=") and arg.removeprefix("--lang=") in LANGUAGES:
            return arg.removeprefix("--lang=")
    config = next((argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--config"), None)
    config = config or next(
        (a.removeprefix("--config=") for a in argv if a.startswith("--config=")), None
    )
    try:
        return load_settings(config).bot.language
    except ConfigError:  # said properly once the command runs
        return "zh-CN"


class _Parser(argparse.ArgumentParser):
    """argparse in the user's language: its headings and -h from the catalogue, and a
    usage error is one line on stderr with exit code 1 (not argparse's 2)."""

    catalogue = Catalogue()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        help_wanted = kwargs.get("add_help", True)
        parents = kwargs.pop("parents", [])
        super().__init__(*args, **{**kwargs, "add_help": False})
        t = self.catalogue.text
        # Retitled before the parents' options join, so that they land in the same group.
        self._positionals.title = t("cli.help.positionals")
        self._optionals.title = t("cli.help.options")
        if help_wanted:
            self.add_argument(
                "-h", "--help", action="help", default=argparse.SUPPRESS, help=t("cli.help.help")
            )
        for parent in parents:
            self._add_container_actions(parent)
            self._defaults.update(parent._defaults)

    def format_usage(self) -> str:
        return _localized_usage(super().format_usage(), self.catalogue)

    def format_help(self) -> str:
        return _localized_usage(super().format_help(), self.catalogue)

    def error(self, message: str) -> NoReturn:
        t = self.catalogue.text
        for pattern, key in _ARGPARSE_ERRORS:
            found = re.fullmatch(pattern, message)
            if found:
                message = t(key, **found.groupdict())
                break
        raise UsageError(t("cli.usage_error", prog=self.prog, message=message))


# argparse's own complaints (Python 3.11-3.13 wording), each with its catalogue text.
_ARGPARSE_ERRORS = (
    (r"the following arguments are required: (?P<names>.+)", "cli.argparse.required"),
    (r"unrecognized arguments: (?P<names>.+)", "cli.argparse.unrecognized"),
    (
        r"argument (?P<name>-\S+): invalid choice: (?P<value>.+?) \(choose from (?P<choices>.+)\)",
        "cli.argparse.option_choice",
    ),
    (
        r"argument (?P<name>\S+): invalid choice: (?P<value>.+?) \(choose from (?P<choices>.+)\)",
        "cli.argparse.choice",
    ),
    (r"argument (?P<name>\S+): expected one argument", "cli.argparse.one_value"),
    (r"argument (?P<name>\S+): invalid \S+ value: (?P<value>.+)", "cli.argparse.value"),
    (r"invalid choice: (?P<value>.+?) \(choose from (?P<choices>.+)\)", "cli.argparse.choice"),
)


def _localized_usage(text: str, catalogue: Catalogue) -> str:
    prefix = catalogue.text("cli.help.usage")
    return prefix + text.removeprefix("usage: ") if text.startswith("usage: ") else text


def _h(catalogue: Catalogue, key: str) -> str:
    """A help text from the catalogue (`cli.help.<key>`)."""
    return catalogue.text(f"cli.help.{key}")


def _show_help(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    """`cuibao plan` without its subcommand: that group's help, not the top level's."""

    def run(_args: argparse.Namespace) -> int:
        parser.print_help()
        return 0

    return run


def _parser(catalogue: Catalogue | None = None) -> argparse.ArgumentParser:
    catalogue = catalogue or Catalogue()
    # Every parser, the subcommands' too, is a _Parser speaking this language.
    parser_class: type[_Parser] = type("_LocalParser", (_Parser,), {"catalogue": catalogue})

    def h(key: str) -> str:
        return _h(catalogue, key)

    # The options are accepted before and after the command; SUPPRESS keeps a value given
    # before the command from being reset by the subcommand's own default.
    common = parser_class(add_help=False)
    common.add_argument("--config", default=argparse.SUPPRESS, help=h("config"))
    common.add_argument("--lang", choices=LANGUAGES, default=argparse.SUPPRESS, help=h("lang"))
    parser = parser_class(prog="cuibao", parents=[common], description=h("description"))
    parser.add_argument(
        "--version", action="version", version=f"cuibao {_version()}", help=h("version")
    )
    commands = parser.add_subparsers(title=h("commands"), parser_class=parser_class)

    plan = commands.add_parser("plan", help=h("plan"))
    plan_commands = plan.add_subparsers(title=h("plan_commands"), parser_class=parser_class)
    plan.set_defaults(run=_show_help(plan))
    check = plan_commands.add_parser("check", parents=[common], help=h("plan_check"))
    check.add_argument("plan", type=Path)
    check.add_argument("--json", action="store_true", help=h("json"))
    check.add_argument("--now", help=argparse.SUPPRESS)  # tests: bounds open-ended rules
    check.set_defaults(run=_plan_check)
    load = plan_commands.add_parser("load", parents=[common], help=h("plan_load"))
    load.add_argument("plan", type=Path)
    load.add_argument(
        "--yes",
        action="store_true",
        help="apply the changes to an existing campaign without asking",
    )
    load.set_defaults(run=_plan_load)

    extract = plan_commands.add_parser("extract", parents=[common], help=h("plan_extract"))
    extract.add_argument("notice", type=Path)
    extract.add_argument("--json", action="store_true", help=h("extract_json"))
    extract.add_argument("--toml-out", type=Path, help=h("toml_out"))
    extract.set_defaults(run=_plan_extract)

    run = commands.add_parser("run", parents=[common], help=h("run"))
    run.add_argument("--role", choices=("web", "worker", "jobs", "all"), help=h("role"))
    run.add_argument("--port", type=_port, help=h("port"))
    run.set_defaults(run=_run)

    invite = commands.add_parser("invite", parents=[common], help=h("invite"))
    invite.add_argument("--campaign", required=True, help=h("campaign"))
    invite.add_argument("--units", help=h("units"))
    invite.add_argument("--coordinator", action="store_true", help=h("coordinator"))
    invite.add_argument("--leaders", action="store_true", help=h("leaders"))
    invite.add_argument("--bot-username", help=h("bot_username"))
    invite.add_argument("--platform", choices=("telegram", "dingtalk"), help=h("invite_platform"))
    invite.set_defaults(run=_invite)

    demo = commands.add_parser("demo", parents=[common], help=h("demo"))
    demo.add_argument("--data-dir", type=Path, default=Path("demo-data"), help=h("data_dir"))
    demo.add_argument(
        "--platform", choices=("telegram", "dingtalk"), default="telegram", help=h("demo_platform")
    )
    demo.set_defaults(run=_demo)

    add_export_parser(commands, common, catalogue)
    add_exempt_parser(commands, common)
    add_people_parser(commands, common)
    add_status_parsers(commands, common)

    add_backup_parsers(commands, common, h)

    calendar = commands.add_parser("calendar", parents=[common], help=h("calendar"))
    calendar.set_defaults(run=_calendar)

    db = commands.add_parser("db", help=h("db"))
    db_commands = db.add_subparsers(title=h("db_commands"), parser_class=parser_class)
    db.set_defaults(run=_show_help(db))
    upgrade = db_commands.add_parser("upgrade", parents=[common], help=h("db_upgrade"))
    upgrade.set_defaults(run=_db_upgrade)
    return parser


def _plan_check(args: argparse.Namespace) -> int:
    settings = cli_settings(args)
    catalogue = cli_catalogue(args, settings)
    plan, text = read_plan(args.plan, catalogue)
    read_template(args.plan, plan, catalogue)
    calendar = WorkdayCalendar(settings.calendar.overrides(), plan.calendar)
    expansion = expand_plan(plan, parse_now(args.now, plan.timezone, catalogue), calendar)
    if args.json:
        print(json.dumps(schedule_json(plan, expansion, catalogue), ensure_ascii=False, indent=2))
    else:
        print(render_schedule(plan, expansion, catalogue))
    unfilled = placeholders(text)
    if unfilled:
        # Loud, and on stderr too when stdout is JSON: `plan load` will refuse this file.
        print(
            "!! "
            + catalogue.text(
                "plan.placeholders_left", count=len(unfilled), keys=", ".join(unfilled)
            ),
            file=sys.stderr if args.json else sys.stdout,
        )
    return 0


def _run_async(factory: Callable[[], Any]) -> Any:
    return asyncio.run(factory())


def _plan_load(args: argparse.Namespace) -> int:
    from conversation.revisions import revision_text
    from services.plans import RevisionConflict, load_plan, plan_revision_of

    settings = cli_settings(args)
    catalogue = cli_catalogue(args, settings)
    plan, text = read_plan(args.plan, catalogue)
    unfilled = placeholders(text)
    if unfilled:
        raise UsageError(
            f"{args.plan}: "
            + catalogue.text(
                "plan.placeholders_refused", count=len(unfilled), keys=", ".join(unfilled)
            )
        )
    template = read_template(args.plan, plan, catalogue)
    overrides = settings.calendar.overrides()
    now = datetime.now(UTC)
    url = database_url(settings, catalogue, create=True)

    async def difference() -> Any:
        async with Database.open(url) as db:
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
        async with Database.open(url) as db:
            return await load_plan(
                db.sessions,
                plan,
                str(args.plan),
                text,
                now,
                overrides,
                template,
                expected_version=revision.base_version if revision is not None else 0,
            )

    try:
        report = _run_async(go)
    except RevisionConflict as exc:
        raise UsageError(
            catalogue.text("revision.cli_stale", campaign=exc.campaign, version=exc.version)
        ) from None
    key = "load.unchanged" if report.unchanged else "load.done"
    print(catalogue.text(key, **vars(report)))
    if report.template is not None:
        print(catalogue.text(f"load.template_{report.template}", file=report.template_file))
    for w in report.warnings:
        print("  ! " + catalogue.text(f"warning.{w.code}", **w.params))
    return 0


def _db_upgrade(args: argparse.Namespace) -> int:

    settings = cli_settings(args)
    url = database_url(settings, cli_catalogue(args, settings), create=True)

    async def go() -> str | None:
        async with Database.open(url) as db:
            return await db.revision()

    revision = _run_async(go)
    print(
        cli_catalogue(args, settings).text(
            "db.upgraded", revision=revision, url=redact_url(settings.database_url)
        )
    )
    return 0


def _plan_extract(args: argparse.Namespace) -> int:
    from conversation.notices import extract_command

    return extract_command(
        args.notice,
        as_json=args.json,
        toml_out=args.toml_out,
        catalogue=cli_catalogue(args, cli_settings(args)),
        error=UsageError,
    )


def _run(args: argparse.Namespace) -> int:
    from bot.app import run

    settings = cli_settings(args)
    catalogue = cli_catalogue(args, settings)
    dingtalk = bool(settings.dingtalk.client_id)
    if dingtalk and settings.dingtalk_secret is None:
        raise UsageError(catalogue.text("cli.no_dingtalk_secret"))
    if settings.token is None and not dingtalk:
        raise UsageError(catalogue.text("cli.no_token"))
    role = getattr(args, "role", None)
    if role is not None:
        _check_role(settings, catalogue, role)
    settings = _with_port(settings, getattr(args, "port", None), role)
    database_url(settings, catalogue, create=True)
    webhook_problem = _webhook_problem(settings)
    if webhook_problem is not None:
        raise UsageError(
            catalogue.text(f"cli.webhook_{webhook_problem}", url=settings.bot.webhook_url)
        )
    from bot.ops import configure_logging

    configure_logging(settings.ops.log_format)
    # httpx logs every request with the token in the URL: keep it out of the logs.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # A start that cannot reach Telegram is said in one line below; PTB would log it first
    # as a hundred-line traceback.
    logging.getLogger("telegram.ext").addFilter(_not_a_failed_start)
    if settings.token is None:  # DingTalk only
        if role is None:
            run(settings)
        else:
            from bot.queued import run as run_role

            run_role(settings, role)
        return 0
    with reaching_telegram(settings, catalogue):
        if role is None:
            run(settings)
        else:
            from bot.queued import run as run_role

            run_role(settings, role)
    return 0


def _port(value: str) -> int:
    port = int(value)
    if not 0 < port < 65536:
        raise ValueError(value)
    return port


def _with_port(settings: Settings, port: int | None, role: str | None) -> Settings:
    """`--port`: several processes on one host from one config file (a systemd template
    unit's instance). The webhook's port, or for `--role worker|jobs` health and metrics'."""
    if port is None:
        return settings
    if role in ("worker", "jobs"):
        host = settings.ops.listen.rpartition(":")[0] or "127.0.0.1"
        ops = settings.ops.model_copy(update={"listen": f"{host}:{port}"})
        return settings.model_copy(update={"ops": ops})
    bot = settings.bot.model_copy(update={"webhook_port": port})
    return settings.model_copy(update={"bot": bot})


def _check_role(settings: Settings, catalogue: Catalogue, role: str) -> None:
    if settings.token is None and role == "web":  # DingTalk alone: Stream, no webhook
        raise UsageError(catalogue.text("cli.role_web_needs_telegram"))
    if make_url(settings.database_url).get_backend_name() != "postgresql":
        shown = make_url(settings.database_url).render_as_string(hide_password=True)
        raise UsageError(catalogue.text("cli.role_needs_postgresql", role=role, url=shown))
    if settings.token is not None and settings.bot.mode != "webhook":
        raise UsageError(catalogue.text("cli.role_needs_webhook", role=role))


def _not_a_failed_start(record: logging.LogRecord) -> bool:
    from telegram.error import InvalidToken, NetworkError

    failure = record.exc_info[1] if record.exc_info else None
    return not (
        "(Bootstrap" in record.getMessage() and isinstance(failure, InvalidToken | NetworkError)
    )


def _invite(args: argparse.Namespace) -> int:
    from bot.composition import open_services
    from services.access import Role

    settings = cli_settings(args)
    catalogue = cli_catalogue(args, settings)
    url = database_url(settings, catalogue)
    # DingTalk has no deep links: its invitation is the words to send the robot. A config
    # that serves DingTalk alone (no bot token) means DingTalk unless told otherwise.
    platform = args.platform or (
        "dingtalk" if settings.dingtalk.client_id and settings.token is None else "telegram"
    )
    username = (
        "" if platform == "dingtalk" else args.bot_username or bot_username(settings, catalogue)
    )
    units = [u.strip() for u in args.units.split(",")] if args.units else None
    role = Role.COORDINATOR if args.coordinator else Role.LEADER if args.leaders else Role.LIAISON

    async def go() -> Any:
        async with open_services(settings, url) as services:
            return await services.access.create_invites(
                args.campaign, datetime.now(UTC), settings.bot.invite_days, units, role
            )

    try:
        invites = _run_async(go)
    except LookupError as exc:
        raise UsageError(catalogue.text("cli.unknown_campaign_or_unit", value=str(exc))) from None
    for invite in invites:
        label = invite.unit_name or catalogue.text("role.coordinator")
        words = (
            f"绑定 {invite.token}"
            if platform == "dingtalk"
            else f"https://t.me/{username}?start={invite.token}"
        )
        print(f"{label}\t{words}")
    footer = "cli.invites_expire_coordinator" if args.coordinator else "cli.invites_expire"
    print(catalogue.text(footer, days=settings.bot.invite_days), file=sys.stderr)
    return 0


def _calendar(args: argparse.Namespace) -> int:
    """Which years the holiday data covers, which overrides the config adds, and which
    years near today are counted Monday to Friday without anybody having said so."""
    from scheduler.calendar import package_version, package_years

    settings = cli_settings(args)
    t = cli_catalogue(args, settings).text
    first, last = package_years()
    print(t("calendar.data", version=package_version(), first=first, last=last))
    options = settings.calendar
    years = sorted(
        {d.year for d in (*options.workdays, *options.holidays)} | set(options.complete_years)
    )
    source = load_source(args) or t("calendar.defaults")
    print(
        t("calendar.config", source=source) if years else t("calendar.no_overrides", source=source)
    )
    for year in years:
        workdays = sorted(d for d in options.workdays if d.year == year)
        holidays = sorted(d for d in options.holidays if d.year == year)
        print(
            t(
                "calendar.year",
                year=year,
                workdays=_days(workdays),
                holidays=_days(holidays),
                complete=t(
                    "calendar.complete"
                    if year in options.complete_years
                    else "calendar.incomplete"
                ),
            )
        )
    this_year = datetime.now(UTC).year
    for year in (this_year, this_year + 1):
        if year > last and year not in options.complete_years:
            print(t("calendar.missing", year=year))
    return 0


def load_source(args: argparse.Namespace) -> str:
    """The config file a command reads (the same order as load_settings), or ""."""
    chosen = args.config or os.environ.get(CONFIG_ENV)
    return str(chosen) if chosen else ("config.toml" if Path("config.toml").is_file() else "")


def _days(days: Sequence[Any]) -> str:
    return ", ".join(d.isoformat() for d in days) or "—"


def _webhook_problem(settings: Settings) -> str | None:
    """What keeps webhook mode from working, as a `cli.webhook_*` text code, or None."""
    if settings.bot.mode != "webhook":
        return None
    parts = urlsplit(settings.bot.webhook_url)
    # Telegram posts to public HTTPS addresses only; a Bot API server of one's own on this
    # machine may post over plain HTTP.
    local = parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")
    if not parts.netloc or not (parts.scheme == "https" or local):
        return "url"
    return None


def _version() -> str:
    try:
        return version("cuibao")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "0+unknown"


def _demo(args: argparse.Namespace) -> int:
    from bot.demo import run_demo

    return run_demo(args.data_dir, language=args.lang or "zh-CN", platform=args.platform)


def _discard_stdout() -> None:
    with contextlib.suppress(OSError, ValueError):  # not a real file (tests capture it)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
