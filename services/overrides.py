"""免报 and 延期 per unit: the coordinator lets one unit off one deadline, or gives it a later
due time of its own. Both are rows of `unit_deadline_overrides`; what they mean for a
unit's state, nudges and lateness is `domain.status.due_for`, read by every use case.

Setting the same exception twice changes nothing (a second tap, a rerun command); undoing
keeps the row with `revoked_at`. The unit's people are told by the reminder dispatcher,
which reads `changed_at`, so a change made from the command line reaches them too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.status import Override, OverrideKind, RevisionStatus
from services.access import Actor
from services.campaign_reads import (
    DeadlineView,
    applies,
    latest_submissions,
    override_of,
    repeating_obligations,
    view,
)
from storage import models as m

# How far back a deadline can still be picked for an exception in the chat.
PICK_BACK = timedelta(days=31)
PICK_AHEAD = timedelta(days=62)
REASON_CHARS = 500


class OverrideProblem(StrEnum):
    """Why nothing was changed; the catalogue has "exempt.problem_<value>"."""

    UNKNOWN_CAMPAIGN = "unknown_campaign"
    UNKNOWN_UNIT = "unknown_unit"
    UNKNOWN_DEADLINE = "unknown_deadline"  # no such deadline, or it is not the unit's
    AMBIGUOUS_DEADLINE = "ambiguous_deadline"  # the selector names several
    CANCELLED = "cancelled"
    DONE = "done"  # the unit has already reported: nothing to let it off
    BAD_TIME = "bad_time"  # not YYYY-MM-DD [HH:MM]
    NOT_LATER = "not_later"  # 延期 to a time not after the deadline's own
    NO_REASON = "no_reason"
    NOTHING_TO_UNDO = "nothing_to_undo"


@dataclass(frozen=True)
class Until:
    """A 延期 target as typed: a day, and a time of day or None (the deadline's own)."""

    day: date
    at: time | None

    def instant(self, due: datetime, tz: ZoneInfo) -> datetime:
        at = self.at or due.astimezone(tz).timetz().replace(tzinfo=None)
        return datetime.combine(self.day, at, tzinfo=tz)


_UNTIL = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2})[:：](\d{2}))?")


def parse_until(text: str) -> Until | None:
    """`2026-12-20 15:00`, `2026-12-20T15:00` or `2026-12-20`; None for anything else."""
    found = _UNTIL.fullmatch(text.strip())
    if found is None:
        return None
    try:
        day = date(int(found[1]), int(found[2]), int(found[3]))
        at = time(int(found[4]), int(found[5])) if found[4] is not None else None
    except ValueError:
        return None
    return Until(day, at)


@dataclass(frozen=True)
class ChatRequest:
    """What `/exempt 单位 [YYYY-MM-DD [HH:MM]] 理由` asks for, before a deadline is picked."""

    unit: str
    until: str | None  # as typed; None: 免报
    reason: str


def parse_chat_request(words: list[str]) -> ChatRequest | OverrideProblem | None:
    """The command's words; None when there are too few to say anything (show the usage)."""
    if len(words) < 2:
        return None
    unit, rest = words[0], words[1:]
    until = None
    if parse_until(rest[0]) is not None:  # a day, perhaps followed by a time of day
        timed = len(rest) > 1 and parse_until(" ".join(rest[:2])) is not None
        until, rest = (" ".join(rest[:2]), rest[2:]) if timed else (rest[0], rest[1:])
    elif rest[0][:4].isdigit() and "-" in rest[0]:  # meant as a day, but is none
        return OverrideProblem.BAD_TIME
    reason = " ".join(rest).strip()
    return ChatRequest(unit, until, reason) if reason else OverrideProblem.NO_REASON


@dataclass(frozen=True)
class OverrideRequest:
    unit_id: int
    deadline_id: int
    kind: OverrideKind
    until: Until | None  # for EXTENDED
    reason: str


@dataclass(frozen=True)
class UnitRef:
    id: int
    campaign_id: int
    campaign_code: str
    name: str


@dataclass(frozen=True)
class OverrideView:
    """One exception as it stands (or would stand), for a confirmation or a report."""

    override_id: int
    deadline: DeadlineView  # as the unit sees it: with 延期, its own due time
    original_due: datetime  # the deadline's own time, in the plan's zone
    kind: OverrideKind
    reason: str
    changed: bool = True  # False: it already stood so (a second tap changes nothing)
    undone: bool = False


class OverrideService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    # ---- finding what to act on --------------------------------------------------------

    async def find_unit(
        self, actor: Actor | None, name: str, campaign_code: str | None = None
    ) -> UnitRef | OverrideProblem:
        """A unit by name or id in a campaign the actor coordinates (the most recently
        updated first when no campaign is named); `actor` None: the command line."""
        async with self.sessions() as s:
            q = (
                select(m.Unit, m.Campaign)
                .join(m.Campaign, m.Campaign.id == m.Unit.campaign_id)
                .where(m.Unit.active.is_(True), (m.Unit.name == name) | (m.Unit.code == name))
                .order_by(m.Campaign.updated_at.desc(), m.Campaign.id.desc())
            )
            if campaign_code is not None:
                found = await s.scalar(
                    select(m.Campaign.id).where(m.Campaign.code == campaign_code)
                )
                if found is None or (actor is not None and not actor.coordinates(found)):
                    return OverrideProblem.UNKNOWN_CAMPAIGN
                q = q.where(m.Campaign.code == campaign_code)
            for unit, campaign in (await s.execute(q)).all():
                if actor is None or actor.coordinates(campaign.id):
                    return UnitRef(unit.id, campaign.id, campaign.code, unit.name)
        return OverrideProblem.UNKNOWN_UNIT

    async def choices(self, actor: Actor, unit_id: int, now: datetime) -> list[DeadlineView]:
        """Deadlines of the unit an exception can be made for: recent and coming ones it
        has not reported yet (exceptions already standing included, to change them)."""
        async with self.sessions() as s:
            unit = await s.get(m.Unit, unit_id)
            if unit is None or not actor.coordinates(unit.campaign_id):
                return []
            rows = await self._deadlines(
                s,
                unit,
                (m.Deadline.due_at >= now - PICK_BACK) & (m.Deadline.due_at <= now + PICK_AHEAD),
            )
            views = await self._views(s, unit, rows, now)
        return [v for v in views if not v.state.is_done][:12]

    async def deadline_by_selector(self, unit: UnitRef, selector: str) -> int | OverrideProblem:
        """`weekly-report#3`, `weekly-report@2016-12-15` or an obligation with one deadline."""
        code, _, day_text = selector.strip().partition("@")
        code, _, seq_text = code.partition("#")
        day = None
        if day_text:
            try:
                day = date.fromisoformat(day_text)
            except ValueError:
                return OverrideProblem.UNKNOWN_DEADLINE
        if seq_text and not seq_text.isdigit():
            return OverrideProblem.UNKNOWN_DEADLINE
        async with self.sessions() as s:
            campaign = await s.get_one(m.Campaign, unit.campaign_id)
            tz = ZoneInfo(campaign.timezone)
            q = (
                select(m.Deadline)
                .join(m.Obligation, m.Obligation.id == m.Deadline.obligation_id)
                .where(m.Deadline.campaign_id == unit.campaign_id, m.Obligation.code == code)
            )
            if seq_text:
                q = q.where(m.Deadline.seq == int(seq_text))
            found = [
                d
                for d in (await s.scalars(q)).all()
                if day is None or d.due_at.astimezone(tz).date() == day
            ]
        if not found:
            return OverrideProblem.UNKNOWN_DEADLINE
        if len(found) > 1:
            return OverrideProblem.AMBIGUOUS_DEADLINE
        return found[0].id

    async def standing(
        self, actor: Actor | None, unit_id: int, now: datetime
    ) -> list[OverrideView]:
        """The unit's exceptions in force, by deadline."""
        async with self.sessions() as s:
            unit = await s.get(m.Unit, unit_id)
            if unit is None or (actor is not None and not actor.coordinates(unit.campaign_id)):
                return []
            q = select(m.UnitDeadlineOverride).where(
                m.UnitDeadlineOverride.unit_id == unit_id,
                m.UnitDeadlineOverride.revoked_at.is_(None),
            )
            rows = {x.deadline_id: x for x in (await s.scalars(q)).all()}
            deadlines = await self._deadlines(s, unit, m.Deadline.id.in_(list(rows)))
            views = await self._views(s, unit, deadlines, now)
        return [
            OverrideView(
                rows[v.deadline_id].id,
                v,
                d.due_at.astimezone(v.due.tzinfo),
                OverrideKind(rows[v.deadline_id].kind),
                rows[v.deadline_id].reason,
            )
            for v, (d, _o, _c) in zip(views, deadlines, strict=True)
        ]

    # ---- acting ------------------------------------------------------------------------

    async def check(
        self, actor: Actor | None, request: OverrideRequest, now: datetime
    ) -> OverrideView | OverrideProblem:
        """What `apply` would do, for the confirmation; writes nothing."""
        async with self.sessions() as s:
            return await self._apply(s, actor, request, now, write=False)

    async def apply(
        self, actor: Actor | None, request: OverrideRequest, now: datetime
    ) -> OverrideView | OverrideProblem:
        """Set the exception; returns once it is committed. The same exception again
        changes nothing and says so (`changed` False)."""
        async with self.sessions.begin() as s:
            return await self._apply(s, actor, request, now, write=True)

    async def undo(
        self, actor: Actor | None, override_id: int, now: datetime
    ) -> OverrideView | OverrideProblem:
        """Withdraw an exception: the deadline's own time applies to the unit again."""
        async with self.sessions.begin() as s:
            row = await s.get(m.UnitDeadlineOverride, override_id, with_for_update=True)
            if row is None:
                return OverrideProblem.NOTHING_TO_UNDO
            unit = await s.get_one(m.Unit, row.unit_id)
            if actor is not None and not actor.coordinates(unit.campaign_id):
                return OverrideProblem.NOTHING_TO_UNDO
            changed = row.revoked_at is None
            if changed:
                row.revoked_at = row.changed_at = now
                await s.flush()
            rows = await self._deadlines(s, unit, m.Deadline.id == row.deadline_id)
            (v,) = await self._views(s, unit, rows, now)
            return OverrideView(
                row.id, v, v.due, OverrideKind(row.kind), row.reason, changed=changed, undone=True
            )

    async def _apply(
        self,
        s: AsyncSession,
        actor: Actor | None,
        request: OverrideRequest,
        now: datetime,
        *,
        write: bool,
    ) -> OverrideView | OverrideProblem:
        reason = " ".join(request.reason.split())[:REASON_CHARS]
        if not reason:
            return OverrideProblem.NO_REASON
        unit = await s.get(m.Unit, request.unit_id)
        if (
            unit is None
            or not unit.active
            or (actor is not None and not actor.coordinates(unit.campaign_id))
        ):
            return OverrideProblem.UNKNOWN_UNIT
        rows = await self._deadlines(
            s, unit, m.Deadline.id == request.deadline_id, with_cancelled=True
        )
        if not rows:
            return OverrideProblem.UNKNOWN_DEADLINE
        deadline, obligation, campaign = rows[0]
        if deadline.cancelled:
            return OverrideProblem.CANCELLED
        tz = ZoneInfo(campaign.timezone)
        due_at = None
        if request.kind is OverrideKind.EXTENDED:
            if request.until is None:
                return OverrideProblem.BAD_TIME
            due_at = request.until.instant(deadline.due_at, tz)
            if due_at <= deadline.due_at:
                return OverrideProblem.NOT_LATER
        latest = await latest_submissions(s, deadline_ids=[deadline.id], unit_ids=[unit.id])
        sub = latest.get((deadline.id, unit.id))
        if sub is not None and sub.status != RevisionStatus.RETURNED:
            return OverrideProblem.DONE
        row = await s.scalar(
            select(m.UnitDeadlineOverride)
            .where(
                m.UnitDeadlineOverride.unit_id == unit.id,
                m.UnitDeadlineOverride.deadline_id == deadline.id,
            )
            .with_for_update()
        )
        changed = (
            row is None
            or row.revoked_at is not None
            or row.kind != request.kind
            or row.due_at != due_at
            or row.reason != reason
        )
        if write and changed:
            if row is None:
                row = m.UnitDeadlineOverride(
                    unit_id=unit.id, deadline_id=deadline.id, created_at=now
                )
                s.add(row)
            row.kind, row.due_at, row.reason = request.kind.value, due_at, reason
            row.created_by = actor.person_id if actor is not None else None
            row.changed_at, row.revoked_at = now, None
            await s.flush()
        repeats = obligation.id in await repeating_obligations(s, [campaign.id])
        v = view(
            deadline, obligation, campaign, unit, sub, now, repeats, Override(request.kind, due_at)
        )
        return OverrideView(
            row.id if row is not None and row.id else 0,
            v,
            deadline.due_at.astimezone(tz),
            request.kind,
            reason,
            changed=changed,
        )

    async def _deadlines(
        self,
        s: AsyncSession,
        unit: m.Unit,
        where: ColumnElement[bool],
        *,
        with_cancelled: bool = False,
    ) -> list[tuple[m.Deadline, m.Obligation, m.Campaign]]:
        q = (
            select(m.Deadline, m.Obligation, m.Campaign)
            .join(m.Obligation, m.Obligation.id == m.Deadline.obligation_id)
            .join(m.Campaign, m.Campaign.id == m.Deadline.campaign_id)
            .where(m.Deadline.campaign_id == unit.campaign_id, where)
            .order_by(m.Deadline.due_at, m.Obligation.position, m.Deadline.id)
        )
        if not with_cancelled:
            q = q.where(m.Deadline.cancelled.is_(False))
        return [(d, o, c) for d, o, c in (await s.execute(q)).all() if applies(o, unit)]

    async def _views(
        self,
        s: AsyncSession,
        unit: m.Unit,
        rows: list[tuple[m.Deadline, m.Obligation, m.Campaign]],
        now: datetime,
    ) -> list[DeadlineView]:
        if not rows:
            return []
        ids = [d.id for d, _, _ in rows]
        latest = await latest_submissions(s, deadline_ids=ids, unit_ids=[unit.id])
        q = select(m.UnitDeadlineOverride).where(
            m.UnitDeadlineOverride.deadline_id.in_(ids), m.UnitDeadlineOverride.unit_id == unit.id
        )
        overrides = {x.deadline_id: override_of(x) for x in (await s.scalars(q)).all()}
        repeats = await repeating_obligations(s, [unit.campaign_id])
        return [
            view(
                d,
                o,
                c,
                unit,
                latest.get((d.id, unit.id)),
                now,
                o.id in repeats,
                overrides.get(d.id),
            )
            for d, o, c in rows
        ]
