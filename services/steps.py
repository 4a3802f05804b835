"""Half-done steps of a conversation, kept in the database: what a person's next message
or tap completes survives a restart and is seen alike by every process."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.steps import StepRepo


class StepService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def get(self, person_id: int, kind: str) -> dict[str, Any] | None:
        async with self.sessions() as s:
            return await StepRepo(s).get(person_id, kind)

    async def put(self, person_id: int, kind: str, payload: dict[str, Any], now: datetime) -> None:
        async with self.sessions.begin() as s:
            await StepRepo(s).put(person_id, kind, payload, now)

    async def put_for(
        self, platform: str, external_id: str, kind: str, payload: dict[str, Any], now: datetime
    ) -> bool:
        """The same for someone known by their platform id (a nudge's recipient); False
        if nobody goes by it."""
        async with self.sessions.begin() as s:
            steps = StepRepo(s)
            person_id = await steps.person_of(platform, external_id)
            if person_id is None:
                return False
            await steps.put(person_id, kind, payload, now)
            return True

    async def take(self, person_id: int, kind: str) -> dict[str, Any] | None:
        async with self.sessions.begin() as s:
            return await StepRepo(s).take(person_id, kind)
