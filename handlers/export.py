"""/export [campaign]: the coordinator gets the campaign's Excel summary as a document:
the workbook the plan names in `[export]` filled in, else the standard 汇总报表.

While the workbook is written (in a worker thread: other chats keep being served) the
chat shows "sending a file…".
"""

from __future__ import annotations

import asyncio
import contextlib
from zoneinfo import ZoneInfo

from telegram import Update
from telegram.constants import ChatAction
from telegram.error import TelegramError

from bot.context import CustomContext
from handlers.common import Turn
from handlers.coordinator import _campaign, _coordinator
from services.export import ExportedBytes, ExportError, ExportRequest

# Bots may send files up to 50 MB; a bigger workbook is made with `cuibao export`.
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024
ACTION_EVERY = 4.0  # seconds; Telegram shows a chat action for about five


async def export(update: Update, context: CustomContext) -> None:
    t = await _coordinator(update, context)
    if t is None or (campaign := await _campaign(t)) is None or update.effective_chat is None:
        return
    chat_id = update.effective_chat.id
    request = ExportRequest(campaign.code, t.now, t.language, actor=t.actor)
    showing = asyncio.create_task(_show_uploading(context, chat_id))
    try:
        exported = await _workbook(t, request)
    finally:
        showing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await showing
    if exported is None:
        return
    if len(exported.data) > MAX_DOCUMENT_BYTES:
        mb = round(len(exported.data) / 1024 / 1024, 1)
        await t.say(t.t("export.too_large", mb=mb, campaign=campaign.code))
        return
    when = t.catalogue.when(t.now.astimezone(ZoneInfo(campaign.timezone)), t.language)
    await context.bot.send_document(
        chat_id, exported.data, filename=exported.summary.file_name,
        caption=t.t("export.caption", campaign=campaign.name, when=when))


async def _workbook(t: Turn, request: ExportRequest) -> ExportedBytes | None:
    """The plan's own template filled, else the standard workbook; None after saying why
    neither could be made."""
    service = t.services.export
    try:
        try:
            exported = await service.export_plan_template(request, t.catalogue)
        except ExportError as exc:
            if exc.code != "template_missing":
                raise
            # The plan names a workbook nobody has sent yet: the standard one meanwhile.
            await t.say(t.t("export.template_missing_chat", **exc.params))
            exported = None
        return exported or await service.export_bytes(request, t.catalogue)
    except ExportError as exc:
        await t.say(t.t(f"export.{exc.code}", **exc.params))
        return None


async def _show_uploading(context: CustomContext, chat_id: int) -> None:
    """Keep "sending a file…" visible until cancelled; a failure only stops the display."""
    while True:
        try:
            await context.bot.send_chat_action(chat_id, ChatAction.UPLOAD_DOCUMENT)
        except TelegramError:
            return
        await asyncio.sleep(ACTION_EVERY)
