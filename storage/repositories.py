"""Repositories: queries and writes for one session. They flush; the use case commits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import models as m


def _table(model: type[m.Base]) -> Table:
    return cast(Table, model.__table__)


class CampaignRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def by_code(self, code: str) -> m.Campaign | None:
        return await self.s.scalar(select(m.Campaign).where(m.Campaign.code == code))

    async def all(self) -> Sequence[m.Campaign]:
        return (await self.s.scalars(select(m.Campaign).order_by(m.Campaign.id))).all()

    async def add(self, campaign: m.Campaign) -> m.Campaign:
        self.s.add(campaign)
        await self.s.flush()
        return campaign

    async def latest_plan(self, campaign_id: int) -> m.PlanVersion | None:
        return await self.s.scalar(
            select(m.PlanVersion)
            .where(m.PlanVersion.campaign_id == campaign_id)
            .order_by(m.PlanVersion.version.desc())
            .limit(1)
        )

    async def add_plan_version(self, version: m.PlanVersion) -> None:
        self.s.add(version)
        await self.s.flush()


class UnitRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def of_campaign(self, campaign_id: int, active_only: bool = False
                          ) -> Sequence[m.Unit]:
        q = select(m.Unit).where(m.Unit.campaign_id == campaign_id)
        if active_only:
            q = q.where(m.Unit.active.is_(True))
        return (await self.s.scalars(q.order_by(m.Unit.position, m.Unit.id))).all()

    async def insert_many(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            # Core insert: no per-row ORM bookkeeping for thousands of rows.
            await self.s.execute(insert(_table(m.Unit)), rows)

    async def update_many(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            await self.s.execute(update(m.Unit), rows)


class ObligationRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def of_campaign(self, campaign_id: int) -> Sequence[m.Obligation]:
        q = select(m.Obligation).where(m.Obligation.campaign_id == campaign_id)
        return (await self.s.scalars(q.order_by(m.Obligation.position))).all()

    async def insert_many(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            # Core insert: no per-row ORM bookkeeping for thousands of rows.
            await self.s.execute(insert(_table(m.Obligation)), rows)

    async def update_many(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            await self.s.execute(update(m.Obligation), rows)


class DeadlineRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def of_campaign(self, campaign_id: int) -> Sequence[m.Deadline]:
        q = select(m.Deadline).where(m.Deadline.campaign_id == campaign_id)
        return (await self.s.scalars(q.order_by(m.Deadline.due_at, m.Deadline.id))).all()

    async def with_work(self, deadline_ids: Sequence[int]) -> set[int]:
        """Which of these deadlines have a submission or a draft attached (work to keep)."""
        if not deadline_ids:
            return set()
        submitted = select(m.Submission.deadline_id).where(
            m.Submission.deadline_id.in_(deadline_ids))
        drafted = select(m.Draft.deadline_id).where(m.Draft.deadline_id.in_(deadline_ids))
        return set((await self.s.scalars(submitted.union(drafted))).all())

    async def insert_many(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            # Core insert: no per-row ORM bookkeeping for thousands of rows.
            await self.s.execute(insert(_table(m.Deadline)), rows)

    async def update_many(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            await self.s.execute(update(m.Deadline), rows)

    async def delete_many(self, ids: Sequence[int]) -> None:
        if ids:
            await self.s.execute(delete(m.Deadline).where(m.Deadline.id.in_(ids)))

    async def count(self, campaign_id: int) -> int:
        q = select(func.count()).select_from(m.Deadline).where(
            m.Deadline.campaign_id == campaign_id, m.Deadline.cancelled.is_(False))
        return int(await self.s.scalar(q) or 0)
