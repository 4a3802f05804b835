"""Half-done conversation steps (models.ChatStep): one row per person and kind."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import models as m
from storage.db import upsert


class StepRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, person_id: int, kind: str) -> dict[str, Any] | None:
        row = await self.session.scalar(
            select(m.ChatStep.payload).where(
                m.ChatStep.person_id == person_id, m.ChatStep.kind == kind
            )
        )
        return dict(row) if row is not None else None

    async def put(self, person_id: int, kind: str, payload: dict[str, Any], now: datetime) -> None:
        # Insert-or-update in one statement: two processes may write the same person.
        statement = upsert(self.session, m.ChatStep).values(
            person_id=person_id, kind=kind, payload=payload, updated_at=now
        )
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[m.ChatStep.person_id, m.ChatStep.kind],
                set_={"payload": payload, "updated_at": now},
            )
        )

    async def person_of(self, platform: str, external_id: str) -> int | None:
        return await self.session.scalar(
            select(m.Person.id).where(
                m.Person.platform == platform, m.Person.external_id == external_id
            )
        )

    async def take(self, person_id: int, kind: str) -> dict[str, Any] | None:
        """Remove the step and return what it held (None if there was none): of two
        processes taking the same step, only one gets it."""
        row = await self.session.scalar(
            delete(m.ChatStep)
            .where(m.ChatStep.person_id == person_id, m.ChatStep.kind == kind)
            .returning(m.ChatStep.payload)
        )
        return dict(row) if row is not None else None
