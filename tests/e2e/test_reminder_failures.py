"""A reminder loop that keeps failing is not silent: the coordinators are told in chat
(once, then again only as the failures go on) and the log says it at ERROR."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import ReminderSettings
from bot.nudge_loop import install_reminders
from tests.clock import Clock
from tests.e2e.harness import COORDINATOR, running_bot

BJ = ZoneInfo("Asia/Shanghai")


class BreakableClock:
    """The bot's clock, which can be made to fail the way a broken setting did
    (`can't compare offset-naive and offset-aware times`) on every reminder run."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.broken = True

    def __call__(self) -> datetime:
        if self.broken:
            raise TypeError("can't compare offset-naive and offset-aware times")
        return self.clock()


async def test_reminder_runs_failing_again_and_again_are_told_to_the_coordinators(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_bot(tmp_path, datetime(2016, 12, 14, 10, tzinfo=BJ)) as bot:
        clock = BreakableClock(bot.clock)
        options = ReminderSettings(digest_at=None, replan_delay_seconds=0, retry_after_seconds=0.2)
        loop = install_reminders(bot.app, bot.db, bot.settings, clock, options)
        assert loop is not None

        def alerts() -> list[str]:
            return [
                m.text or "" for m in bot.fake.sent(COORDINATOR) if "自动催报" in (m.text or "")
            ]

        await bot.fake.wait_until(lambda: loop.failures >= 7, 10.0)
        # Told at the third failure and again at the sixth, not at every one.
        assert [a[:19] for a in alerts()] == [
            "⚠️ 自动催报已连续 3 次运行失败,",
            "⚠️ 自动催报已连续 6 次运行失败,",
        ]
        assert "TypeError: can't compare offset-naive and offset-aware times" in alerts()[0]
        assert [
            r.getMessage()
            for r in caplog.records
            if r.levelno == logging.ERROR and "in a row (last" in r.getMessage()
        ][:1] == [
            (
                "automatic reminders have failed 3 times in a row (last: can't compare "
                "offset-naive and offset-aware times); telling the coordinators"
            )
        ]

        clock.broken = False
        await bot.fake.wait_until(lambda: alerts()[-1].startswith("✅"), 10.0)
        assert alerts()[-1].startswith("✅ 自动催报已恢复正常(此前连续失败 ")
        # The count is reset once the notice's send has returned, a moment after the fake
        # has it.
        await bot.fake.wait_until(lambda: loop.failures == 0 or None, 10.0)
