"""The sending edge: messages to people, over Telegram, with the platform's errors mapped."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from conversation.turn import split_message
from handlers.telegram import TELEGRAM
from services.ports import Button, Delivery

log = logging.getLogger(__name__)


def keyboard(buttons: Sequence[Sequence[Button]]) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=b.data) for b in row] for row in buttons]
    )


class TelegramNotifier:
    """Sends one person a text: in several messages when it is longer than Telegram takes
    (a digest of a large campaign), the buttons with the last one."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(
        self, external_id: str, text: str, buttons: Sequence[Sequence[Button]] = ()
    ) -> Delivery:
        *first, last = split_message(text, TELEGRAM.message_chars)
        for part in first:
            delivery = await self._send_part(int(external_id), part, None)
            if delivery is not Delivery.SENT:
                return delivery
        return await self._send_part(int(external_id), last, keyboard(buttons))

    async def _send_part(
        self, chat_id: int, text: str, markup: InlineKeyboardMarkup | None
    ) -> Delivery:
        try:
            await self.bot.send_message(chat_id, text, reply_markup=markup)
        except Forbidden:
            return Delivery.BLOCKED
        except BadRequest as exc:
            if "chat not found" in exc.message.lower():
                return Delivery.BLOCKED
            log.warning("message to %s refused: %s", chat_id, exc.message)
            return Delivery.FAILED
        except (RetryAfter, NetworkError, TelegramError) as exc:
            # The rate limiter already retried; what reaches here is a lasting failure.
            log.warning("message to %s failed: %s", chat_id, exc)
            return Delivery.FAILED
        return Delivery.SENT
