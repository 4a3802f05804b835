"""/digest over real HTTP: a coordinator mutes or moves their own daily digest in the chat,
and the running reminder job honours it at once; a plan sent in the chat with a bad
`reminders` entry is refused naming the entry."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from telegram import BotCommandScopeChat

from bot.config import ReminderSettings
from bot.nudge_loop import ReminderLoop, reminder_loop, replan
from fakegram import ChatMessage
from services.access import AccessService, Role
from storage import models as m
from tests.e2e.harness import COORDINATOR, DAGUAN, Harness, running_bot
from tests.e2e.test_reminders import quiet

BJ = ZoneInfo("Asia/Shanghai")
OTHER = 900_002  # a second coordinator, bound through a coordinator link
LIAISON = 2001
STRANGER = 4004
HINT = (
    "改时间请发送 /digest 17:30;/digest off 关闭,/digest on 开启,"
    "/digest default 恢复默认时间(08:30)。"
)
DIGEST = "【每日报送情况】"


def bj(hour: int, minute: int = 0) -> datetime:
    """Thursday 2016-12-15 in Beijing: the liaison list and weekly report #3 fall due."""
    return datetime(2016, 12, 15, hour, minute, tzinfo=BJ)


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[Harness]:
    options = ReminderSettings(digest_at=time(8, 30), replan_delay_seconds=0)
    async with running_bot(tmp_path, bj(8, 0), reminders=options) as harness:
        tokens = await AccessService(harness.db.sessions).create_invites(
            "daguan-2017-anticounterfeit", harness.clock(), 14, role=Role.COORDINATOR
        )
        await harness.join(OTHER, "赵协调", tokens[0].token)
        yield harness


async def running_loop(bot: Harness) -> ReminderLoop:
    """The reminder job post_init started, once it has run and gone to sleep."""
    loop = reminder_loop(bot.app)
    assert loop is not None
    replan(bot.app)  # a run with the clock as the test has set it
    await quiet(loop)
    return loop


def digests(bot: Harness, chat: int) -> list[ChatMessage]:
    return [x for x in bot.fake.sent(chat) if DIGEST in x.content]


async def preferences(bot: Harness) -> list[tuple[int, bool, time | None]]:
    async with bot.db.sessions() as s:
        rows = (await s.scalars(select(m.DigestPreference))).all()
        return [(r.person_id, r.muted, r.local_time) for r in rows]


async def test_a_coordinator_who_mutes_the_digest_gets_none_while_another_still_does(
    bot: Harness,
) -> None:
    loop = await running_loop(bot)
    [shown] = await bot.command(COORDINATOR, "digest")
    assert shown.text == "每日汇总:已开启,每个工作日 08:30 发给您(默认时间)。\n" + HINT
    assert shown.button_texts == ["关闭每日汇总"]

    [saved] = await bot.press(COORDINATOR, shown, text="关闭每日汇总")

    assert saved.text == (
        "已保存。\n每日汇总:已关闭,不再发给您。截止未报的单位名单仍会发送。\n" + HINT
    )
    assert saved.button_texts == ["开启每日汇总(08:30)"]
    bot.clock.now = bj(8, 30)
    replan(bot.app)
    other = await bot.fake.wait_for(OTHER, lambda x: DIGEST in x.content)
    await quiet(loop)
    assert other.text is not None and other.text.startswith(
        f"{DIGEST}2017年元旦春节期间打假专项行动 · 2016年12月15日\n今明两天截止:"
    )
    assert digests(bot, COORDINATOR) == []

    # Turned on again the same day: today's digest, which they missed, comes at once (so
    # it may arrive before the tapped message is edited: read the edit, not the replies).
    await bot.press(COORDINATOR, saved, text="开启每日汇总(08:30)")
    assert saved.text is not None and saved.text.startswith("已保存。\n每日汇总:已开启")
    await bot.fake.wait_for(COORDINATOR, lambda x: DIGEST in x.content)
    await quiet(loop)
    assert (len(digests(bot, COORDINATOR)), len(digests(bot, OTHER))) == (1, 1)


async def test_a_coordinator_who_moves_the_digest_earlier_gets_it_then_without_a_restart(
    bot: Harness,
) -> None:
    bot.clock.now = bj(8, 20)
    loop = await running_loop(bot)
    pending = loop.pending_in()
    assert pending is not None and 290 < pending <= 300  # the safety interval: 08:30 is later

    [saved] = await bot.command(COORDINATOR, "digest", "8:22")

    assert saved.text == (
        "已保存。\n每日汇总:已开启,每个工作日 08:22 发给您(您自定的时间)。\n" + HINT
    )
    assert saved.button_texts == ["关闭每日汇总", "恢复默认时间 08:30"]
    await quiet(loop)  # the update re-planned the job: it now wakes at 08:22
    pending = loop.pending_in()
    assert pending is not None and 110 < pending <= 120

    bot.clock.now = bj(8, 22)
    replan(bot.app)
    await bot.fake.wait_for(COORDINATOR, lambda x: DIGEST in x.content)
    await quiet(loop)
    assert (len(digests(bot, COORDINATOR)), len(digests(bot, OTHER))) == (1, 0)

    bot.clock.now = bj(8, 30)
    replan(bot.app)
    await bot.fake.wait_for(OTHER, lambda x: DIGEST in x.content)
    await quiet(loop)
    assert (len(digests(bot, COORDINATOR)), len(digests(bot, OTHER))) == (1, 1)
    person = (await bot.rows(m.Person, m.Person.external_id == str(COORDINATOR)))[0]
    assert await preferences(bot) == [(person.id, False, time(8, 22))]


async def test_a_bad_time_or_a_quiet_hour_is_refused_and_changes_nothing(bot: Harness) -> None:
    [bad] = await bot.command(COORDINATOR, "digest", "25:00")
    [quiet_hour] = await bot.command(COORDINATOR, "digest", "22:30")
    [unknown] = await bot.command(COORDINATOR, "digest", "soon")

    assert bad.text == "“25:00”不是有效时间(应在 00:00–23:59 之间),设置未更改。"
    assert quiet_hour.text == (
        "22:30 在免打扰时段(21:00–08:00)内,此时不发消息,设置未更改。"
        "请选择 08:00–21:00 之间的时间。"
    )
    assert unknown.text == (
        "无法识别“soon”,设置未更改。请发送时间(如 /digest 17:30),"
        "或 /digest off、/digest on、/digest default。"
    )
    assert await preferences(bot) == []


async def test_a_forged_digest_button_is_stale_and_liaisons_and_strangers_are_refused(
    bot: Harness,
) -> None:
    [shown] = await bot.command(COORDINATOR, "digest")
    [forged] = await bot.press(COORDINATOR, shown, data="dg:7", strict=False)
    assert forged.text == "该按钮已过期,请按最新的提示操作。"

    links = await bot.invite_links()
    await bot.join(LIAISON, "李明", links["德宽路市场监管所"])
    # (The reminder job is on: the liaison's nudges may come in between.)
    replies = await bot.command(LIAISON, "digest", "off")
    [liaison] = [x for x in replies if not x.buttons]
    bot.add_user(STRANGER, "陌生人")
    [stranger] = await bot.command(STRANGER, "digest")
    [pressed] = await bot.press(STRANGER, stranger, data="dg:0", strict=False)

    assert liaison.text == "此功能仅供牵头单位使用。"
    assert stranger.text == pressed.text == (await bot.command(STRANGER, "tasks"))[0].text
    assert await preferences(bot) == []


async def test_the_digest_command_is_in_the_coordinators_menu_in_both_languages(
    bot: Harness,
) -> None:
    scope = BotCommandScopeChat(COORDINATOR)  # set by post_init for the configured coordinator

    zh = await bot.app.bot.get_my_commands(scope=scope, language_code="zh")
    en = await bot.app.bot.get_my_commands(scope=scope, language_code="en")

    assert ("digest", "每日汇总:开关或改时间") in [(c.command, c.description) for c in zh]
    assert ("digest", "daily digest: on, off or another time") in [
        (c.command, c.description) for c in en
    ]


async def test_a_plan_sent_in_the_chat_with_a_bad_reminders_entry_is_refused(bot: Harness) -> None:
    text = DAGUAN.read_text(encoding="utf-8").replace(
        'form = "stats"\ntime = "15:00"\n',
        'form = "stats"\ntime = "15:00"\nreminders = ["-1wd@09:00", "-2h@13:00"]\n',
    )

    [refused] = await bot.document(COORDINATOR, text.encode(), "daguan.toml")

    assert refused.text == (
        "daguan.toml: obligations[1].reminders[1]: “-2h@13:00”按小时或分钟"
        "计算,从截止时间起算,不能再加 @时间"
    )
    assert len(await bot.rows(m.PlanVersion)) == 1
