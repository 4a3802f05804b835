"""Deliveries a platform may repeat, handled once: the first process to record a message
id handles it; a redelivery (after a reconnect, or to another process) is skipped."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
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

    async def seen(self, platform: str, message_id: str) -> bool:
        """Whether the message was recorded (handled) before."""
        async with self.sessions() as s:
            found = await s.scalar(
                select(m.InboundMessage.message_id).where(
                    m.InboundMessage.platform == platform,
                    m.InboundMessage.message_id == message_id,
                )
            )
            return found is not None

    async def forget_before(self, when: datetime) -> int:
        """Drop records older than any redelivery (Telegram gives up after a day)."""
        async with self.sessions.begin() as s:
            result = await s.execute(
                delete(m.InboundMessage).where(m.InboundMessage.received_at < when)
            )
            return int(getattr(result, "rowcount", 0) or 0)
