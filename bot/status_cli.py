"""`cuibao status` and `cuibao tongbao`: the progress board and the 报送情况通报 on the
command line.

    cuibao status --campaign C [--png FILE.png] [--now T]
    cuibao tongbao --campaign C [--period deadline:ID|week|month|all] --out FILE.docx [--now T]

`status` prints each deadline's counts and completion rate; `--png` writes the board as
pictures: FILE.png when it fits one page, else FILE-1.png, FILE-2.png, … and the summary
by 分组 as FILE-groups.png. `tongbao` writes the draft 通报 (FILE.docx), its table
(FILE.xlsx) and its picture (FILE.png) side by side.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.config import Settings
    from conversation.i18n import Catalogue
    from services.board import CampaignBoard, Period


def add_status_parsers(commands: Any, common: argparse.ArgumentParser) -> None:
    """Register `status` and `tongbao` on the CLI's subcommands."""
    now_help = "judge what is due as of T (ISO date-time) instead of now"
    status = commands.add_parser(
        "status", parents=[common], help="print a campaign's progress, optionally as pictures"
    )
    status.add_argument("--campaign", required=True, help="the campaign id")
    status.add_argument("--png", type=Path, help="also draw the board into this .png")
    status.add_argument("--now", metavar="T", help=now_help)
    status.set_defaults(run=status_command)
    tongbao = commands.add_parser(
        "tongbao", parents=[common], help="draft a 报送情况通报 (.docx, .xlsx and .png)"
    )
    tongbao.add_argument("--campaign", required=True, help="the campaign id")
    tongbao.add_argument(
        "--period", default="all", help="deadline:ID, week, month or all (default: all so far)"
    )
    tongbao.add_argument("--out", type=Path, required=True, help="the .docx to write")
    tongbao.add_argument("--now", metavar="T", help=now_help)
    tongbao.set_defaults(run=tongbao_command)


def status_command(args: argparse.Namespace) -> int:
    from domain.board import Cell
    from services.pictures import board_texts, render_board, render_groups

    settings, catalogue, language, now = _setup(args)
    found = _board(settings, catalogue, language, args.campaign, now, None)
    board = found.board
    names = {cell: catalogue.text(f"picture.cell.{cell.value}", language) for cell in Cell}
    print(
        catalogue.text(
            "picture.title",
            language,
            campaign=board.campaign,
            when=catalogue.when(board.as_of, language),
        )
    )
    for j, d in enumerate(board.deadlines):
        column = board.column(j)
        counts = " · ".join(f"{names[c]} {column.count(c)}" for c in Cell if column.count(c))
        rate = board.rate(j)
        label = catalogue.deadline(d.title, d.seq, d.repeats, d.due, language)
        print(
            catalogue.text(
                "status_cli.line",
                language,
                label=label,
                counts=counts or "—",
                rate="—" if rate is None else f"{rate:.0%}",
            )
        )
    if args.png is not None:
        texts = board_texts(board, catalogue, language, found.code)
        pages = render_board(board, texts)
        target: Path = args.png.with_suffix(".png")
        target.parent.mkdir(parents=True, exist_ok=True)
        written = []
        if len(pages) == 1:
            written.append(_write(target, pages[0]))
        else:
            for i, page in enumerate(pages, start=1):
                written.append(_write(target.with_name(f"{target.stem}-{i}.png"), page))
            written.append(
                _write(target.with_name(f"{target.stem}-groups.png"), render_groups(board, texts))
            )
        print(
            catalogue.text(
                "status_cli.written", language, count=len(written), files=", ".join(written)
            )
        )
    return 0


def tongbao_command(args: argparse.Namespace) -> int:
    from bot.cli_common import UsageError
    from services.board import Period
    from services.tongbao import tongbao_files

    settings, catalogue, language, now = _setup(args)
    period = Period.parse(args.period)
    if period is None:
        raise UsageError(catalogue.text("tongbao.bad_period", language, period=args.period))
    found = _board(settings, catalogue, language, args.campaign, now, period)
    if not found.board.deadlines:
        raise UsageError(catalogue.text("tongbao.no_deadline", language))
    files = tongbao_files(found, catalogue, language, period.kind)
    docx: Path = args.out.with_suffix(".docx")
    docx.parent.mkdir(parents=True, exist_ok=True)
    written = [
        _write(docx, files.docx),
        _write(docx.with_suffix(".xlsx"), files.xlsx),
        _write(docx.with_suffix(".png"), files.png),
    ]
    print(catalogue.text("tongbao.written", language, files=", ".join(written)))
    return 0


def _setup(args: argparse.Namespace) -> tuple[Settings, Catalogue, str, datetime]:
    from bot.cli_common import database_setup, parse_now
    from bot.export_cli import campaign_zone

    settings, catalogue, language, url = database_setup(args)
    typed_now = getattr(args, "now", None)
    # A time without an offset is the campaign's wall-clock time, as for `cuibao export`.
    zone = asyncio.run(campaign_zone(url, args.campaign)) if typed_now else "UTC"
    return settings, catalogue, language, parse_now(typed_now, zone, catalogue)


def _board(
    settings: Settings,
    catalogue: Catalogue,
    language: str,
    code: str,
    now: datetime,
    period: Period | None,
) -> CampaignBoard:
    from bot.cli_common import UsageError
    from bot.composition import open_services

    async def go() -> CampaignBoard | None:
        async with open_services(settings) as services:
            return await services.board.board(None, code, now, period=period)

    found = asyncio.run(go())
    if found is None:
        raise UsageError(catalogue.text("status_cli.no_campaign", language, campaign=code))
    return found


def _write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)
