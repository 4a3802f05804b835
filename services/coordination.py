"""Coordinator use cases: status per deadline, who is missing, returning a submission.
Each read runs a fixed number of statements, whatever the number of units."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.status import Counts, OverrideKind, RevisionStatus, State, due_for, state_of, tally
from services.access import REPORTING, Actor
from services.campaign_reads import (
    DeadlineView,
    applies,
    latest_states,
    latest_submissions,
    overrides_for,
    summary,
    view,
)
from services.ports import Address
from storage import models as m
from storage.handled import idempotent
from storage.repositories import ConfirmationRepo, ConversationRepo


@dataclass(frozen=True)
class CampaignRef:
    id: int
    code: str
    name: str
    timezone: str


@dataclass(frozen=True)
class DeadlineStatus:
    deadline: DeadlineView  # unit fields are empty: this is the campaign-wide line
    counts: Counts


@dataclass(frozen=True)
class UnitLine:
    unit_id: int
    unit_code: str
    unit_name: str
    state: State
    submitted_at: datetime | None
    nil: bool
    submission_id: int | None
    revision: int | None
    extended_to: datetime | None = None  # 延期: the unit's own due time (UTC)


@dataclass(frozen=True)
class ReturnedSubmission:
    submission_id: int
    unit_id: int
    deadline: DeadlineView
    recipients: tuple[Address, ...]  # the unit's liaison and deputy
    comment: str


# What a coordinator's confirm button carries out (a row of `confirmations` each).
REMIND = "remind"
# How long the text after tapping 退回 is taken as the reason. Any other command or button
# abandons the 退回, so a later text (a pasted notice, say) never reaches a unit by mistake.
REVIEW_WAIT = timedelta(minutes=30)


class Reason(StrEnum):
    """What became of a text that may be the reason for a pending 退回."""

    NONE_PENDING = "none_pending"  # no 退回 waits for a reason: the text is for others
    EMPTY = "empty"  # still waiting
    STALE = "stale"  # the submission can no longer be returned; the 退回 is dropped


class CoordinationService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def campaigns(self, actor: Actor) -> list[CampaignRef]:
        """Campaigns the actor coordinates, most recently updated first."""
        async with self.sessions() as s:
            q = select(m.Campaign).order_by(m.Campaign.updated_at.desc(), m.Campaign.id.desc())
            return [
                CampaignRef(c.id, c.code, c.name, c.timezone)
                for c in (await s.scalars(q)).all()
                if actor.coordinates(c.id)
            ]

    async def campaign(self, actor: Actor, code: str | None) -> CampaignRef | None:
        """The named campaign, or the actor's most recent one; None if not theirs."""
        found = await self.campaigns(actor)
        if code is None:
            return found[0] if found else None
        return next((c for c in found if c.code == code), None)

    async def overview(
        self, campaign_id: int, now: datetime, *, window: int = 12
    ) -> list[DeadlineStatus]:
        """Counts for the deadlines around now: the last few passed and the next few."""
        async with self.sessions() as s:
            campaign = await s.get_one(m.Campaign, campaign_id)
            deadlines = await self._deadlines(s, campaign_id)
            units = await self._units(s, campaign_id)
            past = [d for d, _ in deadlines if d.due_at <= now]
            future = [d for d, _ in deadlines if d.due_at > now]
            chosen = {d.id for d in past[-(window - 3) :] + future[:3]} if window else None
            picked = [(d, o) for d, o in deadlines if chosen is None or d.id in chosen]
            picked_ids = [d.id for d, _ in picked]
            latest = await latest_states(s, deadline_ids=picked_ids)
            overrides = await overrides_for(s, deadline_ids=picked_ids)
        repeats = _repeating(deadlines)
        result = []
        for d, o in picked:
            expected = [u for u in units if applies(o, u)]
            pairs = []
            extended = 0
            for u in expected:
                sub = latest.get((d.id, u.id))
                override = overrides.get((d.id, u.id))
                extended += override is not None and override.kind is OverrideKind.EXTENDED
                pairs.append(
                    (state_of(d.due_at, summary(sub), now, override), bool(sub and sub.nil))
                )
            header = view(d, o, campaign, _NO_UNIT, None, now, o.id in repeats)
            result.append(DeadlineStatus(header, tally(pairs, extended)))
        return result

    async def current_deadline(self, campaign_id: int, now: datetime) -> int | None:
        """The deadline a coordinator most likely means: the latest passed, else the next."""
        async with self.sessions() as s:
            deadlines = await self._deadlines(s, campaign_id)
        past = [d for d, _ in deadlines if d.due_at <= now]
        if past:
            return past[-1].id
        return deadlines[0][0].id if deadlines else None

    async def units_of_deadline(
        self, actor: Actor, deadline_id: int, now: datetime
    ) -> tuple[DeadlineView, list[UnitLine]] | None:
        async with self.sessions() as s:
            deadline = await s.get(m.Deadline, deadline_id)
            if deadline is None or not actor.coordinates(deadline.campaign_id):
                return None
            obligation = await s.get_one(m.Obligation, deadline.obligation_id)
            campaign = await s.get_one(m.Campaign, deadline.campaign_id)
            units = [u for u in await self._units(s, campaign.id) if applies(obligation, u)]
            latest = await latest_states(s, deadline_ids=[deadline.id])
            overrides = await overrides_for(s, deadline_ids=[deadline.id])
            repeats = _repeating(await self._deadlines(s, campaign.id))
        lines = []
        for u in units:
            sub = latest.get((deadline.id, u.id))
            override = overrides.get((deadline.id, u.id))
            own = due_for(deadline.due_at, override)
            lines.append(
                UnitLine(
                    u.id,
                    u.code,
                    u.name,
                    state_of(deadline.due_at, summary(sub), now, override),
                    sub.submitted_at if sub else None,
                    bool(sub and sub.nil),
                    sub.id if sub else None,
                    sub.revision if sub else None,
                    own if own is not None and own != deadline.due_at else None,
                )
            )
        header = view(
            deadline, obligation, campaign, _NO_UNIT, None, now, obligation.id in repeats
        )
        return header, lines

    async def missing(
        self, actor: Actor, deadline_id: int, now: datetime
    ) -> tuple[DeadlineView, list[UnitLine]] | None:
        found = await self.units_of_deadline(actor, deadline_id, now)
        if found is None:
            return None
        header, lines = found
        return header, [x for x in lines if x.state.needs_action]

    async def recipients(self, unit_ids: list[int]) -> dict[int, list[Address]]:
        """Where each unit's reachable liaison and deputy are, each on their platform."""
        if not unit_ids:
            return {}
        async with self.sessions() as s:
            q = (
                select(m.Membership.unit_id, m.Person.platform, m.Person.external_id)
                .join(m.Person, m.Person.id == m.Membership.person_id)
                .where(
                    m.Membership.unit_id.in_(unit_ids),
                    m.Membership.role.in_(REPORTING),
                    m.Person.reachable.is_(True),
                )
                .order_by(m.Membership.unit_id, m.Membership.id)
            )
            result: dict[int, list[Address]] = {}
            for unit_id, platform, external_id in (await s.execute(q)).all():
                if unit_id is not None:
                    result.setdefault(unit_id, []).append(Address(platform, external_id))
            return result

    async def ask_reason(self, actor: Actor, submission_id: int, now: datetime) -> None:
        """退回 was tapped: the coordinator's next text is the reason (kept in the database,
        so a restart in between loses nothing)."""
        async with self.sessions.begin() as s:
            await ConversationRepo(s).ask_reason(actor.person_id, submission_id, now)

    async def abandon_reason(self, actor: Actor) -> None:
        """Another command or button: a pending 退回 takes no later text as its reason."""
        with idempotent():  # the command's own work records the update as handled
            async with self.sessions.begin() as s:
                await ConversationRepo(s).drop_reason(actor.person_id)

    async def return_with_reason(
        self, actor: Actor, comment: str, now: datetime
    ) -> ReturnedSubmission | Reason:
        """A text from a coordinator: the reason for the 退回 they tapped, if one waits
        (for at most REVIEW_WAIT); the submission is returned and the 退回 consumed at once."""
        async with self.sessions.begin() as s:
            conversations = ConversationRepo(s)
            pending = await conversations.get(actor.person_id)
            if (
                pending is None
                or pending.review_submission_id is None
                or pending.review_asked_at is None
            ):
                return Reason.NONE_PENDING
            if now - pending.review_asked_at > REVIEW_WAIT:
                await conversations.drop_reason(actor.person_id)
                return Reason.NONE_PENDING
            if not comment:
                return Reason.EMPTY
            if not await conversations.drop_reason(actor.person_id):
                return Reason.NONE_PENDING  # another process took this reason first
            returned = await _return(s, actor, pending.review_submission_id, comment, now)
            if returned is None:
                return Reason.STALE
        recipients = (await self.recipients([returned.unit_id])).get(returned.unit_id, [])
        return replace(returned, recipients=tuple(recipients))

    async def offer_remind(self, actor: Actor, deadline_id: int, now: datetime) -> int:
        """The confirmation a 确认催报 button carries: carried out once, however often and
        from however many bot processes it is tapped."""
        async with self.sessions.begin() as s:
            return await ConfirmationRepo(s).offer(actor.person_id, REMIND, deadline_id, now)

    async def take_remind(self, actor: Actor, confirmation_id: int, now: datetime) -> int | None:
        """The deadline to nudge for, consumed by this call; None if already done."""
        async with self.sessions.begin() as s:
            return await ConfirmationRepo(s).consume(confirmation_id, actor.person_id, REMIND, now)

    async def _deadlines(
        self, s: AsyncSession, campaign_id: int
    ) -> list[tuple[m.Deadline, m.Obligation]]:
        q = (
            select(m.Deadline, m.Obligation)
            .join(m.Obligation, m.Obligation.id == m.Deadline.obligation_id)
            .where(m.Deadline.campaign_id == campaign_id, m.Deadline.cancelled.is_(False))
            .order_by(m.Deadline.due_at, m.Obligation.position)
        )
        return [(d, o) for d, o in (await s.execute(q)).all()]

    async def _units(self, s: AsyncSession, campaign_id: int) -> list[m.Unit]:
        q = (
            select(m.Unit)
            .where(m.Unit.campaign_id == campaign_id, m.Unit.active.is_(True))
            .order_by(m.Unit.position, m.Unit.id)
        )
        return list((await s.scalars(q)).all())


async def _return(
    s: AsyncSession, actor: Actor, submission_id: int, comment: str, now: datetime
) -> ReturnedSubmission | None:
    """Mark the submission returned, if it is the newest revision and the actor's to
    return; recipients are filled in by the caller after the commit."""
    sub = await s.get(m.Submission, submission_id)
    if sub is None:
        return None
    deadline = await s.get_one(m.Deadline, sub.deadline_id)
    if not actor.coordinates(deadline.campaign_id):
        return None
    latest = await latest_submissions(s, deadline_ids=[deadline.id], unit_ids=[sub.unit_id])
    if latest[(deadline.id, sub.unit_id)].id != sub.id or sub.status == RevisionStatus.RETURNED:
        return None
    sub.status, sub.review_comment = RevisionStatus.RETURNED, comment
    sub.reviewed_by, sub.reviewed_at = actor.person_id, now
    obligation = await s.get_one(m.Obligation, deadline.obligation_id)
    campaign = await s.get_one(m.Campaign, deadline.campaign_id)
    unit = await s.get_one(m.Unit, sub.unit_id)
    await s.flush()
    dview = view(deadline, obligation, campaign, unit, sub, now, True)
    return ReturnedSubmission(sub.id, sub.unit_id, dview, (), comment)


def _repeating(deadlines: list[tuple[m.Deadline, m.Obligation]]) -> set[int]:
    counts: dict[int, int] = {}
    for _, o in deadlines:
        counts[o.id] = counts.get(o.id, 0) + 1
    return {k for k, v in counts.items() if v > 1}


# Campaign-wide views are rendered without a unit.
_NO_UNIT = m.Unit(id=0, campaign_id=0, code="", name="", group="", position=0, active=True)
