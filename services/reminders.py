"""Automatic reminders: derive what is due from the database, claim it, send it, record it.

Nothing about reminders lives in memory between runs. Each run reads the deadlines around
now, the units still owing something (no submission, or the newest one returned) and the
delivery log (`sent_reminders`), asks the policy which step is valid now for each person,
and sends what has not gone out yet. Before anything is sent its log row is inserted
(status "claimed") and committed: the unique key (deadline, unit, person, step) makes each
nudge go out at most once however many processes run this, and a process that dies
mid-send leaves a claim that another run retries once after `stale_after`.

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
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol, TypeVar, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, Text, and_, bindparam, exists, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.plan import Cadence, CalendarOverrides, Plan
from domain.plan_toml import parse_plan
from domain.status import Override, OverrideKind, due_for
from scheduler.calendar import WorkdayCalendar
from scheduler.reminders import (
    Placement,
    Policy,
    QuietHours,
    ReminderSyntaxError,
    current,
    default_policy,
    for_role,
    next_instant,
    policy_for,
    schedule,
)
from services.catalog import applies, overrides_for
from services.ports import Button, Delivery, Notifier
from storage import models as m

log = logging.getLogger(__name__)
T = TypeVar("T")

CLAIMED, SENT, BLOCKED, FAILED = "claimed", "sent", "blocked", "failed"
_STALE_MARK = "stale claim of "


def worker_name() -> str:
    """Who claimed a row: host, process and a random suffix (pids are reused)."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class ReminderConfig:
    quiet: QuietHours = field(default_factory=QuietHours)
    digest_at: time | None = time(8, 30)  # coordinators' daily digest; None: no digest
    digest_lookback: timedelta = timedelta(days=7)  # overdue deadlines the digest names
    stale_after: timedelta = timedelta(minutes=5)  # a claim never marked: its sender died
    retry_after: timedelta = timedelta(minutes=1)  # first backoff after a failed send
    retry_cap: timedelta = timedelta(hours=1)
    max_attempts: int = 4  # sends of one nudge in all, retries included
    claim_batch: int = 50  # rows claimed per transaction
    concurrency: int = 4  # sends in flight at once (the rate limiter paces them)
    calendar: CalendarOverrides = field(default_factory=CalendarOverrides)  # deployment's
    coordinators: tuple[str, ...] = ()  # external ids of the deployment-wide coordinators
    override_notice_for: timedelta = timedelta(days=2)  # telling a unit of a 免报 / 延期
    worker: str = field(default_factory=worker_name)

    def backoff(self, attempts: int) -> timedelta:
        return min(self.retry_cap, self.retry_after * 4 ** max(0, attempts - 1))


# ---- what is sent (rendered at the edge, in the recipient's language) ---------------------


@dataclass(frozen=True)
class DeadlineRef:
    deadline_id: int
    title: str
    seq: int
    repeats: bool  # the obligation has several occurrences: show "#seq"
    due: datetime  # in the plan's zone


@dataclass(frozen=True)
class Nudge:
    deadline: DeadlineRef
    unit_name: str
    step: str
    overdue: bool
    returned: bool  # the newest submission was sent back and is still not corrected
    language: str | None


@dataclass(frozen=True)
class BlockedNotice:
    deadline: DeadlineRef
    unit_name: str
    person_name: str
    language: str | None


@dataclass(frozen=True)
class MissedNotice:
    deadline: DeadlineRef
    units: tuple[str, ...]
    language: str | None


@dataclass(frozen=True)
class OverrideNotice:
    """A unit's people are told of a 免报 / 延期 set for them, or undone."""

    deadline: DeadlineRef  # with the unit's own due time
    unit_name: str
    kind: OverrideKind
    undone: bool
    reason: str
    language: str | None


@dataclass(frozen=True)
class DigestLine:
    deadline: DeadlineRef
    expected: int
    done: int
    missing: tuple[str, ...]
    exempt: tuple[str, ...] = ()  # 免报: not counted in `expected`
    extended: tuple[tuple[str, datetime], ...] = ()  # 延期 and not yet due: unit, its time


@dataclass(frozen=True)
class Digest:
    campaign: str
    day: date
    upcoming: tuple[DigestLine, ...]  # due today or tomorrow
    overdue: tuple[DigestLine, ...]  # passed, units still missing
    language: str | None


Message = Nudge | BlockedNotice | MissedNotice | Digest | OverrideNotice


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


# ---- one run's picture of the database ----------------------------------------------------


@dataclass(frozen=True)
class _Person:
    id: int
    external_id: str
    name: str
    language: str | None
    deputy: bool = False


@dataclass
class _Campaign:
    row: m.Campaign
    plan: Plan
    placement: Placement
    tz: ZoneInfo
    policies: dict[int, Policy]  # by obligation id
    coordinators: list[_Person] = field(default_factory=list)


@dataclass
class _World:
    campaigns: dict[int, _Campaign]
    deadlines: list[tuple[m.Deadline, m.Obligation]]
    units: dict[int, list[m.Unit]]  # by campaign
    people: dict[int, list[_Person]]  # liaison and deputy by unit
    latest: dict[tuple[int, int], m.Submission]
    log: dict[tuple[int, int | None, int, str], m.SentReminder]
    repeats: set[int]
    digest_at: dict[int, time | None] = field(default_factory=dict)  # by person; None: muted
    overrides: dict[tuple[int, int], Override] = field(default_factory=dict)  # standing
    changed: list[m.UnitDeadlineOverride] = field(default_factory=list)  # to tell units of


Key = tuple[int, int | None, int, str]  # deadline, unit, person, step


@dataclass
class _Job:
    key: Key
    campaign_id: int
    external_id: str
    message: Message
    row_id: int = 0


@dataclass
class _Plan:
    """What one run found to do."""

    new: list[_Job] = field(default_factory=list)
    coordinator: list[_Job] = field(default_factory=list)  # unit-less: deduplicated by lock
    again: list[tuple[m.SentReminder, _Job]] = field(default_factory=list)
    give_up: list[m.SentReminder] = field(default_factory=list)
    wake: list[datetime] = field(default_factory=list)


class ReminderDispatcher:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], notifier: Notifier,
                 renderer: Renderer, clock: Callable[[], datetime],
                 config: ReminderConfig | None = None) -> None:
        self.sessions = sessions
        self.notifier = notifier
        self.renderer = renderer
        self.clock = clock
        self.config = config or ReminderConfig()
        self._plans: dict[tuple[int, int], Plan] = {}
        self._warned: set[tuple[int, int, str]] = set()
        # SQLite has one writer at a time: queue this process's writes here rather than
        # in SQLite's busy handler, which sleeps in steps of up to 100 ms.
        self._write_lock: asyncio.Lock | None = None
        self._marks: list[tuple[dict[str, Any], asyncio.Future[None]]] = []
        self._marking: asyncio.Task[None] | None = None
        # Called after each digest is sent (campaign id, recipient, language): the sending
        # edge adds the progress picture. Not logged: a lost picture is not worth a resend.
        self.after_digest: Callable[[int, str, str | None], Awaitable[None]] | None = None

    async def run(self) -> DispatchReport:
        """Send everything due now; returns the counts and when to run next."""
        now = self.clock()
        world = await self._load(now)
        plan = self._plan(world, now)
        stats = {SENT: 0, BLOCKED: 0, FAILED: 0, "lost": 0}
        queue: asyncio.Queue[_Job | None] = asyncio.Queue(maxsize=self.config.claim_batch)
        workers = [asyncio.create_task(self._worker(queue, world, stats))
                   for _ in range(max(1, self.config.concurrency))]
        try:
            await self._give_up(plan.give_up)
            for job in await self._reclaim(plan.again, now, stats):
                await queue.put(job)
            for job in await self._claim_coordinator_jobs(plan.coordinator, now, stats):
                await queue.put(job)
            for batch in _chunks(plan.new, self.config.claim_batch):
                for job in await self._claim(batch, now, stats):
                    await queue.put(job)
        finally:
            for _ in workers:
                await queue.put(None)
            await asyncio.gather(*workers)
        wake = list(plan.wake)
        if stats[FAILED]:
            wake.append(now + self.config.retry_after)
        return DispatchReport(stats[SENT], stats[BLOCKED], stats[FAILED], stats["lost"],
                              min(wake, default=None))

    # ---- reading -----------------------------------------------------------------------

    async def _load(self, now: datetime) -> _World:
        async with self.sessions() as s:
            campaigns = await self._campaigns(s)
            if not campaigns:
                return _World({}, [], {}, {}, {}, {}, set())
            lead = max((p.lead for c in campaigns.values() for p in c.policies.values()),
                       default=timedelta(0))
            lag = max((p.lag for c in campaigns.values() for p in c.policies.values()),
                      default=timedelta(0))
            lead = max(lead, timedelta(days=3))  # the digest looks at today and tomorrow
            lag = max(lag, self.config.digest_lookback + timedelta(days=1))
            obligation_ids = [oid for c in campaigns.values() for oid in c.policies]
            # Deadlines whose own time is outside the window but a unit's 延期 is inside
            # it, or whose 免报 / 延期 changed lately (the unit is told).
            excepted = select(m.UnitDeadlineOverride.deadline_id).where(
                ((m.UnitDeadlineOverride.due_at >= now - lag)
                 & (m.UnitDeadlineOverride.due_at <= now + lead)
                 & m.UnitDeadlineOverride.revoked_at.is_(None))
                | (m.UnitDeadlineOverride.changed_at >= now - self.config.override_notice_for))
            # How many occurrences each obligation has: one shows no "#seq".
            counts = (select(m.Deadline.obligation_id, func.count().label("n"))
                      .where(m.Deadline.obligation_id.in_(obligation_ids))
                      .group_by(m.Deadline.obligation_id).subquery())
            q = (select(m.Deadline, m.Obligation, counts.c.n)
                 .join(m.Obligation, m.Obligation.id == m.Deadline.obligation_id)
                 .join(counts, counts.c.obligation_id == m.Deadline.obligation_id)
                 .where(m.Deadline.obligation_id.in_(obligation_ids),
                        m.Deadline.cancelled.is_(False),
                        ((m.Deadline.due_at >= now - lag) & (m.Deadline.due_at <= now + lead))
                        | m.Deadline.id.in_(excepted))
                 .order_by(m.Deadline.due_at, m.Obligation.position, m.Deadline.id))
            deadlines, repeats = [], set()
            for d, o, n in (await s.execute(q)).all():
                deadlines.append((d, o))
                if n > 1:
                    repeats.add(o.id)
            ids = [d.id for d, _ in deadlines]
            units: dict[int, list[m.Unit]] = {}
            uq = (select(m.Unit).where(m.Unit.campaign_id.in_(list(campaigns)),
                                       m.Unit.active.is_(True))
                  .order_by(m.Unit.position, m.Unit.id))
            for u in (await s.scalars(uq)).all():
                units.setdefault(u.campaign_id, []).append(u)
            people = await self._people(s, campaigns)
            latest = await _latest(s, ids)
            sent = await _log(s, ids)
            digest_at = await self._digest_times(s, campaigns)
            overrides = await overrides_for(s, deadline_ids=ids)
            changed = list(await s.scalars(select(m.UnitDeadlineOverride).where(
                m.UnitDeadlineOverride.deadline_id.in_(ids),
                m.UnitDeadlineOverride.changed_at >= now - self.config.override_notice_for)
            )) if ids else []
        return _World(campaigns, deadlines, units, people, latest, sent, repeats, digest_at,
                      overrides, changed)

    async def _campaigns(self, s: AsyncSession) -> dict[int, _Campaign]:
        newest = (select(m.PlanVersion.campaign_id, func.max(m.PlanVersion.version)
                         .label("version"))
                  .group_by(m.PlanVersion.campaign_id).subquery())
        rows = (await s.execute(select(m.Campaign, newest.c.version).join(
            newest, newest.c.campaign_id == m.Campaign.id))).all()
        versions = {c.id: v for c, v in rows}
        obligations = (await s.scalars(select(m.Obligation).where(
            m.Obligation.campaign_id.in_(list(versions)), m.Obligation.active.is_(True)))).all()
        result: dict[int, _Campaign] = {}
        for c, _version in rows:
            plan = await self._plan_of(s, c.id, versions[c.id])
            calendar = WorkdayCalendar(self.config.calendar, plan.calendar)
            tz = ZoneInfo(c.timezone)
            policies = {}
            for o in obligations:
                if o.campaign_id == c.id:
                    policies[o.id] = self._policy(c, versions[c.id], plan, o)
            result[c.id] = _Campaign(c, plan, Placement(calendar, self.config.quiet), tz,
                                     policies)
        return result

    async def _plan_of(self, s: AsyncSession, campaign_id: int, version: int) -> Plan:
        key = (campaign_id, version)
        if key not in self._plans:
            text, name = (await s.execute(
                select(m.PlanVersion.source_text, m.PlanVersion.source_name).where(
                    m.PlanVersion.campaign_id == campaign_id,
                    m.PlanVersion.version == version))).one()
            self._plans[key] = parse_plan(text, name, check_reminders=False)
        return self._plans[key]

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
                log.warning("%s: obligation %s: %s; using the default reminders",
                            c.code, o.code, exc)
            return default_policy(cadence)

    async def _people(self, s: AsyncSession, campaigns: dict[int, _Campaign]
                      ) -> dict[int, list[_Person]]:
        q = (select(m.Membership, m.Person)
             .join(m.Person, m.Person.id == m.Membership.person_id)
             .where(m.Membership.campaign_id.in_(list(campaigns)), m.Person.reachable.is_(True))
             .order_by(m.Membership.id))
        by_unit: dict[int, list[_Person]] = {}
        coordinators: dict[int, dict[int, _Person]] = {cid: {} for cid in campaigns}
        for ms, p in (await s.execute(q)).all():
            person = _Person(p.id, p.external_id, p.display_name, p.language,
                             ms.role == "deputy")
            if ms.role == "coordinator":
                coordinators[ms.campaign_id][p.id] = person
            elif ms.unit_id is not None:
                by_unit.setdefault(ms.unit_id, []).append(person)
        if self.config.coordinators:
            q2 = select(m.Person).where(m.Person.external_id.in_(self.config.coordinators),
                                        m.Person.reachable.is_(True))
            for p in (await s.scalars(q2)).all():
                for found in coordinators.values():
                    found.setdefault(p.id, _Person(p.id, p.external_id, p.display_name,
                                                   p.language))
        for cid, found in coordinators.items():
            campaigns[cid].coordinators = sorted(found.values(), key=lambda x: x.id)
        return by_unit

    async def _digest_times(self, s: AsyncSession, campaigns: dict[int, _Campaign]
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

    def _plan(self, world: _World, now: datetime) -> _Plan:
        plan = _Plan()
        for d, o in world.deadlines:
            c = world.campaigns[d.campaign_id]
            steps = schedule(c.policies[o.id], d.due_at.astimezone(c.tz), c.placement)
            local_now = now.astimezone(c.tz)
            ref = DeadlineRef(d.id, o.title, d.seq, o.id in world.repeats,
                              d.due_at.astimezone(c.tz))
            missing: list[m.Unit] = []
            for u in world.units.get(c.row.id, []):
                if not applies(o, u):
                    continue
                sub = world.latest.get((d.id, u.id))
                if sub is not None and sub.status != "returned":
                    continue
                own = due_for(d.due_at, world.overrides.get((d.id, u.id)))
                if own is None:  # 免报: neither nudged nor missing
                    continue
                unit_steps, unit_ref = steps, ref
                if own != d.due_at:  # 延期: this unit's steps and 逾期 follow its own time
                    unit_steps = schedule(c.policies[o.id], own.astimezone(c.tz), c.placement)
                    unit_ref = DeadlineRef(d.id, o.title, d.seq, o.id in world.repeats,
                                           own.astimezone(c.tz))
                    self._missed(plan, world, c, d, unit_ref, [u], local_now, own, u.id)
                else:
                    missing.append(u)
                for person in world.people.get(u.id, []):
                    mine = for_role(unit_steps, person.deputy)
                    if (following := next_instant(mine, now)) is not None:
                        plan.wake.append(following)
                    step = current(mine, now)
                    if step is None:
                        continue
                    job = _Job((d.id, u.id, person.id, step.name), c.row.id,
                               person.external_id,
                               Nudge(unit_ref, u.name, step.name, step.overdue,
                                     sub is not None, person.language))
                    self._consider(plan, world, job, step.until, c.placement, local_now)
            self._missed(plan, world, c, d, ref, missing, local_now)
        self._override_notices(plan, world, now)
        for c in world.campaigns.values():
            self._digest(plan, world, c, now.astimezone(c.tz))
        return plan

    def _override_notices(self, plan: _Plan, world: _World, now: datetime) -> None:
        """Each 免报 / 延期 set or undone is told once to the unit's liaison and deputy."""
        deadlines = {d.id: (d, o) for d, o in world.deadlines}
        for row in world.changed:
            if row.deadline_id not in deadlines:
                continue
            d, o = deadlines[row.deadline_id]
            c = world.campaigns[d.campaign_id]
            unit = next((u for u in world.units.get(c.row.id, []) if u.id == row.unit_id), None)
            if unit is None:
                continue
            undone = row.revoked_at is not None
            own = d.due_at if undone else due_for(d.due_at, Override(OverrideKind(row.kind),
                                                                     row.due_at)) or d.due_at
            ref = DeadlineRef(d.id, o.title, d.seq, o.id in world.repeats, own.astimezone(c.tz))
            # One notice per change: its time, and what it changed to (a change and its
            # undo within one second are still two).
            step = f"ovr-{int(row.changed_at.timestamp())}-{'undone' if undone else row.kind}"
            until = (row.changed_at + self.config.override_notice_for).astimezone(c.tz)
            for person in world.people.get(unit.id, []):
                job = _Job((d.id, unit.id, person.id, step), c.row.id, person.external_id,
                           OverrideNotice(ref, unit.name, OverrideKind(row.kind), undone,
                                          row.reason, person.language))
                self._consider(plan, world, job, until, c.placement, now.astimezone(c.tz))

    def _consider(self, plan: _Plan, world: _World, job: _Job, until: datetime,
                  placement: Placement, local_now: datetime) -> None:
        """Queue a job valid until `until`, unless it went out, or has to wait."""
        if not placement.allows(local_now):
            later = placement.next_allowed(local_now)
            if later < until:
                plan.wake.append(later)
            return
        row = world.log.get(job.key)
        if row is None:
            (plan.new if job.key[1] is not None else plan.coordinator).append(job)
            return
        cfg = self.config
        if row.status == FAILED and row.attempts < cfg.max_attempts:
            retry = row.claimed_at + cfg.backoff(row.attempts)
            if retry <= local_now:
                plan.again.append((row, job))
            elif retry < until:
                plan.wake.append(retry)
        elif row.status == CLAIMED:
            stale = row.claimed_at + cfg.stale_after
            if stale > local_now:
                plan.wake.append(stale)
            elif (row.error or "").startswith(_STALE_MARK) or row.attempts >= cfg.max_attempts:
                plan.give_up.append(row)  # retried once already: never forever
            else:
                plan.again.append((row, job))

    def _missed(self, plan: _Plan, world: _World, c: _Campaign, d: m.Deadline,
                ref: DeadlineRef, missing: list[m.Unit], local_now: datetime,
                due: datetime | None = None, unit_id: int | None = None) -> None:
        """When a deadline passes with units missing, its coordinators get the list once;
        a unit with a 延期 is reported on its own when its own time passes."""
        if not missing or not c.coordinators:
            return
        at = c.placement.next_allowed((due or d.due_at).astimezone(c.tz))
        until = c.placement.end_of_next_workday(at.date(), c.tz)
        if at > local_now:
            plan.wake.append(at)
            return
        if local_now >= until:
            return
        names = tuple(u.name for u in missing)
        for p in c.coordinators:
            job = _Job((d.id, unit_id, p.id, "missed"), c.row.id, p.external_id,
                       MissedNotice(ref, names, p.language))
            self._consider(plan, world, job, until, c.placement, local_now)

    def _digest(self, plan: _Plan, world: _World, c: _Campaign, local_now: datetime) -> None:
        """Each working day, each coordinator's digest at their time (the deployment's
        unless they chose another; none if they muted it)."""
        by_clock: dict[time, list[_Person]] = {}
        for p in c.coordinators:
            if (clock := world.digest_at.get(p.id)) is not None:
                by_clock.setdefault(clock, []).append(p)
        if not by_clock:
            return
        today = local_now.date()
        calendar = c.placement.calendar
        following = calendar.next_workday(today + timedelta(days=1))
        plan.wake += [self._digest_instant(c, following, clock) for clock in by_clock]
        if not calendar.is_workday(today):
            return
        until = c.placement.windows(today, c.tz)[-1][1]
        due: list[_Person] = []
        for clock, people in by_clock.items():
            at = self._digest_instant(c, today, clock)
            if at > local_now:
                plan.wake.append(at)
            elif local_now <= until:  # the day's last allowed instant included
                due += people
        if due:
            self._digest_jobs(plan, world, c, due, today, local_now, until)

    @staticmethod
    def _digest_instant(c: _Campaign, day: date, clock: time) -> datetime:
        """A working day's digest moved out of quiet hours: to their end in the morning, to
        their start (the day's last allowed moment) in the evening, never to another day."""
        wanted = datetime.combine(day, clock, tzinfo=c.tz)
        at = c.placement.next_allowed(wanted)
        if at.date() != day:
            at = c.placement.latest_allowed_before(wanted) or at
        return at

    def _digest_jobs(self, plan: _Plan, world: _World, c: _Campaign, people: list[_Person],
                     today: date, local_now: datetime, until: datetime) -> None:
        upcoming: list[DigestLine] = []
        overdue: list[DigestLine] = []
        horizon = today + timedelta(days=1)
        since = local_now - self.config.digest_lookback
        for d, o in world.deadlines:
            if d.campaign_id != c.row.id:
                continue
            due = d.due_at.astimezone(c.tz)
            applying = [u for u in world.units.get(c.row.id, []) if applies(o, u)]
            own = {u.id: due_for(d.due_at, world.overrides.get((d.id, u.id))) for u in applying}
            expected = [u for u in applying if own[u.id] is not None]
            owing = [u for u in expected if (sub := world.latest.get((d.id, u.id))) is None
                     or sub.status == "returned"]
            later = [(u.name, x.astimezone(c.tz)) for u in owing
                     if (x := own[u.id]) is not None and x != d.due_at and x >= local_now]
            waiting = {name for name, _ in later}
            ref = DeadlineRef(d.id, o.title, d.seq, o.id in world.repeats, due)
            line = DigestLine(ref, len(expected), len(expected) - len(owing),
                              tuple(u.name for u in owing if u.name not in waiting),
                              tuple(u.name for u in applying if own[u.id] is None),
                              tuple(later))
            if due >= local_now and due.date() <= horizon:
                upcoming.append(line)
            elif since <= due < local_now and (line.missing or line.extended):
                overdue.append(line)
        if not upcoming and not overdue:
            return
        anchor = (upcoming or overdue)[0].deadline.deadline_id
        step = f"digest-{today.isoformat()}"
        # One digest per coordinator, campaign and day, whichever deadline it hangs on: a
        # row logged earlier today (perhaps on another deadline) is the one to retry.
        ours = {d.id for d, _ in world.deadlines if d.campaign_id == c.row.id}
        logged = {k[2]: k for k in world.log if k[3] == step and k[1] is None and k[0] in ours}
        for p in people:
            job = _Job(logged.get(p.id, (anchor, None, p.id, step)), c.row.id, p.external_id,
                       Digest(c.row.name, today, tuple(upcoming), tuple(overdue[-20:]),
                              p.language))
            self._consider(plan, world, job, until, c.placement, local_now)

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

    def _row(self, job: _Job, now: datetime) -> dict[str, Any]:
        deadline_id, unit_id, person_id, step = job.key
        return {"deadline_id": deadline_id, "unit_id": unit_id, "person_id": person_id,
                "step": step, "status": CLAIMED, "claimed_at": now,
                "claimed_by": self.config.worker, "attempts": 1}

    async def _claim(self, jobs: list[_Job], now: datetime, stats: dict[str, int]
                     ) -> list[_Job]:
        """Insert the log rows of `jobs`; those another process inserted first are not ours."""
        if not jobs:
            return []
        table = _log_table()
        async with self._writing() as s:
            stmt = _insert_new(s, [self._row(j, now) for j in jobs]).returning(
                table.c.id, table.c.deadline_id, table.c.unit_id, table.c.person_id,
                table.c.step)
            won = {(r.deadline_id, r.unit_id, r.person_id, r.step): r.id
                   for r in (await s.execute(stmt)).all()}
        mine = []
        for job in jobs:
            if job.key in won:
                job.row_id = won[job.key]
                mine.append(job)
        stats["lost"] += len(jobs) - len(mine)
        return mine

    async def _claim_coordinator_jobs(self, jobs: list[_Job], now: datetime,
                                      stats: dict[str, int]) -> list[_Job]:
        """Unit-less rows: NULLs never collide in a unique key, so lock the recipient's row
        and look first (on SQLite, BEGIN IMMEDIATE already serialises the transaction)."""
        mine = []
        for job in jobs:
            deadline_id, _unit, person_id, step = job.key
            async with self._writing() as s:
                await s.execute(select(m.Person.id).where(m.Person.id == person_id)
                                .with_for_update())
                same = select(m.SentReminder.id).where(
                    m.SentReminder.person_id == person_id, m.SentReminder.step == step,
                    m.SentReminder.unit_id.is_(None))
                if step.startswith("digest-"):
                    same = same.join(m.Deadline, m.Deadline.id == m.SentReminder.deadline_id
                                     ).where(m.Deadline.campaign_id == job.campaign_id)
                else:
                    same = same.where(m.SentReminder.deadline_id == deadline_id)
                if await s.scalar(select(exists(same))):
                    stats["lost"] += 1
                    continue
                row = m.SentReminder(**self._row(job, now))
                s.add(row)
                await s.flush()
                job.row_id = row.id
            mine.append(job)
        return mine

    async def _reclaim(self, pairs: list[tuple[m.SentReminder, _Job]], now: datetime,
                       stats: dict[str, int]) -> list[_Job]:
        """Take over failed rows due for a retry and stale claims, compare-and-set."""
        mine = []
        for row, job in pairs:
            stale = row.status == CLAIMED
            error = f"{_STALE_MARK}{row.claimed_by}" if stale else row.error
            async with self._writing() as s:
                result = await s.execute(
                    update(m.SentReminder)
                    .where(m.SentReminder.id == row.id, m.SentReminder.status == row.status,
                           m.SentReminder.attempts == row.attempts,
                           m.SentReminder.claimed_by == row.claimed_by)
                    .values(status=CLAIMED, claimed_at=now, claimed_by=self.config.worker,
                            attempts=row.attempts + 1, error=error)
                    .execution_options(synchronize_session=False))
            if _rowcount(result) == 1:
                job.row_id = row.id
                mine.append(job)
            else:
                stats["lost"] += 1
        return mine

    async def _give_up(self, rows: list[m.SentReminder]) -> None:
        for row in rows:
            async with self._writing() as s:
                await s.execute(
                    update(m.SentReminder)
                    .where(m.SentReminder.id == row.id, m.SentReminder.status == CLAIMED,
                           m.SentReminder.claimed_by == row.claimed_by)
                    .values(status=FAILED, attempts=self.config.max_attempts,
                            error=(row.error or "") + "; gave up: claim went stale twice")
                    .execution_options(synchronize_session=False))

    # ---- sending -----------------------------------------------------------------------

    async def _worker(self, queue: asyncio.Queue[_Job | None], world: _World,
                      stats: dict[str, int]) -> None:
        while (job := await queue.get()) is not None:
            try:
                outcome, error = await self._send(job)
                await self._mark(job, outcome, error)
                stats[outcome.value] += 1
                if outcome is Delivery.SENT and isinstance(job.message, Digest):
                    await self._after_digest(job, job.message)
                if outcome is Delivery.BLOCKED and isinstance(job.message, Nudge):
                    for notice in await self._blocked(job, world):
                        outcome, error = await self._send(notice)
                        await self._mark(notice, outcome, error)
            except Exception:
                # The row stays claimed and is retried once it goes stale.
                log.exception("reminder %s could not be recorded", job.key)

    async def _after_digest(self, job: _Job, digest: Digest) -> None:
        if self.after_digest is None:
            return
        try:
            await self.after_digest(job.campaign_id, job.external_id, digest.language)
        except Exception:
            log.exception("the picture after digest %s failed", job.key)

    async def _send(self, job: _Job) -> tuple[Delivery, str | None]:
        try:
            text, buttons = self.renderer.render(job.message)
            outcome = await self.notifier.send(job.external_id, text, buttons)
        except Exception as exc:
            log.exception("reminder %s failed", job.key)
            return Delivery.FAILED, f"{type(exc).__name__}: {exc}"[:500]
        return outcome, None if outcome is Delivery.SENT else outcome.value

    async def _mark(self, job: _Job, outcome: Delivery, error: str | None) -> None:
        """Record an outcome; returns once it is committed. Marks that arrive while a
        commit is under way share the next one (group commit), so a worker never sends
        again before its last send is on record: at most `concurrency` sends are ever
        unrecorded, and those are what a stale-claim retry may repeat."""
        done = asyncio.get_running_loop().create_future()
        self._marks.append(({"b_id": job.row_id, "b_status": outcome.value,
                             "b_sent_at": self.clock(), "b_error": error}, done))
        if self._marking is None or self._marking.done():
            self._marking = asyncio.create_task(self._commit_marks())
        await done

    async def _commit_marks(self) -> None:
        table = _log_table()
        stmt = (update(table)
                .where(table.c.id == bindparam("b_id"), table.c.status == CLAIMED,
                       table.c.claimed_by == self.config.worker)
                .values(status=bindparam("b_status"),
                        sent_at=bindparam("b_sent_at", type_=table.c.sent_at.type),
                        error=func.coalesce(bindparam("b_error", type_=Text()),
                                            table.c.error)))
        while self._marks:
            batch, self._marks = self._marks, []
            try:
                async with self._writing() as s:
                    conn = await s.connection()
                    await conn.execute(stmt, [params for params, _ in batch])
            except Exception as exc:
                for _, done in batch:
                    done.set_exception(exc)
            else:
                for _, done in batch:
                    done.set_result(None)

    async def _blocked(self, job: _Job, world: _World) -> list[_Job]:
        """The person blocked the bot: unreachable from now on; whoever flips the flag
        tells the campaign's coordinators (so they hear it once, not once per nudge)."""
        deadline_id, unit_id, person_id, _step = job.key
        campaign = world.campaigns[job.campaign_id]
        assert isinstance(job.message, Nudge)
        person = next((p for p in world.people.get(unit_id or 0, []) if p.id == person_id),
                      None)
        notices = [_Job((deadline_id, unit_id, c.id, f"blocked-{person_id}"),
                        job.campaign_id, c.external_id,
                        BlockedNotice(job.message.deadline, job.message.unit_name,
                                      person.name if person else "", c.language))
                   for c in campaign.coordinators if c.id != person_id]
        now = self.clock()
        async with self._writing() as s:
            flipped = await s.execute(
                update(m.Person).where(m.Person.id == person_id, m.Person.reachable.is_(True))
                .values(reachable=False).execution_options(synchronize_session=False))
            if _rowcount(flipped) != 1 or not notices:
                return []
            table = _log_table()
            stmt = _insert_new(s, [self._row(n, now) for n in notices]).returning(
                table.c.id, table.c.person_id)
            won = {r.person_id: r.id for r in (await s.execute(stmt)).all()}
        mine = []
        for n in notices:
            if n.key[2] in won:
                n.row_id = won[n.key[2]]
                mine.append(n)
        return mine


# ---- queries ------------------------------------------------------------------------------


async def _latest(s: AsyncSession, deadline_ids: list[int]
                  ) -> dict[tuple[int, int], m.Submission]:
    if not deadline_ids:
        return {}
    newest = (select(m.Submission.deadline_id, m.Submission.unit_id,
                     func.max(m.Submission.revision).label("revision"))
              .where(m.Submission.deadline_id.in_(deadline_ids))
              .group_by(m.Submission.deadline_id, m.Submission.unit_id).subquery())
    q = select(m.Submission).join(newest, and_(
        m.Submission.deadline_id == newest.c.deadline_id,
        m.Submission.unit_id == newest.c.unit_id,
        m.Submission.revision == newest.c.revision))
    return {(x.deadline_id, x.unit_id): x for x in (await s.scalars(q)).all()}


async def _log(s: AsyncSession, deadline_ids: list[int]) -> dict[Key, m.SentReminder]:
    found: dict[Key, m.SentReminder] = {}
    for chunk in _chunks(deadline_ids, 500):
        q = select(m.SentReminder).where(m.SentReminder.deadline_id.in_(chunk))
        for row in (await s.scalars(q)).all():
            found[(row.deadline_id, row.unit_id, row.person_id, row.step)] = row
    return found


def _log_table() -> Table:
    return cast(Table, m.SentReminder.__table__)


def _insert_new(s: AsyncSession, rows: list[dict[str, Any]]) -> Any:
    """INSERT … ON CONFLICT DO NOTHING: a row someone else inserted first is skipped."""
    if s.get_bind().dialect.name == "postgresql":
        return postgresql.insert(_log_table()).values(rows).on_conflict_do_nothing()
    return sqlite.insert(_log_table()).values(rows).on_conflict_do_nothing()


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _chunks(items: Sequence[T], size: int) -> Iterable[list[T]]:
    for i in range(0, len(items), max(1, size)):
        yield list(items[i:i + size])

