"""/export [campaign]: the coordinator gets the campaign's Excel summary as a document:
the workbook the plan names in `[export]` filled in, else the standard 汇总报表.

The workbook is built in a worker process (bot.chat_export) while the bot goes on
serving everyone, the coordinator included: the command answers at once with a progress
message ("正在生成…"), edited when the file is sent or cannot be. One heavy job per
coordinator at a time: a second /export meanwhile is told to wait for the first. While
it is built the chat shows "sending a file…".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from pathlib import Path
from zoneinfo import ZoneInfo

from telegram import Message, Update
from telegram.constants import ChatAction
from telegram.error import TelegramError

from bot.chat_export import EXPORT_LIMITS, ChatExported
from bot.context import CustomContext
from handlers.common import Turn, heavy_job_key
from handlers.coordinator import _campaign, coordinator_turn
from services.coordination import CampaignRef
from services.export import ExportError, ExportRequest
from services.jobs import Busy, JobFailed

log = logging.getLogger("cuibao.export")
ACTION_EVERY = 4.0  # seconds; Telegram shows a chat action for about five


async def export(update: Update, context: CustomContext) -> None:
    t = await coordinator_turn(update, context)
    if t is None or (campaign := await _campaign(t)) is None or update.effective_chat is None:
        return
    key = heavy_job_key(t)
    try:
        t.services.jobs.claim(key)
    except Busy:
        await t.say(t.t("jobs.busy"))
        return
    try:
        progress = await t.say(t.t("export.working", campaign=campaign.name))
        # Not awaited here: the chat's next update must not wait for the workbook.
        chat_id = update.effective_chat.id
        context.application.create_task(_deliver(t, campaign, chat_id, progress, key),
                                        update=update)
    except BaseException:
        t.services.jobs.release(key)
        raise


async def _deliver(t: Turn, campaign: CampaignRef, chat_id: int, progress: Message | None,
                   key: str) -> None:
    """Build the workbook, send it, say how it went on the progress message; the
    coordinator's slot is free again afterwards, whatever happened."""
    try:
        showing = asyncio.create_task(_show_uploading(t.context, chat_id))
        try:
            done = await _build(t, campaign, progress)
        finally:
            showing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await showing
        if done is None:
            return
        exported, data = done
        if exported.template_missing is not None:
            # The plan names a workbook nobody has sent yet: the standard one meanwhile.
            await t.say(t.t("export.template_missing_chat", **exported.template_missing))
        when = t.catalogue.when(t.now.astimezone(ZoneInfo(campaign.timezone)), t.language)
        await t.context.bot.send_document(
            chat_id, data, filename=exported.summary.file_name,
            caption=t.t("export.caption", campaign=campaign.name, when=when))
        await _tell(progress, t.t("export.sent", campaign=campaign.name))
    finally:
        t.services.jobs.release(key)


async def _build(t: Turn, campaign: CampaignRef, progress: Message | None
                 ) -> tuple[ChatExported, bytes] | None:
    """The workbook and its bytes; None after saying on the progress message why not."""
    request = ExportRequest(campaign.code, t.now, t.language, actor=t.actor)
    try:
        with tempfile.TemporaryDirectory(prefix="cuibao-export-") as folder:
            out = Path(folder) / "export.xlsx"
            exported = await t.services.exporter.build(request, out)
            return exported, await asyncio.to_thread(out.read_bytes)
    except ExportError as exc:
        await _tell(progress, t.t(f"export.{exc.code}", **exc.params))
    except JobFailed as exc:
        await _tell(progress, t.t(f"export.failed_{exc.failure}", campaign=campaign.code,
                                  seconds=round(EXPORT_LIMITS.seconds)))
    except Exception:
        log.exception("the export of %s failed", campaign.code)
        await _tell(progress, t.t("error.generic"))
    return None


async def _tell(progress: Message | None, text: str) -> None:
    """The progress message now says `text` (a failure to edit it loses nothing)."""
    if progress is None:
        return
    try:
        await progress.edit_text(text)
    except TelegramError:
        log.warning("could not edit the export's progress message", exc_info=True)


async def _show_uploading(context: CustomContext, chat_id: int) -> None:
    """Keep "sending a file…" visible until cancelled; a failure only stops the display."""
    while True:
        try:
            await context.bot.send_chat_action(chat_id, ChatAction.UPLOAD_DOCUMENT)
        except TelegramError:
            return
        await asyncio.sleep(ACTION_EVERY)
