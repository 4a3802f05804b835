"""One unit across a campaign's deadlines, for its coordinator: the record of each
deadline due so far (on time, late, 零报告, returned, missing, exempt), its people and
their last activity, and any one of its submissions with answers and files."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.forms import Answer, Field
from domain.status import RevisionStatus, State, state_of
from services.access import Actor
from services.campaign_reads import (
    DeadlineView,
    PlanRegistry,
    applies,
    latest_submissions,
    overrides_for,
    repeating_obligations,
    summary,
    view,
)
from storage import models as m
from storage.filestore import FileStore

SHOWN_DEADLINES = 30  # the newest ones due; older ones are in the export


@dataclass(frozen=True)
class RecordLine:
    deadline: DeadlineView
    state: State
    submission_id: int | None
    revisions: int  # how many times the unit sent it (a return makes another)
    returned: int  # how many of those the coordinator returned
    nil: bool  # the newest is a 零报告


@dataclass(frozen=True)
class UnitRecord:
    unit_id: int
    unit_name: str
    campaign: str
    lines: tuple[RecordLine, ...]  # newest due first
    people: tuple[tuple[str, str], ...]  # (name, role)
    last_activity: datetime | None
    timezone: str

    def count(self, *states: State) -> int:
        return sum(1 for x in self.lines if x.state in states)


@dataclass(frozen=True)
class SentFile:
    name: str
    data: bytes


@dataclass(frozen=True)
class SubmissionDetail:
    unit_name: str
    deadline: DeadlineView
    revision: int
    nil: bool
    returned_because: str | None
    answers: tuple[tuple[Field, Answer], ...]
    files: tuple[SentFile, ...]


class UnitRecordService:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], plans: PlanRegistry, files: FileStore
    ) -> None:
        self.sessions, self.plans, self.files = sessions, plans, files

    async def record(self, actor: Actor, unit_id: int, now: datetime) -> UnitRecord | None:
        """None unless the actor coordinates the unit's campaign or leads the unit."""
        async with self.sessions() as s:
            unit = await s.get(m.Unit, unit_id)
            if unit is None or not (actor.coordinates(unit.campaign_id) or actor.leads(unit.id)):
                return None
            campaign = await s.get_one(m.Campaign, unit.campaign_id)
            rows = (
                await s.execute(
                    select(m.Deadline, m.Obligation)
                    .join(m.Obligation, m.Obligation.id == m.Deadline.obligation_id)
                    .where(
                        m.Deadline.campaign_id == campaign.id,
                        m.Deadline.cancelled.is_(False),
                        m.Deadline.due_at <= now,
                    )
                    .order_by(m.Deadline.due_at.desc(), m.Obligation.position)
                    .limit(SHOWN_DEADLINES * 2)
                )
            ).all()
            due = [(d, o) for d, o in rows if applies(o, unit)][:SHOWN_DEADLINES]
            ids = [d.id for d, _ in due]
            latest = await latest_submissions(s, deadline_ids=ids, unit_ids=[unit.id])
            overrides = await overrides_for(s, deadline_ids=ids, unit_ids=[unit.id])
            counts = await _revision_counts(s, ids, unit.id)
            repeats = await repeating_obligations(s, [campaign.id])
            people = (
                await s.execute(
                    select(m.Person.display_name, m.Membership.role)
                    .join(m.Membership, m.Membership.person_id == m.Person.id)
                    .where(m.Membership.unit_id == unit.id)
                    .order_by(m.Membership.id)
                )
            ).all()
            last = await s.scalar(
                select(func.max(m.Submission.submitted_at)).where(m.Submission.unit_id == unit.id)
            )
        lines = []
        for d, o in due:
            sub = latest.get((d.id, unit.id))
            override = overrides.get((d.id, unit.id))
            sent, returned = counts.get(d.id, (0, 0))
            lines.append(
                RecordLine(
                    view(d, o, campaign, unit, sub, now, o.id in repeats, override),
                    state_of(d.due_at, summary(sub), now, override),
                    sub.id if sub else None,
                    sent,
                    returned,
                    bool(sub and sub.nil),
                )
            )
        return UnitRecord(
            unit.id,
            unit.name,
            campaign.name,
            tuple(lines),
            tuple((str(n), str(r)) for n, r in people),
            last,
            campaign.timezone,
        )

    async def submission(
        self, actor: Actor, submission_id: int, now: datetime
    ) -> SubmissionDetail | None:
        """One revision with its answers in the form's order and its files; None unless
        the actor coordinates its campaign or leads its unit."""
        async with self.sessions() as s:
            sub = await s.get(m.Submission, submission_id)
            if sub is None:
                return None
            deadline = await s.get_one(m.Deadline, sub.deadline_id)
            if not (actor.coordinates(deadline.campaign_id) or actor.leads(sub.unit_id)):
                return None
            obligation = await s.get_one(m.Obligation, deadline.obligation_id)
            campaign = await s.get_one(m.Campaign, deadline.campaign_id)
            unit = await s.get_one(m.Unit, sub.unit_id)
            plan = await self.plans.plan(s, campaign.id)
            attachments = (
                await s.scalars(
                    select(m.Attachment)
                    .where(m.Attachment.submission_id == sub.id)
                    .order_by(m.Attachment.id)
                )
            ).all()
            repeats = await repeating_obligations(s, [campaign.id])
        form = plan.forms.get(obligation.form_code)
        answers = tuple((f, sub.answers.get(f.id)) for f in form.typed_fields) if form else ()
        files = tuple(
            SentFile(a.original_name, self.files.read(a.storage_key)) for a in attachments
        )
        return SubmissionDetail(
            unit.name,
            view(deadline, obligation, campaign, unit, sub, now, obligation.id in repeats),
            sub.revision,
            sub.nil,
            sub.review_comment if sub.status == RevisionStatus.RETURNED else None,
            answers,
            files,
        )


async def _revision_counts(
    s: AsyncSession, deadline_ids: list[int], unit_id: int
) -> dict[int, tuple[int, int]]:
    """Per deadline: revisions sent, and how many of them were returned."""
    if not deadline_ids:
        return {}
    returned = func.sum(case((m.Submission.status == RevisionStatus.RETURNED, 1), else_=0))
    rows = (
        await s.execute(
            select(m.Submission.deadline_id, func.count(), returned)
            .where(m.Submission.deadline_id.in_(deadline_ids), m.Submission.unit_id == unit_id)
            .group_by(m.Submission.deadline_id)
        )
    ).all()
    return {d: (int(n), int(r or 0)) for d, n, r in rows}
