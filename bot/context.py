"""Typed access to the app's services from handlers (no string keys scattered around)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.chat_export import ChatExporter
from bot.config import Settings
from bot.i18n import Catalogue
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
from services.ports import Notifier
from services.reports import ReportService

_KEY = "cuibao.services"


@dataclass
class AppServices:
    settings: Settings
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
    clock: Callable[[], datetime]
    jobs: Jobs  # heavy work in worker processes, one job per person at a time
    exporter: ChatExporter  # chat exports, in a worker process
    bot_username: str = field(default="")


class CustomContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any],
                                    dict[Any, Any]]):
    @property
    def services(self) -> AppServices:
        services: AppServices = self.bot_data[_KEY]
        return services


def services_of(application: Application[Any, Any, Any, Any, Any, Any]) -> AppServices:
    services: AppServices = application.bot_data[_KEY]
    return services


def install(application: Application[Any, Any, Any, Any, Any, Any],
            services: AppServices) -> None:
    application.bot_data[_KEY] = services
