"""`cuibao run --role web|worker|jobs|all`: several processes on one PostgreSQL, updates
and slow jobs through the durable queue (bot/update_queue.py).

- web: receives the webhook, stores each update in the queue, acknowledges. No handlers,
  no reminders: as many as the proxy wants, restarted at will.
- worker: handles updates from the queue and sends the reminders (claims keep those
  exactly once across processes); health and metrics on `[ops] listen`.
- jobs: runs the slow jobs the chats asked for (exports, 通报, pictures, notices:
  conversation.slow) and sends their results; no chats, no reminders.
- all: all three in one process (the simple way: N of these behind a proxy).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

from aiohttp import web
from telegram import Bot, Update

from bot.app import DINGTALK_BOT, CuibaoApp, build_application, install_update_queue
from bot.composition import Clock, utc_now
from bot.config import Settings
from bot.dingtalk_app import DingTalkBot, running_dingtalk
from bot.ops import (
    Health,
    Metrics,
    install_health,
    metrics_of,
    start_ops_server,
    stop_ops_server,
)
from bot.transport import telegram_request
from bot.update_queue import SLOW_QUEUE, SlowHandler, UpdateQueue
from bot.updates import read_update
from bot.webhook import webhook_app
from conversation import slow_jobs
from conversation.services import AppServices
from conversation.slow import Reaches, SlowJob
from handlers.context import services_of
from services.inbox import InboxService
from services.ports import Outbox
from storage.database import Database
from storage.handled import install as install_handled
from storage.handled import on_behalf_of

log = logging.getLogger("cuibao.queued")

Role = Literal["web", "worker", "jobs", "all"]
PLATFORM = "telegram"
DINGTALK = "dingtalk"


def chat_of(update: Update) -> str | None:
    """The queue's lock key: one person's updates are handled one at a time, in order."""
    if update.effective_chat is not None:
        return str(update.effective_chat.id)
    if update.effective_user is not None:
        return str(update.effective_user.id)
    return None


def enqueue(queue: UpdateQueue) -> Callable[[dict[str, Any], Update], Awaitable[None]]:
    async def sink(data: dict[str, Any], update: Update) -> None:
        stored = {
            "update_id": update.update_id,
            "received": int(time.time() * 1000),
            "update": data,
        }
        await queue.put(PLATFORM, chat_of(update), stored)

    return sink


Handle = Callable[[dict[str, Any]], Awaitable[None]]


def telegram_handle(app: CuibaoApp) -> Handle:
    async def handle(data: dict[str, Any]) -> None:
        update = read_update(data["update"], app.bot)
        if update is not None:
            await app.process_update(update)

    return handle


def dingtalk_handle(found: Callable[[], DingTalkBot | None]) -> Handle:
    async def handle(data: dict[str, Any]) -> None:
        bot = found()
        if bot is None:
            raise RuntimeError("a DingTalk frame in the queue, and DingTalk is not configured")
        await bot.adapter.handle_queued(data)

    return handle


# DingTalk hands a person's messages to whichever connection (process) it likes, and
# Telegram posts up to max_connections updates at once to whichever receiver the proxy
# picks: two processes may store two quick messages of one person in the opposite order.
# A worker waits this long after an update was received before handling it, and handles
# first whatever of the same person came earlier (DingTalk's createAt, Telegram's
# update_id) and is still waiting.
SETTLE_SECONDS = {DINGTALK: 0.3, PLATFORM: 0.1}


def order_of(data: dict[str, Any]) -> int:
    """Where an update stands in its person's sequence: DingTalk's createAt, Telegram's
    update_id (Telegram numbers updates in the order they happened)."""
    found = data.get("order", data.get("update_id"))
    return found if isinstance(found, int) else 0


def handler(
    handles: dict[str, Handle],
    queue: UpdateQueue,
    inbox: InboxService,
    clock: Clock,
    metrics: Metrics,
) -> Callable[[str, str | None, dict[str, Any]], Awaitable[None]]:
    """Handle one queued update, and first any of the same person's that came earlier and
    wait behind it; each at most once in effect (see storage/handled.py)."""

    async def one(platform: str, data: dict[str, Any]) -> None:
        key = str(data.get("update_id"))
        if await inbox.seen(platform, key):
            log.debug("%s update %s was handled before; skipped", platform, key)
            return
        mark = id(data)
        metrics.started(mark)
        try:
            with on_behalf_of(platform, key, clock):
                await handles[platform](data)
        finally:
            metrics.finished(mark)
        # A read-only update (a /help) wrote nothing: record it now, so a retry does not
        # answer twice.
        await inbox.first_time(platform, key, clock())

    async def handle(platform: str, chat: str | None, data: dict[str, Any]) -> None:
        settle = SETTLE_SECONDS.get(platform)
        received = data.get("received")
        if settle and isinstance(received, int | float):
            await asyncio.sleep(max(0.0, min(settle, received / 1000 + settle - time.time())))
        batch = [data]
        if chat is not None:
            mine = order_of(data)
            waiting = await queue.waiting(platform, chat)
            batch = sorted((d for d in waiting if order_of(d) < mine), key=order_of) + batch
        for item in batch:
            await one(platform, item)

    return handle


@dataclass
class _ReceiverHost:
    """What the web role's receiver and health need, without an Application."""

    bot: Bot | None
    bot_data: dict[str, Any] = field(default_factory=dict)


async def _queue_state(queue: UpdateQueue) -> tuple[int, float]:
    state = await queue.state()
    return state.depth, state.oldest_seconds


async def _slow_state(queue: UpdateQueue) -> tuple[int, float]:
    state = await queue.state(SLOW_QUEUE)
    return state.depth, state.oldest_seconds


@asynccontextmanager
async def _receiving(
    settings: Settings, host: Any, queue: UpdateQueue, bot: Bot
) -> AsyncIterator[None]:
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    # shutdown_timeout: a stored update is safe; no need to wait for the sender's keep-alive.
    runner = web.AppRunner(
        webhook_app(host, secret, enqueue(queue)), access_log=None, shutdown_timeout=1.0
    )
    await runner.setup()
    try:
        await web.TCPSite(runner, settings.bot.webhook_listen, settings.bot.webhook_port).start()
        await bot.set_webhook(
            settings.bot.webhook_url, secret_token=secret, allowed_updates=Update.ALL_TYPES
        )
        log.info(
            "receiving updates on %s:%d into the queue",
            settings.bot.webhook_listen,
            settings.bot.webhook_port,
        )
        yield
    finally:
        await runner.cleanup()


async def serve(
    settings: Settings, role: Role, stop: asyncio.Event, clock: Clock = utc_now
) -> None:
    """Serve `role` until `stop` is set."""
    install_handled()
    queue = UpdateQueue(
        settings.database_url,
        stalled_after=settings.ops.queue_stalled_after_seconds,
        slow_grace=settings.ops.slow_jobs_grace_seconds,
    )
    if role == "jobs":  # the reminders are the workers' (claims would keep them once)
        reminders = settings.reminders.model_copy(update={"enabled": False})
        settings = settings.model_copy(update={"reminders": reminders})
    async with AsyncExitStack() as stack:
        await queue.open()
        stack.push_async_callback(queue.close)
        if role == "web":
            await _serve_web(settings, queue, stop, stack)
            return
        if settings.token is None:
            await _serve_dingtalk_only(settings, role, queue, stop, stack, clock)
            return
        db = await stack.enter_async_context(Database.open(settings.database_url))
        app = build_application(settings, clock=clock, database=db)
        install_update_queue(app, queue)
        await app.initialize()
        stack.push_async_callback(_shut_down, app)
        if app.post_init is not None:
            await app.post_init(app)
        await app.start()
        stack.push_async_callback(_stop, app)
        if role == "all":  # a worker's health and metrics: [ops] listen (post_init)
            await stack.enter_async_context(_receiving(settings, app, queue, app.bot))
        dingtalk = _dingtalk_of(app.bot_data)
        handles = {
            PLATFORM: telegram_handle(app),
            DINGTALK: dingtalk_handle(lambda: _dingtalk_of(app.bot_data)),
        }
        reaches = _reaches(services_of(app), dingtalk.services if dingtalk else None)
        await _work(settings, role, queue, handles, reaches, db, clock, metrics_of(app), stop)


def _dingtalk_of(bot_data: Any) -> DingTalkBot | None:
    found = bot_data.get(DINGTALK_BOT)
    return found if isinstance(found, DingTalkBot) else None


def _reaches(*platforms: AppServices | None) -> Reaches:
    """The chats of every platform this process serves, for the slow jobs it runs."""
    merged = Reaches()
    for services in platforms:
        if services is not None:
            merged.routes.update(services.reaches.routes)
    return merged


def run_slow(reaches: Reaches) -> SlowHandler:
    async def run(data: dict[str, Any], give_up: bool) -> None:
        await slow_jobs.run(SlowJob.from_json(data), reaches, give_up=give_up)

    return run


async def _work(
    settings: Settings,
    role: Role,
    queue: UpdateQueue,
    handles: dict[str, Handle],
    reaches: Reaches,
    db: Database,
    clock: Clock,
    metrics: Metrics,
    stop: asyncio.Event,
) -> None:
    ops = settings.ops
    updates = role in ("worker", "all")
    slow = role in ("jobs", "all")
    if updates:
        log.info("handling queued updates (%d at a time)", ops.queue_concurrency)
    if slow:
        log.info("running slow jobs (%d at a time)", ops.slow_jobs)
    inbox = InboxService(db.sessions)
    forgetting = (
        asyncio.create_task(_forget_forever(inbox, queue, clock, stop)) if updates else None
    )
    try:
        await queue.work(
            stop,
            updates=handler(handles, queue, inbox, clock, metrics) if updates else None,
            concurrency=ops.queue_concurrency,
            slow=run_slow(reaches) if slow else None,
            slow_concurrency=ops.slow_jobs,
        )
    finally:
        if forgetting is not None:
            forgetting.cancel()


async def _serve_dingtalk_only(
    settings: Settings,
    role: Role,
    queue: UpdateQueue,
    stop: asyncio.Event,
    stack: AsyncExitStack,
    clock: Clock,
) -> None:
    """A DingTalk worker (no Telegram token): Stream frames into the queue, and handled
    from it, whichever process's connection received them."""
    db = await stack.enter_async_context(Database.open(settings.database_url))
    found = await stack.enter_async_context(
        running_dingtalk(
            settings, db, clock, Outbox(), queue.forwarder(DINGTALK), queue.slow_work()
        )
    )
    host = _ReceiverHost(None)
    metrics = metrics_of(host)
    install_health(
        host,
        Health(
            db,
            metrics,
            lambda: _queue_state(queue),
            reminders_enabled=False,
            slow=lambda: _slow_state(queue),
        ),
    )
    if settings.ops.listen:
        await start_ops_server(host, settings.ops.listen)
        stack.push_async_callback(stop_ops_server, host)
    log.info("serving DingTalk (Stream mode) for app %s", settings.dingtalk.client_id)
    handles = {DINGTALK: dingtalk_handle(lambda: found)}
    reaches = _reaches(found.services)
    await _work(settings, role, queue, handles, reaches, db, clock, metrics, stop)


INBOX_DAYS = 7  # how long a handled update's id is kept (Telegram redelivers for a day)


async def _forget_forever(
    inbox: InboxService, queue: UpdateQueue, clock: Clock, stop: asyncio.Event
) -> None:
    while not stop.is_set():
        try:
            await inbox.forget_before(clock() - timedelta(days=INBOX_DAYS))
            await queue.forget_finished()
        except Exception:  # the database away for a moment: next hour then
            log.warning("could not prune the handled updates' record", exc_info=True)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(3600):
                await stop.wait()


async def _serve_web(
    settings: Settings, queue: UpdateQueue, stop: asyncio.Event, stack: AsyncExitStack
) -> None:
    assert settings.token is not None
    bot = Bot(
        settings.token.get_secret_value(),
        base_url=settings.bot.api_base_url,
        base_file_url=settings.bot.api_file_url,
        request=telegram_request(),
    )
    await bot.initialize()
    stack.push_async_callback(bot.shutdown)
    db = await stack.enter_async_context(Database.open(settings.database_url))
    host = _ReceiverHost(bot)
    install_health(host, Health(db, metrics_of(host), lambda: _queue_state(queue), False))
    await stack.enter_async_context(_receiving(settings, host, queue, bot))
    await stop.wait()


async def _stop(app: CuibaoApp) -> None:
    await app.stop()
    if app.post_stop is not None:
        await app.post_stop(app)


async def _shut_down(app: CuibaoApp) -> None:
    await stop_ops_server(app)
    await app.shutdown()
    if app.post_shutdown is not None:
        await app.post_shutdown(app)


def run(settings: Settings, role: Role) -> None:
    """Serve until SIGINT or SIGTERM."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        started = time.monotonic()
        await serve(settings, role, stop)
        log.info("stopped after %.0f s", time.monotonic() - started)

    asyncio.run(main())
