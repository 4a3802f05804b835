"""DingTalk's side of the composition root: the use cases for people on DingTalk, the
OpenAPI client, the adapter and the Stream connection, on the process's one database."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.composition import Clock, build_services, utc_now
from bot.config import Settings
from bot.nudge_loop import CatalogueRenderer, reminder_config
from conversation.i18n import Catalogue
from conversation.notify import ListingNotifier
from conversation.services import AppServices
from conversation.slow import Reaches, SlowWork
from dingtalk.adapter import (
    PLATFORM,
    Cards,
    DingTalkAdapter,
    DingTalkNotifier,
    Forward,
    Repeats,
)
from dingtalk.api import DingTalkApi
from dingtalk.joins import offer_bindings
from dingtalk.protocol import CARD_TOPIC, ROBOT_TOPIC
from dingtalk.stream import StreamClient
from services.campaign_reads import PlanRegistry
from services.inbox import InboxService
from services.jobs import Jobs
from services.join_offers import JoinOfferService
from services.nudges import ReminderDispatcher
from services.ports import Notifier, Outbox
from services.receipts import ReceiptService
from services.send_rate import RateSharedNotifier, SharedRate
from services.steps import StepService
from storage.database import Database

log = logging.getLogger("cuibao.dingtalk")
STOP_GRACE = 8.0  # seconds a reminder round gets to give back its claims at shutdown


@dataclass
class DingTalkBot:
    services: AppServices
    api: DingTalkApi
    adapter: DingTalkAdapter
    stream: StreamClient
    notifier: Notifier
    offers: JoinOfferService

    def idle(self) -> bool:
        """No slow job (an export, a picture) of this process still running."""
        return self.services.slow.running == 0

    async def offer_bindings(self) -> int:
        """Send the people the plans name their binding (each once); how many were sent."""
        return await offer_bindings(
            self.offers, self.api, self.notifier, self.services.catalogue, self.services.clock
        )


@asynccontextmanager
async def running_dingtalk(
    settings: Settings,
    db: Database,
    clock: Clock = utc_now,
    outbox: Outbox | None = None,
    forward: Forward | None = None,
    slow: SlowWork | None = None,
    *,
    jobs: Jobs | None = None,
    reaches: Reaches | None = None,
) -> AsyncIterator[DingTalkBot]:
    """Serve DingTalk (Stream mode) until the block ends. With `forward`, frames go to the
        durable queue and a worker handles them (`adapter.handle_queued`); with `slow`, slow
    jobs wait there too (`jobs`, `reaches`: shared with the Telegram side of the process)."""
    config = settings.dingtalk
    if not config.client_id or settings.dingtalk_secret is None:
        raise ValueError("DingTalk needs [dingtalk] client_id and DINGTALK_CLIENT_SECRET")
    secret = settings.dingtalk_secret.get_secret_value()
    tasks: set[asyncio.Task[None]] = set()

    def spawn(work: Coroutine[Any, Any, None]) -> object:
        task = asyncio.ensure_future(work)
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        return task

    async with aiohttp.ClientSession() as http:
        api = DingTalkApi(
            http,
            config.client_id,
            secret,
            config.robot_code or None,
            api_base=config.api_base_url,
            oapi_base=config.oapi_base_url,
            per_second=config.per_second,
        )
        repeats = Repeats()
        cards = Cards(api, config.card_template_id) if config.card_template_id else None
        receipts = ReceiptService(db.sessions, PLATFORM, api)
        notifier: Notifier = DingTalkNotifier(api, repeats, cards, receipts, clock)
        if cards is None:  # the buttons of a nudge become a numbered list
            notifier = ListingNotifier(
                notifier,
                PLATFORM,
                StepService(db.sessions),
                Catalogue(settings.bot.language),
                clock,
            )
        services = build_services(
            settings,
            db,
            clock,
            notifier,
            spawn=spawn,
            platform=PLATFORM,
            receipts=receipts,
            outbox=outbox,
            slow=slow,
            jobs=jobs,
            reaches=reaches,
        )
        adapter = DingTalkAdapter(
            services, api, InboxService(db.sessions), clock, repeats, cards, forward
        )
        services.reaches.route(PLATFORM, services, adapter.channel_to)
        stream = StreamClient(
            http,
            config.client_id,
            secret,
            {ROBOT_TOPIC: adapter.on_robot_message, CARD_TOPIC: adapter.on_card_callback},
            api_base=config.api_base_url,
        )
        offers = JoinOfferService(
            db.sessions, PlanRegistry(), services.access, settings.bot.invite_days
        )
        bot = DingTalkBot(services, api, adapter, stream, notifier, offers)
        runner = asyncio.create_task(stream.run())
        offering = asyncio.create_task(
            offer_forever(bot, settings.reminders.safety_interval_seconds)
        )
        dispatcher = (
            nudge_dispatcher(settings, db, notifier, clock) if settings.reminders.enabled else None
        )
        nudging = (
            asyncio.create_task(nudge_forever(settings, dispatcher, clock, receipts))
            if dispatcher is not None
            else None
        )
        try:
            yield bot
        finally:
            if dispatcher is not None and nudging is not None:
                # The round gives back what it has not sent, and ends within seconds.
                dispatcher.stop()
                await asyncio.wait({nudging}, timeout=STOP_GRACE)
            await stream.stop()
            for task in (runner, nudging, offering):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)


async def offer_forever(bot: DingTalkBot, interval: float) -> None:
    """Bindings for the people the plans name, at start-up and then every `interval`
    seconds (a plan loaded meanwhile is picked up)."""
    failures = 0
    while True:
        try:
            await bot.offer_bindings()
            failures = 0
        except Exception:
            failures += 1
            log.exception("DingTalk: offering bindings failed (%d in a row)", failures)
        await asyncio.sleep(max(1.0, interval))


def nudge_dispatcher(
    settings: Settings, db: Database, notifier: Notifier, clock: Clock
) -> ReminderDispatcher:
    """The same dispatcher as Telegram's, for the people on DingTalk (the same claims, so
    exactly once beside any other process)."""
    config = dataclasses.replace(
        reminder_config(settings.reminders, settings),
        platform=PLATFORM,
        coordinators=tuple(settings.dingtalk.coordinators),
    )
    renderer = CatalogueRenderer(Catalogue(settings.bot.language))
    shared = settings.reminders.shared_per_second
    if db.shared and shared:  # the app's processes share its per-second budget
        key = f"dingtalk:{settings.dingtalk.client_id}"
        per_second = min(shared, int(settings.dingtalk.per_second) or 1)
        notifier = RateSharedNotifier(notifier, SharedRate(db.sessions, key, per_second))
    return ReminderDispatcher(db.sessions, notifier, renderer, clock, config)


async def nudge_forever(
    settings: Settings,
    dispatcher: ReminderDispatcher,
    clock: Clock,
    receipts: ReceiptService | None = None,
) -> None:
    """Automatic nudges and digests on a plain asyncio loop, until the dispatcher is told
    to stop."""
    options = settings.reminders
    failures = 0
    while not dispatcher.stopping.is_set():
        delay = float(options.safety_interval_seconds)
        try:
            if receipts is not None:  # the digest says who read their nudge
                try:
                    await receipts.refresh([], clock(), limit=50)
                except Exception:  # never in the way of the nudges themselves
                    log.warning("DingTalk: asking who read their nudge failed", exc_info=True)
            report = await dispatcher.run()
            failures = 0
            if report.next_at is not None:
                delay = min(delay, (report.next_at - clock()).total_seconds())
        except Exception:
            failures += 1
            log.exception("DingTalk nudges: the run failed (%d in a row)", failures)
            delay = min(delay, float(options.retry_after_seconds))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(dispatcher.stopping.wait(), max(1.0, delay))
