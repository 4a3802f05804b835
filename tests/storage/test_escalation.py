"""Escalation to a unit's leader (负责人): the plan's `escalate` step tells the leader of a
unit still missing, exactly once through the same sent-log as every nudge; the liaison
never gets it, the leader gets nothing else, and the coordinator's digest says who was
escalated."""

from __future__ import annotations

from datetime import time

from sqlalchemy import select

from bot.nudge_loop import CatalogueRenderer
from conversation.i18n import Catalogue
from domain.plan_toml import parse_plan
from services.nudges import ReminderConfig, ReminderDispatcher
from services.plans import load_plan
from storage import models as m
from storage.database import Database
from tests.storage.test_reminder_dispatch import (
    DAGUAN,
    LOADED,
    Clock,
    RecordingNotifier,
    bj,
)

LIAISON, LEADER, COORDINATOR = "2001", "3001", "9001"
PLAN = DAGUAN.read_text(encoding="utf-8").replace(
    'default_time = "17:30"', 'default_time = "17:30"\nescalate = "+2wd@09:00"', 1
)
WEEKLY_3 = "信息周报第3期(12月15日 周四 15:00前)"


async def _seed(db: Database) -> None:
    await load_plan(db.sessions, parse_plan(PLAN, "daguan.toml"), "daguan.toml", PLAN, LOADED)
    async with db.sessions.begin() as s:
        campaign = await s.scalar(select(m.Campaign))
        assert campaign is not None
        dekuan = await s.scalar(select(m.Unit.id).where(m.Unit.code == "dekuan"))
        for external_id, role, unit in [
            (COORDINATOR, "coordinator", None),
            (LIAISON, "liaison", dekuan),
            (LEADER, "leader", dekuan),
        ]:
            person = m.Person(external_id=external_id, display_name=role, created_at=LOADED)
            s.add(person)
            await s.flush()
            s.add(
                m.Membership(
                    campaign_id=campaign.id,
                    person_id=person.id,
                    unit_id=unit,
                    role=role,
                    created_at=LOADED,
                )
            )


def _dispatcher(db: Database, notifier: RecordingNotifier, clock: Clock) -> ReminderDispatcher:
    return ReminderDispatcher(
        db.sessions,
        notifier,
        CatalogueRenderer(Catalogue()),
        clock,
        ReminderConfig(digest_at=time(8, 30)),
    )


async def test_a_unit_still_missing_two_working_days_on_is_escalated_to_its_leader_once(
    database: Database,
) -> None:
    await _seed(database)
    clock = Clock(bj(12, 15, 16, 0, year=2016))  # weekly report #3 has just passed
    notifier = RecordingNotifier(clock)
    dispatcher = _dispatcher(database, notifier, clock)
    await dispatcher.run()
    assert notifier.to(LEADER) == []  # overdue, not yet escalated
    assert notifier.to(LIAISON)  # the liaison's own 逾期 nudge

    clock.now = bj(12, 19, 9, 0, year=2016)  # Monday: two working days after Thursday
    await dispatcher.run()
    await dispatcher.run()  # and again, as another round or process would
    escalations = [t for t in notifier.to(LEADER) if WEEKLY_3 in t]
    assert escalations == [
        (
            f"【督办】德宽路市场监管所:{WEEKLY_3} 已逾期,至今未报送。"
            "请督促本单位信息联络员尽快报送。发送“状态”可查看本单位报送情况。"
        )
    ]
    assert all(t.startswith("【督办】") for t in notifier.to(LEADER))  # nothing else
    assert not any(t.startswith("【督办】") for t in notifier.to(LIAISON))

    clock.now = bj(12, 20, 8, 30, year=2016)  # the coordinator's digest the day after
    await dispatcher.run()
    *_, digest = [t for t in notifier.to(COORDINATOR) if t.startswith("【每日报送情况】")]
    assert digest.startswith("【每日报送情况】2017年元旦春节期间打假专项行动 · 2016年12月20日")
    assert (
        f"· {WEEKLY_3}:德宽路市场监管所、玉琳路市场监管所、集贤路市场监管所、菱湖市场监管所、"
        "花山市场监管所、海口市场监管所\n   已督办(已通知单位负责人):德宽路市场监管所\n"
    ) in digest

    async with database.sessions() as s:
        steps = (
            await s.scalars(select(m.SentReminder.step).where(m.SentReminder.step == "escalate"))
        ).all()
    assert len(steps) == len(notifier.to(LEADER))  # one log row per escalation sent
