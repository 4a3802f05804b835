"""Blocked chats, injected failures and the flood limit, as PTB experiences them."""

from __future__ import annotations

import datetime as dtm

import pytest
from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter
from telegram.ext import AIORateLimiter

from fakegram import FakeTelegram


async def test_a_blocked_chat_answers_403_and_ptb_raises_forbidden(
    fake: FakeTelegram, bot: Bot
) -> None:
    user = fake.add_user()
    fake.block_chat(user.id)

    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(user.id, "提醒")
    with pytest.raises(Forbidden):
        await bot.send_chat_action(user.id, "typing")

    fake.unblock_chat(user.id)
    await bot.send_message(user.id, "提醒")
    assert [m.text for m in fake.sent(user.id)] == ["提醒"]
    assert fake.stats.errors[("sendMessage", 403)] == 1


async def test_blocking_with_notify_sends_a_my_chat_member_update(
    fake: FakeTelegram, bot: Bot
) -> None:
    user = fake.add_user()
    fake.block_chat(user.id, notify=True)

    (update,) = await bot.get_updates()
    assert update.my_chat_member is not None
    assert update.my_chat_member.new_chat_member.status == "kicked"


async def test_retry_after_is_reported_to_ptb_as_RetryAfter(fake: FakeTelegram, bot: Bot) -> None:
    user = fake.add_user()
    fake.fail_next("sendMessage", error_code=429, retry_after=7)

    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(user.id, "x")

    assert caught.value.retry_after == dtm.timedelta(seconds=7)
    await bot.send_message(user.id, "x")  # the fault was used up
    assert fake.stats.injected == 1


async def test_injected_faults_can_target_one_chat_and_run_out(
    fake: FakeTelegram, bot: Bot
) -> None:
    alice, bob = fake.add_users(2)
    fake.fail_next("sendmessage", times=2, chat_id=alice.id, description="Bad Request: boom")

    await bot.send_message(bob.id, "ok")  # other chats are unaffected
    for _ in range(2):
        with pytest.raises(BadRequest, match="Boom"):
            await bot.send_message(alice.id, "x")
    await bot.send_message(alice.id, "ok")
    assert fake.faults.rules == []


async def test_server_errors_surface_as_network_errors(fake: FakeTelegram, bot: Bot) -> None:
    user = fake.add_user()
    fake.fail_next("sendMessage", error_code=500)
    fake.fail_next("sendMessage", error_code=502)

    with pytest.raises(NetworkError, match="Internal Server Error"):
        await bot.send_message(user.id, "x")
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(user.id, "x")


async def test_the_flood_limit_counts_429s(fake: FakeTelegram, bot: Bot) -> None:
    user = fake.add_user()
    fake.set_flood_limit(per_second=3, mode="window")

    delivered = rejected = 0
    for n in range(8):
        try:
            await bot.send_message(user.id, f"m{n}")
            delivered += 1
        except RetryAfter as exc:
            assert exc.retry_after == dtm.timedelta(seconds=1)
            rejected += 1

    assert delivered >= 3 and rejected >= 1
    assert fake.stats.flood_429 == rejected
    assert len(fake.sent(user.id)) == delivered
    assert fake.stats.calls["sendMessage"] == 8


async def test_the_per_chat_limit_only_throttles_the_busy_chat(
    fake: FakeTelegram, bot: Bot
) -> None:
    busy, quiet = fake.add_users(2)
    fake.set_flood_limit(per_chat_per_second=1)

    await bot.send_message(busy.id, "1")
    with pytest.raises(RetryAfter):
        await bot.send_message(busy.id, "2")
    await bot.send_message(quiet.id, "1")
    assert fake.stats.flood_429 == 1


async def test_ptbs_rate_limiter_retries_after_a_429(fake: FakeTelegram) -> None:
    user = fake.add_user()
    fake.fail_next("sendMessage", error_code=429, retry_after=1)
    app = fake.application_builder().rate_limiter(AIORateLimiter(max_retries=1)).build()

    async with app:
        message = await app.bot.send_message(user.id, "eventually")

    assert message.text == "eventually"
    assert fake.stats.errors[("sendMessage", 429)] == 1
    assert fake.stats.calls["sendMessage"] == 2
