"""Liaison use cases: what is due, filling a form (drafts), files, submitting, history.

Every method checks that the actor may act on the unit and deadline concerned: a forged
id gets the same `Problem` as a stale one and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.drafting import FILES_STEP, PREVIEW_STEP, DraftState, next_step
from domain.forms import (
    Checked,
    FieldType,
    Form,
    Invalid,
    Valid,
    check_answer,
    check_choice_index,
    missing_required,
)
from domain.status import State
from services.access import Actor
from services.catalog import (
    DeadlineView,
    PlanRegistry,
    applies,
    latest_submissions,
    repeating_obligations,
    view,
)
from storage import models as m
from storage.filestore import FileStore, extension_of

# Validates the answer to the current step; handed to `_update`.
_Check = Callable[[Form, DraftState, str], Checked]


class Problem(StrEnum):
    NOT_FOUND = "not_found"  # no such deadline/draft for this person (or not theirs)
    CANCELLED = "cancelled"
    NO_NIL = "no_nil"  # the form does not allow 零报告
    FILE_TYPE = "file_type"
    NO_FILES = "no_files"  # the form takes no attachments at all
    FILE_TOO_LARGE = "file_too_large"
    TOO_MANY_FILES = "too_many_files"
    INCOMPLETE = "incomplete"
    NOT_A_CHOICE_FIELD = "not_a_choice_field"


@dataclass(frozen=True)
class AttachmentView:
    id: int
    name: str
    size: int


@dataclass(frozen=True)
class DraftView:
    draft_id: int
    deadline: DeadlineView
    form: Form
    state: DraftState
    step: str  # a field id, FILES_STEP or PREVIEW_STEP
    attachments: tuple[AttachmentView, ...]


@dataclass(frozen=True)
class Rejected:
    """A typed answer that failed validation; the draft is unchanged."""

    invalid: Invalid
    draft: DraftView


@dataclass(frozen=True)
class Submitted:
    submission_id: int
    revision: int
    late: bool
    nil: bool
    deadline: DeadlineView
    attachments: int


@dataclass(frozen=True)
class HistoryItem:
    deadline: DeadlineView
    revision: int
    submitted_at: datetime
    late: bool
    nil: bool
    returned: bool


@dataclass(frozen=True)
class UploadLimits:
    max_bytes: int
    extensions: frozenset[str]


class ReportService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], plans: PlanRegistry,
                 files: FileStore, limits: UploadLimits) -> None:
        self.sessions = sessions
        self.plans = plans
        self.files = files
        self.limits = limits

    # ---- what is due -------------------------------------------------------------------

    async def tasks(self, actor: Actor, now: datetime, ahead: timedelta = timedelta(days=14),
                    limit: int = 12) -> list[DeadlineView]:
        """Open deadlines of the actor's units: everything owed, then what falls due soon."""
        views = await self._unit_deadlines(actor, now, until=now + ahead)
        owed = [v for v in views if v.state in (State.OVERDUE, State.RETURNED)]
        upcoming = [v for v in views if v.state is State.PENDING]
        return (owed + upcoming)[:limit]

    async def deadline_choices(self, actor: Actor, now: datetime) -> list[DeadlineView]:
        """Deadlines one can submit for now: owed, upcoming soon, and recent ones to correct."""
        views = await self._unit_deadlines(actor, now, until=now + timedelta(days=31))
        return [v for v in views if v.state is not State.PENDING or v.due <= now
                + timedelta(days=31)][:30]

    async def _unit_deadlines(self, actor: Actor, now: datetime, until: datetime
                              ) -> list[DeadlineView]:
        unit_ids = sorted(actor.unit_ids())
        if not unit_ids:
            return []
        async with self.sessions() as s:
            q = (select(m.Deadline, m.Obligation, m.Campaign, m.Unit)
                 .join(m.Obligation, m.Obligation.id == m.Deadline.obligation_id)
                 .join(m.Campaign, m.Campaign.id == m.Deadline.campaign_id)
                 .join(m.Unit, m.Unit.campaign_id == m.Campaign.id)
                 .where(m.Unit.id.in_(unit_ids), m.Unit.active.is_(True),
                        m.Deadline.cancelled.is_(False), m.Deadline.due_at <= until)
                 .order_by(m.Deadline.due_at, m.Obligation.position))
            rows = [r for r in (await s.execute(q)).all() if applies(r[1], r[3])]
            latest = await latest_submissions(s, unit_ids=unit_ids,
                                              deadline_ids=[r[0].id for r in rows])
            repeats = await repeating_obligations(s, sorted({r[2].id for r in rows}))
        return [view(d, o, c, u, latest.get((d.id, u.id)), now, o.id in repeats)
                for d, o, c, u in rows]

    async def history(self, actor: Actor, now: datetime, limit: int = 20) -> list[HistoryItem]:
        unit_ids = sorted(actor.unit_ids())
        if not unit_ids:
            return []
        async with self.sessions() as s:
            q = (select(m.Submission, m.Deadline, m.Obligation, m.Campaign, m.Unit)
                 .join(m.Deadline, m.Deadline.id == m.Submission.deadline_id)
                 .join(m.Obligation, m.Obligation.id == m.Deadline.obligation_id)
                 .join(m.Campaign, m.Campaign.id == m.Deadline.campaign_id)
                 .join(m.Unit, m.Unit.id == m.Submission.unit_id)
                 .where(m.Submission.unit_id.in_(unit_ids))
                 .order_by(m.Submission.submitted_at.desc(), m.Submission.id.desc())
                 .limit(limit))
            rows = (await s.execute(q)).all()
            repeats = await repeating_obligations(s, sorted({r[3].id for r in rows}))
        return [HistoryItem(view(d, o, c, u, sub, now, o.id in repeats), sub.revision,
                            sub.submitted_at, sub.late, sub.nil, sub.status == "returned")
                for sub, d, o, c, u in rows]

    # ---- drafts ------------------------------------------------------------------------

    async def begin(self, actor: Actor, deadline_id: int, now: datetime
                    ) -> DraftView | Problem:
        """Open (or resume) the actor's draft for a deadline of their unit."""
        async with self.sessions.begin() as s:
            found = await self._deadline_for(s, actor, deadline_id)
            if isinstance(found, Problem):
                return found
            deadline, unit = found
            draft = await s.scalar(select(m.Draft).where(
                m.Draft.person_id == actor.person_id, m.Draft.deadline_id == deadline.id,
                m.Draft.unit_id == unit.id))
            if draft is None:
                state = await self._carried_over(s, deadline, unit.id)
                draft = m.Draft(person_id=actor.person_id, deadline_id=deadline.id,
                                unit_id=unit.id, state=state.to_json(), updated_at=now)
                s.add(draft)
                await s.flush()
            return await self._draft_view(s, draft, now)

    async def _carried_over(self, s: AsyncSession, deadline: m.Deadline, unit_id: int
                            ) -> DraftState:
        """A new draft starts from the unit's newest revision, so a returned report is
        corrected on the preview rather than typed again. Files are not carried over (the
        earlier revision keeps them); a 零报告 carries nothing."""
        latest = await latest_submissions(s, deadline_ids=[deadline.id], unit_ids=[unit_id])
        previous = latest.get((deadline.id, unit_id))
        if previous is None or previous.nil:
            return DraftState()
        obligation = await s.get_one(m.Obligation, deadline.obligation_id)
        form = (await self.plans.plan(s, deadline.campaign_id)).forms[obligation.form_code]
        answers = {f.id: previous.answers[f.id] for f in form.typed_fields
                   if f.id in previous.answers}
        skipped = tuple(k for k, v in answers.items() if v is None)
        return DraftState(answers, skipped, nil=False, files_done=True)

    async def resume(self, actor: Actor, now: datetime) -> DraftView | None:
        """The actor's most recent draft, if any (after a restart or an interruption)."""
        async with self.sessions() as s:
            draft = await s.scalar(select(m.Draft).where(m.Draft.person_id == actor.person_id)
                                   .order_by(m.Draft.updated_at.desc()).limit(1))
            if draft is None or draft.unit_id not in actor.unit_ids():
                return None
            return await self._draft_view(s, draft, now)

    async def current_draft_id(self, actor: Actor) -> int | None:
        """Which draft a typed answer is for: one statement, for the hot path of typing."""
        async with self.sessions() as s:
            q = (select(m.Draft.id).where(m.Draft.person_id == actor.person_id,
                                          m.Draft.unit_id.in_(sorted(actor.unit_ids())))
                 .order_by(m.Draft.updated_at.desc()).limit(1))
            return await s.scalar(q)

    async def answer(self, actor: Actor, draft_id: int, raw: str, now: datetime
                     ) -> DraftView | Rejected | Problem:
        """Validate a typed answer to the current question and move on."""
        return await self._update(actor, draft_id, now, lambda form, state, step: (
            check_answer(form.field(step), raw, now.date())
            if step not in (FILES_STEP, PREVIEW_STEP) else Invalid("no_question")))

    async def choose(self, actor: Actor, draft_id: int, field_id: str, index: int,
                     now: datetime) -> DraftView | Rejected | Problem:
        """A tapped option; the field must be the one being asked (stale buttons refused)."""
        def check(form: Form, state: DraftState, step: str) -> Checked:
            if step != field_id:
                return Invalid("stale_button")
            spec = form.field(step)
            if spec.type is not FieldType.CHOICE:
                return Invalid("stale_button")
            return check_choice_index(spec, index)
        return await self._update(actor, draft_id, now, check)

    async def skip(self, actor: Actor, draft_id: int, field_id: str, now: datetime
                   ) -> DraftView | Rejected | Problem:
        def check(form: Form, state: DraftState, step: str) -> Checked:
            if step != field_id:
                return Invalid("stale_button")
            return Invalid("required") if form.field(step).required else Valid(None)
        return await self._update(actor, draft_id, now, check)

    async def edit(self, actor: Actor, draft_id: int, field_id: str, now: datetime
                   ) -> DraftView | Problem:
        """Reopen one answered question from the preview."""
        async with self.sessions.begin() as s:
            loaded = await self._own_draft(s, actor, draft_id)
            if isinstance(loaded, Problem):
                return loaded
            draft, form = loaded
            state = DraftState.from_json(draft.state)
            if field_id == FILES_STEP:
                state = DraftState(state.answers, state.skipped, False, False, None)
            elif field_id in {f.id for f in form.typed_fields}:
                state = DraftState(state.answers, state.skipped, False, state.files_done,
                                   field_id)
            else:
                return Problem.NOT_FOUND
            draft.state, draft.updated_at = state.to_json(), now
            return await self._draft_view(s, draft, now)

    async def mark_nil(self, actor: Actor, draft_id: int, now: datetime) -> DraftView | Problem:
        async with self.sessions.begin() as s:
            loaded = await self._own_draft(s, actor, draft_id)
            if isinstance(loaded, Problem):
                return loaded
            draft, form = loaded
            if not form.allow_nil:
                return Problem.NO_NIL
            state = DraftState.from_json(draft.state)
            draft.state = DraftState(state.answers, state.skipped, True, True).to_json()
            draft.updated_at = now
            return await self._draft_view(s, draft, now)

    async def files_done(self, actor: Actor, draft_id: int, now: datetime
                         ) -> DraftView | Problem:
        async with self.sessions.begin() as s:
            loaded = await self._own_draft(s, actor, draft_id)
            if isinstance(loaded, Problem):
                return loaded
            draft, form = loaded
            missing = await self._missing_files(s, draft, form)
            if missing:
                return Problem.INCOMPLETE
            state = DraftState.from_json(draft.state)
            draft.state = DraftState(state.answers, state.skipped, state.nil, True).to_json()
            draft.updated_at = now
            return await self._draft_view(s, draft, now)

    def check_upload(self, name: str, size: int | None) -> Problem | None:
        """Refuse a file before downloading it: type by extension, size from the platform."""
        if extension_of(name) not in self.limits.extensions:
            return Problem.FILE_TYPE
        if size is not None and size > self.limits.max_bytes:
            return Problem.FILE_TOO_LARGE
        return None

    async def attach(self, actor: Actor, draft_id: int, name: str, mime: str, data: bytes,
                     now: datetime) -> DraftView | Problem:
        problem = self.check_upload(name, len(data))
        if problem:
            return problem
        async with self.sessions.begin() as s:
            loaded = await self._own_draft(s, actor, draft_id)
            if isinstance(loaded, Problem):
                return loaded
            draft, form = loaded
            if not form.file_fields:
                return Problem.NO_FILES
            spec = form.file_fields[0]
            count = len(await self._attachments(s, draft.id))
            if count >= sum(f.max_files for f in form.file_fields):
                return Problem.TOO_MANY_FILES
            deadline = await s.get_one(m.Deadline, draft.deadline_id)
            stored = self.files.put(data, deadline.campaign_id, draft.unit_id, deadline.id,
                                    extension_of(name))
            s.add(m.Attachment(draft_id=draft.id, field_id=spec.id, original_name=name[:255],
                               size=stored.size, mime_type=mime[:100], sha256=stored.sha256,
                               storage_key=stored.key, uploaded_by=actor.person_id,
                               uploaded_at=now))
            draft.updated_at = now
            await s.flush()
            return await self._draft_view(s, draft, now)

    async def discard(self, actor: Actor, draft_id: int) -> bool:
        async with self.sessions.begin() as s:
            loaded = await self._own_draft(s, actor, draft_id)
            if isinstance(loaded, Problem):
                return False
            draft, _ = loaded
            attachments = await self._attachments(s, draft.id)
            await s.execute(delete(m.Attachment).where(m.Attachment.draft_id == draft.id))
            await s.delete(draft)
        for a in attachments:  # files go only after the rows are gone for good
            self.files.delete(a.storage_key)
        return True

    async def submit(self, actor: Actor, draft_id: int, now: datetime) -> Submitted | Problem:
        """Turn the draft into a new revision. Returns only after the commit."""
        for _attempt in range(3):
            try:
                return await self._submit_once(actor, draft_id, now)
            except IntegrityError:
                # The deputy submitted the same deadline at the same instant: take the next
                # revision number and try again; nothing was written by the failed attempt.
                continue
        return Problem.INCOMPLETE  # pragma: no cover - three collisions in a row

    async def _submit_once(self, actor: Actor, draft_id: int, now: datetime
                           ) -> Submitted | Problem:
        async with self.sessions.begin() as s:
            loaded = await self._own_draft(s, actor, draft_id)
            if isinstance(loaded, Problem):
                return loaded
            draft, form = loaded
            state = DraftState.from_json(draft.state)
            if not state.nil and (missing_required(form, state.answers)
                                  or await self._missing_files(s, draft, form)):
                return Problem.INCOMPLETE
            deadline = await s.get_one(m.Deadline, draft.deadline_id)
            latest = await latest_submissions(s, deadline_ids=[deadline.id],
                                              unit_ids=[draft.unit_id])
            previous = latest.get((deadline.id, draft.unit_id))
            revision = previous.revision + 1 if previous else 1
            submission = m.Submission(
                deadline_id=deadline.id, unit_id=draft.unit_id, revision=revision,
                status="submitted", nil=state.nil,
                answers={} if state.nil else dict(state.answers),
                submitted_by=actor.person_id, submitted_at=now, late=now > deadline.due_at)
            s.add(submission)
            await s.flush()
            attachments = await self._attachments(s, draft.id)
            for a in attachments:
                a.submission_id, a.draft_id = submission.id, None
            dview = await self._view_of(s, deadline, draft.unit_id, now)
            await s.delete(draft)
            await s.flush()
        return Submitted(submission.id, revision, submission.late, state.nil, dview,
                         len(attachments))

    # ---- internals ---------------------------------------------------------------------

    async def _update(self, actor: Actor, draft_id: int, now: datetime,
                      check: _Check) -> DraftView | Rejected | Problem:
        async with self.sessions.begin() as s:
            loaded = await self._own_draft(s, actor, draft_id)
            if isinstance(loaded, Problem):
                return loaded
            draft, form = loaded
            state = DraftState.from_json(draft.state)
            step = next_step(form, state)
            result = check(form, state, step)
            if isinstance(result, Invalid):
                return Rejected(result, await self._draft_view(s, draft, now))
            draft.state = state.answered(step, result.value).to_json()
            draft.updated_at = now
            return await self._draft_view(s, draft, now)

    async def _deadline_for(self, s: AsyncSession, actor: Actor, deadline_id: int
                            ) -> tuple[m.Deadline, m.Unit] | Problem:
        deadline = await s.get(m.Deadline, deadline_id)
        if deadline is None:
            return Problem.NOT_FOUND
        seat = next((x for x in actor.unit_seats if x.campaign_id == deadline.campaign_id),
                    None)
        if seat is None or seat.unit_id is None:
            return Problem.NOT_FOUND
        unit = await s.get_one(m.Unit, seat.unit_id)
        obligation = await s.get_one(m.Obligation, deadline.obligation_id)
        if not unit.active or not applies(obligation, unit):
            return Problem.NOT_FOUND
        if deadline.cancelled:
            return Problem.CANCELLED
        return deadline, unit

    async def _own_draft(self, s: AsyncSession, actor: Actor, draft_id: int
                         ) -> tuple[m.Draft, Form] | Problem:
        draft = await s.get(m.Draft, draft_id)
        if (draft is None or draft.person_id != actor.person_id
                or draft.unit_id not in actor.unit_ids()):
            return Problem.NOT_FOUND
        deadline = await s.get_one(m.Deadline, draft.deadline_id)
        if deadline.cancelled:
            return Problem.CANCELLED
        obligation = await s.get_one(m.Obligation, deadline.obligation_id)
        plan = await self.plans.plan(s, deadline.campaign_id)
        return draft, plan.forms[obligation.form_code]

    async def _attachments(self, s: AsyncSession, draft_id: int) -> list[m.Attachment]:
        q = select(m.Attachment).where(m.Attachment.draft_id == draft_id).order_by(
            m.Attachment.id)
        return list((await s.scalars(q)).all())

    async def _missing_files(self, s: AsyncSession, draft: m.Draft, form: Form) -> bool:
        required = any(f.required for f in form.file_fields)
        return required and not await self._attachments(s, draft.id)

    async def _view_of(self, s: AsyncSession, deadline: m.Deadline, unit_id: int,
                       now: datetime) -> DeadlineView:
        obligation = await s.get_one(m.Obligation, deadline.obligation_id)
        campaign = await s.get_one(m.Campaign, deadline.campaign_id)
        unit = await s.get_one(m.Unit, unit_id)
        latest = await latest_submissions(s, deadline_ids=[deadline.id], unit_ids=[unit_id])
        repeats = obligation.id in await repeating_obligations(s, [campaign.id])
        return view(deadline, obligation, campaign, unit, latest.get((deadline.id, unit_id)),
                    now, repeats)

    async def _draft_view(self, s: AsyncSession, draft: m.Draft, now: datetime) -> DraftView:
        deadline = await s.get_one(m.Deadline, draft.deadline_id)
        obligation = await s.get_one(m.Obligation, deadline.obligation_id)
        plan = await self.plans.plan(s, deadline.campaign_id)
        form = plan.forms[obligation.form_code]
        state = DraftState.from_json(draft.state)
        attachments = tuple(AttachmentView(a.id, a.original_name, a.size)
                            for a in await self._attachments(s, draft.id))
        return DraftView(draft.id, await self._view_of(s, deadline, draft.unit_id, now), form,
                         state, next_step(form, state), attachments)

