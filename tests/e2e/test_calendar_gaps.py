"""A campaign with deadlines in a year the holiday data does not cover: the running bot
tells its coordinators in chat, once, with what to do (instead of nudging on 除夕)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.config import ReminderSettings
from bot.nudge_loop import ReminderLoop, install_reminders
from domain.plan_toml import parse_plan
from scheduler.calendar import package_years
from services.plans import load_plan
from tests.e2e.harness import COORDINATOR, running_bot

ROOT = Path(__file__).resolve().parents[2]
BJ = ZoneInfo("Asia/Shanghai")
QINGXI_2027 = (
    (ROOT / "examples" / "plans" / "qingxi-2018-anticounterfeit.toml")
    .read_text(encoding="utf-8")
    .replace("2018", "2027")
)
NOW = datetime(2027, 3, 29, 10, tzinfo=BJ)


async def _one_more_run(loop: ReminderLoop) -> None:
    before = loop.runs
    loop.replan()
    for _ in range(1000):
        if loop.runs > before and loop.idle.is_set():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the reminder loop did not run")


async def test_coordinators_are_told_once_about_a_year_without_holiday_data(
    tmp_path: Path,
) -> None:
    assert package_years()[1] == 2026  # a newer chinesecalendar knows 2027: pick 2028
    async with running_bot(tmp_path, NOW) as bot:
        plan = parse_plan(QINGXI_2027, "qingxi-2027.toml")
        await load_plan(bot.db.sessions, plan, "qingxi-2027.toml", QINGXI_2027, NOW)
        loop = install_reminders(
            bot.app,
            bot.db,
            bot.settings,
            bot.clock,
            ReminderSettings(digest_at=None, replan_delay_seconds=0),
        )
        assert loop is not None

        await _one_more_run(loop)
        bot.clock.advance(days=1)  # the next day's check finds the notice already given
        await _one_more_run(loop)

        told = [m.text or "" for m in bot.fake.sent(COORDINATOR) if "📅" in (m.text or "")]
        # The last deadline, 2027-12-31, is nudged into January 2028: both years, once each.
        assert len(told) == 2
        assert told[0].startswith(
            "📅 活动「2027年打假工作」有截止时间或催报落在 2027 年,而节假日数据只到 2026 年"
        )
        assert "complete_years = [2027]" in told[0]
        assert "落在 2028 年" in told[1] and "complete_years = [2028]" in told[1]


async def test_a_year_declared_complete_in_the_config_is_not_announced(tmp_path: Path) -> None:
    calendar = {"holidays": ["2027-04-05"], "complete_years": [2027, 2028]}
    async with running_bot(tmp_path, NOW, calendar=calendar) as bot:
        plan = parse_plan(QINGXI_2027, "qingxi-2027.toml")
        await load_plan(bot.db.sessions, plan, "qingxi-2027.toml", QINGXI_2027, NOW)
        loop = install_reminders(
            bot.app,
            bot.db,
            bot.settings,
            bot.clock,
            ReminderSettings(digest_at=None, replan_delay_seconds=0),
        )
        assert loop is not None

        await _one_more_run(loop)

        assert [m for m in bot.fake.sent(COORDINATOR) if "📅" in (m.text or "")] == []
