"""/tongbao [campaign] [deadline:ID|week|month|all]: the draft 报送情况通报 of a period as
.docx, with its table as .xlsx and its picture. The command checks its words and answers
at once; the files are made by a slow job (conversation.slow) and sent when done."""

from __future__ import annotations

import asyncio

from conversation import slow
from conversation.coordinator import is_coordinator
from conversation.replies import Sent
from conversation.slow import SlowJob, report, still_coordinator, tell
from conversation.turn import Turn
from services.board import Period, PeriodKind
from services.tongbao import tongbao_files


def _period(t: Turn) -> tuple[Period, str | None] | str:
    """The period the words name and the campaign before it; else why the last word is no
    period (the text to say)."""
    args = list(t.args)
    if args and (parsed := Period.parse(args[-1])) is not None:
        period, args = parsed, args[:-1]
    elif args and (":" in args[-1] or len(args) > 1):
        return t.t("tongbao.bad_period", period=args[-1]) + "\n" + t.t("tongbao.usage")
    else:
        period = Period(PeriodKind.ALL)
    return period, args[0] if args else None


async def tongbao(t: Turn) -> None:
    if not await is_coordinator(t):
        return
    if isinstance(found := _period(t), str):
        await t.say(found)
        return
    await slow.start(t, "tongbao", t.t("tongbao.working"))


async def finish(t: Turn, job: SlowJob, progress: Sent | None) -> None:
    """In a slow worker: read the period's board, make the three files, send them."""
    if not await still_coordinator(t, progress):
        return
    if isinstance(asked := _period(t), str):  # checked when asked: only if words changed
        await report(t, progress, asked)
        return
    period, code = asked
    found = await t.services.board.board(t.actor, code, t.now, period=period)
    if found is None:
        await report(t, progress, t.t("coord.no_campaign"))
        return
    if not found.board.deadlines:
        await report(t, progress, t.t("tongbao.no_deadline"))
        return
    files = await asyncio.to_thread(tongbao_files, found, t.catalogue, t.language, period.kind)
    await t.document(
        files.docx,
        f"{files.name}.docx",
        t.t("tongbao.caption", campaign=found.board.campaign, period=files.period),
    )
    await t.document(files.xlsx, f"{files.name}.xlsx", t.t("tongbao.caption_xlsx"))
    await t.picture(files.png, f"{files.name}.png", t.t("tongbao.caption_png"))
    await tell(progress, t.t("tongbao.sent", campaign=found.board.campaign))
