"""A text longer than Telegram takes (the digest of a large campaign) still reaches its
reader: in several messages, the buttons with the last one."""

from __future__ import annotations

import pytest
from telegram import Bot

from bot.notifier import TelegramNotifier
from bot.nudge_loop import ReminderNotifier
from bot.transport import AiohttpRequest
from conversation.turn import utf16_length
from fakegram import FakeTelegram
from handlers.telegram import TELEGRAM
from services.ports import Button, Delivery

# What 3,000 missing units look like in a digest: far past one message.
MISSING = "\n".join(f"· 第{i:04d}号市场监管所:信息周报第3期未报" for i in range(3000))


@pytest.mark.parametrize("sender", [TelegramNotifier, ReminderNotifier])
async def test_a_text_longer_than_one_message_arrives_whole_in_parts_with_its_buttons_last(
    sender: type[TelegramNotifier],
) -> None:
    async with FakeTelegram() as fake:
        reader = fake.add_user(first_name="王协调")
        async with Bot(
            fake.token,
            base_url=fake.base_url,
            base_file_url=fake.base_file_url,
            request=AiohttpRequest(),
        ) as bot:
            delivery = await sender(bot).send(str(reader.id), MISSING, [[Button("查看", "st:1")]])

        sent = fake.sent(reader.id)

    assert delivery is Delivery.SENT
    assert len(sent) > 1
    assert all(utf16_length(m.text or "") <= TELEGRAM.message_chars for m in sent)
    assert "\n".join(m.text or "" for m in sent) == MISSING
    assert [bool(m.buttons) for m in sent] == [False] * (len(sent) - 1) + [True]
