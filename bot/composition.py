"""The composition root: the one place that builds the use cases from the settings, for
the bot (bot/app.py adds Telegram around them), the command line, the demo and the tests.
Nothing here imports a chat platform."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from bot.config import Settings
from conversation.chat_export import ChatExporter
from conversation.i18n import Catalogue
from conversation.services import AppServices, ChatSettings
from conversation.slow import Reaches, SlowWork
from conversation.slow_jobs import InProcess
from scheduler.nudge_policy import QuietHours
from services.access import AccessService
from services.board import BoardService
from services.campaign_reads import PlanRegistry
from services.coordination import CoordinationService
from services.digest import DigestService
from services.export import ExportService
from services.intake import IntakeService
from services.jobs import Jobs
from services.overrides import OverrideService
from services.people import PeopleService
from services.plans import PlanService
from services.ports import Button, Delivery, Notifier, Outbox
from services.receipts import ReceiptService
from services.reports import ReportService, UploadLimits
from services.steps import StepService
from services.unit_record import UnitRecordService
from storage.database import Database
from storage.filestore import FileStore

Clock = Callable[[], datetime]
Spawn = Callable[[Coroutine[Any, Any, None]], object]


def utc_now() -> datetime:
    return datetime.now(UTC)


class NoChat:
    """The notifier of a process that serves no chat (the command line): nobody is
    reachable from it, and a use case that tries says so instead of sending."""

    async def send(
        self, external_id: str, text: str, buttons: Sequence[Sequence[Button]] = ()
    ) -> Delivery:
        return Delivery.FAILED


def build_services(
    settings: Settings,
    db: Database,
    clock: Clock = utc_now,
    notifier: Notifier | None = None,
    *,
    bot_username: str = "",
    spawn: Spawn | None = None,
    platform: str = "telegram",
    receipts: ReceiptService | None = None,
    outbox: Outbox | None = None,
    slow: SlowWork | None = None,
    jobs: Jobs | None = None,
    reaches: Reaches | None = None,
) -> AppServices:
    """Every use case on one database, configured once. Slow jobs run as tasks of this
    process unless `slow` says where else (the durable queue: bot/queued.py). A process
    serving both platforms passes one `jobs` (worker processes), `reaches` (their chats)
    and `slow` to both, so that `[ops] slow_jobs` holds for the process."""
    plans = PlanRegistry()
    limits = UploadLimits(
        settings.files.max_mb * 1024 * 1024,
        frozenset(e.lower() for e in settings.files.extensions),
    )
    files = FileStore(settings.files_dir)
    jobs = jobs or Jobs(settings.ops.slow_jobs)
    # The export's worker process opens the same database on a connection of its own.
    database_url = db.engine.url.render_as_string(hide_password=False)
    chat = ChatSettings(
        language=settings.bot.language,
        max_file_mb=settings.files.max_mb,
        file_extensions=tuple(settings.files.extensions),
        invite_days=settings.bot.invite_days,
        operators=tuple(str(i) for i in settings.bot.operators or settings.bot.coordinators),
    )
    reminders = settings.reminders
    coordinators = (
        list(settings.dingtalk.coordinators)
        if platform == "dingtalk"
        else [str(i) for i in settings.bot.coordinators]
    )
    calendar = settings.calendar.overrides()
    # One outbox per process: a process serving both platforms reaches everyone.
    outbox = outbox or Outbox()
    notifier = notifier or NoChat()
    outbox.route(platform, notifier)
    spawn = spawn or asyncio.ensure_future
    reaches = reaches or Reaches()  # the adapter adds how it reaches a person's chat
    return AppServices(
        settings=chat,
        catalogue=Catalogue(settings.bot.language),
        access=AccessService(db.sessions, coordinators, platform),
        reports=ReportService(db.sessions, plans, files, limits),
        coordination=CoordinationService(db.sessions),
        plans=PlanService(db.sessions, calendar),
        export=ExportService(db.sessions, plans, files),
        intake=IntakeService(db.sessions, plans, limits.max_bytes),
        # Coordinators' own digest settings against the deployment's time and quiet hours
        # (no digest at all when reminders are off).
        digest=DigestService(
            db.sessions,
            reminders.digest_at if reminders.enabled else None,
            QuietHours(reminders.quiet_start, reminders.quiet_end),
        ),
        overrides=OverrideService(db.sessions),
        board=BoardService(db.sessions),
        notifier=notifier,
        outbox=outbox,
        people=PeopleService(db.sessions, calendar),
        steps=StepService(db.sessions),
        units=UnitRecordService(db.sessions, plans, files),
        clock=clock,
        spawn=spawn,
        slow=slow or InProcess(reaches, spawn, jobs.workers),
        reaches=reaches,
        platform=platform,
        bot_username=bot_username,
        jobs=jobs,
        exporter=ChatExporter(jobs, database_url, settings.files_dir),
        receipts=receipts or ReceiptService(db.sessions, platform),
    )


@asynccontextmanager
async def open_services(
    settings: Settings, url: str | None = None, clock: Clock = utc_now
) -> AsyncIterator[AppServices]:
    """The use cases on the configured database, for one command-line command."""
    async with Database.open(url or settings.database_url) as db:
        yield build_services(settings, db, clock)
