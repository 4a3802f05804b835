"""Repositories: queries and writes for one session. They flush; the use case commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import (
    CursorResult,
    Result,
    Select,
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
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

    async def of_campaign(self, campaign_id: int, active_only: bool = False) -> Sequence[m.Unit]:
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
            m.Submission.deadline_id.in_(deadline_ids)
        )
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
        q = (
            select(func.count())
            .select_from(m.Deadline)
            .where(m.Deadline.campaign_id == campaign_id, m.Deadline.cancelled.is_(False))
        )
        return int(await self.s.scalar(q) or 0)


# ---- the chat's hot path --------------------------------------------------------------
# Every message a liaison sends runs these, so each is one prebuilt Core statement (no ORM
# entities to track, no statement to rebuild, the compiled form cached by SQLAlchemy).

_people, _memberships, _campaigns, _units = (
    _table(m.Person),
    _table(m.Membership),
    _table(m.Campaign),
    _table(m.Unit),
)
_drafts, _deadlines, _obligations = _table(m.Draft), _table(m.Deadline), _table(m.Obligation)
_submissions, _attachments = _table(m.Submission), _table(m.Attachment)
_overrides = _table(m.UnitDeadlineOverride)
_conversations, _confirmations = _table(m.Conversation), _table(m.Confirmation)


@dataclass(frozen=True)
class SeatRow:
    campaign_id: int
    campaign_code: str
    campaign_name: str
    role: str
    unit_id: int | None
    unit_name: str


@dataclass(frozen=True)
class PersonRecord:
    id: int
    display_name: str
    language: str | None
    reachable: bool
    seats: tuple[SeatRow, ...]


# A person and every role they hold, one row per membership (or one row of NULLs).
_PERSON_WITH_SEATS = (
    select(
        _people.c.id,
        _people.c.display_name,
        _people.c.language,
        _people.c.reachable,
        _campaigns.c.id.label("campaign_id"),
        _campaigns.c.code,
        _campaigns.c.name,
        _memberships.c.role,
        _units.c.id.label("unit_id"),
        _units.c.name.label("unit_name"),
    )
    .select_from(
        _people.outerjoin(_memberships, _memberships.c.person_id == _people.c.id)
        .outerjoin(_campaigns, _campaigns.c.id == _memberships.c.campaign_id)
        .outerjoin(_units, _units.c.id == _memberships.c.unit_id)
    )
    .where(
        _people.c.platform == bindparam("platform"),
        _people.c.external_id == bindparam("external_id"),
    )
    .order_by(_campaigns.c.id)
)
_TOUCH_PERSON = (
    update(_people)
    .where(_people.c.id == bindparam("person_id"))
    .values(display_name=bindparam("name"), reachable=True)
)


def _new_id(result: Result[Any]) -> int:
    key = cast(CursorResult[Any], result).inserted_primary_key
    assert key is not None
    return int(key[0])


class PersonRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def with_seats(self, platform: str, external_id: str) -> PersonRecord | None:
        rows = (
            await self.s.execute(
                _PERSON_WITH_SEATS, {"platform": platform, "external_id": external_id}
            )
        ).all()
        if not rows:
            return None
        first = rows[0]
        seats = tuple(
            SeatRow(r.campaign_id, r.code, r.name, r.role, r.unit_id, r.unit_name or "")
            for r in rows
            if r.campaign_id is not None
        )
        return PersonRecord(first.id, first.display_name, first.language, first.reachable, seats)

    async def add(self, platform: str, external_id: str, display_name: str, now: datetime) -> int:
        return _new_id(
            await self.s.execute(
                insert(_people).values(
                    platform=platform,
                    external_id=external_id,
                    display_name=display_name,
                    reachable=True,
                    created_at=now,
                )
            )
        )

    async def touch(self, person_id: int, display_name: str) -> None:
        """A new display name, and reachable again (they wrote, so they unblocked us)."""
        await self.s.execute(_TOUCH_PERSON, {"person_id": person_id, "name": display_name})


@dataclass(frozen=True)
class DraftRecord:
    """A deadline as one unit sees it (with the unit's newest revision for it), and the
    person's draft for it if there is one: everything a form prompt shows, in one row."""

    draft_id: int | None
    person_id: int | None
    state: dict[str, Any] | None
    deadline_id: int
    campaign_id: int
    seq: int
    due_at: datetime
    period_start: date | None
    period_end: date | None
    cancelled: bool
    obligation_id: int
    obligation_code: str
    title: str
    form_code: str
    unit_codes: list[str] | None
    campaign_code: str
    timezone: str
    plan_version: int  # the campaign's current plan version, read in this transaction
    unit_id: int
    unit_code: str
    unit_name: str
    unit_active: bool
    revision: int | None  # the newest submission, if any
    status: str | None
    nil: bool | None
    submitted_at: datetime | None
    review_comment: str | None
    answers: dict[str, Any] | None
    files: int  # attachments of the draft, so they are read only when there are some
    shown_step: str | None  # the step this draft last showed its owner
    on_screen: int | None  # the draft its owner was shown last (this one, or another)
    override_kind: str | None = None  # the coordinator's 免报 / 延期 for this unit, if any
    override_due_at: datetime | None = None
    draft_version: int | None = None  # the draft's version as read: a write checks it


_newer = _submissions.alias("newer")
_NEWEST_REVISION = (
    select(func.max(_newer.c.revision))
    .where(_newer.c.deadline_id == _deadlines.c.id, _newer.c.unit_id == _units.c.id)
    .scalar_subquery()
)
_RECORD_COLUMNS = (
    _drafts.c.id.label("draft_id"),
    _drafts.c.person_id,
    _drafts.c.state,
    _deadlines.c.id.label("deadline_id"),
    _deadlines.c.campaign_id,
    _deadlines.c.seq,
    _deadlines.c.due_at,
    _deadlines.c.period_start,
    _deadlines.c.period_end,
    _deadlines.c.cancelled,
    _obligations.c.id.label("obligation_id"),
    _obligations.c.code.label("obligation_code"),
    _obligations.c.title,
    _obligations.c.form_code,
    _obligations.c.unit_codes,
    _campaigns.c.code.label("campaign_code"),
    _campaigns.c.timezone,
    _campaigns.c.current_version.label("plan_version"),
    _units.c.id.label("unit_id"),
    _units.c.code.label("unit_code"),
    _units.c.name.label("unit_name"),
    _units.c.active.label("unit_active"),
    _submissions.c.revision,
    _submissions.c.status,
    _submissions.c.nil,
    _submissions.c.submitted_at,
    _submissions.c.review_comment,
    _submissions.c.answers,
    select(func.count())
    .where(_attachments.c.draft_id == _drafts.c.id)
    .scalar_subquery()
    .label("files"),
    # In DraftRecord's field order: records are built from rows by position.
    _drafts.c.shown_step,
    _conversations.c.shown_draft_id.label("on_screen"),
    _overrides.c.kind.label("override_kind"),
    _overrides.c.due_at.label("override_due_at"),
    _drafts.c.version.label("draft_version"),
)
_NEWEST_SUBMISSION = and_(
    _submissions.c.deadline_id == _deadlines.c.id,
    _submissions.c.unit_id == _units.c.id,
    _submissions.c.revision == _NEWEST_REVISION,
)
_STANDING_OVERRIDE = and_(
    _overrides.c.deadline_id == _deadlines.c.id,
    _overrides.c.unit_id == _units.c.id,
    _overrides.c.revoked_at.is_(None),
)


def _draft_rooted() -> Select[Any]:
    return select(*_RECORD_COLUMNS).select_from(
        _drafts.join(_deadlines, _deadlines.c.id == _drafts.c.deadline_id)
        .join(_obligations, _obligations.c.id == _deadlines.c.obligation_id)
        .join(_campaigns, _campaigns.c.id == _deadlines.c.campaign_id)
        .join(_units, _units.c.id == _drafts.c.unit_id)
        .outerjoin(_submissions, _NEWEST_SUBMISSION)
        .outerjoin(_overrides, _STANDING_OVERRIDE)
        .outerjoin(_conversations, _conversations.c.person_id == _drafts.c.person_id)
    )


_DRAFT_BY_ID = _draft_rooted().where(_drafts.c.id == bindparam("draft_id"))
# The draft whose prompt the person was shown last: a typed answer is for it.
_SHOWN_DRAFT = _draft_rooted().where(
    _conversations.c.person_id == bindparam("person_id"),
    _drafts.c.id == _conversations.c.shown_draft_id,
)
# The draft a typed answer is for: the person's most recently touched one.
_NEWEST_DRAFT = (
    _draft_rooted()
    .where(_drafts.c.person_id == bindparam("person_id"))
    .order_by(_drafts.c.updated_at.desc(), _drafts.c.id.desc())
    .limit(1)
)
_NEWEST_DRAFT_IN_UNITS = (
    _draft_rooted()
    .where(
        _drafts.c.person_id == bindparam("person_id"),
        _drafts.c.unit_id.in_(bindparam("unit_ids", expanding=True)),
    )
    .order_by(_drafts.c.updated_at.desc(), _drafts.c.id.desc())
    .limit(1)
)
# A deadline for the one unit (of those given) in its campaign, and this person's draft.
_DEADLINE_FOR_UNIT = (
    select(*_RECORD_COLUMNS)
    .select_from(
        _deadlines.join(_obligations, _obligations.c.id == _deadlines.c.obligation_id)
        .join(_campaigns, _campaigns.c.id == _deadlines.c.campaign_id)
        .join(
            _units,
            (_units.c.campaign_id == _deadlines.c.campaign_id)
            & _units.c.id.in_(bindparam("unit_ids", expanding=True)),
        )
        .outerjoin(
            _drafts,
            (_drafts.c.deadline_id == _deadlines.c.id)
            & (_drafts.c.unit_id == _units.c.id)
            & (_drafts.c.person_id == bindparam("person_id")),
        )
        .outerjoin(_submissions, _NEWEST_SUBMISSION)
        .outerjoin(_overrides, _STANDING_OVERRIDE)
        .outerjoin(_conversations, _conversations.c.person_id == bindparam("person_id"))
    )
    .where(_deadlines.c.id == bindparam("deadline_id"))
    .limit(1)
)
_SET_DRAFT_STATE = (
    update(_drafts)
    .where(_drafts.c.id == bindparam("draft_id"), _drafts.c.version == bindparam("read_at"))
    .values(
        state=bindparam("new_state"),
        updated_at=bindparam("at"),
        shown_step=bindparam("step"),
        version=_drafts.c.version + 1,
    )
)
_SET_SHOWN_STEP = (
    update(_drafts)
    .where(_drafts.c.id == bindparam("draft_id"))
    .values(shown_step=bindparam("step"))
)
_DRAFT_ATTACHMENTS = (
    select(
        _attachments.c.id,
        _attachments.c.original_name,
        _attachments.c.size,
        _attachments.c.storage_key,
    )
    .where(_attachments.c.draft_id == bindparam("draft_id"))
    .order_by(_attachments.c.id)
)


@dataclass(frozen=True)
class AttachmentRow:
    id: int
    original_name: str
    size: int
    storage_key: str


class DraftRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def by_id(self, draft_id: int) -> DraftRecord | None:
        return await self._one(_DRAFT_BY_ID, {"draft_id": draft_id})

    async def shown(self, person_id: int) -> DraftRecord | None:
        """The draft whose prompt the person was shown last, if it is still there."""
        return await self._one(_SHOWN_DRAFT, {"person_id": person_id})

    async def newest(
        self, person_id: int, unit_ids: Sequence[int] | None = None
    ) -> DraftRecord | None:
        """The person's most recently touched draft (among `unit_ids`' if given)."""
        if unit_ids is None:
            return await self._one(_NEWEST_DRAFT, {"person_id": person_id})
        if not unit_ids:
            return None
        return await self._one(
            _NEWEST_DRAFT_IN_UNITS, {"person_id": person_id, "unit_ids": list(unit_ids)}
        )

    async def for_deadline(
        self, deadline_id: int, person_id: int, unit_ids: Sequence[int]
    ) -> DraftRecord | None:
        """A deadline for whichever of `unit_ids` belongs to its campaign, with the person's
        draft for it (draft fields None when there is none)."""
        if not unit_ids:
            return None
        return await self._one(
            _DEADLINE_FOR_UNIT,
            {"deadline_id": deadline_id, "person_id": person_id, "unit_ids": list(unit_ids)},
        )

    async def add(
        self, person_id: int, deadline_id: int, unit_id: int, state: dict[str, Any], now: datetime
    ) -> int:
        return _new_id(
            await self.s.execute(
                insert(_drafts).values(
                    person_id=person_id,
                    deadline_id=deadline_id,
                    unit_id=unit_id,
                    state=state,
                    updated_at=now,
                )
            )
        )

    async def set_state(
        self, draft_id: int, state: dict[str, Any], step: str, now: datetime, read_at: int
    ) -> bool:
        """The new state, and the step it shows next (in the same UPDATE), only if the
        draft is still at the version it was read at: False if another handler changed
        it meanwhile (nothing is written; two handlers never interleave one form)."""
        result = await self.s.execute(
            _SET_DRAFT_STATE,
            {
                "draft_id": draft_id,
                "new_state": state,
                "step": step,
                "at": now,
                "read_at": read_at,
            },
        )
        return bool(getattr(result, "rowcount", 0))

    async def set_shown_step(self, draft_id: int, step: str) -> None:
        await self.s.execute(_SET_SHOWN_STEP, {"draft_id": draft_id, "step": step})

    async def attachments(self, draft_id: int) -> list[AttachmentRow]:
        rows = await self.s.execute(_DRAFT_ATTACHMENTS, {"draft_id": draft_id})
        return [AttachmentRow(r.id, r.original_name, r.size, r.storage_key) for r in rows]

    async def hand_over(self, draft_id: int, submission_id: int) -> None:
        """The draft's files now belong to the submission made from it."""
        await self.s.execute(
            update(_attachments)
            .where(_attachments.c.draft_id == draft_id)
            .values(submission_id=submission_id, draft_id=None)
        )

    async def drop_attachment(self, draft_id: int, attachment_id: int) -> bool:
        """Delete one file row of a draft; False if it was not there (any more)."""
        result = await self.s.execute(
            delete(_attachments).where(
                _attachments.c.id == attachment_id, _attachments.c.draft_id == draft_id
            )
        )
        return cast(CursorResult[Any], result).rowcount == 1

    async def drop_attachments(self, draft_id: int) -> None:
        await self.s.execute(delete(_attachments).where(_attachments.c.draft_id == draft_id))

    async def delete(self, draft_id: int) -> None:
        await self.s.execute(delete(_drafts).where(_drafts.c.id == draft_id))

    async def _one(self, statement: Select[Any], params: dict[str, Any]) -> DraftRecord | None:
        row = (await self.s.execute(statement, params)).first()
        return DraftRecord(*row) if row is not None else None


# ---- where each person is in the chat -------------------------------------------------


@dataclass(frozen=True)
class ConversationRow:
    shown_draft_id: int | None
    review_submission_id: int | None
    review_asked_at: datetime | None


_CONVERSATION = select(
    _conversations.c.shown_draft_id,
    _conversations.c.review_submission_id,
    _conversations.c.review_asked_at,
).where(_conversations.c.person_id == bindparam("person_id"))


class ConversationRepo:
    """One row per person: the draft last shown to them, a pending 退回."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def get(self, person_id: int) -> ConversationRow | None:
        row = (await self.s.execute(_CONVERSATION, {"person_id": person_id})).first()
        return ConversationRow(*row) if row is not None else None

    async def shown(self, person_id: int, draft_id: int, now: datetime) -> None:
        await self._set(person_id, now, shown_draft_id=draft_id)

    async def ask_reason(self, person_id: int, submission_id: int, now: datetime) -> None:
        await self._set(person_id, now, review_submission_id=submission_id, review_asked_at=now)

    async def drop_reason(self, person_id: int) -> bool:
        """Forget a pending 退回; True if there was one (and this call took it)."""
        result = await self.s.execute(
            update(_conversations)
            .where(
                _conversations.c.person_id == person_id,
                _conversations.c.review_submission_id.is_not(None),
            )
            .values(review_submission_id=None, review_asked_at=None)
        )
        return cast(CursorResult[Any], result).rowcount == 1

    async def _set(self, person_id: int, now: datetime, **values: Any) -> None:
        # Insert-or-update in one statement: two processes may write the same person.
        dialect = self.s.get_bind().dialect.name
        upsert = (
            postgresql.insert(_conversations)
            if dialect == "postgresql"
            else sqlite.insert(_conversations)
        )
        statement = upsert.values(person_id=person_id, updated_at=now, **values)
        await self.s.execute(
            statement.on_conflict_do_update(
                index_elements=[_conversations.c.person_id], set_={**values, "updated_at": now}
            )
        )


class ConfirmationRepo:
    """Confirmations offered with a button, each carried out at most once."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def offer(self, person_id: int, kind: str, subject_id: int, now: datetime) -> int:
        """The id for a confirm button: the person's open one for the same thing, if any
        (a double tap on the button that asks gives one confirmation, not two)."""
        open_one = await self.s.scalar(
            select(_confirmations.c.id)
            .where(
                _confirmations.c.person_id == person_id,
                _confirmations.c.kind == kind,
                _confirmations.c.subject_id == subject_id,
                _confirmations.c.consumed_at.is_(None),
            )
            .order_by(_confirmations.c.id.desc())
            .limit(1)
        )
        if open_one is not None:
            return int(open_one)
        return _new_id(
            await self.s.execute(
                insert(_confirmations).values(
                    person_id=person_id, kind=kind, subject_id=subject_id, created_at=now
                )
            )
        )

    async def consume(
        self, confirmation_id: int, person_id: int, kind: str, now: datetime
    ) -> int | None:
        """The subject of an open confirmation, which is consumed by this call; None when
        it is unknown, someone else's, or already carried out."""
        subject = await self.s.scalar(
            select(_confirmations.c.subject_id).where(
                _confirmations.c.id == confirmation_id,
                _confirmations.c.person_id == person_id,
                _confirmations.c.kind == kind,
            )
        )
        if subject is None:
            return None
        result = await self.s.execute(
            update(_confirmations)
            .where(_confirmations.c.id == confirmation_id, _confirmations.c.consumed_at.is_(None))
            .values(consumed_at=now)
        )
        return int(subject) if cast(CursorResult[Any], result).rowcount == 1 else None
