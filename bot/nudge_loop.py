"""JobQueue glue for automatic reminders: one job, named "cuibao-reminders", that runs the
dispatcher and schedules itself again for the instant the dispatcher says is next.

The job holds nothing the database does not: a restart, a second process or a lost job
only means the next run recomputes the same answer. `replan(app)` brings the run forward
after something that may add work (a plan load, a registration); every update in a private
chat does so too, debounced, so no handler has to remember it. The longest sleep is
`safety_interval_seconds`, for changes made by another process (`cuibao plan load`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import aiohttp
import httpx
from telegram import Bot, InlineKeyboardMarkup, Update
from telegram.error import (
    BadRequest,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import Application, ExtBot, TypeHandler

from bot.config import ReminderSettings, Settings
from bot.notifier import TelegramNotifier
from bot.ops import metrics_of
from bot.rate_limit import BACKGROUND, RepliesFirst
from conversation.i18n import Catalogue
from conversation.pictures import after_digest
from conversation.turn import callback
from handlers.context import services_of
from scheduler.calendar import package_years
from scheduler.nudge_policy import QuietHours
from services.digest import DigestService
from services.horizon import CalendarGap, extend_open_ended, untold_calendar_gaps
from services.nudges import (
    BlockedNotice,
    DeadlineRef,
    Digest,
    DigestLine,
    Message,
    MissedNotice,
    Nudge,
    OverrideNotice,
    ReminderConfig,
    ReminderDispatcher,
)
from services.ports import Button, Delivery, Notifier
from services.send_rate import RateSharedNotifier, SharedRate
from storage.database import Database

log = logging.getLogger(__name__)

JOB_NAME = "cuibao-reminders"
FAILURES_BEFORE_ALERT = 3  # failed runs in a row before the coordinators are told
REPLAN_GROUP = 99  # after every handler: the update's own work is committed by then
_KEY = "cuibao.reminders"

AnyApp = Application[Any, Any, Any, Any, Any, Any]


def reminder_config(options: ReminderSettings, settings: Settings) -> ReminderConfig:
    return ReminderConfig(
        quiet=QuietHours(options.quiet_start, options.quiet_end),
        digest_at=options.digest_at,
        stale_after=timedelta(seconds=options.stale_after_seconds),
        retry_after=timedelta(seconds=options.retry_after_seconds),
        max_attempts=options.max_attempts,
        claim_batch=options.claim_batch,
        concurrency=options.concurrency,
        calendar=settings.calendar.overrides(),
        coordinators=tuple(str(i) for i in settings.bot.coordinators),
    )


def settings_of(settings: Settings) -> ReminderSettings:
    return settings.reminders


def digest_service(settings: Settings, db: Database) -> DigestService:
    """Coordinators' own digest settings, against the deployment's time and quiet hours
    (no digest at all when reminders are off)."""
    options = settings_of(settings)
    return DigestService(
        db.sessions,
        options.digest_at if options.enabled else None,
        QuietHours(options.quiet_start, options.quiet_end),
    )


class CatalogueRenderer:
    """Reminder texts from the message catalogue, in the recipient's language."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue

    def render(self, message: Message) -> tuple[str, Sequence[Sequence[Button]]]:
        t = self.catalogue.text
        lang = message.language
        if isinstance(message, Nudge) and message.escalated:
            text = t(
                "nudge.escalate",
                lang,
                unit=message.unit_name,
                what=self.label(message.deadline, lang),
            )
            return text, []  # a leader reports nothing: the text says how to look
        if isinstance(message, Nudge):
            key = (
                "nudge.returned"
                if message.returned
                else "nudge.due"
                if message.step == "due"
                else "nudge.overdue"
                if message.overdue
                else "nudge.before"
            )
            label = "button.fix_now" if message.returned else "button.fill_now"
            text = t(key, lang, unit=message.unit_name, what=self.label(message.deadline, lang))
            return text, [[Button(t(label, lang), callback("sub", message.deadline.deadline_id))]]
        if isinstance(message, BlockedNotice):
            return t(
                "nudge.blocked",
                lang,
                unit=message.unit_name,
                person=message.person_name,
                what=self.label(message.deadline, lang),
            ), []
        if isinstance(message, OverrideNotice):
            key = f"exempt.notice_{'undone' if message.undone else message.kind.value}"
            text = t(
                key,
                lang,
                unit=message.unit_name,
                what=self.label(message.deadline, lang),
                reason=message.reason,
            )
            if message.kind.value == "exempt" and not message.undone:
                return text, []
            return text, [
                [Button(t("button.fill_now", lang), callback("sub", message.deadline.deadline_id))]
            ]
        if isinstance(message, MissedNotice):
            return t(
                "digest.missed",
                lang,
                what=self.label(message.deadline, lang),
                count=len(message.units),
                units=self.names(message.units, lang),
            ), []
        return self.digest(message), []

    def digest(self, d: Digest) -> str:
        t, lang = self.catalogue.text, d.language
        lines = [
            t("digest.header", lang, campaign=d.campaign, day=self.catalogue.date(d.day, lang))
        ]
        if d.upcoming:
            lines.append(t("digest.upcoming", lang))
            for x in d.upcoming:
                lines.append(
                    t(
                        "digest.counts",
                        lang,
                        what=self.label(x.deadline, lang),
                        done=x.done,
                        expected=x.expected,
                    )
                )
                lines += self.excepted(x, lang)
        if d.overdue:
            lines.append(t("digest.overdue", lang))
            for x in d.overdue:
                if x.missing:
                    lines.append(
                        t(
                            "digest.overdue_line",
                            lang,
                            what=self.label(x.deadline, lang),
                            units=self.names(x.missing, lang),
                        )
                    )
                else:
                    lines.append(self.label(x.deadline, lang))
                lines += self.excepted(x, lang)
        return "\n".join(lines)

    def excepted(self, x: DigestLine, lang: str | None) -> list[str]:
        """The 免报 and 延期 units of a digest line, each on a line of its own."""
        t = self.catalogue.text
        lines = []
        if x.exempt:
            lines.append(t("exempt.digest_exempt", lang, units=self.names(x.exempt, lang)))
        if x.escalated:
            lines.append(t("digest.escalated", lang, units=self.names(x.escalated, lang)))
        if x.read:
            lines.append(t("digest.read", lang, units=self.names(x.read, lang)))
        if x.unread:
            lines.append(t("digest.unread", lang, units=self.names(x.unread, lang)))
        if x.extended:
            units = [
                t("exempt.digest_until", lang, unit=name, due=self.catalogue.when(due, lang))
                for name, due in x.extended
            ]
            lines.append(t("exempt.digest_extended", lang, units=self.names(units, lang)))
        return lines

    def label(self, d: DeadlineRef, lang: str | None) -> str:
        return self.catalogue.deadline(d.title, d.seq, d.repeats, d.due, lang)

    def names(self, units: Sequence[str], lang: str | None) -> str:
        zh = (lang or self.catalogue.default).startswith("zh")
        return ("、" if zh else ", ").join(units)


class ReminderNotifier(TelegramNotifier):
    """The sending edge for automatic reminders: the rate limiter already waits out 429s
    (its max_retries); this also retries 5xx answers and timeouts, with backoff."""

    def __init__(self, bot: Bot, retries: int = 3, backoff: float = 0.5) -> None:
        super().__init__(bot)
        # Behind cuibao's own limiter, nudges let people's replies go first.
        self.behind_replies = (
            bot if isinstance(bot, ExtBot) and isinstance(bot.rate_limiter, RepliesFirst) else None
        )
        self.retries = retries
        self.backoff = backoff

    async def _send_part(
        self, chat_id: int, text: str, markup: InlineKeyboardMarkup | None
    ) -> Delivery:
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                if self.behind_replies is not None:
                    await self.behind_replies.send_message(
                        chat_id, text, reply_markup=markup, rate_limit_args=BACKGROUND
                    )
                else:
                    await self.bot.send_message(chat_id, text, reply_markup=markup)
                return Delivery.SENT
            except Forbidden:
                return Delivery.BLOCKED
            except BadRequest as exc:
                if "chat not found" in exc.message.lower():
                    return Delivery.BLOCKED
                log.warning("reminder to %s refused: %s", chat_id, exc.message)
                return Delivery.FAILED
            except RetryAfter as exc:
                # The limiter's own retries are spent: wait as told, a few more times.
                if last:
                    break
                await asyncio.sleep(_seconds(exc.retry_after) + 0.1)
            except TimedOut as exc:
                if not _never_sent(exc):
                    # The request went out and no answer came: it may well have been
                    # delivered. Sending it again is how people get the same nudge 5 times.
                    log.warning("reminder to %s: no answer in time, delivery unknown", chat_id)
                    return Delivery.UNKNOWN
                if last:
                    log.warning("reminder to %s failed: %s", chat_id, exc)
                    break
                await asyncio.sleep(self.backoff * 2**attempt)
            except NetworkError as exc:  # 5xx, connection errors
                if isinstance(exc.__cause__, aiohttp.ServerDisconnectedError):
                    # The connection dropped after the request went out: unknown too.
                    log.warning("reminder to %s: connection lost, delivery unknown", chat_id)
                    return Delivery.UNKNOWN
                if last:
                    log.warning("reminder to %s failed: %s", chat_id, exc)
                    break
                await asyncio.sleep(self.backoff * 2**attempt)
            except TelegramError as exc:
                log.warning("reminder to %s failed: %s", chat_id, exc)
                return Delivery.FAILED
        return Delivery.FAILED


def _never_sent(exc: TimedOut) -> bool:
    """A timeout before the request left (no connection, no free one in the pool), with
    cuibao's aiohttp transport or PTB's httpx one; any other timeout came after it left."""
    return isinstance(
        exc.__cause__, aiohttp.ConnectionTimeoutError | httpx.ConnectTimeout | httpx.PoolTimeout
    )


def _seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class ReminderLoop:
    """Runs the dispatcher in a one-off job that reschedules itself; never two runs at once
    in this process (other processes are kept apart by the claims in the database)."""

    def __init__(
        self,
        app: AnyApp,
        dispatcher: ReminderDispatcher,
        clock: Callable[[], datetime],
        options: ReminderSettings,
        coordinators: Sequence[int] = (),
        catalogue: Catalogue | None = None,
    ) -> None:
        self.app = app
        self.dispatcher = dispatcher
        self.clock = clock
        self.options = options
        self.coordinators = tuple(coordinators)
        self.catalogue = catalogue or Catalogue()
        self.failures = 0  # failed runs in a row
        self.extend: Callable[[datetime], Awaitable[int]] | None = None  # open-ended plans
        self.calendar_gaps: Callable[[datetime], Awaitable[list[CalendarGap]]] | None = None
        self.extended_on: date | None = None
        self.alerted = 0  # the failure count the coordinators were last told about
        self.running = False
        self.dirty = False
        self.runs = 0
        self.idle = asyncio.Event()  # set while no run is going on (tests wait on it)
        self.idle.set()
        self.hook: TypeHandler[Update, Any, None] = TypeHandler(Update, _on_update)
        self.stopped = False  # replaced by another loop: a run in flight must not reschedule

    def schedule(self, delay: float) -> None:
        if self.stopped:
            return
        queue = self.app.job_queue
        if queue is None:
            raise RuntimeError("reminders need python-telegram-bot[job-queue]")
        for job in queue.get_jobs_by_name(JOB_NAME):
            job.schedule_removal()
        # misfire_grace_time None: a run that starts late (a busy loop) still runs; the
        # chain of one-off jobs must never break.
        queue.run_once(
            self._job, when=max(0.0, delay), name=JOB_NAME, job_kwargs={"misfire_grace_time": None}
        )

    def pending_in(self) -> float | None:
        """Seconds until the scheduled run, if one is scheduled."""
        queue = self.app.job_queue
        jobs = queue.get_jobs_by_name(JOB_NAME) if queue else ()
        times = [j.next_t for j in jobs if j.next_t is not None]
        if not times:
            return None
        return (min(times) - datetime.now(min(times).tzinfo)).total_seconds()

    def replan(self) -> None:
        """Run soon: something changed that may add reminders."""
        if self.running:
            self.dirty = True
            return
        delay = self.options.replan_delay_seconds
        pending = self.pending_in()
        if pending is None or pending > delay:
            self.schedule(delay)

    async def _job(self, _context: Any) -> None:
        if self.running:  # a replan raced the running job: it will run again at the end
            self.dirty = True
            return
        self.running = True
        self.idle.clear()
        delay = self.options.safety_interval_seconds
        try:
            await self._extend_horizon()
            while True:
                self.dirty = False
                report = await self.dispatcher.run()
                self.runs += 1
                metrics_of(self.app).reminder_report(report.sent, report.blocked, report.failed)
                if report.sent or report.blocked or report.failed or report.lost:
                    log.info(
                        "reminder round: %d sent, %d blocked, %d failed, %d unknown, "
                        "%d taken by another process, %d given back",
                        report.sent,
                        report.blocked,
                        report.failed,
                        report.unknown,
                        report.lost,
                        report.released,
                    )
                if report.next_at is not None:
                    delay = min(delay, (report.next_at - self.clock()).total_seconds())
                if not self.dirty:
                    break
            await self._recovered()
        except Exception as exc:
            self.failures += 1
            metrics_of(self.app).reminder_failed(self.failures)
            log.exception(
                "the reminder run failed (%d in a row); trying again in %g s",
                self.failures,
                self.options.retry_after_seconds,
            )
            delay = min(self.options.retry_after_seconds, delay)
            await self._failing(exc)
        finally:
            self.running = False
            self.idle.set()
            self.schedule(delay)

    async def _extend_horizon(self) -> None:
        """Once a day: open-ended plans get the deadlines that entered the year ahead."""
        now = self.clock()
        if self.extend is None or self.extended_on == now.date():
            return
        added = await self.extend(now)
        if added:
            log.info("open-ended plans: %d deadlines added as the horizon moved", added)
        for gap in await self.calendar_gaps(now) if self.calendar_gaps else ():
            log.warning(
                "campaign %s has deadlines in %d, a year without holiday data: "
                "telling its coordinators",
                gap.campaign,
                gap.year,
            )
            last = package_years()[1]
            await self._tell(
                gap.coordinators, "calendar.gap", campaign=gap.campaign, year=gap.year, last=last
            )
        self.extended_on = now.date()

    async def _failing(self, exc: Exception) -> None:
        """Nudges stop while chat keeps working, so nobody would notice: after
        FAILURES_BEFORE_ALERT runs in a row the coordinators are told, and again each time
        the count doubles (3, 6, 12, … runs: hours apart, not every minute)."""
        if self.failures < FAILURES_BEFORE_ALERT or self.failures < self.alerted * 2:
            return
        self.alerted = self.failures
        log.error(
            "automatic reminders have failed %d times in a row (last: %s); telling "
            "the coordinators",
            self.failures,
            exc,
        )
        await self._tell_coordinators(
            "reminders.failing", count=self.failures, error=f"{type(exc).__name__}: {exc}"[:300]
        )

    async def _recovered(self) -> None:
        if self.alerted:
            log.info("automatic reminders work again after %d failed runs", self.failures)
            await self._tell_coordinators("reminders.recovered", count=self.failures)
        self.failures = self.alerted = 0

    async def _tell_coordinators(self, key: str, **params: object) -> None:
        # The deployment's coordinators from the config: the database may be what failed.
        await self._tell([str(i) for i in self.coordinators], key, **params)

    async def _tell(self, chat_ids: Sequence[str], key: str, **params: object) -> None:
        for chat_id in chat_ids:
            try:
                await self.app.bot.send_message(int(chat_id), self.catalogue.text(key, **params))
            except TelegramError as exc:
                log.warning("could not tell coordinator %s (%s): %s", chat_id, key, exc)


def install_reminders(
    app: AnyApp,
    db: Database,
    settings: Settings,
    clock: Callable[[], datetime],
    options: ReminderSettings | None = None,
) -> ReminderLoop | None:
    """Start the reminder job (called from post_init); None when reminders are off."""
    options = options or settings_of(settings)
    previous = app.bot_data.pop(_KEY, None)
    if isinstance(previous, ReminderLoop):
        previous.stopped = True
        for job in app.job_queue.get_jobs_by_name(JOB_NAME) if app.job_queue else ():
            job.schedule_removal()
        app.remove_handler(previous.hook, REPLAN_GROUP)
    if not options.enabled:
        log.info("automatic reminders are off")
        return None
    notifier: Notifier = ReminderNotifier(
        app.bot, options.send_retries, options.send_backoff_seconds
    )
    if db.shared and options.shared_per_second:  # several processes, one bot: one budget
        rate = SharedRate(db.sessions, f"telegram:{app.bot.id}", options.shared_per_second)
        notifier = RateSharedNotifier(notifier, rate)
    renderer = CatalogueRenderer(Catalogue(settings.bot.language))
    dispatcher = ReminderDispatcher(
        db.sessions, notifier, renderer, clock, reminder_config(options, settings)
    )
    dispatcher.after_digest = after_digest(services_of(app))
    loop = ReminderLoop(
        app, dispatcher, clock, options, settings.bot.coordinators, renderer.catalogue
    )
    overrides = settings.calendar.overrides()
    loop.extend = lambda now: extend_open_ended(db.sessions, now, overrides)
    coordinators = [str(i) for i in settings.bot.coordinators]
    loop.calendar_gaps = lambda now: untold_calendar_gaps(
        db.sessions, now, overrides, coordinators
    )
    app.add_handler(loop.hook, REPLAN_GROUP)
    app.bot_data[_KEY] = loop
    loop.schedule(0)
    return loop


def reminder_loop(app: AnyApp) -> ReminderLoop | None:
    """The app's reminder loop; None when reminders are off."""
    loop = app.bot_data.get(_KEY)
    return loop if isinstance(loop, ReminderLoop) else None


def replan(app: AnyApp) -> None:
    """Bring the next reminder run forward (after a plan load, a registration, …)."""
    loop = reminder_loop(app)
    if loop is not None:
        loop.replan()


async def _on_update(update: Update, context: Any) -> None:
    chat = update.effective_chat
    if chat is not None and chat.type == "private":
        replan(context.application)
