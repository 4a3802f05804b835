"""Each coordinator's own daily digest, on a real database (SQLite, and PostgreSQL when
configured): the setting as stored by the use case, and the dispatcher honouring it.
Campaign, clock and notifier are those of test_reminder_dispatch."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from sqlalchemy import select, update

from services.access import AccessService, Actor
from services.digest import DigestAction, DigestChange, DigestProblem, DigestService, DigestSetting
from storage import models as m
from storage.database import Database
from tests.storage.test_reminder_dispatch import (
    A_LIAISON,
    BJ,
    COORDINATOR,
    LOADED,
    Campaign,
    Clock,
    bj,
    daguan,
)

OTHER = "9002"  # a second coordinator of the campaign
DEFAULT = time(8, 30)


async def actor(db: Database, external_id: str) -> Actor:
    return await AccessService(db.sessions).identify(external_id, "", None, LOADED)


async def with_second_coordinator(campaign: Campaign) -> None:
    async with campaign.db.sessions.begin() as s:
        campaign_id = await s.scalar(select(m.Campaign.id))
        person = m.Person(external_id=OTHER, display_name="赵协调", created_at=LOADED)
        s.add(person)
        await s.flush()
        s.add(
            m.Membership(
                campaign_id=campaign_id,
                person_id=person.id,
                unit_id=None,
                role="coordinator",
                created_at=LOADED,
            )
        )
        campaign.people[OTHER] = person.id


async def change(
    campaign: Campaign, external_id: str, action: DigestAction, at: time | None = None
) -> DigestSetting | DigestProblem | None:
    service = DigestService(campaign.db.sessions, DEFAULT)
    return await service.change(
        await actor(campaign.db, external_id), DigestChange(action, at), campaign.clock()
    )


def digests(campaign: Campaign, external_id: str) -> list[tuple[str, str]]:
    """(day of the digest, local time it was sent) for each digest one person got."""
    return [
        (x.text.split("|")[1], f"{x.at.astimezone(BJ):%H:%M}")
        for x in campaign.notifier.sent
        if x.to == external_id and x.text.startswith("digest|")
    ]


@pytest.fixture
async def campaign(database: Database) -> Campaign:
    # Thursday 2016-12-15, before the digest: the liaison list and weekly report #3 fall
    # due today, weekly report #2 (12-08) is overdue.
    found = await daguan(database, Clock(bj(12, 15, 8, 0, year=2016)))
    await with_second_coordinator(found)
    return found


# ---- the use case -----------------------------------------------------------------------


async def test_a_coordinator_s_setting_is_stored_and_read_back_after_each_change(
    campaign: Campaign,
) -> None:
    service = DigestService(campaign.db.sessions, DEFAULT)
    me = await actor(campaign.db, COORDINATOR)
    assert await service.setting(me) == DigestSetting(True, DEFAULT, False, DEFAULT)

    own = await change(campaign, COORDINATOR, DigestAction.AT, time(17, 30))
    muted = await change(campaign, COORDINATOR, DigestAction.MUTE)
    stored = await service.setting(me)
    unmuted = await change(campaign, COORDINATOR, DigestAction.UNMUTE)

    assert own == DigestSetting(True, time(17, 30), True, DEFAULT)
    assert muted == stored == DigestSetting(False, time(17, 30), True, DEFAULT)
    assert unmuted == own
    async with campaign.db.sessions() as s:
        [row] = (await s.scalars(select(m.DigestPreference))).all()
    assert (row.person_id, row.muted, row.local_time) == (
        campaign.people[COORDINATOR],
        False,
        time(17, 30),
    )

    assert await change(campaign, COORDINATOR, DigestAction.DEFAULT) == DigestSetting(
        True, DEFAULT, False, DEFAULT
    )
    async with campaign.db.sessions() as s:
        assert (await s.scalars(select(m.DigestPreference))).all() == []


async def test_a_liaison_a_quiet_hour_or_a_deployment_without_digest_changes_nothing(
    campaign: Campaign,
) -> None:
    liaison = await actor(campaign.db, A_LIAISON)
    coordinator = await actor(campaign.db, COORDINATOR)
    no_digest = DigestService(campaign.db.sessions, None)

    assert await change(campaign, A_LIAISON, DigestAction.MUTE) is None
    assert await DigestService(campaign.db.sessions, DEFAULT).setting(liaison) is None
    assert await change(campaign, COORDINATOR, DigestAction.AT, time(22, 0)) is DigestProblem.QUIET
    assert await change(campaign, COORDINATOR, DigestAction.AT, time(7, 59)) is DigestProblem.QUIET
    assert (
        await no_digest.change(coordinator, DigestChange(DigestAction.MUTE), campaign.clock())
        is DigestProblem.OFF
    )
    assert (
        await no_digest.setting(coordinator) or DigestSetting(True, None, False, None)
    ).available is False
    async with campaign.db.sessions() as s:
        assert (await s.scalars(select(m.DigestPreference))).all() == []


# ---- the dispatcher honours it ----------------------------------------------------------


async def test_a_muted_coordinator_gets_no_digest_while_another_still_does(
    campaign: Campaign,
) -> None:
    await change(campaign, COORDINATOR, DigestAction.MUTE)
    dispatcher = campaign.dispatcher(digest_at=DEFAULT)

    for hour, minute in ((8, 30), (12, 0), (17, 30), (18, 0)):
        campaign.clock.now = bj(12, 15, hour, minute, year=2016)
        await dispatcher.run()

    assert digests(campaign, OTHER) == [("2016-12-15", "08:30")]
    assert digests(campaign, COORDINATOR) == []
    # The list of units that missed a deadline is not the digest: it still comes.
    roster = campaign.deadline("liaison-list")
    assert [t for t in campaign.notifier.to(COORDINATOR) if t.startswith("missed|")] == [
        t for t in campaign.notifier.to(OTHER) if t.startswith("missed|")
    ]
    assert any(t.startswith(f"missed|{roster}|") for t in campaign.notifier.to(COORDINATOR))


async def test_a_coordinator_s_own_time_brings_their_digest_then_and_the_other_s_at_the_default(
    campaign: Campaign,
) -> None:
    await change(campaign, COORDINATOR, DigestAction.AT, time(10, 15))
    dispatcher = campaign.dispatcher(digest_at=DEFAULT)
    wakes = []

    while campaign.clock.now < bj(12, 19, 12, 0, year=2016):
        report = await dispatcher.run()
        assert report.next_at is not None and report.next_at > campaign.clock.now
        wakes.append(report.next_at)
        campaign.clock.now = report.next_at

    assert digests(campaign, OTHER) == [
        ("2016-12-15", "08:30"),
        ("2016-12-16", "08:30"),
        ("2016-12-19", "08:30"),
    ]
    assert digests(campaign, COORDINATOR) == [  # no digest on Saturday and Sunday
        ("2016-12-15", "10:15"),
        ("2016-12-16", "10:15"),
        ("2016-12-19", "10:15"),
    ]
    assert bj(12, 15, 10, 15, year=2016) in wakes


async def test_changing_the_time_moves_the_next_wake_up_at_once(campaign: Campaign) -> None:
    dispatcher = campaign.dispatcher(digest_at=DEFAULT)
    before = await dispatcher.run()  # 08:00: the digests at 08:30 come first
    await change(campaign, COORDINATOR, DigestAction.AT, time(8, 10))
    after = await dispatcher.run()

    assert (before.next_at, after.next_at) == (
        bj(12, 15, 8, 30, year=2016),
        bj(12, 15, 8, 10, year=2016),
    )
    await change(campaign, OTHER, DigestAction.MUTE)
    await change(campaign, COORDINATOR, DigestAction.MUTE)
    assert (await dispatcher.run()).next_at == bj(12, 15, 13, 0, year=2016)  # a nudge


async def test_a_digest_time_in_the_evening_quiet_hours_comes_at_their_start(
    campaign: Campaign,
) -> None:
    async with campaign.db.sessions.begin() as s:  # as an older version might have stored
        s.add(
            m.DigestPreference(
                person_id=campaign.people[OTHER],
                muted=False,
                local_time=time(23, 0),
                updated_at=LOADED,
            )
        )
    dispatcher = campaign.dispatcher(digest_at=time(6, 0))

    campaign.clock.now = bj(12, 15, 8, 0, year=2016)
    await dispatcher.run()
    campaign.clock.now = bj(12, 15, 21, 0, year=2016)
    await dispatcher.run()

    assert digests(campaign, COORDINATOR) == [("2016-12-15", "08:00")]
    assert digests(campaign, OTHER) == [("2016-12-15", "21:00")]


# ---- a failed digest is retried like a nudge --------------------------------------------


async def test_a_failed_digest_is_retried_with_the_nudges_backoff_and_never_forever(
    campaign: Campaign,
) -> None:
    await change(campaign, OTHER, DigestAction.MUTE)
    campaign.notifier.failing[COORDINATOR] = 100
    config = {"digest_at": DEFAULT, "retry_after": timedelta(minutes=1), "max_attempts": 3}
    start = campaign.clock.now = bj(12, 15, 8, 30, year=2016)  # nothing else for them now
    first = await campaign.dispatcher(**config).run()
    assert first.failed == 1 and first.next_at == start + timedelta(minutes=1)

    tries = []
    for minutes in (0.5, 1, 2, 5, 6, 30, 60):
        campaign.clock.now = start + timedelta(minutes=minutes)
        tries.append((await campaign.dispatcher(**config).run()).failed)

    assert tries == [0, 1, 0, 1, 0, 0, 0]  # after 1 min, then 4 more; capped at 3 attempts
    rows = [r for r in await campaign.log() if r.step.startswith("digest-")]
    assert [(r.person_id, r.status, r.attempts) for r in rows] == [
        (campaign.people[COORDINATOR], "failed", 3)
    ]
    assert campaign.notifier.asked.count(COORDINATOR) == 3


async def test_a_digest_that_failed_once_arrives_once_a_minute_later(campaign: Campaign) -> None:
    campaign.notifier.failing[COORDINATOR] = 1
    dispatcher = campaign.dispatcher(digest_at=DEFAULT, retry_after=timedelta(minutes=1))
    campaign.clock.now = bj(12, 15, 8, 30, year=2016)
    await dispatcher.run()
    campaign.clock.now += timedelta(minutes=1)
    await dispatcher.run()
    campaign.clock.now += timedelta(minutes=10)
    await dispatcher.run()

    assert digests(campaign, COORDINATOR) == [("2016-12-15", "08:31")]
    assert digests(campaign, OTHER) == [("2016-12-15", "08:30")]
    [row] = [
        r
        for r in await campaign.log()
        if r.step.startswith("digest-") and r.person_id == campaign.people[COORDINATOR]
    ]
    assert (row.status, row.attempts) == ("sent", 2)


# ---- a stored plan whose list is bad (stored before lists were checked) -----------------


async def test_a_stored_plan_with_a_bad_reminders_list_is_nudged_by_the_default(
    campaign: Campaign,
) -> None:
    async with campaign.db.sessions.begin() as s:
        version = await s.scalar(select(m.PlanVersion))
        assert version is not None
        text = version.source_text.replace(
            'form = "stats"\ntime = "15:00"\n',
            'form = "stats"\ntime = "15:00"\nreminders = ["3wd@09:00"]\n',
        )
        assert text != version.source_text
        await s.execute(update(m.PlanVersion).values(source_text=text))
    campaign.clock.now = bj(12, 15, 13, 0, year=2016)  # two hours before weekly report #3

    await campaign.dispatcher().run()

    weekly = campaign.deadline("weekly-report", 3)
    assert f"before-2h|{weekly}|德宽路市场监管所" in campaign.notifier.to(A_LIAISON)
