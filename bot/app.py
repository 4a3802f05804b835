"""The composition root: the only place that wires settings, storage, services and Telegram."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from telegram import Update
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.chat_export import ChatExporter
from bot.config import Settings
from bot.context import AppServices, CustomContext, install
from bot.i18n import Catalogue
from bot.notifier import TelegramNotifier
from bot.reminders import digest_service, install_reminders
from bot.transport import telegram_request
from bot.updates import PerChatUpdateProcessor, TolerantBot
from bot.webhook import run_webhook
from handlers import (
    coordinator,
    digest,
    errors,
    export,
    intake,
    liaison,
    people,
    plans,
    reports_view,
    routing,
    start,
)
from handlers.menus import CoordinatorMenus, set_default_menus
from services.access import AccessService
from services.board import BoardService
from services.catalog import PlanRegistry
from services.coordination import CoordinationService
from services.export import ExportService
from services.intake import IntakeService
from services.jobs import Jobs
from services.overrides import OverrideService
from services.people import PeopleService
from services.plans import PlanService
from services.reports import ReportService, UploadLimits
from storage.database import Database
from storage.filestore import FileStore

log = logging.getLogger("cuibao")

Clock = Callable[[], datetime]
CuibaoApp = Application[Any, CustomContext, Any, Any, Any, Any]
MENUS_GROUP = -1  # before the handlers: a coordinator's first message gets their menu


def utc_now() -> datetime:
    return datetime.now(UTC)


class _Application(Application[Any, CustomContext, Any, Any, Any, Any]):
    async def initialize(self) -> None:
        # PTB leaves the bot's HTTP sessions open when its first getMe fails (Telegram out
        # of reach, a refused token): close them, or aiohttp complains at exit.
        try:
            await super().initialize()
        except BaseException:
            await self.bot.shutdown()
            raise


def build_application(settings: Settings, *, clock: Clock = utc_now,
                      database: Database | None = None) -> CuibaoApp:
    """Build the Application; the database opens in post_init and closes in post_shutdown
    unless one is handed in (tests, the demo)."""
    if settings.token is None:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    limits = settings.rate_limit
    bot = TolerantBot(
        settings.token.get_secret_value(),
        base_url=settings.bot.api_base_url,
        base_file_url=settings.bot.api_file_url,
        local_mode=settings.bot.local_mode,
        request=telegram_request(),
        get_updates_request=telegram_request(1),
        rate_limiter=AIORateLimiter(overall_max_rate=limits.overall_per_second,
                                    overall_time_period=1, max_retries=limits.max_retries),
    )
    builder = (
        ApplicationBuilder()
        .application_class(_Application)
        .bot(bot)
        .context_types(ContextTypes(context=CustomContext))
        .concurrent_updates(PerChatUpdateProcessor(64))
        .post_init(_post_init(settings, clock, database))
        .post_shutdown(_post_shutdown(database is None))
    )
    application: CuibaoApp = builder.build()
    register_handlers(application)
    return application


def register_handlers(app: CuibaoApp) -> None:
    private = filters.ChatType.PRIVATE
    commands = {
        "start": start.start, "help": start.help_command, "language": start.language,
        "tasks": liaison.tasks, "submit": liaison.submit, "mine": liaison.history,
        "status": coordinator.status, "missing": coordinator.missing,
        "remind": coordinator.remind, "review": coordinator.review,
        "units": people.units, "unit": people.unit, "revoke": people.revoke,
        "invite": people.invite, "plan": plans.new_plan,
        "export": export.export, "blank": intake.blank, "digest": digest.digest,
        "exempt": coordinator.exempt, "unexempt": coordinator.unexempt,
        "tongbao": reports_view.tongbao,
    }
    for name, callback in commands.items():
        app.add_handler(CommandHandler(name, callback, filters=private))
    app.add_handler(CallbackQueryHandler(start.on_language, pattern=r"^lang:"))
    app.add_handler(CallbackQueryHandler(plans.on_button, pattern=r"^(nd|nok|nx):"))
    app.add_handler(CallbackQueryHandler(plans.on_revision_button, pattern=r"^(prv|prx):"))
    app.add_handler(CallbackQueryHandler(digest.on_button, pattern=rf"^{digest.PREFIX}:"))
    app.add_handler(CallbackQueryHandler(coordinator.on_exempt_button, pattern=r"^ex[a-z]*:"))
    app.add_handler(CallbackQueryHandler(people.on_button, pattern=people.PATTERN))
    app.add_handler(CallbackQueryHandler(routing.on_button))
    app.add_handler(MessageHandler(private & filters.TEXT & ~filters.COMMAND, routing.on_text))
    notices = (filters.Document.FileExtension("docx") | filters.Document.FileExtension("txt")
               | filters.Document.FileExtension("toml") | filters.Document.FileExtension("xlsx"))
    # A coordinator's .xlsx may be a unit list (通讯录); anything else goes on to plans.
    app.add_handler(MessageHandler(private & filters.Document.FileExtension("xlsx"),
                                   people.on_workbook))
    app.add_handler(MessageHandler(private & notices, plans.on_document))
    app.add_handler(MessageHandler(private & (filters.Document.ALL | filters.PHOTO),
                                   liaison.on_file))
    app.add_handler(MessageHandler(private, start.stranger_or_hint))
    app.add_error_handler(errors.on_error)


def _post_init(settings: Settings, clock: Clock, database: Database | None
               ) -> Callable[[CuibaoApp], Any]:
    async def post_init(app: CuibaoApp) -> None:
        db = database
        if db is None:
            db_context = Database.open(settings.database_url)
            db = await db_context.__aenter__()
            app.bot_data["cuibao.db_context"] = db_context
        services = make_services(settings, db, clock, TelegramNotifier(app.bot),
                                 app.bot.username)
        install(app, services)
        # Files a crash left without their database row (file times are wall-clock).
        swept = await services.reports.sweep_orphan_files(time.time())
        if swept:
            log.info("deleted %d stored files that no attachment refers to", swept)
        catalogue = Catalogue(settings.bot.language)
        await set_default_menus(app.bot, catalogue)
        menus = CoordinatorMenus(catalogue)
        await menus.set_all(app.bot, settings.bot.coordinators)
        if menus.pending:
            app.add_handler(TypeHandler(Update, menus.on_update), MENUS_GROUP)
        install_reminders(app, db, settings, clock)
    return post_init


def _post_shutdown(owns_database: bool) -> Callable[[CuibaoApp], Any]:
    async def post_shutdown(app: CuibaoApp) -> None:
        context = app.bot_data.pop("cuibao.db_context", None)
        if owns_database and context is not None:
            await context.__aexit__(None, None, None)
    return post_shutdown


def make_services(settings: Settings, db: Database, clock: Clock, notifier: Any,
                  bot_username: str = "") -> AppServices:
    plans = PlanRegistry()
    limits = UploadLimits(settings.files.max_mb * 1024 * 1024,
                          frozenset(e.lower() for e in settings.files.extensions))
    files = FileStore(settings.files_dir)
    jobs = Jobs()
    # The export's worker process opens the same database on a connection of its own.
    database_url = db.engine.url.render_as_string(hide_password=False)
    return AppServices(
        settings=settings,
        catalogue=Catalogue(settings.bot.language),
        access=AccessService(db.sessions, [str(i) for i in settings.bot.coordinators]),
        reports=ReportService(db.sessions, plans, files, limits),
        coordination=CoordinationService(db.sessions),
        plans=PlanService(db.sessions, settings.calendar.overrides()),
        export=ExportService(db.sessions, plans, files),
        intake=IntakeService(db.sessions, plans, limits.max_bytes),
        digest=digest_service(settings, db),
        overrides=OverrideService(db.sessions),
        board=BoardService(db.sessions),
        notifier=notifier,
        people=PeopleService(db.sessions, settings.calendar.overrides()),
        clock=clock,
        bot_username=bot_username,
        jobs=jobs,
        exporter=ChatExporter(jobs, database_url, settings.files_dir),
    )


def run(settings: Settings) -> None:
    """Serve until interrupted: long polling by default, a webhook when configured."""
    app = build_application(settings)
    if settings.bot.mode == "webhook":
        secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
        # The server answers on any path (a proxy may forward the public URL's path or strip
        # it), so a path that differs from webhook_url's can never lose updates with a 404.
        log.info("webhook: listening on %s:%d for updates Telegram posts to %s",
                 settings.bot.webhook_listen, settings.bot.webhook_port,
                 settings.bot.webhook_url)
        run_webhook(app, listen=settings.bot.webhook_listen, port=settings.bot.webhook_port,
                    url=settings.bot.webhook_url, secret=secret)
    else:
        app.run_polling(allowed_updates=Update.ALL_TYPES)
