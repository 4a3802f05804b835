"""The composition root: the only place that wires settings, storage, services and Telegram."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.composition import Clock, build_services, utc_now
from bot.config import Settings
from bot.dingtalk_app import running_dingtalk
from bot.notifier import TelegramNotifier
from bot.nudge_loop import install_reminders, reminder_loop
from bot.ops import (
    Health,
    Metrics,
    install_health,
    install_metrics,
    metrics_of,
    start_ops_server,
    stop_ops_server,
)
from bot.rate_limit import RepliesFirst
from bot.transport import telegram_request
from bot.updates import PerChatUpdateProcessor, TolerantBot
from bot.webhook import run_webhook
from conversation.i18n import Catalogue
from conversation.slow import Reaches
from handlers import errors, telegram
from handlers.context import CustomContext, install, services_of
from handlers.menus import CoordinatorMenus, set_default_menus
from services.jobs import Jobs
from services.ports import Outbox
from storage.database import Database

log = logging.getLogger("cuibao")

CuibaoApp = Application[Any, CustomContext, Any, Any, Any, Any]
_DINGTALK = "cuibao.dingtalk"
DINGTALK_BOT = "cuibao.dingtalk_bot"  # the DingTalkBot a queued worker hands frames to
MENUS_GROUP = -1  # before the handlers: a coordinator's first message gets their menu


class _Application(Application[Any, CustomContext, Any, Any, Any, Any]):
    async def initialize(self) -> None:
        # PTB leaves the bot's HTTP sessions open when its first getMe fails (Telegram out
        # of reach, a refused token): close them, or aiohttp complains at exit.
        try:
            await super().initialize()
        except BaseException:
            await self.bot.shutdown()
            raise

    async def stop(self) -> None:
        # Before the JobQueue waits for a running reminder round (a province's may take
        # minutes at 30 messages/s): the round gives back what it has not sent and
        # returns in seconds, so another process picks those up at once.
        found = reminder_loop(self)
        if found is not None:
            found.dispatcher.stop()
        await super().stop()


def build_application(
    settings: Settings, *, clock: Clock = utc_now, database: Database | None = None
) -> CuibaoApp:
    """Build the Application; the database opens in post_init and closes in post_shutdown
    unless one is handed in (tests, the demo)."""
    if settings.token is None:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    limits = settings.rate_limit
    metrics = Metrics()
    bot = TolerantBot(
        settings.token.get_secret_value(),
        base_url=settings.bot.api_base_url,
        base_file_url=settings.bot.api_file_url,
        local_mode=settings.bot.local_mode,
        request=telegram_request(),
        get_updates_request=telegram_request(1),
        rate_limiter=RepliesFirst(
            overall_max_rate=limits.overall_per_second,
            overall_time_period=1,
            max_retries=limits.max_retries,
        ),
    )
    builder = (
        ApplicationBuilder()
        .application_class(_Application)
        .bot(bot)
        .context_types(ContextTypes(context=CustomContext))
        .concurrent_updates(PerChatUpdateProcessor(64, metrics))
        .post_init(_post_init(settings, clock, database))
        .post_shutdown(_post_shutdown(database is None))
    )
    application: CuibaoApp = builder.build()
    install_metrics(application, metrics)
    register_handlers(application)
    return application


_QUEUE = "cuibao.update_queue"


def install_update_queue(app: CuibaoApp, queue: Any) -> None:
    """Updates come from the durable queue (bot/queued.py): health reports its depth."""
    app.bot_data[_QUEUE] = queue


def slow_of(app: CuibaoApp) -> Callable[[], Awaitable[tuple[int, float]]] | None:
    """(slow jobs waiting or running, age of the oldest) in the durable queue; None when
    this process runs them itself."""
    queue = app.bot_data.get(_QUEUE)
    if queue is None:
        return None

    async def state() -> tuple[int, float]:
        found = await queue.state(queue.slow_queue)
        return found.depth, found.oldest_seconds

    return state


def queue_of(app: CuibaoApp) -> Callable[[], Awaitable[tuple[int, float]]]:
    """(updates waiting or in hand, age of the oldest): the durable queue's when this
    process takes its updates from one, else the in-process queue's."""

    async def state() -> tuple[int, float]:
        queue = app.bot_data.get(_QUEUE)
        if queue is not None:
            found = await queue.state()
            return found.depth, found.oldest_seconds
        return app.update_queue.qsize(), metrics_of(app).oldest_seconds()

    return state


def register_handlers(app: CuibaoApp) -> None:
    """Everything of a private chat goes to the conversation core (handlers/telegram.py)."""
    app.add_handler(CallbackQueryHandler(telegram.on_update))
    app.add_handler(MessageHandler(filters.ChatType.PRIVATE, telegram.on_update))
    app.add_error_handler(errors.on_error)


def _post_init(
    settings: Settings, clock: Clock, database: Database | None
) -> Callable[[CuibaoApp], Any]:
    async def post_init(app: CuibaoApp) -> None:
        db = database
        if db is None:
            db_context = Database.open(settings.database_url)
            db = await db_context.__aenter__()
            app.bot_data["cuibao.db_context"] = db_context
        outbox = Outbox()  # with DingTalk below too, a coordinator reaches everyone
        queue = app.bot_data.get(_QUEUE)
        # Slow jobs: in the durable queue when updates come from it, else tasks here;
        # either way one limit for the process, whichever platforms it serves.
        jobs, reaches = Jobs(settings.ops.slow_jobs), Reaches()
        slow = queue.slow_work() if queue is not None else None
        services = build_services(
            settings,
            db,
            clock,
            TelegramNotifier(app.bot),
            bot_username=app.bot.username,
            spawn=app.create_task,
            outbox=outbox,
            slow=slow,
            jobs=jobs,
            reaches=reaches,
        )
        install(app, services)
        telegram.reach_chats(app.bot, services)
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
        install_health(
            app,
            Health(
                db, metrics_of(app), queue_of(app), settings.reminders.enabled, slow=slow_of(app)
            ),
        )
        if settings.ops.listen:
            await start_ops_server(app, settings.ops.listen)
        if settings.dingtalk.client_id:  # both platforms, one process, one database
            stack = contextlib.AsyncExitStack()
            forward = queue.forwarder("dingtalk") if queue is not None else None
            found = await stack.enter_async_context(
                running_dingtalk(
                    settings,
                    db,
                    clock,
                    outbox,
                    forward,
                    services.slow,
                    jobs=jobs,
                    reaches=reaches,
                )
            )
            app.bot_data[_DINGTALK] = stack
            app.bot_data[DINGTALK_BOT] = found

    return post_init


def _post_shutdown(owns_database: bool) -> Callable[[CuibaoApp], Any]:
    async def post_shutdown(app: CuibaoApp) -> None:
        stack = app.bot_data.pop(_DINGTALK, None)
        if isinstance(stack, contextlib.AsyncExitStack):
            await stack.aclose()
        await stop_ops_server(app)
        context = app.bot_data.pop("cuibao.db_context", None)
        if owns_database and context is not None:
            await context.__aexit__(None, None, None)

    return post_shutdown


def run(settings: Settings) -> None:
    """Serve until interrupted: long polling by default, a webhook when configured; DingTalk
    too (or alone) when `[dingtalk]` names an app."""
    if settings.token is None and settings.dingtalk.client_id:
        asyncio.run(_serve_dingtalk_only(settings))
        return
    app = build_application(settings)
    if settings.bot.mode == "webhook":
        secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
        # The server answers on any path (a proxy may forward the public URL's path or strip
        # it), so a path that differs from webhook_url's can never lose updates with a 404.
        log.info(
            "webhook: listening on %s:%d for updates Telegram posts to %s",
            settings.bot.webhook_listen,
            settings.bot.webhook_port,
            settings.bot.webhook_url,
        )
        run_webhook(
            app,
            listen=settings.bot.webhook_listen,
            port=settings.bot.webhook_port,
            url=settings.bot.webhook_url,
            secret=secret,
        )
    else:
        app.run_polling(allowed_updates=Update.ALL_TYPES)


@asynccontextmanager
async def serving(app: CuibaoApp, *, polling: bool = True) -> AsyncIterator[CuibaoApp]:
    """The Application's lifecycle as `run_polling` drives it, for the demo, the tests and
    worker processes: initialise, post_init, start (and poll); the reverse on the way out."""
    async with app:
        if app.post_init is not None:
            await app.post_init(app)
        await app.start()
        if polling:
            assert app.updater is not None
            await app.updater.start_polling(poll_interval=0.0, timeout=1)
        try:
            yield app
        finally:
            if polling and app.updater is not None:
                await app.updater.stop()
            await app.stop()
    if app.post_shutdown is not None:
        await app.post_shutdown(app)


def is_idle(app: CuibaoApp) -> bool:
    """No update queued or being handled, and no slow job of this process running."""
    try:
        slow = services_of(app).slow.running
    except KeyError:  # before post_init
        slow = 0
    return (
        app.update_queue.empty()
        and app.update_processor.current_concurrent_updates == 0
        and slow == 0
    )


async def until_idle(app: CuibaoApp, seconds: float) -> None:
    """Wait until the application is idle; TimeoutError after `seconds`."""
    async with asyncio.timeout(seconds):
        # PTB signals neither an empty queue nor a finished update: look every 5 ms.
        while not is_idle(app):  # noqa: ASYNC110
            await asyncio.sleep(0.005)


async def _serve_dingtalk_only(settings: Settings) -> None:
    """A process that serves DingTalk alone (no Telegram token): until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with Database.open(settings.database_url) as db, running_dingtalk(settings, db):
        log.info("serving DingTalk (Stream mode) for app %s", settings.dingtalk.client_id)
        await stop.wait()
