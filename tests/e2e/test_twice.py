"""Every button is safe to tap twice: a confirmation is carried out once (in the database,
so two bot processes agree), and an edit that changes nothing is no error."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.config import ReminderSettings
from fakegram import ChatMessage
from storage import models as m
from tests.e2e.conftest import CAMPAIGN_DAY
from tests.e2e.harness import COORDINATOR, Harness, running_bot

C_LIAISON = 2005
ERROR = "抱歉,处理时出错了,请稍后再试。已提交的内容不受影响。"


async def double_tap(
    bot: Harness, user: int, message: ChatMessage, text: str
) -> list[ChatMessage]:
    """Two taps on one button, the second sent before the first is answered (a phone on a
    slow network); returns what the bot sent or edited after them."""
    mark = bot.fake.sent(user)[-1].message_id
    data = message.callback_data(text)
    first = bot.fake.press_button(user, message.message_id, data, strict=False)
    second = bot.fake.press_button(user, message.message_id, data, strict=False)
    await bot.fake.wait_for_callback_answer(first)
    await bot.fake.wait_for_callback_answer(second)
    await bot.idle()
    return [x for x in bot.fake.sent(user) if x.message_id > mark]


def nudges(bot: Harness, user: int) -> list[ChatMessage]:
    return [x for x in bot.fake.sent(user) if "催报" in x.content]


async def test_a_double_tap_on_confirm_remind_sends_each_nudge_once(bot: Harness) -> None:
    links = await bot.invite_links()
    await bot.join(C_LIAISON, "陈静", links["集贤路市场监管所"])
    bot.clock.advance(hours=30)  # past weekly report #3
    [confirm] = await bot.command(COORDINATOR, "remind")
    assert "确认吗?" in (confirm.text or "")

    replies = await double_tap(bot, COORDINATOR, confirm, "确认催报")

    assert len(nudges(bot, C_LIAISON)) == 1
    assert confirm.text is not None and confirm.text.startswith("已发送催报 1 条。")
    assert [x.text for x in replies] == [
        "这次催报已经发送过,不会重复发送。如需再次催报,请重新发送 /remind。"
    ]
    [consumed] = await bot.rows(m.Confirmation)
    assert consumed.consumed_at is not None
    # A new /remind is a new confirmation, which sends again once.
    [again] = await bot.command(COORDINATOR, "remind")
    await bot.press(COORDINATOR, again, text="确认催报")
    assert len(nudges(bot, C_LIAISON)) == 2


async def test_two_taps_on_the_ask_button_give_one_confirmation(bot: Harness) -> None:
    links = await bot.invite_links()
    await bot.join(C_LIAISON, "陈静", links["集贤路市场监管所"])
    bot.clock.advance(hours=30)
    [missing] = await bot.command(COORDINATOR, "missing")

    first, second = await double_tap(bot, COORDINATOR, missing, "催报未报单位")
    await bot.press(COORDINATOR, first, text="确认催报")
    [taken] = await bot.press(COORDINATOR, second, text="确认催报")

    assert taken.text == "这次催报已经发送过,不会重复发送。如需再次催报,请重新发送 /remind。"
    assert len(nudges(bot, C_LIAISON)) == 1


async def test_a_double_tap_on_a_language_button_is_no_error(bot: Harness) -> None:
    links = await bot.invite_links()
    await bot.join(C_LIAISON, "陈静", links["集贤路市场监管所"])
    [choose] = await bot.command(C_LIAISON, "language")

    replies = await double_tap(bot, C_LIAISON, choose, "English")

    assert replies == []
    assert choose.text == "Language set to English."
    assert [x.content for x in bot.fake.sent(C_LIAISON) if x.content == ERROR] == []
    [person] = await bot.rows(m.Person, m.Person.external_id == str(C_LIAISON))
    assert person.language == "en"


@pytest.fixture
async def digest_bot(tmp_path: Path) -> AsyncIterator[Harness]:
    options = ReminderSettings(digest_at=time(8, 30), replan_delay_seconds=0)
    # 07:00 in Beijing: before the day's digest, which would come in between.
    async with running_bot(
        tmp_path, CAMPAIGN_DAY - timedelta(hours=3), reminders=options
    ) as harness:
        yield harness


async def test_a_double_tap_on_a_digest_button_is_no_error(digest_bot: Harness) -> None:
    bot = digest_bot
    [shown] = await bot.command(COORDINATOR, "digest")

    replies = await double_tap(bot, COORDINATOR, shown, "关闭每日汇总")

    assert [x.text for x in replies if x.message_id != shown.message_id] == []
    assert shown.text is not None and shown.text.startswith("已保存。\n每日汇总:已关闭")
    assert ERROR not in [x.content for x in bot.fake.sent(COORDINATOR)]
    async with bot.db.sessions() as s:
        [muted] = (await s.scalars(select(m.DigestPreference.muted))).all()
    assert muted
