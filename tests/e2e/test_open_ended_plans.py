"""An open-ended plan (no end date) is expanded one year ahead when loaded; the running
bot moves that horizon along as time passes, so the plan does not go silent after a year.
The clock is injected and crosses a year boundary."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.config import ReminderSettings
from bot.nudge_loop import ReminderLoop, install_reminders
from domain.plan_toml import parse_plan
from services.plans import load_plan
from storage import models as m
from tests.e2e.harness import Harness, running_bot

ROOT = Path(__file__).resolve().parents[2]
BJ = ZoneInfo("Asia/Shanghai")
# Qingxi's campaign without its end date: the monthly statistics go on for good.
OPEN_ENDED = (
    (ROOT / "examples" / "plans" / "qingxi-2018-anticounterfeit.toml")
    .read_text(encoding="utf-8")
    .replace("end = 2018-12-31", "", 1)
)
LOADED = datetime(2018, 4, 10, 10, tzinfo=BJ)


async def _monthly_dues(bot: Harness) -> list[datetime]:
    rows = await bot.rows(m.Deadline)
    monthly = {o.id for o in await bot.rows(m.Obligation) if o.code == "monthly-stats"}
    return sorted(d.due_at.astimezone(BJ) for d in rows if d.obligation_id in monthly)


async def _one_more_run(loop: ReminderLoop) -> None:
    before = loop.runs
    loop.replan()
    for _ in range(1000):
        if loop.runs > before and loop.idle.is_set():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the reminder loop did not run")


async def test_an_open_ended_plan_keeps_getting_deadlines_as_the_years_pass(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path, LOADED) as bot:
        plan = parse_plan(OPEN_ENDED, "qingxi-open.toml")
        assert plan.period.end is None
        await load_plan(bot.db.sessions, plan, "qingxi-open.toml", OPEN_ENDED, LOADED)
        at_load = await _monthly_dues(bot)
        assert at_load[-1].date().isoformat() == "2019-03-31"  # a year past the load

        loop = install_reminders(
            bot.app,
            bot.db,
            bot.settings,
            bot.clock,
            ReminderSettings(digest_at=None, replan_delay_seconds=0),
        )
        assert loop is not None
        await _one_more_run(loop)
        assert await _monthly_dues(bot) == at_load  # same day: nothing new

        bot.clock.now = datetime(2019, 1, 2, 9, tzinfo=BJ)  # into the next year
        await _one_more_run(loop)
        later = await _monthly_dues(bot)
        assert later[: len(at_load)] == at_load  # what was stored stays as it was
        assert [d.date().isoformat() for d in later[len(at_load) :]] == [
            "2019-04-30",
            "2019-05-31",
            "2019-06-30",
            "2019-07-31",
            "2019-08-31",
            "2019-09-30",
            "2019-10-31",
            "2019-11-30",
            "2019-12-31",
        ]

        bot.clock.now = datetime(2019, 7, 1, 9, tzinfo=BJ)
        await _one_more_run(loop)
        latest = await _monthly_dues(bot)
        assert latest[-1].date().isoformat() == "2020-06-30"
        assert len(latest) == len(set(latest)) == 27
