"""The progress picture after /status: the board of the deadlines /status lists, drawn in a
worker thread (other chats keep being served)."""

from __future__ import annotations

import asyncio

from conversation.turn import Turn
from services.board import CampaignBoard
from services.pictures import board_texts, chat_picture

STATUS_WINDOW = 12  # deadlines, as the /status text lists them


async def send_status_picture(
    t: Turn, code: str | None, found: CampaignBoard | None = None
) -> None:
    """The progress picture of the campaign /status just described (its board, when
    /status read it already)."""
    if found is None:
        found = await t.services.board.board(t.actor, code, t.now, window=STATUS_WINDOW)
    if found is None or not found.board.deadlines:
        return
    texts = board_texts(found.board, t.catalogue, t.language, found.code)
    png = await asyncio.to_thread(chat_picture, found.board, texts)
    await t.picture(
        png, f"{found.code}.png", t.t("picture.caption", campaign=found.board.campaign)
    )
