"""Deliveries a platform may repeat, handled once: the first process to record a message
id handles it; a redelivery (after a reconnect, or to another process) is skipped."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import models as m
from storage.db import upsert


class InboxService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def first_time(self, platform: str, message_id: str, now: datetime) -> bool:
        """Record the message; True only for the call that recorded it."""
        async with self.sessions.begin() as s:
            result = await s.execute(
                upsert(s, m.InboundMessage)
                .values(platform=platform, message_id=message_id, received_at=now)
                .on_conflict_do_nothing()
            )
            return bool(getattr(result, "rowcount", 0))
