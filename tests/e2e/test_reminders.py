"""Automatic reminders over real HTTP: the job, the texts and button, flood control and
faults, and a bot process killed in the middle of a round of nudges."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.config import RateLimitSettings, ReminderSettings
from bot.nudge_loop import JOB_NAME, ReminderLoop, install_reminders, replan
from fakegram import FakeTelegram
from storage import models as m
from storage.database import Database
from tests.e2e.harness import Harness, running_bot
from tests.e2e.reminders_worker import NOW, RunningClock, bind_liaisons, bulk_plan, seed

ROOT = Path(__file__).resolve().parents[2]
BJ = ZoneInfo("Asia/Shanghai")
WEEKLY_3 = "信息周报第3期(12月15日 周四 15:00前)"
ROSTER = "信息联络员名单(12月15日 周四 17:30前)"


def start_reminders(
    bot: Harness, clock: Callable[[], datetime] | None = None, **options: object
) -> ReminderLoop:
    settings = ReminderSettings(**{"digest_at": None, "replan_delay_seconds": 0, **options})  # type: ignore[arg-type]
    loop = install_reminders(bot.app, bot.db, bot.settings, clock or bot.clock, settings)
    assert loop is not None
    return loop


def _jobs(bot: Harness) -> list[Any]:
    assert bot.app.job_queue is not None
    return list(bot.app.job_queue.get_jobs_by_name(JOB_NAME))


async def quiet(loop: ReminderLoop) -> None:
    """Wait until no run is going on and none is about to start (the job sleeps)."""
    for _ in range(500):
        pending = loop.pending_in()
        if loop.idle.is_set() and loop.runs and pending is not None and pending > 1.0:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the reminder loop did not go quiet")


def deliveries(fake: FakeTelegram, chats: list[int]) -> Counter[tuple[int, str]]:
    """How often each chat got a nudge, per deadline (its button's sub:<id>)."""
    return Counter(
        (chat, m.buttons[0]["callback_data"])
        for chat in chats
        for m in fake.sent(chat)
        if m.buttons
    )


async def test_a_liaison_who_joins_is_nudged_at_once_and_the_button_opens_the_form(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path, datetime(2016, 12, 14, 10, tzinfo=BJ)) as bot:
        links = await bot.invite_links()
        loop = start_reminders(bot)
        await quiet(loop)  # nobody is bound yet: nothing to send
        assert [j.name for j in _jobs(bot)] == [JOB_NAME]

        await bot.join(2001, "李明", links["德宽路市场监管所"])  # the update replans
        await bot.fake.wait_until(
            lambda: (
                len([m for m in bot.fake.sent(2001) if m.buttons and "催报" in m.content]) == 2
            ),
            5.0,
        )
        nudges = {m.text or "": m for m in bot.fake.sent(2001) if "催报" in m.content}
        assert sorted(nudges) == [
            f"【催报提醒】德宽路市场监管所:{WEEKLY_3} 即将截止,请按时填报。",
            f"【催报提醒】德宽路市场监管所:{ROSTER} 即将截止,请按时填报。",
        ]
        weekly = nudges[f"【催报提醒】德宽路市场监管所:{WEEKLY_3} 即将截止,请按时填报。"]
        assert weekly.button_texts == ["立即填报"]
        weekly_id = await bot.deadline_id("weekly-report", 3)
        assert weekly.callback_data("立即填报") == f"sub:{weekly_id}"

        [question] = await bot.press(2001, weekly, text="立即填报")
        assert (question.text or "").startswith(f"【打假统计报表】{WEEKLY_3}\n(1/8)请填写")

        # Nothing is due before 12-15 13:00: the job sleeps, at most the safety interval.
        await quiet(loop)
        [job] = _jobs(bot)
        assert job.next_t is not None
        wait = (job.next_t - datetime.now(job.next_t.tzinfo)).total_seconds()
        assert 290 < wait <= 300

        bot.clock.now = datetime(2016, 12, 15, 13, 0, tzinfo=BJ)
        replan(bot.app)
        two_hours = await bot.fake.wait_for(
            2001, lambda m: "信息周报" in m.content and "即将截止" in m.content, after=question
        )
        assert two_hours.text == f"【催报提醒】德宽路市场监管所:{WEEKLY_3} 即将截止,请按时填报。"
        await quiet(loop)
        texts = [m.text for m in bot.fake.sent(2001) if "催报" in m.content]
        assert len(texts) == 3  # the two of yesterday were not sent again


async def test_429s_and_5xx_answers_delay_reminders_but_lose_or_duplicate_none(
    tmp_path: Path,
) -> None:
    plan = tmp_path / "bulk.toml"
    plan.write_text(bulk_plan(100), encoding="utf-8")
    rate = RateLimitSettings(overall_per_second=80, max_retries=5)
    async with running_bot(tmp_path, NOW, plan=plan, rate_limit=rate) as bot:
        chats = [u.id for u in bot.fake.add_users(100)]
        await bind_liaisons(bot.db, chats)
        bot.fake.set_flood_limit(40, burst=40)  # half what the bot allows itself
        bot.fake.fail_next("sendMessage", 3, error_code=429, retry_after=1)
        for code in (500, 502, 503, 504):
            bot.fake.fail_next("sendMessage", 2, error_code=code)
        # The clock runs: a send that failed for good is tried again a second later.
        loop = start_reminders(
            bot, RunningClock(NOW), retry_after_seconds=1, send_backoff_seconds=0.05
        )

        await bot.fake.wait_until(
            lambda: len(deliveries(bot.fake, chats)) == 200, 30.0, describe="200 nudges"
        )
        bot.fake.fail_next("sendMessage", 2, error_code=502)  # nothing left to break
        await quiet(loop)  # the round is over: a duplicate would have been sent by now

        got = deliveries(bot.fake, chats)
        assert len(got) == 200 and set(got.values()) == {1}
        assert bot.fake.stats.injected == 11 and bot.fake.stats.flood_429 > 0


async def _until_all_marked_sent(db_url: str, count: int) -> None:
    async with Database.open(db_url) as db:
        for _ in range(3000):
            async with db.sessions() as s:
                statuses = (await s.scalars(select(m.SentReminder.status))).all()
            if len(statuses) >= count and set(statuses) == {"sent"}:
                return
            await asyncio.sleep(0.01)
    raise AssertionError("the nudges were not all marked sent")


async def _bot_process(
    fake: FakeTelegram, db_url: str, now: datetime, rate: float = 100
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.e2e.reminders_worker",
        "bot",
        "--db",
        db_url,
        "--base-url",
        fake.base_url,
        "--file-url",
        fake.base_file_url,
        "--token",
        fake.token,
        "--now",
        now.isoformat(),
        "--rate",
        str(rate),
        "--concurrency",
        "1",
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
async def test_a_bot_killed_mid_round_delivers_every_reminder_after_a_restart(
    tmp_path: Path,
) -> None:
    async with FakeTelegram() as fake:
        chats = [u.id for u in fake.add_users(250)]
        db_url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
        async with Database.open(db_url) as db:
            await seed(db, chats)  # 250 units × 2 deadlines: 500 nudges due at once

        first = await _bot_process(fake, db_url, NOW)
        await fake.wait_until(
            lambda: fake.stats.calls["sendMessage"] >= 150,
            30.0,
            describe="150 nudges from the first process",
        )
        first.kill()  # SIGKILL: no cleanup, a claim may be in flight
        await first.wait()
        at_kill = len(deliveries(fake, chats))

        # Restarted later: the dead process's claims have gone stale by then.
        second = await _bot_process(fake, db_url, NOW + timedelta(minutes=10))
        try:
            await fake.wait_until(
                lambda: len(deliveries(fake, chats)) == 500, 30.0, describe="all 500 nudges"
            )
            # Every claim marked sent: nothing is left for the process to send again.
            await _until_all_marked_sent(db_url, 500)
        finally:
            second.terminate()
            _out, err = await second.communicate()
        assert second.returncode == 0, err.decode()[-3000:]

        got = deliveries(fake, chats)
        assert 150 <= at_kill < 500
        assert len(got) == 500
        assert sum(n - 1 for n in got.values()) <= 1  # at most the one in flight
