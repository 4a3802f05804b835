"""/export [campaign] [附件]: the coordinator gets the campaign's Excel summary as a document:
the workbook the plan names in `[export]` filled in, else the standard 汇总报表. With 附件
(or `files`) the standard workbook and the submitted files as a .zip (单位/截止事项/文件),
split into as many .zip files as the platform's upload limit needs; a single file too
large for any message is named, for `cuibao export --with-files`.

The workbook is a slow job (conversation.slow): the command answers at once with a
progress message ("正在生成…"), edited when the file is sent or cannot be, while the bot
goes on serving everyone, the coordinator included. The job builds the workbook in a
worker process (conversation.chat_export). One slow job per coordinator at a time: a
second /export meanwhile is told to wait for the first. While it is built the chat shows
"sending a file…".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from dataclasses import replace
from pathlib import Path
from zoneinfo import ZoneInfo

from conversation import slow
from conversation.chat_export import EXPORT_LIMITS, ChatExported
from conversation.coordinator import campaign_of, is_coordinator
from conversation.events import Command
from conversation.replies import Sent
from conversation.slow import SlowJob, report, still_coordinator, tell
from conversation.turn import Turn
from services.coordination import CampaignRef
from services.export import ExportError, ExportRequest
from services.jobs import JobFailed
from storage.archive import safe_component

log = logging.getLogger("cuibao.export")
ACTION_EVERY = 4.0  # seconds; Telegram shows a chat action for about five


FILES_WORDS = frozenset({"附件", "files", "--with-files"})


async def export(t: Turn) -> None:
    with_files = any(a.casefold() in FILES_WORDS for a in t.args)
    if with_files and isinstance(t.event, Command):
        rest = tuple(a for a in t.args if a.casefold() not in FILES_WORDS)
        t = replace(t, event=Command(t.event.name, rest))
    if not await is_coordinator(t) or (campaign := await campaign_of(t)) is None:
        return
    working = t.t("export.working", campaign=campaign.name)
    await slow.start(t, "export", working, args=(campaign.code,), data={"files": with_files})


async def finish(t: Turn, job: SlowJob, progress: Sent | None) -> None:
    """In a slow worker: build the workbook, send it, say how it went on the progress
    message (the coordinator's rights and the campaign are checked again first)."""
    if not await still_coordinator(t, progress):
        return
    campaign = await t.services.coordination.campaign(t.actor, t.args[0] if t.args else None)
    if campaign is None:
        await report(t, progress, t.t("coord.no_campaign"))
        return
    with_files = bool(job.data.get("files"))
    with tempfile.TemporaryDirectory(prefix="cuibao-export-") as folder:
        showing = asyncio.create_task(_show_uploading(t))
        try:
            done = await _build(t, campaign, progress, Path(folder), with_files)
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
        await t.document(
            data,
            exported.summary.file_name,
            t.t("export.caption", campaign=campaign.name, when=when),
        )
        if with_files:
            await _send_files(t, campaign, exported)
        await tell(progress, t.t("export.sent", campaign=campaign.name))


async def _send_files(t: Turn, campaign: CampaignRef, exported: ChatExported) -> None:
    """The archive's parts, one message each; the files no message can carry, by name."""
    parts = exported.archives
    if exported.summary.files == 0 and not exported.too_large:
        await t.say(t.t("export.no_files"))
        return
    stem = safe_component(f"{campaign.name}-附件")
    for i, part in enumerate(parts, start=1):
        name = f"{stem}.zip" if len(parts) == 1 else f"{stem}-{i}of{len(parts)}.zip"
        caption = (
            t.t("export.files_caption", count=exported.summary.files)
            if len(parts) == 1
            else t.t("export.files_part", part=i, parts=len(parts))
        )
        await t.document(await asyncio.to_thread(part.read_bytes), name, caption)
    if exported.too_large:
        limit = t.channel.capabilities.max_upload_bytes // 1024 // 1024
        names = "\n".join(f"· {n}" for n in exported.too_large[:20])
        await t.say(
            t.t(
                "export.files_too_large",
                count=len(exported.too_large),
                max_mb=limit,
                names=names,
                campaign=campaign.code,
            )
        )


async def _build(
    t: Turn, campaign: CampaignRef, progress: Sent | None, folder: Path, with_files: bool
) -> tuple[ChatExported, bytes] | None:
    """The workbook and its bytes; None after saying on the progress message why not."""
    request = ExportRequest(campaign.code, t.now, t.language, actor=t.actor)
    try:
        out = folder / "export.xlsx"
        exported = await t.services.exporter.build(
            request,
            out,
            archive=folder / "files.zip" if with_files else None,
            max_bytes=t.channel.capabilities.max_upload_bytes,
        )
        return exported, await asyncio.to_thread(out.read_bytes)
    except ExportError as exc:
        await report(t, progress, t.t(f"export.{exc.code}", **exc.params))
    except JobFailed as exc:
        await report(
            t,
            progress,
            t.t(
                f"export.failed_{exc.failure}",
                campaign=campaign.code,
                seconds=round(EXPORT_LIMITS.seconds),
            ),
        )
    except Exception:
        log.exception("the export of %s failed", campaign.code)
        await report(t, progress, t.t("error.generic"))
    return None


async def _show_uploading(t: Turn) -> None:
    """Keep "sending a file…" visible until cancelled (the channel drops what it cannot
    show)."""
    while True:
        await t.busy()
        await asyncio.sleep(ACTION_EVERY)
