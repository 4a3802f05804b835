"""The chat export's worker reads on an engine of its own that never holds the bot back:
a snapshot that takes no write lock, while the bot goes on committing."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import models as m
from storage.database import Database
from storage.db import sessionmaker
from tests.storage.conftest import NOW, Target


async def _people(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(m.Person)) or 0)


async def test_a_reader_snapshot_lets_the_bot_commit_meanwhile_and_stays_consistent(
    database: Database, target: Target
) -> None:
    reader = target.engine(reader=True)
    try:
        async with sessionmaker(reader)() as snapshot:
            before = await _people(snapshot)
            async with database.sessions.begin() as bot:  # the bot's write, meanwhile
                bot.add(m.Person(external_id="42", display_name="42", created_at=NOW))
                await asyncio.wait_for(bot.flush(), 5)
            after_commit = await _people(snapshot)

        async with sessionmaker(reader)() as fresh:
            now_seen = await _people(fresh)
    finally:
        await reader.dispose()

    assert after_commit == before  # one consistent picture for the whole export
    assert now_seen == before + 1
