"""Reads shared by the use cases: deadlines as a unit sees them (DeadlineView), newest
revisions, standing 免报 / 延期, and the parsed-plan cache (PlanRegistry)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Subquery

from domain.plan import Plan
from domain.plan import applies as owed
from domain.plan_toml import parse_plan
from domain.status import (
    LatestSubmission,
    Override,
    OverrideKind,
    RevisionStatus,
    State,
    due_for,
    state_of,
)
from storage import models as m


class PlanRegistry:
    """Parsed plans by campaign, cached per stored version (parsing is cheap but not free)."""

    def __init__(self) -> None:
        self._cache: dict[tuple[int, int], Plan] = {}

    async def plan(self, s: AsyncSession, campaign_id: int) -> Plan:
        version = await s.scalar(
            select(func.max(m.PlanVersion.version)).where(m.PlanVersion.campaign_id == campaign_id)
        )
        if version is None:
            raise LookupError(f"campaign {campaign_id} has no plan")
        return await self.plan_at(s, campaign_id, version)

    async def plan_at(self, s: AsyncSession, campaign_id: int, version: int) -> Plan:
        """One stored version (a campaign's `current_version`, read by the caller in its own
        transaction): its text never changes, so no statement runs once it is parsed."""
        key = (campaign_id, version)
        if key not in self._cache:
            row = (
                await s.execute(
                    select(m.PlanVersion.source_text, m.PlanVersion.source_name).where(
                        m.PlanVersion.campaign_id == campaign_id, m.PlanVersion.version == version
                    )
                )
            ).one()
            # Stored versions were checked when loaded; checks added since do not apply.
            self._cache[key] = parse_plan(row.source_text, row.source_name, check_reminders=False)
        return self._cache[key]


@dataclass(frozen=True)
class DeadlineView:
    deadline_id: int
    campaign_id: int
    campaign_code: str
    obligation_code: str
    title: str
    seq: int
    repeats: bool  # more than one occurrence: show "#seq"
    due: datetime  # in the plan's zone
    period: tuple[date, date] | None
    form_id: str
    unit_id: int
    unit_name: str
    state: State
    revision: int | None = None
    comment: str | None = None  # the coordinator's note on a returned submission
    extended: bool = False  # 延期: `due` is this unit's own, later time


def latest_revisions_subquery(
    deadline_ids: list[int] | None = None, unit_ids: list[int] | None = None
) -> Subquery:
    """The newest revision per (deadline, unit), as a subquery to join against."""
    q = select(
        m.Submission.deadline_id,
        m.Submission.unit_id,
        func.max(m.Submission.revision).label("revision"),
    )
    if deadline_ids is not None:
        q = q.where(m.Submission.deadline_id.in_(deadline_ids))
    if unit_ids is not None:
        q = q.where(m.Submission.unit_id.in_(unit_ids))
    return q.group_by(m.Submission.deadline_id, m.Submission.unit_id).subquery()


async def latest_submissions(
    s: AsyncSession, *, deadline_ids: list[int] | None = None, unit_ids: list[int] | None = None
) -> dict[tuple[int, int], m.Submission]:
    """One query: the newest submission of each (deadline, unit) among those given."""
    latest = latest_revisions_subquery(deadline_ids, unit_ids)
    q = select(m.Submission).join(
        latest,
        (m.Submission.deadline_id == latest.c.deadline_id)
        & (m.Submission.unit_id == latest.c.unit_id)
        & (m.Submission.revision == latest.c.revision),
    )
    return {(x.deadline_id, x.unit_id): x for x in (await s.scalars(q)).all()}


@dataclass(frozen=True)
class SubmissionState:
    """What counting needs of a unit's newest submission: no answers, no ORM object (at
    3,000 units × 150 deadlines building those was most of /status's second)."""

    id: int
    revision: int
    status: str
    nil: bool
    submitted_at: datetime


async def latest_states(
    s: AsyncSession, *, deadline_ids: list[int] | None = None, unit_ids: list[int] | None = None
) -> dict[tuple[int, int], SubmissionState]:
    """One narrow query: the state of the newest submission of each (deadline, unit)."""
    latest = latest_revisions_subquery(deadline_ids, unit_ids)
    q = select(
        m.Submission.deadline_id,
        m.Submission.unit_id,
        m.Submission.id,
        m.Submission.revision,
        m.Submission.status,
        m.Submission.nil,
        m.Submission.submitted_at,
    ).join(
        latest,
        (m.Submission.deadline_id == latest.c.deadline_id)
        & (m.Submission.unit_id == latest.c.unit_id)
        & (m.Submission.revision == latest.c.revision),
    )
    return {
        (d, u): SubmissionState(i, r, st, nil, at)
        for d, u, i, r, st, nil, at in (await s.execute(q)).all()
    }


async def overrides_for(
    s: AsyncSession,
    *,
    deadline_ids: list[int] | None = None,
    unit_ids: list[int] | None = None,
    campaign_id: int | None = None,
) -> dict[tuple[int, int], Override]:
    """One query: the coordinator's standing exceptions (免报 / 延期) by (deadline, unit),
    of these deadlines or of a whole campaign."""
    q = select(m.UnitDeadlineOverride).where(m.UnitDeadlineOverride.revoked_at.is_(None))
    if deadline_ids is not None:
        if not deadline_ids:
            return {}
        q = q.where(m.UnitDeadlineOverride.deadline_id.in_(deadline_ids))
    if campaign_id is not None:
        q = q.join(m.Deadline, m.Deadline.id == m.UnitDeadlineOverride.deadline_id).where(
            m.Deadline.campaign_id == campaign_id
        )
    if unit_ids is not None:
        q = q.where(m.UnitDeadlineOverride.unit_id.in_(unit_ids))
    return {
        (x.deadline_id, x.unit_id): Override(OverrideKind(x.kind), x.due_at)
        for x in (await s.scalars(q)).all()
    }


def override_of(row: m.UnitDeadlineOverride) -> Override | None:
    if row.revoked_at is not None:
        return None
    return Override(OverrideKind(row.kind), row.due_at)


def summary(sub: m.Submission | SubmissionState | None) -> LatestSubmission | None:
    if sub is None:
        return None
    return LatestSubmission(
        sub.submitted_at, sub.status == RevisionStatus.RETURNED, sub.nil, sub.revision
    )


def view(
    deadline: m.Deadline,
    obligation: m.Obligation,
    campaign: m.Campaign,
    unit: m.Unit,
    sub: m.Submission | None,
    now: datetime,
    repeats: bool,
    override: Override | None = None,
) -> DeadlineView:
    """The deadline as `unit` sees it: with a 延期 the due time is the unit's own."""
    tz = ZoneInfo(campaign.timezone)
    due = due_for(deadline.due_at, override) or deadline.due_at
    period = (
        (deadline.period_start, deadline.period_end)
        if deadline.period_start and deadline.period_end
        else None
    )
    return DeadlineView(
        deadline_id=deadline.id,
        campaign_id=campaign.id,
        campaign_code=campaign.code,
        obligation_code=obligation.code,
        title=obligation.title,
        seq=deadline.seq,
        repeats=repeats,
        due=due.astimezone(tz),
        period=period,
        form_id=obligation.form_code,
        unit_id=unit.id,
        unit_name=unit.name,
        state=state_of(deadline.due_at, summary(sub), now, override),
        revision=sub.revision if sub else None,
        comment=sub.review_comment if sub and sub.status == RevisionStatus.RETURNED else None,
        extended=due != deadline.due_at,
    )


def applies(obligation: m.Obligation, unit: m.Unit) -> bool:
    return owed(obligation.unit_codes, unit.code)


async def repeating_obligations(s: AsyncSession, campaign_ids: list[int]) -> set[int]:
    q = (
        select(m.Deadline.obligation_id)
        .where(m.Deadline.campaign_id.in_(campaign_ids))
        .group_by(m.Deadline.obligation_id)
        .having(func.count() > 1)
    )
    return set((await s.scalars(q)).all())
