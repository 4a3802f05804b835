"""The chat /export's workbook, built in a worker process (services.jobs) that reads the
database on a connection of its own.

Building the workbook of a big campaign is a minute of CPU. On the event loop (or in a
thread, under the GIL the loop needs) every chat waits that minute, and on SQLite the
export would also hold the bot's only connection. The worker reads one consistent
snapshot through its own engine (SQLite in WAL mode: a reader never blocks the bot's
writes), writes the workbook to a file, and stops as soon as that file passes the size
Telegram lets a bot send. Nothing here imports telegram.
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conversation.i18n import Catalogue
from services.campaign_reads import PlanRegistry
from services.export import ExportError, ExportRequest, ExportService, ExportSummary
from services.jobs import Jobs, Limits
from storage.archive import split_archive
from storage.database import Database
from storage.filestore import FileStore

# Bots may send files up to 50 MB; a bigger workbook is made with `cuibao export`.
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024
# Address space of the worker (an interpreter, SQLAlchemy, openpyxl, a driver thread) and
# the time after which it is stopped: a campaign far past the 50 MB is refused long before.
EXPORT_LIMITS = Limits(memory_mb=2048, seconds=900.0)


@dataclass(frozen=True)
class ChatExport:
    """What the worker needs: all of it plain data, sent to another process."""

    database_url: str
    files_dir: Path
    request: ExportRequest
    out: Path
    max_bytes: int = MAX_DOCUMENT_BYTES
    archive: Path | None = None  # also the submitted files, in parts of at most max_bytes


@dataclass(frozen=True)
class ChatExported:
    summary: ExportSummary
    size: int  # bytes written to the job's `out`
    template_missing: dict[str, Any] | None = None  # the plan names a workbook not sent yet
    archives: tuple[Path, ...] = ()  # the files' archive, split to fit one message each
    too_large: tuple[str, ...] = ()  # files too large for any message (cuibao export has them)


def build_chat_export(job: ChatExport) -> ChatExported:
    """In the worker: the plan's own template filled, else the standard workbook, written
    to `job.out`. Raises ExportError (a refusal with its message key)."""
    return asyncio.run(_build(job))


async def _build(job: ChatExport) -> ChatExported:
    request = job.request
    texts = Catalogue(request.language or "zh-CN")
    async with Database.open(job.database_url, migrate=False, reader=True) as db:
        service = ExportService(db.sessions, PlanRegistry(), FileStore(job.files_dir))
        missing: dict[str, Any] | None = None
        filled = None
        if job.archive is None:  # with the files: the standard workbook, as the CLI does
            try:
                filled = await service.export_plan_template(request, texts)
            except ExportError as exc:
                if exc.code != "template_missing":
                    raise
                missing = exc.params
        with _Capped(job.out, job.max_bytes, request.campaign) as sink:
            if filled is not None:
                sink.write(filled.data)
                summary = filled.summary
            else:
                summary = await service.export_to(request, texts, sink, job.archive)
            size = sink.tell()
        if job.archive is None or not job.archive.exists():
            return ChatExported(summary, size, missing)
        parts, too_large = split_archive(job.archive, job.max_bytes, job.archive.parent)
        return ChatExported(summary, size, missing, tuple(parts), tuple(too_large))


class _Capped(io.FileIO):
    """A file that refuses to grow past `limit` bytes: the export stops the moment its
    output would be too large to send, not after building all of it."""

    def __init__(self, path: Path, limit: int, campaign: str) -> None:
        super().__init__(path, "wb")
        self._limit = limit
        self._campaign = campaign

    def write(self, data: Any, /) -> int:
        if self.tell() + len(data) > self._limit:
            raise ExportError(
                "too_large_stopped",
                max_mb=f"{self._limit / 1024 / 1024:g}",
                campaign=self._campaign,
            )
        return super().write(data)


class ChatExporter:
    """Runs chat exports in worker processes on the bot's database."""

    def __init__(
        self, jobs: Jobs, database_url: str, files_dir: Path, max_bytes: int = MAX_DOCUMENT_BYTES
    ) -> None:
        self.jobs = jobs
        self.database_url = database_url
        self.files_dir = files_dir
        self.max_bytes = max_bytes

    async def build(
        self,
        request: ExportRequest,
        out: Path,
        archive: Path | None = None,
        max_bytes: int | None = None,
    ) -> ChatExported:
        """`max_bytes`: what one message of the platform may carry (the default: 50 MB)."""
        limit = min(self.max_bytes, max_bytes or self.max_bytes)
        job = ChatExport(self.database_url, self.files_dir, request, out, limit, archive)
        return await self.jobs.run(build_chat_export, job, limits=EXPORT_LIMITS)
