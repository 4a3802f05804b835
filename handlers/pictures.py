"""The progress picture after /status: the board of the deadlines /status lists, drawn in a
worker thread (other chats keep being served) and sent as a photo, or as a document when
Telegram would not take it as one."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from telegram import Bot

from bot.i18n import Catalogue
from handlers.common import Turn
from services.board import BoardService
from services.pictures import board_texts, chat_picture

# Telegram's limits for a photo (sendPhoto); a bigger picture goes as a document.
PHOTO_MAX_BYTES = 10 * 1024 * 1024
PHOTO_MAX_SIDES = 10_000
STATUS_WINDOW = 12  # deadlines, as the /status text lists them


async def send_status_picture(t: Turn, code: str | None) -> None:
    """The progress picture of the campaign /status just described."""
    found = await t.services.board.board(t.actor, code, t.now, window=STATUS_WINDOW)
    chat = t.update.effective_chat
    if found is None or not found.board.deadlines or chat is None:
        return
    texts = board_texts(found.board, t.catalogue, t.language, found.code)
    png = await asyncio.to_thread(chat_picture, found.board, texts)
    await send_picture(t.context.bot, chat.id, png, found.code,
                       t.t("picture.caption", campaign=found.board.campaign))


class DigestPicture:
    """The progress picture after a coordinator's daily digest (the reminder dispatcher's
    `after_digest`)."""

    def __init__(self, bot: Bot, boards: BoardService, catalogue: Catalogue,
                 clock: Callable[[], datetime]) -> None:
        self.bot, self.boards, self.catalogue, self.clock = bot, boards, catalogue, clock

    async def __call__(self, campaign_id: int, external_id: str, language: str | None) -> None:
        found = await self.boards.board(None, campaign_id, self.clock(), window=STATUS_WINDOW)
        if found is None or not found.board.deadlines:
            return
        texts = board_texts(found.board, self.catalogue, language, found.code)
        png = await asyncio.to_thread(chat_picture, found.board, texts)
        caption = self.catalogue.text("picture.caption", language,
                                      campaign=found.board.campaign)
        await send_picture(self.bot, int(external_id), png, found.code, caption)


async def send_picture(bot: Bot, chat_id: int, png: bytes, name: str, caption: str) -> None:
    """As a photo when Telegram takes it as one, else as a document (never shrunk)."""
    if len(png) <= PHOTO_MAX_BYTES and _sides(png) <= PHOTO_MAX_SIDES:
        await bot.send_photo(chat_id, png, caption=caption)
    else:
        await bot.send_document(chat_id, png, filename=f"{name}.png", caption=caption)


def _sides(png: bytes) -> int:
    """Width plus height, read from the PNG header (IHDR) without decoding the picture."""
    return int.from_bytes(png[16:20], "big") + int.from_bytes(png[20:24], "big")
