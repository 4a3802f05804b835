"""Liaison use cases: what is due, filling a form (drafts), files, submitting, history.

Every method checks that the actor may act on the unit and deadline concerned: a forged
id gets the same `Problem` as a stale one and changes nothing.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import ParamSpec, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.drafting import FILES_STEP, PREVIEW_STEP, DraftState, next_step
from domain.forms import (
    Answer,
    Checked,
    Field,
    FieldType,
    Form,
    Invalid,
    Valid,
    check_answer,
    check_choice_index,
    missing_required,
)
from domain.plan import applies as owed
from domain.status import (
    LatestSubmission,
    Override,
    OverrideKind,
    RevisionStatus,
    State,
    due_for,
    state_of,
)
from services.access import Actor
from services.campaign_reads import (
    DeadlineView,
    PlanRegistry,
    applies,
    latest_submissions,
    overrides_for,
    repeating_obligations,
    view,
)
from storage import models as m
from storage.filestore import FileStore, extension_of, stored_name
from storage.filetypes import content_matches
from storage.repositories import ConversationRepo, DraftRecord, DraftRepo

# How old an unreferenced stored file must be before the start-up sweep deletes it.
ORPHAN_GRACE = timedelta(hours=1)

# Validates the answer to the current step; handed to `_update`.
_Check = Callable[[Form, DraftState, str], Checked]


class Problem(StrEnum):
    NOT_FOUND = "not_found"  # no such deadline/draft for this person (or not theirs)
    CANCELLED = "cancelled"
    NO_NIL = "no_nil"  # the form does not allow 零报告
    FILE_TYPE = "file_type"
    NO_FILES = "no_files"  # the form takes no attachments at all
    FILE_TOO_LARGE = "file_too_large"
    FILE_EMPTY = "file_empty"
    FILE_CONTENT = "file_content"  # the bytes are not what the extension says
    TOO_MANY_FILES = "too_many_files"
    INCOMPLETE = "incomplete"
    NOT_A_CHOICE_FIELD = "not_a_choice_field"
    FILE_GONE = "file_gone"  # the attachment was removed already (a second tap)
    # Another of the person's messages changed the draft while this one was handled (two
    # processes at once): nothing of this one was written.
    CHANGED = "changed"


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

    @property
    def built_on(self) -> int:
        """The revision this draft's confirm must still find newest (0: none)."""
        if self.state.base is not None:
            return self.state.base
        return self.deadline.revision or 0  # a draft begun before drafts kept their base


@dataclass(frozen=True)
class Rejected:
    """A typed answer that failed validation; the draft is unchanged."""

    invalid: Invalid
    draft: DraftView


@dataclass(frozen=True)
class Detached:
    """An attachment removed from a draft; the draft as it now stands."""

    name: str
    draft: DraftView


@dataclass(frozen=True)
class Change:
    """One answer that differs between the unit's newer revision and a draft."""

    field: Field
    theirs: Answer
    mine: Answer


@dataclass(frozen=True)
class Superseded:
    """A confirm refused because the unit submitted a newer revision since the preview
    was built; nothing was written, the draft is as it was."""

    draft: DraftView
    revision: int  # the unit's newest revision now
    by: str  # who submitted it
    at: datetime
    nil: bool  # that revision is a 零报告
    mine_nil: bool  # the refused confirm was a 零报告
    changes: tuple[Change, ...]


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


P = ParamSpec("P")
R = TypeVar("R")


class Refused(Exception):
    """A use case cannot go on with this draft (not the actor's, its deadline cancelled)."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.value)
        self.problem = problem


def refusing(method: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R | Problem]]:
    """The use case answers a Refused raised inside it with its problem (the transaction
    it opened is rolled back on the way out)."""

    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | Problem:
        try:
            return await method(*args, **kwargs)
        except Refused as refused:
            return refused.problem

    return wrapper


class ReportService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        plans: PlanRegistry,
        files: FileStore,
        limits: UploadLimits,
    ) -> None:
        self.sessions = sessions
        self.plans = plans
        self.files = files
        self.limits = limits
        self._repeats: dict[tuple[int, int], frozenset[int]] = {}

    # ---- what is due -------------------------------------------------------------------

    async def tasks(
        self, actor: Actor, now: datetime, ahead: timedelta = timedelta(days=14), limit: int = 12
    ) -> list[DeadlineView]:
        """Open deadlines of the actor's units: everything owed, then what falls due soon."""
        async with self.sessions() as s:
            views = await self._unit_deadlines(s, actor, now, until=now + ahead)
        owed = [v for v in views if v.state in (State.OVERDUE, State.RETURNED)]
        upcoming = [v for v in views if v.state is State.PENDING]
        return (owed + upcoming)[:limit]

    async def submit_menu(
        self, actor: Actor, now: datetime
    ) -> tuple[DraftView | None, list[DeadlineView]]:
        """What /submit offers, in one read: the draft to resume, if any, and the deadlines
        one can submit for now (owed, upcoming soon, recent ones to correct)."""
        async with self.sessions() as s:
            draft = await self._resumable(s, actor, now)
            views = await self._unit_deadlines(s, actor, now, until=now + timedelta(days=31))
        # The draft's deadline is offered once, as the draft to resume.
        resumed = (draft.deadline.deadline_id, draft.deadline.unit_id) if draft else None
        return draft, [
            v
            for v in views
            if v.state is not State.EXEMPT
            and (v.deadline_id, v.unit_id) != resumed
            and (v.state is not State.PENDING or v.due <= now + timedelta(days=31))
        ][:30]

    async def _unit_deadlines(
        self, s: AsyncSession, actor: Actor, now: datetime, until: datetime
    ) -> list[DeadlineView]:
        unit_ids = sorted(actor.unit_ids())
        if not unit_ids:
            return []
        q = (
            select(m.Deadline, m.Obligation, m.Campaign, m.Unit)
            .join(m.Obligation, m.Obligation.id == m.Deadline.obligation_id)
            .join(m.Campaign, m.Campaign.id == m.Deadline.campaign_id)
            .join(m.Unit, m.Unit.campaign_id == m.Campaign.id)
            .where(
                m.Unit.id.in_(unit_ids),
                m.Unit.active.is_(True),
                m.Deadline.cancelled.is_(False),
                m.Deadline.due_at <= until,
            )
            .order_by(m.Deadline.due_at, m.Obligation.position)
        )
        rows = [r for r in (await s.execute(q)).all() if applies(r[1], r[3])]
        if not rows:
            return []
        ids = [r[0].id for r in rows]
        latest = await latest_submissions(s, unit_ids=unit_ids, deadline_ids=ids)
        overrides = await overrides_for(s, unit_ids=unit_ids, deadline_ids=ids)
        repeats = await self._repeating(s, {c.id: c.current_version for _, _, c, _ in rows})
        views = [
            view(
                d,
                o,
                c,
                u,
                latest.get((d.id, u.id)),
                now,
                o.id in repeats,
                overrides.get((d.id, u.id)),
            )
            for d, o, c, u in rows
        ]
        return sorted(views, key=lambda v: v.due)  # a 延期 moves a deadline down the list

    async def history(self, actor: Actor, now: datetime, limit: int = 20) -> list[HistoryItem]:
        unit_ids = sorted(actor.unit_ids())
        if not unit_ids:
            return []
        async with self.sessions() as s:
            q = (
                select(m.Submission, m.Deadline, m.Obligation, m.Campaign, m.Unit)
                .join(m.Deadline, m.Deadline.id == m.Submission.deadline_id)
                .join(m.Obligation, m.Obligation.id == m.Deadline.obligation_id)
                .join(m.Campaign, m.Campaign.id == m.Deadline.campaign_id)
                .join(m.Unit, m.Unit.id == m.Submission.unit_id)
                .where(m.Submission.unit_id.in_(unit_ids))
                .order_by(m.Submission.submitted_at.desc(), m.Submission.id.desc())
                .limit(limit)
            )
            rows = (await s.execute(q)).all()
            repeats = await self._repeating(s, {c.id: c.current_version for _, _, _, c, _ in rows})
        return [
            HistoryItem(
                view(d, o, c, u, sub, now, o.id in repeats),
                sub.revision,
                sub.submitted_at,
                sub.late,
                sub.nil,
                sub.status == RevisionStatus.RETURNED,
            )
            for sub, d, o, c, u in rows
        ]

    # ---- drafts ------------------------------------------------------------------------

    async def begin(self, actor: Actor, deadline_id: int, now: datetime) -> DraftView | Problem:
        """Open (or resume) the actor's draft for a deadline of their unit."""
        async with self.sessions.begin() as s:
            drafts = DraftRepo(s)
            found = await drafts.for_deadline(
                deadline_id, actor.person_id, sorted(actor.unit_ids())
            )
            if found is None or not found.unit_active or not _applies(found):
                return Problem.NOT_FOUND
            if found.cancelled:
                return Problem.CANCELLED
            form = await self._form(s, found)
            if found.draft_id is None:
                state = _carried_over(found, form).to_json()
                draft_id = await drafts.add(
                    actor.person_id, found.deadline_id, found.unit_id, state, now
                )
                found = replace(found, draft_id=draft_id, person_id=actor.person_id, state=state)
            return await self._present(s, found, form, now)

    async def resume(self, actor: Actor, now: datetime) -> DraftView | None:
        """The actor's most recent draft, if any (after a restart or an interruption)."""
        async with self.sessions() as s:
            return await self._resumable(s, actor, now)

    async def on_screen(self, actor: Actor, now: datetime) -> DraftView | None:
        """The draft whose prompt the actor was shown last: a file or /blank is for it
        (None when that draft is gone, submitted or discarded)."""
        async with self.sessions() as s:
            found = await self._shown(s, actor)
            if found is None:
                return None
            return await self._draft_view(s, found, await self._form(s, found), now)

    @refusing
    async def present(self, actor: Actor, draft_id: int, now: datetime) -> DraftView | Problem:
        """One of the actor's drafts, to be shown now (and so answered next)."""
        async with self.sessions.begin() as s:
            draft, form = await self._own_draft(s, actor, draft_id)
            return await self._present(s, draft, form, now)

    async def _shown(self, s: AsyncSession, actor: Actor) -> DraftRecord | None:
        """The draft last shown to the actor (its `shown_step` the question it asked)."""
        drafts = DraftRepo(s)
        found = await drafts.shown(actor.person_id)
        if found is None:
            if await ConversationRepo(s).get(actor.person_id) is not None:
                return None  # the draft on screen was submitted or discarded since
            # Nothing shown since this was recorded (an upgrade): the draft touched last.
            found = await drafts.newest(actor.person_id, sorted(actor.unit_ids()))
        if (
            found is None
            or found.person_id != actor.person_id
            or found.unit_id not in actor.unit_ids()
        ):
            return None
        return found

    async def _resumable(self, s: AsyncSession, actor: Actor, now: datetime) -> DraftView | None:
        found = await DraftRepo(s).newest(actor.person_id)
        if found is None or found.unit_id not in actor.unit_ids():
            return None
        return await self._draft_view(s, found, await self._form(s, found), now)

    async def answer(
        self, actor: Actor, draft_id: int | None, raw: str, now: datetime
    ) -> DraftView | Rejected | Problem | None:
        """Validate a typed answer to the current question and move on. Without a draft
        id it is for the question the actor was shown last (None if there is none)."""
        return await self._update(
            actor,
            draft_id,
            now,
            lambda form, state, step: (
                check_answer(form.field(step), raw, now.date())
                if step not in (FILES_STEP, PREVIEW_STEP)
                else Invalid("no_question")
            ),
        )

    async def choose(
        self, actor: Actor, draft_id: int, field_id: str, index: int, now: datetime
    ) -> DraftView | Rejected | Problem:
        """A tapped option; the field must be the one being asked (stale buttons refused)."""

        def check(form: Form, state: DraftState, step: str) -> Checked:
            if step != field_id:
                return Invalid("stale_button")
            spec = form.field(step)
            if spec.type is not FieldType.CHOICE:
                return Invalid("stale_button")
            return check_choice_index(spec, index)

        return _found(await self._update(actor, draft_id, now, check))

    async def skip(
        self, actor: Actor, draft_id: int, field_id: str, now: datetime
    ) -> DraftView | Rejected | Problem:
        def check(form: Form, state: DraftState, step: str) -> Checked:
            if step != field_id:
                return Invalid("stale_button")
            return Invalid("required") if form.field(step).required else Valid(None)

        return _found(await self._update(actor, draft_id, now, check))

    @refusing
    async def edit(
        self, actor: Actor, draft_id: int, field_id: str, now: datetime
    ) -> DraftView | Problem:
        """Reopen one answered question from the preview."""
        async with self.sessions.begin() as s:
            draft, form = await self._own_draft(s, actor, draft_id)
            state = _state(draft)
            if field_id == FILES_STEP:
                state = replace(state, nil=False, files_done=False, editing=None)
            elif field_id in {f.id for f in form.typed_fields}:
                state = replace(state, nil=False, editing=field_id)
            else:
                return Problem.NOT_FOUND
            return await self._save(s, draft, form, state, now)

    @refusing
    async def files_done(self, actor: Actor, draft_id: int, now: datetime) -> DraftView | Problem:
        async with self.sessions.begin() as s:
            draft, form = await self._own_draft(s, actor, draft_id)
            if _files_missing(draft, form):
                return Problem.INCOMPLETE
            return await self._save(
                s, draft, form, replace(_state(draft), files_done=True, editing=None), now
            )

    def check_upload(self, name: str, size: int | None) -> Problem | None:
        """Refuse a file before downloading it: type by extension, size from the platform."""
        if extension_of(name) not in self.limits.extensions:
            return Problem.FILE_TYPE
        if size is not None and size > self.limits.max_bytes:
            return Problem.FILE_TOO_LARGE
        if size == 0:
            return Problem.FILE_EMPTY
        return None

    @refusing
    async def attach(
        self, actor: Actor, draft_id: int, name: str, mime: str, data: bytes, now: datetime
    ) -> DraftView | Problem:
        problem = self.check_upload(name, len(data))
        if problem:
            return problem
        if not upload_matches(name, data):
            return Problem.FILE_CONTENT
        async with self.sessions.begin() as s:
            draft, form = await self._own_draft(s, actor, draft_id)
            if not form.file_fields:
                return Problem.NO_FILES
            spec = form.file_fields[0]
            if draft.files >= sum(f.max_files for f in form.file_fields):
                return Problem.TOO_MANY_FILES
            stored = self.files.put(
                data, draft.campaign_id, draft.unit_id, draft.deadline_id, extension_of(name)
            )
            s.add(
                m.Attachment(
                    draft_id=draft_id,
                    field_id=spec.id,
                    original_name=stored_name(name),
                    size=stored.size,
                    mime_type=mime[:100],
                    sha256=stored.sha256,
                    storage_key=stored.key,
                    uploaded_by=actor.person_id,
                    uploaded_at=now,
                )
            )
            await s.flush()
            draft = replace(draft, files=draft.files + 1)
            return await self._save(s, draft, form, _state(draft), now)

    async def sweep_orphan_files(self, now: float, grace: timedelta = ORPHAN_GRACE) -> int:
        """Delete stored files no attachment refers to, once older than `grace` (so an
        upload another process is committing right now is left alone). A crash between
        writing a file and committing its row, or between dropping rows and deleting their
        files, leaves such files. `now` is wall-clock seconds, as file times are."""
        old = await asyncio.to_thread(self.files.keys_older_than, now - grace.total_seconds())
        orphans = []
        for start in range(0, len(old), 500):
            chunk = old[start : start + 500]
            async with self.sessions() as s:
                known = set(
                    await s.scalars(
                        select(m.Attachment.storage_key).where(m.Attachment.storage_key.in_(chunk))
                    )
                )
            orphans += [key for key in chunk if key not in known]
        for key in orphans:
            self.files.delete(key)
        return len(orphans)

    @refusing
    async def attachment(
        self, actor: Actor, draft_id: int, attachment_id: int
    ) -> AttachmentView | Problem:
        """One file of the actor's draft (to ask whether to remove it)."""
        async with self.sessions() as s:
            await self._own_draft(s, actor, draft_id)
            found = [a for a in await DraftRepo(s).attachments(draft_id) if a.id == attachment_id]
        if not found:
            return Problem.FILE_GONE
        return AttachmentView(found[0].id, found[0].original_name, found[0].size)

    @refusing
    async def detach(
        self, actor: Actor, draft_id: int, attachment_id: int, now: datetime
    ) -> Detached | Problem:
        """Remove one wrong file from a draft, keeping everything else. A second tap (or
        another process) finds it gone and changes nothing."""
        async with self.sessions.begin() as s:
            draft, form = await self._own_draft(s, actor, draft_id)
            drafts = DraftRepo(s)
            found = [a for a in await drafts.attachments(draft_id) if a.id == attachment_id]
            if not found or not await drafts.drop_attachment(draft_id, attachment_id):
                return Problem.FILE_GONE
            draft = replace(draft, files=draft.files - 1)
            state = _state(draft)
            if state.files_done and not state.nil and _files_missing(draft, form):
                state = replace(state, files_done=False)  # a required file: ask again
            shown = await self._save(s, draft, form, state, now)
        self.files.delete(found[0].storage_key)  # only once the row is gone for good
        return Detached(found[0].original_name, shown)

    async def discard(self, actor: Actor, draft_id: int) -> bool:
        async with self.sessions.begin() as s:
            try:
                draft, _form = await self._own_draft(s, actor, draft_id)
            except Refused:
                return False
            drafts = DraftRepo(s)
            attachments = await drafts.attachments(draft_id) if draft.files else []
            await drafts.drop_attachments(draft_id)
            await drafts.delete(draft_id)
        for a in attachments:  # files go only after the rows are gone for good
            self.files.delete(a.storage_key)
        return True

    @refusing
    async def rebase(self, actor: Actor, draft_id: int, now: datetime) -> DraftView | Problem:
        """Start the draft again from the unit's newest revision (someone else submitted
        while it was being filled): the preview then shows that revision to correct. Files
        stay; tapped twice, the second tap changes nothing."""
        async with self.sessions.begin() as s:
            draft, form = await self._own_draft(s, actor, draft_id)
            if _state(draft).base == (draft.revision or 0):
                return await self._present(s, draft, form, now)
            return await self._save(s, draft, form, _carried_over(draft, form), now)

    async def submit(
        self,
        actor: Actor,
        draft_id: int,
        now: datetime,
        built_on: int | None = None,
        nil: bool = False,
    ) -> Submitted | Superseded | Problem:
        """Turn the draft into a new revision (a 零报告 with `nil`). `built_on` is the
        revision the confirmed preview was built on: if the unit has a newer one now,
        nothing is written. Returns only after the commit."""
        for _attempt in range(3):
            try:
                return await self._submit_once(actor, draft_id, now, built_on, nil)
            except IntegrityError:
                # The deputy submitted the same deadline at the same instant: take the next
                # revision number and try again; nothing was written by the failed attempt.
                continue
        return Problem.INCOMPLETE  # pragma: no cover - three collisions in a row

    @refusing
    async def _submit_once(
        self, actor: Actor, draft_id: int, now: datetime, built_on: int | None, nil: bool
    ) -> Submitted | Superseded | Problem:
        async with self.sessions.begin() as s:
            draft, form = await self._own_draft(s, actor, draft_id)
            state = _state(draft)
            if nil:
                if not form.allow_nil:
                    return Problem.NO_NIL
                state = replace(state, nil=True, files_done=True)
            if built_on is not None and (draft.revision or 0) != built_on:
                return await self._superseded(s, draft, form, state, now)
            if not state.nil and (
                missing_required(form, state.answers) or _files_missing(draft, form)
            ):
                return Problem.INCOMPLETE
            # The newest revision was read in this transaction (under SQLite's write lock;
            # on PostgreSQL the unique key and the retry in `submit` settle a race).
            revision = (draft.revision or 0) + 1
            late = now > (due_for(draft.due_at, _override(draft)) or now)
            submission = m.Submission(
                deadline_id=draft.deadline_id,
                unit_id=draft.unit_id,
                revision=revision,
                status="submitted",
                nil=state.nil,
                answers={} if state.nil else dict(state.answers),
                submitted_by=actor.person_id,
                submitted_at=now,
                late=late,
            )
            s.add(submission)
            await s.flush()
            drafts = DraftRepo(s)
            if draft.files:
                await drafts.hand_over(draft_id, submission.id)
            await drafts.delete(draft_id)
            repeats = await self._repeats_of(s, draft)
        submitted = replace(
            draft,
            revision=revision,
            status="submitted",
            nil=state.nil,
            submitted_at=now,
            review_comment=None,
        )
        return Submitted(
            submission.id,
            revision,
            late,
            state.nil,
            _deadline_view(submitted, now, repeats),
            draft.files,
        )

    # ---- internals ---------------------------------------------------------------------

    async def _superseded(
        self, s: AsyncSession, draft: DraftRecord, form: Form, state: DraftState, now: datetime
    ) -> Superseded:
        """What the unit's newer revision holds that this draft does not."""
        assert draft.revision is not None and draft.submitted_at is not None
        by = await s.scalar(
            select(m.Person.display_name)
            .join(m.Submission, m.Submission.submitted_by == m.Person.id)
            .where(
                m.Submission.deadline_id == draft.deadline_id,
                m.Submission.unit_id == draft.unit_id,
                m.Submission.revision == draft.revision,
            )
        )
        theirs = draft.answers or {}
        changes = (
            ()
            if state.nil or draft.nil
            else tuple(
                Change(f, theirs.get(f.id), state.answers.get(f.id))
                for f in form.typed_fields
                if theirs.get(f.id) != state.answers.get(f.id)
            )
        )
        return Superseded(
            await self._draft_view(s, draft, form, now),
            draft.revision,
            by or "",
            draft.submitted_at,
            bool(draft.nil),
            state.nil,
            changes,
        )

    async def _update(
        self, actor: Actor, draft_id: int | None, now: datetime, check: _Check
    ) -> DraftView | Rejected | Problem | None:
        found = await self._update_once(actor, draft_id, now, check)
        if found is not Problem.CHANGED:
            return found

        # Another handler moved the draft on: this answer was for the question it showed
        # before. Re-asked, as when a question moved on, with the draft as it is now.
        def moved(form: Form, state: DraftState, step: str) -> Checked:
            return Invalid("question_moved")

        again = await self._update_once(actor, draft_id, now, moved)
        return Problem.CHANGED if again is Problem.CHANGED else again

    @refusing
    async def _update_once(
        self, actor: Actor, draft_id: int | None, now: datetime, check: _Check
    ) -> DraftView | Rejected | Problem | None:
        async with self.sessions.begin() as s:
            shown_step: str | None = None
            if draft_id is None:  # a typed answer: for the question on the actor's screen
                shown = await self._shown(s, actor)
                if shown is None:
                    return None
                draft, form = await self._checked(s, actor, shown)
                shown_step = shown.shown_step
            else:
                draft, form = await self._own_draft(s, actor, draft_id)
            state = _state(draft)
            step = next_step(form, state)
            # The draft moved on since its question was shown (another of the person's
            # devices, say): the text was meant for a question that is no longer asked.
            result = (
                Invalid("question_moved")
                if shown_step not in (None, step)
                else check(form, state, step)
            )
            if isinstance(result, Invalid):
                return Rejected(result, await self._present(s, draft, form, now))
            return await self._save(s, draft, form, state.answered(step, result.value), now)

    async def _own_draft(
        self, s: AsyncSession, actor: Actor, draft_id: int
    ) -> tuple[DraftRecord, Form]:
        return await self._checked(s, actor, await DraftRepo(s).by_id(draft_id))

    async def _checked(
        self, s: AsyncSession, actor: Actor, draft: DraftRecord | None
    ) -> tuple[DraftRecord, Form]:
        """The draft with its form, if it is the actor's and its deadline still stands;
        else Refused, which the use case (see `refusing`) answers with its problem."""
        if (
            draft is None
            or draft.person_id != actor.person_id
            or draft.unit_id not in actor.unit_ids()
        ):
            raise Refused(Problem.NOT_FOUND)
        if draft.cancelled:
            raise Refused(Problem.CANCELLED)
        return draft, await self._form(s, draft)

    async def _save(
        self, s: AsyncSession, draft: DraftRecord, form: Form, state: DraftState, now: datetime
    ) -> DraftView:
        """Write the new state (one UPDATE); committed before the caller answers anyone."""
        assert draft.draft_id is not None
        data = state.to_json()
        draft = replace(draft, state=data)
        shown = await self._draft_view(s, draft, form, now)
        read_at = draft.draft_version or 0
        if not await DraftRepo(s).set_state(shown.draft_id, data, shown.step, now, read_at):
            raise Refused(Problem.CHANGED)  # the transaction is rolled back on the way out
        await self._on_screen(s, draft, now)
        return shown

    async def _present(
        self, s: AsyncSession, draft: DraftRecord, form: Form, now: datetime
    ) -> DraftView:
        """The draft's view, recorded as what its owner sees: what they send next (a
        text, a file, /blank) is for this draft and this question."""
        shown = await self._draft_view(s, draft, form, now)
        if draft.shown_step != shown.step:
            await DraftRepo(s).set_shown_step(shown.draft_id, shown.step)
        await self._on_screen(s, draft, now)
        return shown

    async def _on_screen(self, s: AsyncSession, draft: DraftRecord, now: datetime) -> None:
        assert draft.draft_id is not None and draft.person_id is not None
        if draft.on_screen != draft.draft_id:  # written only when the person switches
            await ConversationRepo(s).shown(draft.person_id, draft.draft_id, now)

    async def _draft_view(
        self, s: AsyncSession, draft: DraftRecord, form: Form, now: datetime
    ) -> DraftView:
        assert draft.draft_id is not None
        state = _state(draft)
        attachments = (
            tuple(
                AttachmentView(a.id, a.original_name, a.size)
                for a in await DraftRepo(s).attachments(draft.draft_id)
            )
            if draft.files
            else ()
        )
        return DraftView(
            draft.draft_id,
            _deadline_view(draft, now, await self._repeats_of(s, draft)),
            form,
            state,
            next_step(form, state),
            attachments,
        )

    async def _form(self, s: AsyncSession, draft: DraftRecord) -> Form:
        plan = await self.plans.plan_at(s, draft.campaign_id, draft.plan_version)
        return plan.forms[draft.form_code]

    async def _repeats_of(self, s: AsyncSession, draft: DraftRecord) -> frozenset[int]:
        return await self._repeating(s, {draft.campaign_id: draft.plan_version})

    async def _repeating(self, s: AsyncSession, versions: dict[int, int]) -> frozenset[int]:
        """Obligations with more than one deadline (shown as "#seq") in these campaigns, by
        campaign → current plan version. Deadlines change only when a new version is
        loaded, and callers pass the version they read in their own transaction, so a
        cached entry is never stale, in this process or beside others."""
        found: set[int] = set()
        for key in versions.items():
            repeats = self._repeats.get(key)
            if repeats is None:
                repeats = frozenset(await repeating_obligations(s, [key[0]]))
                self._repeats[key] = repeats
            found |= repeats
        return frozenset(found)


def _state(draft: DraftRecord) -> DraftState:
    return DraftState.from_json(draft.state or {})


def _applies(draft: DraftRecord) -> bool:
    return owed(draft.unit_codes, draft.unit_code)


def upload_matches(name: str, data: bytes) -> bool:
    """Whether a file's content is of the type its name claims (an .exe renamed report.pdf
    is not)."""
    return content_matches(extension_of(name), data)


def _files_missing(draft: DraftRecord, form: Form) -> bool:
    return any(f.required for f in form.file_fields) and not draft.files


def _found(result: DraftView | Rejected | Problem | None) -> DraftView | Rejected | Problem:
    return Problem.NOT_FOUND if result is None else result


def _carried_over(found: DraftRecord, form: Form) -> DraftState:
    """A new draft starts from the unit's newest revision, so a returned report is
    corrected on the preview rather than typed again. Files are not carried over (the
    earlier revision keeps them); a 零报告 carries nothing. The draft remembers which
    revision it was built on."""
    base = found.revision or 0
    if found.revision is None or found.nil:
        return DraftState(base=base)
    previous = found.answers or {}
    answers = {f.id: previous[f.id] for f in form.typed_fields if f.id in previous}
    skipped = tuple(k for k, v in answers.items() if v is None)
    return DraftState(answers, skipped, nil=False, files_done=True, base=base)


def _override(d: DraftRecord) -> Override | None:
    if d.override_kind is None:
        return None
    return Override(OverrideKind(d.override_kind), d.override_due_at)


def _deadline_view(d: DraftRecord, now: datetime, repeats: frozenset[int]) -> DeadlineView:
    """The same view `catalog.view` makes of ORM rows, from the draft's one-row record."""
    override = _override(d)
    due = due_for(d.due_at, override) or d.due_at
    latest = (
        LatestSubmission(
            d.submitted_at, d.status == RevisionStatus.RETURNED, bool(d.nil), d.revision
        )
        if d.revision is not None and d.submitted_at is not None
        else None
    )
    period = (d.period_start, d.period_end) if d.period_start and d.period_end else None
    return DeadlineView(
        deadline_id=d.deadline_id,
        campaign_id=d.campaign_id,
        campaign_code=d.campaign_code,
        obligation_code=d.obligation_code,
        title=d.title,
        seq=d.seq,
        repeats=d.obligation_id in repeats,
        due=due.astimezone(ZoneInfo(d.timezone)),
        period=period,
        form_id=d.form_code,
        unit_id=d.unit_id,
        unit_name=d.unit_name,
        state=state_of(d.due_at, latest, now, override),
        revision=d.revision,
        comment=d.review_comment if d.status == RevisionStatus.RETURNED else None,
        extended=due != d.due_at,
    )
