"""`cuibao export`: write a campaign's Excel summary (汇总报表), optionally with its files.

    cuibao export --campaign C [--deadline D] [--with-files] [--standard] [--future]
                  [--out FILE.xlsx]
    cuibao export --campaign C --template MAPPING.toml [--deadline D] [--out FILE.xlsx]

`--deadline` takes an obligation id (every deadline of it), an obligation id and number
(`weekly-report#3`), a due date (`2016-12-15`) or both (`weekly-report@2016-12-15`).
A report's sheet lists the periods already due; `--future` lists those not yet due too.
`--with-files` also writes FILE.zip next to the workbook: the submitted files as
单位/截止事项/原文件名, plus the workbook itself. Without `--out` the workbook is written to
the current folder under a name with the campaign and the time.

When the campaign's plan names a template (its `[export]` table, stored at `plan load`),
the export fills that workbook instead of the standard one; `--standard` asks for the
standard workbook anyway, and `--with-files` always writes it (it goes into the archive).
`--template` fills a workbook given here, as MAPPING.toml says (see
domain/export_template.py). Either way: one deadline per mapped sheet, the latest passed
one unless `--deadline` chooses.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.config import Settings
    from conversation.i18n import Catalogue
    from services.export import ExportedBytes, ExportError, ExportRequest


def add_export_parser(
    commands: Any, common: argparse.ArgumentParser, catalogue: Catalogue | None = None
) -> None:
    """Register `export` on the CLI's subcommands (`commands` is add_subparsers()'s)."""
    from conversation.i18n import Catalogue

    t = (catalogue or Catalogue()).text
    export = commands.add_parser("export", parents=[common], help=t("cli.help.export"))
    export.add_argument("--campaign", required=True, help=t("cli.help.campaign"))
    export.add_argument("--deadline", help=t("cli.help.deadline"))
    export.add_argument("--with-files", action="store_true", help=t("cli.help.with_files"))
    export.add_argument("--out", type=Path, help=t("cli.help.out"))
    export.add_argument("--template", type=Path, help=t("cli.help.template"))
    export.add_argument("--standard", action="store_true", help=t("cli.help.standard"))
    export.add_argument("--future", action="store_true", help=t("cli.help.future"))
    export.add_argument("--now", metavar="T", help=t("cli.help.now"))
    export.set_defaults(run=export_command)


def export_command(args: argparse.Namespace) -> int:
    from bot.cli_common import UsageError, database_setup, parse_now
    from bot.composition import open_services
    from services.export import ExportError, ExportRequest, ExportSummary

    settings, catalogue, language, url = database_setup(args)
    typed_now = getattr(args, "now", None)
    zone = asyncio.run(campaign_zone(url, args.campaign)) if typed_now else "UTC"
    now = parse_now(typed_now, zone, catalogue)
    out: Path | None = args.out
    if out is not None and out.suffix.lower() != ".xlsx":
        out = out.with_name(out.name + ".xlsx")
    request = ExportRequest(
        args.campaign, now, language, args.deadline, future=getattr(args, "future", False)
    )
    template = getattr(args, "template", None)
    if template is not None:
        if args.with_files:
            raise UsageError(catalogue.text("export.template_with_files", language))
        return _template_command(settings, catalogue, language, request, out, template)
    if not args.with_files and not getattr(args, "standard", False):
        done = _plan_template_command(settings, catalogue, language, request, out)
        if done is not None:
            return done

    async def go() -> tuple[ExportSummary, Path]:
        async with open_services(settings) as services:
            service = services.export
            target = out
            if target is None:
                stamp = f"{now.astimezone():%Y%m%d-%H%M}"
                target = Path(
                    catalogue.text(
                        "export.file_name", language, campaign=args.campaign, stamp=stamp
                    )
                )
            target.parent.mkdir(parents=True, exist_ok=True)
            archive = target.with_suffix(".zip") if args.with_files else None
            return await service.export_file(request, catalogue, target, archive), target

    try:
        summary, path = asyncio.run(go())
    except ExportError as exc:
        raise _refused(exc, settings, catalogue, language) from None
    print(
        catalogue.text(
            "export.cli_done",
            language,
            path=str(path),
            units=summary.units,
            deadlines=summary.deadlines,
            submissions=summary.submissions,
        )
    )
    if summary.archive is not None:
        print(
            catalogue.text(
                "export.cli_archive", language, path=str(summary.archive), files=summary.files
            )
        )
    if summary.missing_files:
        print(catalogue.text("export.cli_missing_files", language, count=summary.missing_files))
    return 0


def _template_command(
    settings: Settings,
    catalogue: Catalogue,
    language: str,
    request: ExportRequest,
    out: Path | None,
    mapping: Path,
) -> int:
    from bot.cli_common import UsageError
    from bot.composition import open_services
    from conversation.i18n import plan_error_text
    from domain.export_template import parse_template
    from domain.plan_toml import PlanError
    from services.export import ExportError

    def plan_error(exc: PlanError) -> UsageError:
        return UsageError(plan_error_text(catalogue, exc, language))

    try:
        template = parse_template(mapping.read_text(encoding="utf-8"), str(mapping))
        workbook = mapping.parent / template.file
        data = workbook.read_bytes()
    except FileNotFoundError as exc:
        raise UsageError(
            catalogue.text("cli.not_found", language, path=exc.filename or str(mapping))
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{mapping}: {exc}") from None
    except PlanError as exc:
        raise plan_error(exc) from None

    async def go() -> ExportedBytes:
        async with open_services(settings) as services:
            service = services.export
            return await service.fill_template(request, catalogue, template, data)

    try:
        filled = asyncio.run(go())
    except ExportError as exc:
        raise _refused(exc, settings, catalogue, language) from None
    except PlanError as exc:
        raise plan_error(exc) from None
    _write_filled(catalogue, language, out, filled)
    return 0


def _plan_template_command(
    settings: Settings,
    catalogue: Catalogue,
    language: str,
    request: ExportRequest,
    out: Path | None,
) -> int | None:
    """Fill the template the campaign's plan names; None when it names none."""
    from bot.composition import open_services
    from services.export import ExportError

    async def go() -> ExportedBytes | None:
        async with open_services(settings) as services:
            service = services.export
            return await service.export_plan_template(request, catalogue)

    try:
        filled = asyncio.run(go())
    except ExportError as exc:
        raise _refused(exc, settings, catalogue, language) from None
    if filled is None:
        return None
    _write_filled(catalogue, language, out, filled)
    return 0


def _write_filled(
    catalogue: Catalogue, language: str, out: Path | None, filled: ExportedBytes
) -> None:
    target = out or Path(filled.summary.file_name)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(filled.data)
    print(
        catalogue.text(
            "export.cli_template_done",
            language,
            path=str(target),
            deadlines=filled.summary.deadlines,
            units=filled.summary.units,
        )
    )


def _refused(
    exc: ExportError, settings: Settings, catalogue: Catalogue, language: str
) -> Exception:
    """The one line an ExportError becomes on the command line. An unknown campaign names
    the database asked and the campaigns it holds: a missing --config is the usual cause."""
    from bot.cli_common import UsageError, redact_url
    from services.plans import campaign_codes

    if exc.code != "unknown_campaign":
        return UsageError(catalogue.text(f"export.{exc.code}", language, **exc.params))

    async def known() -> list[str]:
        from storage.database import Database

        async with Database.open(settings.database_url) as db:
            return list(await campaign_codes(db.sessions))

    codes = asyncio.run(known())
    return UsageError(
        catalogue.text(
            "export.cli_unknown_campaign",
            language,
            campaign=exc.params.get("campaign", ""),
            database=redact_url(settings.database_url),
            known=", ".join(codes) or catalogue.text("export.cli_no_campaigns", language),
        )
    )


async def campaign_zone(url: str, campaign: str) -> str:
    """The time zone `--now` without an offset is read in: the campaign's."""
    from sqlalchemy import select

    from domain.plan_toml import DEFAULT_TIMEZONE
    from storage import models as m
    from storage.database import Database

    async with Database.open(url) as db, db.sessions() as s:
        zone = await s.scalar(select(m.Campaign.timezone).where(m.Campaign.code == campaign))
    return zone or DEFAULT_TIMEZONE
