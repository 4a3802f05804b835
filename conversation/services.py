"""The use cases a conversation reaches, built once by the composition root (bot/app.py)
and handed to every turn; typed, so no string keys are scattered around."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from conversation.chat_export import ChatExporter
from conversation.i18n import Catalogue
from conversation.slow import Reaches, SlowWork
from services.access import AccessService
from services.board import BoardService
from services.coordination import CoordinationService
from services.digest import DigestService
from services.export import ExportService
from services.intake import IntakeService
from services.jobs import Jobs
from services.overrides import OverrideService
from services.people import PeopleService
from services.plans import PlanService
from services.ports import Notifier, Outbox
from services.receipts import ReceiptService
from services.reports import ReportService
from services.steps import StepService
from services.unit_record import UnitRecordService


@dataclass(frozen=True)
class ChatSettings:
    """The part of the configuration a conversation needs."""

    language: str  # the bot's default language
    max_file_mb: int
    file_extensions: Sequence[str]
    invite_days: int
    operators: tuple[str, ...] = ()  # told when handling an update fails


@dataclass
class AppServices:
    settings: ChatSettings
    catalogue: Catalogue
    access: AccessService
    reports: ReportService
    coordination: CoordinationService
    plans: PlanService
    export: ExportService
    intake: IntakeService
    digest: DigestService
    overrides: OverrideService
    board: BoardService
    notifier: Notifier
    people: PeopleService
    units: UnitRecordService  # one unit across deadlines, for its coordinator
    steps: StepService  # half-done steps (a pending /exempt, a notice under review)
    clock: Callable[[], datetime]
    jobs: Jobs  # heavy work in worker processes, one job per person at a time
    exporter: ChatExporter  # chat exports, in a worker process
    receipts: ReceiptService  # who read their nudge, where the platform tells
    # Messages to other people, each on their own platform (this process's notifiers).
    outbox: Outbox
    # Runs work that outlives the event (an export being built), tracked by the adapter so
    # that its failure is logged and shutdown waits for it.
    spawn: Callable[[Coroutine[Any, Any, None]], object]
    # Where slow jobs (exports, 通报, pictures, notices) wait and run (conversation.slow),
    # and the chats they answer on: the adapter adds its platform's.
    slow: SlowWork
    reaches: Reaches
    platform: str  # the platform these use cases serve ("telegram", "dingtalk")
    bot_username: str = field(default="")
