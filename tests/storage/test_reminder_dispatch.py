"""The reminder dispatcher on a real database (SQLite, and PostgreSQL when configured),
with a fake of our own Notifier port that records what it was asked to send."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time as wallclock
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from domain.plan_toml import parse_plan
from services.nudges import (
    BlockedNotice,
    Digest,
    DispatchReport,
    Message,
    MissedNotice,
    Nudge,
    ReminderConfig,
    ReminderDispatcher,
)
from services.plans import load_plan
from services.ports import Button, Delivery
from storage import models as m
from storage.database import Database
from tests.storage.conftest import Target

ROOT = Path(__file__).resolve().parents[2]
DAGUAN = ROOT / "examples" / "plans" / "daguan-2017-anticounterfeit.toml"
BJ = ZoneInfo("Asia/Shanghai")
LOADED = datetime(2016, 11, 30, 0, 0, tzinfo=UTC)
COORDINATOR = "9001"
A_LIAISON, B_LIAISON, C_LIAISON, C_DEPUTY = "2001", "2002", "2003", "2004"


def bj(month: int, day: int, hour: int, minute: int = 0, year: int = 2017) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BJ)


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Sent:
    to: str
    text: str
    buttons: list[list[tuple[str, str]]]
    at: datetime


@dataclass
class RecordingNotifier:
    """A fake of the Notifier port: records each send; some people are blocked, some
    sends fail."""

    clock: Clock
    sent: list[Sent] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)  # every call, delivered or not
    blocked: set[str] = field(default_factory=set)
    failing: dict[str, int] = field(default_factory=dict)  # external id -> failures left

    async def send(
        self, external_id: str, text: str, buttons: Sequence[Sequence[Button]] = ()
    ) -> Delivery:
        self.asked.append(external_id)
        if external_id in self.blocked:
            return Delivery.BLOCKED
        if self.failing.get(external_id, 0) > 0:
            self.failing[external_id] -= 1
            return Delivery.FAILED
        self.sent.append(
            Sent(
                external_id,
                text,
                [[(b.label, b.data) for b in row] for row in buttons],
                self.clock(),
            )
        )
        return Delivery.SENT

    def to(self, external_id: str) -> list[str]:
        return [x.text for x in self.sent if x.to == external_id]


class PlainRenderer:
    """Texts that spell out what the dispatcher decided, easy to compare."""

    def render(self, message: Message) -> tuple[str, Sequence[Sequence[Button]]]:
        if isinstance(message, Nudge):
            flag = "|returned" if message.returned else ""
            return (
                f"{message.step}|{message.deadline.deadline_id}|{message.unit_name}{flag}",
                [[Button("fill", f"sub:{message.deadline.deadline_id}")]],
            )
        if isinstance(message, BlockedNotice):
            return f"blocked|{message.person_name}|{message.unit_name}", []
        if isinstance(message, MissedNotice):
            return f"missed|{message.deadline.deadline_id}|{','.join(message.units)}", []
        assert isinstance(message, Digest)
        upcoming = ";".join(
            f"{x.deadline.deadline_id}:{x.done}/{x.expected}" for x in message.upcoming
        )
        overdue = ";".join(
            f"{x.deadline.deadline_id}:{','.join(x.missing)}" for x in message.overdue
        )
        return f"digest|{message.day}|{upcoming}|{overdue}", []


@dataclass
class Campaign:
    db: Database
    clock: Clock
    notifier: RecordingNotifier
    people: dict[str, int]  # external id -> person id
    units: dict[str, int]  # unit code -> unit id
    deadlines: dict[tuple[str, int], m.Deadline]  # (obligation, seq) -> row

    def dispatcher(self, **config: object) -> ReminderDispatcher:
        settings = ReminderConfig(**{"digest_at": None, **config})  # type: ignore[arg-type]
        return ReminderDispatcher(
            self.db.sessions, self.notifier, PlainRenderer(), self.clock, settings
        )

    def deadline(self, obligation: str, seq: int = 1) -> int:
        return self.deadlines[(obligation, seq)].id

    async def submit(
        self,
        unit: str,
        obligation: str,
        seq: int = 1,
        *,
        nil: bool = False,
        status: str = "submitted",
    ) -> None:
        d = self.deadlines[(obligation, seq)]
        async with self.db.sessions.begin() as s:
            revisions = await s.scalars(
                select(m.Submission.revision).where(
                    m.Submission.deadline_id == d.id, m.Submission.unit_id == self.units[unit]
                )
            )
            revision = max(revisions.all(), default=0) + 1
            s.add(
                m.Submission(
                    deadline_id=d.id,
                    unit_id=self.units[unit],
                    revision=revision,
                    status=status,
                    nil=nil,
                    answers={},
                    submitted_by=None,
                    submitted_at=self.clock(),
                    late=self.clock() > d.due_at,
                )
            )

    async def return_latest(self, unit: str, obligation: str, seq: int = 1) -> None:
        d = self.deadlines[(obligation, seq)]
        async with self.db.sessions.begin() as s:
            sub = await s.scalar(
                select(m.Submission)
                .where(m.Submission.deadline_id == d.id, m.Submission.unit_id == self.units[unit])
                .order_by(m.Submission.revision.desc())
                .limit(1)
            )
            assert sub is not None
            sub.status, sub.review_comment = "returned", "补充附件"

    async def log(self) -> list[m.SentReminder]:
        async with self.db.sessions() as s:
            return list(
                (await s.scalars(select(m.SentReminder).order_by(m.SentReminder.id))).all()
            )


async def daguan(db: Database, clock: Clock) -> Campaign:
    """Daguan with people in three units: 德宽路 (A: a liaison), 玉琳路 (B: a liaison),
    集贤路 (C: a liaison and a deputy), and a coordinator. The other three have nobody."""
    text = DAGUAN.read_text(encoding="utf-8")
    await load_plan(db.sessions, parse_plan(text, DAGUAN.name), DAGUAN.name, text, LOADED)
    people: dict[str, int] = {}
    async with db.sessions.begin() as s:
        campaign = await s.scalar(select(m.Campaign))
        assert campaign is not None
        units = {u.code: u.id for u in (await s.scalars(select(m.Unit))).all()}
        seats = [
            (COORDINATOR, "王协调", None, "coordinator"),
            (A_LIAISON, "李明", "dekuan", "liaison"),
            (B_LIAISON, "张华", "yulin", "liaison"),
            (C_LIAISON, "陈静", "jixian", "liaison"),
            (C_DEPUTY, "王芳", "jixian", "deputy"),
        ]
        for external_id, name, unit, role in seats:
            person = m.Person(external_id=external_id, display_name=name, created_at=LOADED)
            s.add(person)
            await s.flush()
            people[external_id] = person.id
            s.add(
                m.Membership(
                    campaign_id=campaign.id,
                    person_id=person.id,
                    unit_id=units[unit] if unit else None,
                    role=role,
                    created_at=LOADED,
                )
            )
        rows = (
            await s.execute(
                select(m.Deadline, m.Obligation.code).join(
                    m.Obligation, m.Obligation.id == m.Deadline.obligation_id
                )
            )
        ).all()
        deadlines = {(code, d.seq): d for d, code in rows}
    return Campaign(db, clock, RecordingNotifier(clock), people, units, deadlines)


@pytest.fixture
async def campaign(database: Database) -> Campaign:
    return await daguan(database, Clock(bj(12, 14, 9, 0, year=2016)))


# ---- exactly once, and only to units that still owe something ---------------------------


async def test_a_nudge_goes_out_once_however_often_the_dispatcher_runs(campaign: Campaign) -> None:
    # 2016-12-14 09:00: the working day before the liaison list and weekly report #3.
    dispatcher = campaign.dispatcher()
    first = await dispatcher.run()
    again = await dispatcher.run()

    liaison_list, weekly = campaign.deadline("liaison-list"), campaign.deadline("weekly-report", 3)
    assert sorted(campaign.notifier.to(A_LIAISON)) == sorted(
        [f"before-1wd|{liaison_list}|德宽路市场监管所", f"before-1wd|{weekly}|德宽路市场监管所"]
    )
    assert (first.sent, again.sent) == (6, 0)  # three liaisons, two deadlines; no deputy
    assert campaign.notifier.to(C_DEPUTY) == []
    assert {(r.status, r.attempts) for r in await campaign.log()} == {("sent", 1)}
    assert all(
        x.buttons == [[("fill", "sub:" + x.text.split("|")[1])]] for x in campaign.notifier.sent
    )


async def test_two_dispatchers_racing_on_the_same_database_send_each_nudge_once(
    campaign: Campaign, target: Target
) -> None:
    async with target.open(migrate=False) as other_db:
        other = ReminderDispatcher(
            other_db.sessions,
            campaign.notifier,
            PlainRenderer(),
            campaign.clock,
            ReminderConfig(claim_batch=1, digest_at=None),
        )
        mine = campaign.dispatcher(claim_batch=1)
        reports = await asyncio.gather(mine.run(), other.run(), mine.run(), other.run())

    texts = [(x.to, x.text) for x in campaign.notifier.sent]
    assert len(texts) == len(set(texts)) == 6
    assert sum(r.sent for r in reports) == 6


async def test_a_unit_that_submitted_or_sent_a_nil_report_is_not_nudged_again(
    campaign: Campaign,
) -> None:
    campaign.clock.now = bj(12, 12, 9, year=2016)  # three working days before the list
    await campaign.dispatcher().run()
    await campaign.submit("dekuan", "liaison-list")
    await campaign.submit("yulin", "liaison-list", nil=True)

    for moment in (
        bj(12, 14, 9, year=2016),
        bj(12, 15, 15, 30, year=2016),
        bj(12, 15, 17, 30, year=2016),
        bj(12, 16, 9, year=2016),
    ):
        campaign.clock.now = moment
        await campaign.dispatcher().run()

    steps = [
        t.split("|")[0]
        for t in campaign.notifier.to(A_LIAISON)
        if f"|{campaign.deadline('liaison-list')}|" in t
    ]
    assert steps == ["before-3wd"]
    assert [
        t.split("|")[0]
        for t in campaign.notifier.to(B_LIAISON)
        if f"|{campaign.deadline('liaison-list')}|" in t
    ] == ["before-3wd"]
    assert [
        t.split("|")[0]
        for t in campaign.notifier.to(C_LIAISON)
        if f"|{campaign.deadline('liaison-list')}|" in t
    ] == ["before-3wd", "before-1wd", "before-2h", "due", "overdue-1"]


async def test_a_returned_submission_counts_as_missing_again(campaign: Campaign) -> None:
    liaison_list = campaign.deadline("liaison-list")
    campaign.clock.now = bj(12, 15, 10, year=2016)
    await campaign.submit("dekuan", "liaison-list")
    campaign.clock.now = bj(12, 15, 18, year=2016)  # after the deadline: the list is returned
    await campaign.return_latest("dekuan", "liaison-list")
    await campaign.dispatcher().run()

    assert f"due|{liaison_list}|德宽路市场监管所|returned" in campaign.notifier.to(A_LIAISON)

    campaign.clock.now = bj(12, 16, 9, 30, year=2016)  # corrected: nothing more
    await campaign.submit("dekuan", "liaison-list")
    await campaign.dispatcher().run()
    assert [t for t in campaign.notifier.to(A_LIAISON) if f"|{liaison_list}|" in t] == [
        f"due|{liaison_list}|德宽路市场监管所|returned"
    ]


async def test_a_deputy_gets_only_the_overdue_steps(campaign: Campaign) -> None:
    liaison_list = campaign.deadline("liaison-list")
    for moment in (
        bj(12, 14, 9, year=2016),
        bj(12, 15, 15, 30, year=2016),
        bj(12, 15, 17, 30, year=2016),
        bj(12, 16, 9, year=2016),
    ):
        campaign.clock.now = moment
        await campaign.dispatcher().run()

    assert [
        t.split("|")[0] for t in campaign.notifier.to(C_DEPUTY) if f"|{liaison_list}|" in t
    ] == ["due", "overdue-1"]


async def test_someone_who_blocked_the_bot_becomes_unreachable_and_coordinators_are_told_once(
    campaign: Campaign,
) -> None:
    campaign.notifier.blocked.add(C_LIAISON)
    report = await campaign.dispatcher(concurrency=1).run()  # two nudges are due for C
    campaign.clock.now = bj(12, 15, 15, 30, year=2016)
    later = await campaign.dispatcher().run()

    async with campaign.db.sessions() as s:
        person = await s.get_one(m.Person, campaign.people[C_LIAISON])
    assert person.reachable is False
    told = [t for t in campaign.notifier.to(COORDINATOR) if t.startswith("blocked")]
    assert told == ["blocked|陈静|集贤路市场监管所"]
    assert (report.blocked, later.blocked) == (2, 0)
    assert campaign.notifier.asked.count(C_LIAISON) == 2  # never tried again
    statuses = {(r.person_id, r.step, r.status) for r in await campaign.log()}
    assert (campaign.people[C_LIAISON], "before-1wd", "blocked") in statuses


async def test_a_failed_send_is_retried_with_backoff_and_never_forever(campaign: Campaign) -> None:
    campaign.notifier.failing[A_LIAISON] = 100
    config = {"retry_after": timedelta(minutes=1), "max_attempts": 3}
    start = campaign.clock.now
    first = await campaign.dispatcher(**config).run()
    assert first.failed == 2 and first.next_at == start + timedelta(minutes=1)

    tries = []
    for minutes in (0.5, 1, 2, 5, 6, 30, 60):
        campaign.clock.now = start + timedelta(minutes=minutes)
        tries.append((await campaign.dispatcher(**config).run()).failed)

    assert tries == [0, 2, 0, 2, 0, 0, 0]  # after 1 min, then 4 more; capped at 3 attempts
    rows = [r for r in await campaign.log() if r.person_id == campaign.people[A_LIAISON]]
    assert {(r.status, r.attempts) for r in rows} == {("failed", 3)}

    campaign.notifier.failing[B_LIAISON] = 1  # one failure, then it goes through
    campaign.clock.now = bj(12, 15, 13, year=2016)
    await campaign.dispatcher(**config).run()
    campaign.clock.now += timedelta(minutes=1)
    await campaign.dispatcher(**config).run()
    assert (
        campaign.notifier.to(B_LIAISON).count(
            f"before-2h|{campaign.deadline('weekly-report', 3)}|玉琳路市场监管所"
        )
        == 1
    )


async def test_a_claim_left_by_a_dead_process_is_retried_once_when_stale(
    campaign: Campaign,
) -> None:
    weekly = campaign.deadline("weekly-report", 3)
    async with campaign.db.sessions.begin() as s:
        s.add(
            m.SentReminder(
                deadline_id=weekly,
                unit_id=campaign.units["dekuan"],
                person_id=campaign.people[A_LIAISON],
                step="before-1wd",
                status="claimed",
                claimed_at=campaign.clock(),
                claimed_by="dead:1:x",
            )
        )
    fresh = await campaign.dispatcher().run()
    assert f"before-1wd|{weekly}|德宽路市场监管所" not in campaign.notifier.to(A_LIAISON)
    assert fresh.next_at == campaign.clock() + timedelta(minutes=5)

    campaign.clock.now += timedelta(minutes=5)
    await campaign.dispatcher().run()
    assert campaign.notifier.to(A_LIAISON).count(f"before-1wd|{weekly}|德宽路市场监管所") == 1

    # The retry's sender died as well: the claim goes stale again and is given up.
    async with campaign.db.sessions.begin() as s:
        await s.execute(
            update(m.SentReminder)
            .where(
                m.SentReminder.deadline_id == weekly,
                m.SentReminder.person_id == campaign.people[A_LIAISON],
            )
            .values(status="claimed", claimed_by="dead:2:y")
        )
    campaign.clock.now += timedelta(minutes=10)
    await campaign.dispatcher().run()
    row = next(
        r
        for r in await campaign.log()
        if r.deadline_id == weekly and r.person_id == campaign.people[A_LIAISON]
    )
    assert (row.status, row.attempts) == ("failed", 4)
    assert campaign.notifier.to(A_LIAISON).count(f"before-1wd|{weekly}|德宽路市场监管所") == 1


async def test_after_downtime_only_the_step_that_still_matters_goes_out(
    campaign: Campaign,
) -> None:
    # Nobody dispatched from before 2016-12-12 until 12-15 16:00, after two hours before.
    campaign.clock.now = bj(12, 15, 16, year=2016)
    await campaign.dispatcher().run()

    assert sorted(campaign.notifier.to(C_LIAISON)) == sorted(
        [
            f"before-2h|{campaign.deadline('liaison-list')}|集贤路市场监管所",
            f"due|{campaign.deadline('weekly-report', 3)}|集贤路市场监管所",
        ]
    )


async def test_nothing_goes_out_in_quiet_hours_and_the_next_run_is_the_morning(
    campaign: Campaign,
) -> None:
    campaign.clock.now = bj(12, 15, 23, year=2016)  # the list's due notice is valid, quietly
    report = await campaign.dispatcher(digest_at=None).run()

    assert campaign.notifier.sent == []
    assert report.next_at == bj(12, 16, 8, year=2016)
    campaign.clock.now = bj(12, 16, 8, year=2016)
    await campaign.dispatcher(digest_at=None).run()
    assert f"due|{campaign.deadline('liaison-list')}|集贤路市场监管所" in campaign.notifier.to(
        C_LIAISON
    )


async def test_the_next_instant_is_when_the_next_step_falls_due(campaign: Campaign) -> None:
    report = await campaign.dispatcher(digest_at=None).run()  # 12-14 09:00

    assert report == DispatchReport(sent=6, next_at=bj(12, 15, 13, year=2016))


# ---- the Daguan campaign from start to end, on an injected clock ----------------------


def _days(start: date, count: int, step: int = 1) -> list[date]:
    return [start + timedelta(days=i * step) for i in range(count)]


Nudged = tuple[str, str, int, str]  # local "YYYY-MM-DD HH:MM", obligation, seq, step
ONE_OFF = {  # obligation, seq: every step of the default one-off policy, by hand
    ("liaison-list", 1): [
        "2016-12-12 09:00",
        "2016-12-14 09:00",
        "2016-12-15 15:30",
        "2016-12-15 17:30",
        "2016-12-16 09:00",
        "2016-12-19 09:00",
        "2016-12-20 09:00",
        "2016-12-21 09:00",
        "2016-12-22 09:00",
    ],
    # 元旦: 12-31 to 01-02 are off.
    ("stage-summary", 1): [
        "2016-12-22 09:00",
        "2016-12-26 09:00",
        "2016-12-27 15:30",
        "2016-12-27 17:30",
        "2016-12-28 09:00",
        "2016-12-29 09:00",
        "2016-12-30 09:00",
        "2017-01-03 09:00",
        "2017-01-04 09:00",
    ],
    # 01-22 is the 调休 Sunday, a working day.
    ("stage-summary", 2): [
        "2017-01-12 09:00",
        "2017-01-16 09:00",
        "2017-01-17 15:30",
        "2017-01-17 17:30",
        "2017-01-18 09:00",
        "2017-01-19 09:00",
        "2017-01-20 09:00",
        "2017-01-22 09:00",
        "2017-01-23 09:00",
    ],
    ("final-summary", 1): [
        "2017-02-20 09:00",
        "2017-02-22 09:00",
        "2017-02-23 15:30",
        "2017-02-23 17:30",
        "2017-02-24 09:00",
        "2017-02-27 09:00",
        "2017-02-28 09:00",
        "2017-03-01 09:00",
        "2017-03-02 09:00",
    ],
}
ONE_OFF_STEPS = [
    "before-3wd",
    "before-1wd",
    "before-2h",
    "due",
    "overdue-1",
    "overdue-2",
    "overdue-3",
    "overdue-4",
    "overdue-5",
]
DAILY = _days(date(2016, 12, 19), 5) + _days(date(2017, 1, 9), 5) + _days(date(2017, 2, 10), 5)


def everything_c_liaison_gets() -> list[Nudged]:
    """A unit that never reports: every step of every deadline, placed by hand."""
    out: list[Nudged] = []
    for (obligation, seq), times in ONE_OFF.items():
        out += [(t, obligation, seq, step) for t, step in zip(times, ONE_OFF_STEPS, strict=True)]
    for seq, thursday in enumerate(_days(date(2016, 12, 1), 13, step=7), start=1):
        wednesday = thursday - timedelta(days=1)
        steps = [
            (f"{wednesday} 09:00", "before-1wd"),
            (f"{thursday} 13:00", "before-2h"),
            (f"{thursday} 15:00", "due"),
        ]
        if seq == 1:  # the dispatcher starts on 12-01 08:00: the Wednesday is gone
            steps[0] = ("2016-12-01 08:00", "before-1wd")
        if thursday == date(2017, 2, 2):  # 春节: see test_reminder_policy
            steps = [("2017-01-26 09:00", "before-1wd"), ("2017-02-03 08:00", "due")]
        out += [(t, "weekly-report", seq, step) for t, step in steps]
    for seq, day in enumerate(DAILY, start=1):
        steps = [(f"{day} 10:00", "before-2h"), (f"{day} 12:00", "due")]
        if day.isoweekday() > 5:  # Saturday and Sunday: Friday evening, then Monday
            steps = [("2017-02-10 21:00", "before-2h"), ("2017-02-13 08:00", "due")]
        out += [(t, "daily-report", seq, step) for t, step in steps]
    return sorted(out)


def before(
    nudges: list[Nudged], due: dict[tuple[str, int], datetime], shift: timedelta
) -> list[Nudged]:
    """The nudges a unit gets when it reports at `due + shift` on every deadline."""
    return [
        x
        for x in nudges
        if datetime.fromisoformat(x[0]).replace(tzinfo=BJ) < due[(x[1], x[2])] + shift
    ]


async def test_the_daguan_campaign_nudges_each_unit_exactly_as_the_policy_says(
    database: Database,
) -> None:
    clock = Clock(bj(12, 1, 0, year=2016))
    campaign = await daguan(database, clock)
    dispatcher = campaign.dispatcher(digest_at=time(8, 30))
    due = {key: d.due_at.astimezone(BJ) for key, d in campaign.deadlines.items()}
    on_time, late = timedelta(hours=-3), timedelta(days=1)
    events = sorted(
        [(d + on_time, "dekuan", key) for key, d in due.items()]
        + [(d + late, "yulin", key) for key, d in due.items()]
    )
    end = bj(3, 10, 0)
    runs = 0
    while clock.now < end:
        while events and events[0][0] <= clock.now:
            _at, unit, (obligation, seq) = events.pop(0)
            await campaign.submit(unit, obligation, seq)
        report = await dispatcher.run()
        runs += 1
        wake = [t for t in (report.next_at, events[0][0] if events else None) if t]
        assert wake, "the dispatcher must always know when to run next"
        assert min(wake) > clock.now
        clock.now = min(wake)

    names = {d.id: key for key, d in campaign.deadlines.items()}

    def received(external_id: str) -> list[Nudged]:
        found = []
        for x in campaign.notifier.sent:
            if x.to == external_id:
                step, deadline_id, _unit = x.text.split("|")[:3]
                obligation, seq = names[int(deadline_id)]
                found.append((f"{x.at.astimezone(BJ):%Y-%m-%d %H:%M}", obligation, seq, step))
        return sorted(found)

    never = everything_c_liaison_gets()
    assert received(C_LIAISON) == never
    assert received(C_DEPUTY) == [x for x in never if x[3] == "due" or x[3].startswith("over")]
    assert received(A_LIAISON) == before(never, due, on_time)
    assert received(B_LIAISON) == before(never, due, late)
    assert len(received(A_LIAISON)) < len(received(B_LIAISON)) < len(never) == 104

    quiet = [
        x for x in campaign.notifier.sent if not time(8) <= x.at.astimezone(BJ).time() <= time(21)
    ]
    spring_festival = [
        x for x in campaign.notifier.sent if x.at.astimezone(BJ).date() == date(2017, 1, 28)
    ]
    assert quiet == spring_festival == []
    assert runs < 700  # it slept until the next instant instead of polling

    # The coordinator: one list per passed deadline with units missing, one digest per
    # working day with something to say, naming the right units.
    coordinator = campaign.notifier.to(COORDINATOR)
    w3, roster = campaign.deadline("weekly-report", 3), campaign.deadline("liaison-list")
    missing = "玉琳路市场监管所,集贤路市场监管所,菱湖市场监管所,花山市场监管所,海口市场监管所"
    assert f"missed|{w3}|{missing}" in coordinator
    assert f"digest|2016-12-16||{w3}:{missing};{roster}:{missing}" in coordinator
    b_reported = missing.replace("玉琳路市场监管所,", "")
    today, tomorrow = campaign.deadline("daily-report", 1), campaign.deadline("daily-report", 2)
    assert (
        f"digest|2016-12-19|{today}:0/6;{tomorrow}:0/6|{w3}:{b_reported};{roster}:{b_reported}"
    ) in coordinator
    assert len([t for t in coordinator if t.startswith("missed")]) == 32
    digests = [t.split("|")[1] for t in coordinator if t.startswith("digest")]
    assert len(digests) == len(set(digests))
    assert "2017-01-28" not in digests and "2017-01-22" in digests


# ---- two processes, one database ------------------------------------------------------


async def test_two_dispatcher_processes_deliver_a_thousand_nudges_with_no_duplicate(
    target: Target,
) -> None:
    from tests.e2e.reminders_worker import seed

    async with target.open() as db:
        await seed(db, range(100_001, 100_501))  # 500 units × 2 deadlines = 1,000 nudges
    start = wallclock.time() + 3  # both are up and have read the database by then
    command = [
        sys.executable,
        "-m",
        "tests.e2e.reminders_worker",
        "dispatch",
        "--db",
        target.url,
        "--start",
        str(start),
    ]
    if target.schema:
        command += ["--schema", target.schema]
    workers = [
        await asyncio.create_subprocess_exec(
            *command,
            cwd=ROOT,
            env=os.environ.copy(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    outputs = [await asyncio.wait_for(w.communicate(), timeout=60) for w in workers]

    assert [w.returncode for w in workers] == [0, 0], [
        err.decode()[-2000:] for _out, err in outputs
    ]
    sent = [json.loads(out)["sent"] for out, _err in outputs]
    everything = sent[0] + sent[1]
    assert len(everything) == len(set(everything)) == 1000
    assert all(sent), "both processes took part"
    async with target.open(migrate=False) as db, db.sessions() as s:
        statuses = (await s.scalars(select(m.SentReminder.status))).all()
    assert statuses == ["sent"] * 1000
