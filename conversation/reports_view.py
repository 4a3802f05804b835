"""/tongbao [campaign] [deadline:ID|week|month|all]: the draft 报送情况通报 of a period as
.docx, with its table as .xlsx and its picture, made in a worker thread."""

from __future__ import annotations

import asyncio

from conversation.coordinator import is_coordinator
from conversation.turn import Turn
from services.board import Period, PeriodKind
from services.tongbao import tongbao_files


async def tongbao(t: Turn) -> None:
    if not await is_coordinator(t):
        return
    args = list(t.args)
    period = Period(PeriodKind.ALL)
    if args and (parsed := Period.parse(args[-1])) is not None:
        period, args = parsed, args[:-1]
    elif args and (":" in args[-1] or len(args) > 1):
        await t.say(t.t("tongbao.bad_period", period=args[-1]) + "\n" + t.t("tongbao.usage"))
        return
    found = await t.services.board.board(t.actor, args[0] if args else None, t.now, period=period)
    if found is None:
        await t.say(t.t("coord.no_campaign"))
        return
    if not found.board.deadlines:
        await t.say(t.t("tongbao.no_deadline"))
        return
    files = await asyncio.to_thread(tongbao_files, found, t.catalogue, t.language, period.kind)
    await t.document(
        files.docx,
        f"{files.name}.docx",
        t.t("tongbao.caption", campaign=found.board.campaign, period=files.period),
    )
    await t.document(files.xlsx, f"{files.name}.xlsx", t.t("tongbao.caption_xlsx"))
    await t.picture(files.png, f"{files.name}.png", t.t("tongbao.caption_png"))
