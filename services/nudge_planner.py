"""Which nudges and digests are due, decided from a picture of the database (`World`)
and `now` alone: no I/O, so every rule of the reminder policy can be tested on plain
values. The dispatcher (services/nudges.py) loads the picture, claims and sends."""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.plan import CalendarOverrides, Plan
from domain.status import Override, OverrideKind, RevisionStatus, due_for
from scheduler.nudge_policy import (
    ESCALATE,
    Placement,
    Policy,
    QuietHours,
    current,
    escalation,
    for_role,
    next_instant,
    schedule,
)
from services.campaign_reads import applies
from storage import models as m
from storage.sent_log import CLAIMED, FAILED, STALE_MARK, Key


def worker_name() -> str:
    """Who claimed a row: host, process and a random suffix (pids are reused)."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class ReminderConfig:
    quiet: QuietHours = field(default_factory=QuietHours)
    digest_at: time | None = time(8, 30)  # coordinators' daily digest; None: no digest
    digest_lookback: timedelta = timedelta(days=7)  # overdue deadlines the digest names
    # A claim's lease (renewed every third of it while its send is under way): past it,
    # its claimer is taken to be dead and another process sends instead.
    stale_after: timedelta = timedelta(minutes=5)
    retry_after: timedelta = timedelta(minutes=1)  # first backoff after a failed send
    retry_cap: timedelta = timedelta(hours=1)
    max_attempts: int = 4  # sends of one nudge in all, retries included
    claim_batch: int = 50  # rows claimed per transaction
    concurrency: int = 4  # sends in flight at once (the rate limiter paces them)
    calendar: CalendarOverrides = field(default_factory=CalendarOverrides)  # deployment's
    coordinators: tuple[str, ...] = ()  # external ids of the deployment-wide coordinators
    override_notice_for: timedelta = timedelta(days=2)  # telling a unit of a 免报 / 延期
    worker: str = field(default_factory=worker_name)
    platform: str = "telegram"  # whose people this dispatcher nudges

    def backoff(self, attempts: int) -> timedelta:
        grown: timedelta = self.retry_after * 4 ** max(0, attempts - 1)
        return min(self.retry_cap, grown)


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
    escalated: bool = False  # to the unit's leader: it is still missing


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
    escalated: tuple[str, ...] = ()  # of `missing`: their leader has been told
    read: tuple[str, ...] = ()  # of `missing`: read their latest nudge (已读未报)
    unread: tuple[str, ...] = ()  # of `missing`: have not (where the platform tells)


@dataclass(frozen=True)
class Digest:
    campaign: str
    day: date
    upcoming: tuple[DigestLine, ...]  # due today or tomorrow
    overdue: tuple[DigestLine, ...]  # passed, units still missing
    language: str | None


Message = Nudge | BlockedNotice | MissedNotice | Digest | OverrideNotice


@dataclass(frozen=True)
class Recipient:
    id: int
    external_id: str
    name: str
    language: str | None
    deputy: bool = False
    leader: bool = False  # told only when the unit is escalated


@dataclass
class CampaignContext:
    row: m.Campaign
    plan: Plan
    placement: Placement
    tz: ZoneInfo
    policies: dict[int, Policy]  # by obligation id
    coordinators: list[Recipient] = field(default_factory=list)


@dataclass
class World:
    campaigns: dict[int, CampaignContext]
    deadlines: list[tuple[m.Deadline, m.Obligation]]
    units: dict[int, list[m.Unit]]  # by campaign
    people: dict[int, list[Recipient]]  # liaison and deputy by unit
    latest: dict[tuple[int, int], m.Submission]
    log: dict[tuple[int, int | None, int, str], m.SentReminder]
    repeats: set[int]
    digest_at: dict[int, time | None] = field(default_factory=dict)  # by person; None: muted
    overrides: dict[tuple[int, int], Override] = field(default_factory=dict)  # standing
    changed: list[m.UnitDeadlineOverride] = field(default_factory=list)  # to tell units of
    reads: dict[int, bool] = field(default_factory=dict)  # unit id: read its latest nudge


@dataclass
class Job:
    key: Key
    campaign_id: int
    external_id: str
    message: Message
    row_id: int = 0


@dataclass
class Todo:
    """What one run found to do."""

    new: list[Job] = field(default_factory=list)
    coordinator: list[Job] = field(default_factory=list)  # unit-less: deduplicated by lock
    again: list[tuple[m.SentReminder, Job]] = field(default_factory=list)
    give_up: list[m.SentReminder] = field(default_factory=list)
    wake: list[datetime] = field(default_factory=list)


class NudgePlanner:
    def __init__(self, config: ReminderConfig) -> None:
        self.config = config

    def plan(self, world: World, now: datetime) -> Todo:
        """Every message due by `now` that the log does not hold yet, and when to wake."""
        plan = Todo()
        for d, o in world.deadlines:
            c = world.campaigns[d.campaign_id]
            steps = schedule(c.policies[o.id], d.due_at.astimezone(c.tz), c.placement)
            local_now = now.astimezone(c.tz)
            ref = DeadlineRef(
                d.id, o.title, d.seq, o.id in world.repeats, d.due_at.astimezone(c.tz)
            )
            missing: list[m.Unit] = []
            for u in world.units.get(c.row.id, []):
                if not applies(o, u):
                    continue
                sub = world.latest.get((d.id, u.id))
                if sub is not None and sub.status != RevisionStatus.RETURNED:
                    continue
                own = due_for(d.due_at, world.overrides.get((d.id, u.id)))
                if own is None:  # 免报: neither nudged nor missing
                    continue
                unit_steps, unit_ref = steps, ref
                if own != d.due_at:  # 延期: this unit's steps and 逾期 follow its own time
                    unit_steps = schedule(c.policies[o.id], own.astimezone(c.tz), c.placement)
                    unit_ref = DeadlineRef(
                        d.id, o.title, d.seq, o.id in world.repeats, own.astimezone(c.tz)
                    )
                    self._missed(plan, world, c, d, unit_ref, [u], local_now, own, u.id)
                else:
                    missing.append(u)
                for person in world.people.get(u.id, []):
                    mine = (
                        escalation(c.plan.escalate, unit_ref.due, c.placement)
                        if person.leader
                        else for_role(unit_steps, person.deputy)
                    )
                    if (following := next_instant(mine, now)) is not None:
                        plan.wake.append(following)
                    step = current(mine, now)
                    if step is None:
                        continue
                    job = Job(
                        (d.id, u.id, person.id, step.name),
                        c.row.id,
                        person.external_id,
                        Nudge(
                            unit_ref,
                            u.name,
                            step.name,
                            step.overdue,
                            sub is not None,
                            person.language,
                            person.leader,
                        ),
                    )
                    self._consider(plan, world, job, step.until, c.placement, local_now)
            self._missed(plan, world, c, d, ref, missing, local_now)
        self._override_notices(plan, world, now)
        for c in world.campaigns.values():
            self._digest(plan, world, c, now.astimezone(c.tz))
        return plan

    def _override_notices(self, plan: Todo, world: World, now: datetime) -> None:
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
            own = (
                d.due_at
                if undone
                else due_for(d.due_at, Override(OverrideKind(row.kind), row.due_at)) or d.due_at
            )
            ref = DeadlineRef(d.id, o.title, d.seq, o.id in world.repeats, own.astimezone(c.tz))
            # One notice per change: its time, and what it changed to (a change and its
            # undo within one second are still two).
            step = f"ovr-{int(row.changed_at.timestamp())}-{'undone' if undone else row.kind}"
            until = (row.changed_at + self.config.override_notice_for).astimezone(c.tz)
            for person in world.people.get(unit.id, []):
                if person.leader:  # told only of an escalation
                    continue
                job = Job(
                    (d.id, unit.id, person.id, step),
                    c.row.id,
                    person.external_id,
                    OverrideNotice(
                        ref, unit.name, OverrideKind(row.kind), undone, row.reason, person.language
                    ),
                )
                self._consider(plan, world, job, until, c.placement, now.astimezone(c.tz))

    def _consider(
        self,
        plan: Todo,
        world: World,
        job: Job,
        until: datetime,
        placement: Placement,
        local_now: datetime,
    ) -> None:
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
            # Its claimer renews the lease while it sends: past it, the claimer is gone.
            stale = row.lease_until or row.claimed_at + cfg.stale_after
            if stale > local_now:
                plan.wake.append(stale)
            elif (row.error or "").startswith(STALE_MARK) or row.attempts >= cfg.max_attempts:
                plan.give_up.append(row)  # retried once already: never forever
            else:
                plan.again.append((row, job))

    def _missed(
        self,
        plan: Todo,
        world: World,
        c: CampaignContext,
        d: m.Deadline,
        ref: DeadlineRef,
        missing: list[m.Unit],
        local_now: datetime,
        due: datetime | None = None,
        unit_id: int | None = None,
    ) -> None:
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
            job = Job(
                (d.id, unit_id, p.id, "missed"),
                c.row.id,
                p.external_id,
                MissedNotice(ref, names, p.language),
            )
            self._consider(plan, world, job, until, c.placement, local_now)

    def _digest(self, plan: Todo, world: World, c: CampaignContext, local_now: datetime) -> None:
        """Each working day, each coordinator's digest at their time (the deployment's
        unless they chose another; none if they muted it)."""
        by_clock: dict[time, list[Recipient]] = {}
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
        due: list[Recipient] = []
        for clock, people in by_clock.items():
            at = self._digest_instant(c, today, clock)
            if at > local_now:
                plan.wake.append(at)
            elif local_now <= until:  # the day's last allowed instant included
                due += people
        if due:
            self._digest_jobs(plan, world, c, due, today, local_now, until)

    @staticmethod
    def _digest_instant(c: CampaignContext, day: date, clock: time) -> datetime:
        """A working day's digest moved out of quiet hours: to their end in the morning, to
        their start (the day's last allowed moment) in the evening, never to another day."""
        wanted = datetime.combine(day, clock, tzinfo=c.tz)
        at = c.placement.next_allowed(wanted)
        if at.date() != day:
            at = c.placement.latest_allowed_before(wanted) or at
        return at

    def _digest_jobs(
        self,
        plan: Todo,
        world: World,
        c: CampaignContext,
        people: list[Recipient],
        today: date,
        local_now: datetime,
        until: datetime,
    ) -> None:
        upcoming: list[DigestLine] = []
        overdue: list[DigestLine] = []
        horizon = today + timedelta(days=1)
        since = local_now - self.config.digest_lookback
        escalated = {
            (k[0], k[1])
            for k, row in world.log.items()
            if k[3] == ESCALATE and row.status == "sent"
        }
        for d, o in world.deadlines:
            if d.campaign_id != c.row.id:
                continue
            due = d.due_at.astimezone(c.tz)
            applying = [u for u in world.units.get(c.row.id, []) if applies(o, u)]
            own = {u.id: due_for(d.due_at, world.overrides.get((d.id, u.id))) for u in applying}
            expected = [u for u in applying if own[u.id] is not None]
            owing = [
                u
                for u in expected
                if (sub := world.latest.get((d.id, u.id))) is None
                or sub.status == RevisionStatus.RETURNED
            ]
            later = [
                (u.name, x.astimezone(c.tz))
                for u in owing
                if (x := own[u.id]) is not None and x != d.due_at and x >= local_now
            ]
            waiting = {name for name, _ in later}
            missing = [u for u in owing if u.name not in waiting]
            ref = DeadlineRef(d.id, o.title, d.seq, o.id in world.repeats, due)
            line = DigestLine(
                ref,
                len(expected),
                len(expected) - len(owing),
                tuple(u.name for u in missing),
                tuple(u.name for u in applying if own[u.id] is None),
                tuple(later),
                tuple(u.name for u in missing if (d.id, u.id) in escalated),
                tuple(u.name for u in missing if world.reads.get(u.id) is True),
                tuple(u.name for u in missing if world.reads.get(u.id) is False),
            )
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
            job = Job(
                logged.get(p.id, (anchor, None, p.id, step)),
                c.row.id,
                p.external_id,
                Digest(c.row.name, today, tuple(upcoming), tuple(overdue[-20:]), p.language),
            )
            self._consider(plan, world, job, until, c.placement, local_now)
