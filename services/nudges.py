"""Automatic reminders: derive what is due from the database, claim it, send it, record it.

Nothing about reminders lives in memory between runs. Each run reads the deadlines around
now, the units still owing something (no submission, or the newest one returned) and the
delivery log (`sent_reminders`), asks the policy which step is valid now for each person,
and sends what has not gone out yet. Before anything is sent its log row is inserted
(status "claimed") and committed: the unique key (deadline, unit, person, step) makes each
nudge go out at most once however many processes run this. A claim carries its own time
and a lease that its process renews while the send is under way, so a long round's claims
are never taken for stale; a process that dies mid-send leaves a claim that another run
retries once its lease has run out. Every attempt is recorded as what it was: sent,
blocked, failed (tried again later) or unknown (the request went out and no answer came:
never sent again, counted). A mark that cannot be written (the database restarting) is
written again, never the message sent again; a process told to stop gives back the claims
it has not sent.

A unit the coordinator exempted from a deadline (免报) gets no nudge for it; one given a
later due time (延期) is nudged, and reported missing, by that time instead. When either is
set or undone, the unit's people are told once (from this loop, so a change made on the
command line reaches them too).

Coordinators get, besides: a note when someone blocked the bot (once per person), a list
of the units missing when a deadline passes, and a digest every working day, at the
deployment's `digest_at` or at a time of their own (`digest_preferences`), unless they
muted it. A digest is claimed, retried and given up exactly like a nudge.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.plan import Cadence, Plan
from scheduler.calendar import WorkdayCalendar
from scheduler.nudge_policy import (
    Placement,
    Policy,
    ReminderSyntaxError,
    default_policy,
    policy_for,
)
from services.access import Role
from services.campaign_reads import PlanRegistry, latest_submissions, overrides_for
from services.nudge_planner import (
    BlockedNotice,
    CampaignContext,
    DeadlineRef,
    Digest,
    DigestLine,
    Job,
    Message,
    MissedNotice,
    Nudge,
    NudgePlanner,
    OverrideNotice,
    Recipient,
    ReminderConfig,
    World,
    worker_name,
)
from services.ports import Button, Delivery, Notifier
from services.receipts import READ_WINDOW, reads_by_unit
from storage import models as m
from storage.sent_log import BLOCKED, CLAIMED, FAILED, SENT, UNKNOWN, SentLog

__all__ = [  # the vocabulary of nudges, decided in services/nudge_planner.py
    "BlockedNotice",
    "DeadlineRef",
    "Digest",
    "DigestLine",
    "DispatchReport",
    "Message",
    "MissedNotice",
    "Nudge",
    "OverrideNotice",
    "ReminderConfig",
    "ReminderDispatcher",
    "Renderer",
    "worker_name",
]

MARK_PATIENCE = 60.0  # seconds a mark is tried again before its claim is left to go stale
log = logging.getLogger(__name__)
T = TypeVar("T")


class Renderer(Protocol):
    """Turns a message into text and buttons (the edge owns the catalogue)."""

    def render(self, message: Message) -> tuple[str, Sequence[Sequence[Button]]]: ...


@dataclass(frozen=True)
class DispatchReport:
    sent: int = 0
    blocked: int = 0
    failed: int = 0
    lost: int = 0  # claims another process won
    next_at: datetime | None = None  # when the next run has something to do
    unknown: int = 0  # sent, but no answer came: perhaps delivered (not sent again)
    released: int = 0  # claims given back unsent because the process is stopping


# ---- one run's picture of the database ----------------------------------------------------


class ReminderDispatcher:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        notifier: Notifier,
        renderer: Renderer,
        clock: Callable[[], datetime],
        config: ReminderConfig | None = None,
    ) -> None:
        self.sessions = sessions
        self.notifier = notifier
        self.renderer = renderer
        self.clock = clock
        self.config = config or ReminderConfig()
        self.planner = NudgePlanner(self.config)
        self.plans = PlanRegistry()  # parsed plans by stored version
        self._warned: set[tuple[int, int, str]] = set()
        # SQLite has one writer at a time: queue this process's writes here rather than
        # in SQLite's busy handler, which sleeps in steps of up to 100 ms.
        self._write_lock: asyncio.Lock | None = None
        self._marks: list[tuple[dict[str, Any], asyncio.Future[None]]] = []
        self._marking: asyncio.Task[None] | None = None
        self._held: set[int] = set()  # this process's claims not recorded yet (leased)
        self._stopping = asyncio.Event()
        # Called after each digest is sent (campaign id, recipient, language): the sending
        # edge adds the progress picture. Not logged: a lost picture is not worth a resend.
        self.after_digest: Callable[[int, str, str | None], Awaitable[None]] | None = None

    def stop(self) -> None:
        """Stop soon: no more claims; what is claimed and not sent yet is given back (sends
        under way finish and are recorded). For a shutdown: a run returns in seconds."""
        self._stopping.set()

    @property
    def stopping(self) -> asyncio.Event:
        return self._stopping

    async def run(self) -> DispatchReport:
        """Send everything due now; returns the counts and when to run next."""
        now = self.clock()
        if self._stopping.is_set():
            return DispatchReport()
        world = await self._load(now)
        plan = self.planner.plan(world, now)
        stats = {SENT: 0, BLOCKED: 0, FAILED: 0, UNKNOWN: 0, "lost": 0, "released": 0}
        queue: asyncio.Queue[Job | None] = asyncio.Queue(maxsize=self.config.claim_batch)
        workers = [
            asyncio.create_task(self._worker(queue, world, stats))
            for _ in range(max(1, self.config.concurrency))
        ]
        renewing = asyncio.create_task(self._renew_leases())
        try:
            await self._give_up(plan.give_up)
            batches = [
                self._reclaim(plan.again, stats),
                self._claim_coordinator_jobs(plan.coordinator, stats),
            ]
            for claiming in batches:
                for job in await claiming:
                    await queue.put(job)
            size = max(1, self.config.claim_batch)
            for batch in (plan.new[i : i + size] for i in range(0, len(plan.new), size)):
                if self._stopping.is_set():
                    break
                for job in await self._claim(batch, stats):
                    await queue.put(job)
        finally:
            for _ in workers:
                await queue.put(None)
            await asyncio.gather(*workers)
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
        wake = list(plan.wake)
        if stats[FAILED] or stats["released"]:
            wake.append(now + self.config.retry_after)
        return DispatchReport(
            stats[SENT],
            stats[BLOCKED],
            stats[FAILED],
            stats["lost"],
            min(wake, default=None),
            stats[UNKNOWN],
            stats["released"],
        )

    async def _renew_leases(self) -> None:
        """Every third of a lease, extend those of the claims this process still holds."""
        every = max(0.5, self.config.stale_after.total_seconds() / 3)
        while True:
            await asyncio.sleep(every)
            if not self._held:
                continue
            try:
                async with self._writing() as s:
                    await SentLog(s).renew(
                        self.config.worker, sorted(self._held), self._lease_end()
                    )
            except Exception:
                log.warning("could not renew this process's nudge leases", exc_info=True)

    def _lease_end(self) -> datetime:
        return self.clock() + self.config.stale_after

    # ---- reading -----------------------------------------------------------------------

    async def _load(self, now: datetime) -> World:
        async with self.sessions() as s:
            campaigns = await self._campaigns(s)
            if not campaigns:
                return World({}, [], {}, {}, {}, {}, set())
            lead = max(
                (p.lead for c in campaigns.values() for p in c.policies.values()),
                default=timedelta(0),
            )
            lag = max(
                (p.lag for c in campaigns.values() for p in c.policies.values()),
                default=timedelta(0),
            )
            lead = max(lead, timedelta(days=3))  # the digest looks at today and tomorrow
            lag = max(lag, self.config.digest_lookback + timedelta(days=1))
            obligation_ids = [oid for c in campaigns.values() for oid in c.policies]
            # Deadlines whose own time is outside the window but a unit's 延期 is inside
            # it, or whose 免报 / 延期 changed lately (the unit is told).
            excepted = select(m.UnitDeadlineOverride.deadline_id).where(
                (
                    (m.UnitDeadlineOverride.due_at >= now - lag)
                    & (m.UnitDeadlineOverride.due_at <= now + lead)
                    & m.UnitDeadlineOverride.revoked_at.is_(None)
                )
                | (m.UnitDeadlineOverride.changed_at >= now - self.config.override_notice_for)
            )
            # How many occurrences each obligation has: one shows no "#seq".
            counts = (
                select(m.Deadline.obligation_id, func.count().label("n"))
                .where(m.Deadline.obligation_id.in_(obligation_ids))
                .group_by(m.Deadline.obligation_id)
                .subquery()
            )
            q = (
                select(m.Deadline, m.Obligation, counts.c.n)
                .join(m.Obligation, m.Obligation.id == m.Deadline.obligation_id)
                .join(counts, counts.c.obligation_id == m.Deadline.obligation_id)
                .where(
                    m.Deadline.obligation_id.in_(obligation_ids),
                    m.Deadline.cancelled.is_(False),
                    ((m.Deadline.due_at >= now - lag) & (m.Deadline.due_at <= now + lead))
                    | m.Deadline.id.in_(excepted),
                )
                .order_by(m.Deadline.due_at, m.Obligation.position, m.Deadline.id)
            )
            deadlines, repeats = [], set()
            for d, o, n in (await s.execute(q)).all():
                deadlines.append((d, o))
                if n > 1:
                    repeats.add(o.id)
            ids = [d.id for d, _ in deadlines]
            units: dict[int, list[m.Unit]] = {}
            uq = (
                select(m.Unit)
                .where(m.Unit.campaign_id.in_(list(campaigns)), m.Unit.active.is_(True))
                .order_by(m.Unit.position, m.Unit.id)
            )
            for u in (await s.scalars(uq)).all():
                units.setdefault(u.campaign_id, []).append(u)
            people = await self._people(s, campaigns)
            latest = await latest_submissions(s, deadline_ids=ids) if ids else {}
            sent = await SentLog(s).entries(ids)
            digest_at = await self._digest_times(s, campaigns)
            overrides = await overrides_for(s, deadline_ids=ids)
            # Who read their latest nudge (where the platform tells): the digest says so.
            reads = await reads_by_unit(
                s,
                now - self.config.digest_lookback - READ_WINDOW,
                m.Membership.campaign_id.in_(list(campaigns)),
            )
            changed = (
                list(
                    await s.scalars(
                        select(m.UnitDeadlineOverride).where(
                            m.UnitDeadlineOverride.deadline_id.in_(ids),
                            m.UnitDeadlineOverride.changed_at
                            >= now - self.config.override_notice_for,
                        )
                    )
                )
                if ids
                else []
            )
        return World(
            campaigns,
            deadlines,
            units,
            people,
            latest,
            sent,
            repeats,
            digest_at,
            overrides,
            changed,
            reads,
        )

    async def _campaigns(self, s: AsyncSession) -> dict[int, CampaignContext]:
        newest = (
            select(m.PlanVersion.campaign_id, func.max(m.PlanVersion.version).label("version"))
            .group_by(m.PlanVersion.campaign_id)
            .subquery()
        )
        rows = (
            await s.execute(
                select(m.Campaign, newest.c.version).join(
                    newest, newest.c.campaign_id == m.Campaign.id
                )
            )
        ).all()
        versions = {c.id: v for c, v in rows}
        obligations = (
            await s.scalars(
                select(m.Obligation).where(
                    m.Obligation.campaign_id.in_(list(versions)), m.Obligation.active.is_(True)
                )
            )
        ).all()
        result: dict[int, CampaignContext] = {}
        for c, _version in rows:
            plan = await self._plan_of(s, c.id, versions[c.id])
            calendar = WorkdayCalendar(self.config.calendar, plan.calendar)
            tz = ZoneInfo(c.timezone)
            policies = {}
            for o in obligations:
                if o.campaign_id == c.id:
                    policies[o.id] = self._policy(c, versions[c.id], plan, o)
            result[c.id] = CampaignContext(
                c, plan, Placement(calendar, self.config.quiet), tz, policies
            )
        return result

    async def _plan_of(self, s: AsyncSession, campaign_id: int, version: int) -> Plan:
        return await self.plans.plan_at(s, campaign_id, version)

    def _policy(self, c: m.Campaign, version: int, plan: Plan, o: m.Obligation) -> Policy:
        found = next((x for x in plan.obligations if x.id == o.code), None)
        cadence = found.cadence if found else Cadence(o.cadence)
        try:
            return policy_for(cadence, found.reminders if found else None)
        except ReminderSyntaxError as exc:
            # The plan was stored before its reminders were checked: nudge by the default
            # rather than not at all, and say so once per plan version.
            if (c.id, version, o.code) not in self._warned:
                self._warned.add((c.id, version, o.code))
                log.warning(
                    "%s: obligation %s: %s; using the default reminders", c.code, o.code, exc
                )
            return default_policy(cadence)

    async def _people(
        self, s: AsyncSession, campaigns: dict[int, CampaignContext]
    ) -> dict[int, list[Recipient]]:
        q = (
            select(m.Membership, m.Person)
            .join(m.Person, m.Person.id == m.Membership.person_id)
            .where(
                m.Membership.campaign_id.in_(list(campaigns)),
                m.Person.reachable.is_(True),
                m.Person.platform == self.config.platform,  # another platform's own loop
            )
            .order_by(m.Membership.id)
        )
        by_unit: dict[int, list[Recipient]] = {}
        coordinators: dict[int, dict[int, Recipient]] = {cid: {} for cid in campaigns}
        for ms, p in (await s.execute(q)).all():
            person = Recipient(
                p.id,
                p.external_id,
                p.display_name,
                p.language,
                ms.role == Role.DEPUTY,
                ms.role == Role.LEADER,
            )
            if ms.role == Role.COORDINATOR:
                coordinators[ms.campaign_id][p.id] = person
            elif ms.unit_id is not None:
                by_unit.setdefault(ms.unit_id, []).append(person)
        if self.config.coordinators:
            q2 = select(m.Person).where(
                m.Person.external_id.in_(self.config.coordinators),
                m.Person.reachable.is_(True),
                m.Person.platform == self.config.platform,
            )
            for p in (await s.scalars(q2)).all():
                for found in coordinators.values():
                    found.setdefault(
                        p.id, Recipient(p.id, p.external_id, p.display_name, p.language)
                    )
        for cid, found in coordinators.items():
            campaigns[cid].coordinators = sorted(found.values(), key=lambda x: x.id)
        return by_unit

    async def _digest_times(
        self, s: AsyncSession, campaigns: dict[int, CampaignContext]
    ) -> dict[int, time | None]:
        """When each coordinator gets the digest: their own time, else the deployment's;
        None for one who muted it. Empty when the deployment sends no digest."""
        default = self.config.digest_at
        ids = sorted({p.id for c in campaigns.values() for p in c.coordinators})
        if default is None or not ids:
            return {}
        times: dict[int, time | None] = dict.fromkeys(ids, default)
        q = select(m.DigestPreference).where(m.DigestPreference.person_id.in_(ids))
        for pref in (await s.scalars(q)).all():
            times[pref.person_id] = None if pref.muted else pref.local_time or default
        return times

    # ---- deciding ----------------------------------------------------------------------

    # ---- claiming ----------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncSession]:
        """One short write transaction. On SQLite (where storage.db begins every
        transaction IMMEDIATE, so it holds the file's write lock from the start) this
        process's writes take turns here rather than in SQLite's busy handler."""
        if self._write_lock is None:
            self._write_lock = asyncio.Lock()
        async with self.sessions() as s:
            sqlite_db = s.get_bind().dialect.name == "sqlite"
            async with self._write_lock if sqlite_db else contextlib.nullcontext():
                yield s
                await s.commit()

    def _row(self, job: Job) -> dict[str, Any]:
        """A claim, timed when it is made (not when the round began), with its lease."""
        deadline_id, unit_id, person_id, step = job.key
        now = self.clock()
        return {
            "deadline_id": deadline_id,
            "unit_id": unit_id,
            "person_id": person_id,
            "step": step,
            "status": CLAIMED,
            "claimed_at": now,
            "claimed_by": self.config.worker,
            "attempts": 1,
            "lease_until": now + self.config.stale_after,
        }

    async def _claim(self, jobs: list[Job], stats: dict[str, int]) -> list[Job]:
        """Insert the log rows of `jobs`; those another process inserted first are not ours."""
        if not jobs:
            return []
        async with self._writing() as s:
            won = await SentLog(s).claim([self._row(j) for j in jobs])
        mine = []
        for job in jobs:
            if job.key in won:
                job.row_id = won[job.key]
                self._held.add(job.row_id)
                mine.append(job)
        stats["lost"] += len(jobs) - len(mine)
        return mine

    async def _claim_coordinator_jobs(self, jobs: list[Job], stats: dict[str, int]) -> list[Job]:
        """Unit-less rows: NULLs never collide in a unique key, so lock the recipient's row
        and look first (on SQLite, BEGIN IMMEDIATE already serialises the transaction)."""
        mine = []
        for job in jobs:
            async with self._writing() as s:
                row_id = await SentLog(s).claim_unitless(self._row(job), job.campaign_id)
            if row_id is None:
                stats["lost"] += 1
                continue
            job.row_id = row_id
            self._held.add(row_id)
            mine.append(job)
        return mine

    async def _reclaim(
        self, pairs: list[tuple[m.SentReminder, Job]], stats: dict[str, int]
    ) -> list[Job]:
        """Take over failed rows due for a retry and stale claims, compare-and-set."""
        mine = []
        for row, job in pairs:
            async with self._writing() as s:
                taken = await SentLog(s).take_over(
                    row, self.clock(), self.config.worker, self._lease_end()
                )
            if taken:
                job.row_id = row.id
                self._held.add(row.id)
                mine.append(job)
            else:
                stats["lost"] += 1
        return mine

    async def _give_up(self, rows: list[m.SentReminder]) -> None:
        for row in rows:
            async with self._writing() as s:
                await SentLog(s).give_up(row, self.config.max_attempts)

    # ---- sending -----------------------------------------------------------------------

    async def _worker(
        self, queue: asyncio.Queue[Job | None], world: World, stats: dict[str, int]
    ) -> None:
        while (job := await queue.get()) is not None:
            if self._stopping.is_set():  # claimed, never sent: given back for anyone
                await self._release(job, stats)
                continue
            try:
                outcome, error = await self._send(job)
                await self._mark(job, outcome, error)
                stats[outcome.value] = stats.get(outcome.value, 0) + 1
                if outcome is Delivery.SENT and isinstance(job.message, Digest):
                    await self._after_digest(job, job.message)
                if outcome is Delivery.BLOCKED and isinstance(job.message, Nudge):
                    for notice in await self._blocked(job, world):
                        outcome, error = await self._send(notice)
                        await self._mark(notice, outcome, error)
            except Exception:
                # The row stays claimed and is retried once it goes stale.
                log.exception("reminder %s could not be recorded", job.key)

    async def _release(self, job: Job, stats: dict[str, int]) -> None:
        try:
            async with self._writing() as s:
                await SentLog(s).release(self.config.worker, [job.row_id])
            self._held.discard(job.row_id)
            stats["released"] += 1
        except Exception:  # its lease runs out instead
            log.warning("could not give back the claim of %s", job.key, exc_info=True)

    async def _after_digest(self, job: Job, digest: Digest) -> None:
        if self.after_digest is None:
            return
        try:
            await self.after_digest(job.campaign_id, job.external_id, digest.language)
        except Exception:
            log.exception("the picture after digest %s failed", job.key)

    async def _send(self, job: Job) -> tuple[Delivery, str | None]:
        try:
            text, buttons = self.renderer.render(job.message)
            outcome = await self.notifier.send(job.external_id, text, buttons)
        except Exception as exc:
            log.exception("reminder %s failed", job.key)
            return Delivery.FAILED, f"{type(exc).__name__}: {exc}"[:500]
        return outcome, None if outcome is Delivery.SENT else outcome.value

    async def _mark(self, job: Job, outcome: Delivery, error: str | None) -> None:
        """Record an outcome; returns once it is committed. Marks that arrive while a
        commit is under way share the next one (group commit), so a worker never sends
        again before its last send is on record: at most `concurrency` sends are ever
        unrecorded, and those are what a stale-claim retry may repeat."""
        done = asyncio.get_running_loop().create_future()
        self._marks.append(
            (
                {
                    "b_id": job.row_id,
                    "b_status": outcome.value,
                    "b_sent_at": self.clock(),
                    "b_error": error,
                },
                done,
            )
        )
        if self._marking is None or self._marking.done():
            self._marking = asyncio.create_task(self._commit_marks())
        await done
        self._held.discard(job.row_id)

    async def _commit_marks(self) -> None:
        """Write the marks; a failed write (the database restarting) is tried again for a
        while, with the leases still renewed, so a sent message is never taken for unsent
        and sent again. Only after MARK_PATIENCE do the marks fail (and their claims go
        stale)."""
        while self._marks:
            batch, self._marks = self._marks, []
            delay, waited = 0.25, 0.0
            while True:
                try:
                    async with self._writing() as s:
                        await SentLog(s).record(self.config.worker, [p for p, _ in batch])
                except Exception as exc:
                    if waited >= MARK_PATIENCE:
                        for _, done in batch:
                            done.set_exception(exc)
                        break
                    log.warning("recording %d nudges failed; trying again: %s", len(batch), exc)
                    await asyncio.sleep(delay)
                    waited += delay
                    delay = min(delay * 2, 5.0)
                else:
                    for _, done in batch:
                        done.set_result(None)
                    break

    async def _blocked(self, job: Job, world: World) -> list[Job]:
        """The person blocked the bot: unreachable from now on; whoever flips the flag
        tells the campaign's coordinators (so they hear it once, not once per nudge)."""
        deadline_id, unit_id, person_id, _step = job.key
        campaign = world.campaigns[job.campaign_id]
        assert isinstance(job.message, Nudge)
        person = next((p for p in world.people.get(unit_id or 0, []) if p.id == person_id), None)
        notices = [
            Job(
                (deadline_id, unit_id, c.id, f"blocked-{person_id}"),
                job.campaign_id,
                c.external_id,
                BlockedNotice(
                    job.message.deadline,
                    job.message.unit_name,
                    person.name if person else "",
                    c.language,
                ),
            )
            for c in campaign.coordinators
            if c.id != person_id
        ]
        async with self._writing() as s:
            won = await SentLog(s).unreachable(person_id, [self._row(n) for n in notices])
        if not won:
            return []
        mine = []
        for n in notices:
            if n.key[2] in won:
                n.row_id = won[n.key[2]]
                mine.append(n)
        return mine
