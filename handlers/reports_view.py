"""/tongbao [campaign] [deadline:ID|week|month|all]: the draft 报送情况通报 of a period as
.docx, with its table as .xlsx and its picture, made in a worker thread."""

from __future__ import annotations

import asyncio

from telegram import Update

from bot.context import CustomContext
from handlers.coordinator import coordinator_turn
from handlers.pictures import send_picture
from services.board import Period, PeriodKind
from services.tongbao import tongbao_files


async def tongbao(update: Update, context: CustomContext) -> None:
    t = await coordinator_turn(update, context)
    if t is None or update.effective_chat is None:
        return
    args = list(t.context.args or [])
    period = Period(PeriodKind.ALL)
    if args and (parsed := Period.parse(args[-1])) is not None:
        period, args = parsed, args[:-1]
    elif args and (":" in args[-1] or len(args) > 1):
        await t.say(t.t("tongbao.bad_period", period=args[-1]) + "\n" + t.t("tongbao.usage"))
        return
    found = await t.services.board.board(t.actor, args[0] if args else None, t.now,
                                         period=period)
    if found is None:
        await t.say(t.t("coord.no_campaign"))
        return
    if not found.board.deadlines:
        await t.say(t.t("tongbao.no_deadline"))
        return
    files = await asyncio.to_thread(tongbao_files, found, t.catalogue, t.language, period.kind)
    chat_id = update.effective_chat.id
    bot = context.bot
    await bot.send_document(chat_id, files.docx, filename=f"{files.name}.docx",
                            caption=t.t("tongbao.caption", campaign=found.board.campaign,
                                        period=files.period))
    await bot.send_document(chat_id, files.xlsx, filename=f"{files.name}.xlsx",
                            caption=t.t("tongbao.caption_xlsx"))
    await send_picture(bot, chat_id, files.png, files.name, t.t("tongbao.caption_png"))
