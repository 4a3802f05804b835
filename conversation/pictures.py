"""The progress picture after /status and after a coordinator's daily digest: the board
of the deadlines /status lists, read and drawn by a slow job (conversation.slow), so the
counts come at once and the picture follows."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from conversation import slow
from conversation.replies import Sent
from conversation.services import AppServices
from conversation.slow import SlowJob
from conversation.turn import Turn
from services.pictures import board_texts, chat_picture

STATUS_WINDOW = 12  # deadlines, as the /status text lists them


async def follow_with_picture(t: Turn, code: str) -> None:
    """The campaign's progress picture, after the text /status just sent. Not exclusive:
    it neither waits for nor blocks the person's export."""
    await slow.start(t, "picture", args=(code,), exclusive=False)


def after_digest(services: AppServices) -> Callable[[int, str, str | None], Awaitable[None]]:
    """The reminder dispatcher's `after_digest`: the campaign's picture after a
    coordinator's daily digest, drawn by a slow job like the one after /status."""

    async def follow(campaign_id: int, external_id: str, language: str | None) -> None:
        # Not exclusive: no person id is needed (the job's turn finds the person).
        job = SlowJob(
            "picture",
            services.platform,
            external_id,
            "",
            0,
            data={"campaign": campaign_id},
            exclusive=False,
            language=language or "",
            quiet=True,  # not asked for: a picture that cannot be drawn is only logged
        )
        await services.slow.submit(job)

    return follow


async def finish(t: Turn, job: SlowJob, progress: Sent | None) -> None:
    """In a slow worker: read the board again (it is a moment later) and draw it."""
    code: str | int | None = job.args[0] if job.args else job.data.get("campaign")
    found = await t.services.board.board(t.actor, code, t.now, window=STATUS_WINDOW)
    if found is None or not found.board.deadlines:
        return
    texts = board_texts(found.board, t.catalogue, t.language, found.code)
    png = await asyncio.to_thread(chat_picture, found.board, texts)
    await t.picture(
        png, f"{found.code}.png", t.t("picture.caption", campaign=found.board.campaign)
    )
