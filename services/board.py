"""The progress board of a campaign (units × deadlines, one cell state each), read with
four narrow statements whatever the size: no submission objects are built and no answers
decoded. The status picture, the 通报 and `cuibao status` all start here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.board import Board, BoardDeadline, BoardUnit, Cell, cell
from domain.status import Counts, OverrideKind, RevisionStatus, State, due_for, state, tally
from services.access import Actor
from services.campaign_reads import latest_revisions_subquery, overrides_for
from storage import models as m


class PeriodKind(StrEnum):
    DEADLINE = "deadline"  # one deadline
    WEEK = "week"  # the calendar week (Monday to Sunday) of now
    MONTH = "month"  # the calendar month of now
    ALL = "all"  # the campaign to date


@dataclass(frozen=True)
class Period:
    kind: PeriodKind
    deadline_id: int | None = None

    @classmethod
    def parse(cls, text: str) -> Period | None:
        """`deadline:<id>`, `week`, `month` or `all`; None for anything else."""
        word = text.strip().lower()
        if word.startswith("deadline:"):
            ident = word.removeprefix("deadline:")
            return cls(PeriodKind.DEADLINE, int(ident)) if ident.isdigit() else None
        try:
            kind = PeriodKind(word)
        except ValueError:
            return None
        return None if kind is PeriodKind.DEADLINE else cls(kind)

    def span(self, today: date) -> tuple[date, date] | None:
        """The days a week or a month covers; None when no day bounds it."""
        if self.kind is PeriodKind.WEEK:
            start = today - timedelta(days=today.weekday())
            return start, start + timedelta(days=6)
        if self.kind is PeriodKind.MONTH:
            start = today.replace(day=1)
            after = (start + timedelta(days=32)).replace(day=1)
            return start, after - timedelta(days=1)
        return None


@dataclass(frozen=True)
class CampaignBoard:
    campaign_id: int
    code: str
    board: Board
    span: tuple[date, date] | None = None  # the days a 通报's period covers
    # Per deadline of the board, /status's counts, made in the same pass as the cells.
    counts: tuple[Counts, ...] = ()


class BoardService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def board(
        self,
        actor: Actor | None,
        code: str | int | None,
        now: datetime,
        *,
        window: int | None = None,
        period: Period | None = None,
    ) -> CampaignBoard | None:
        """The campaign's board (the actor's most recent campaign when no code is given;
        None when there is none or it is not theirs; actor None: the command line).
        `window`: the last few deadlines passed and the next few, as /status shows them;
        `period`: the deadlines of a 通报, already due, within the period. An int `code`
        is the campaign's row id (the digest knows campaigns by id)."""
        async with self.sessions() as s:
            campaign = await self._campaign(s, actor, code)
            if campaign is None:
                return None
            tz = ZoneInfo(campaign.timezone)
            deadlines = await self._deadlines(s, campaign.id)
            repeats = _repeating(deadlines)
            span = period.span(now.astimezone(tz).date()) if period else None
            picked = _pick(deadlines, now, tz, window, period, span)
            units = await self._units(s, campaign.id)
            latest = await self._latest(s, [d.id for d in picked])
            overrides = await overrides_for(s, deadline_ids=[d.id for d in picked])
        heads = tuple(
            BoardDeadline(
                d.id,
                d.title,
                d.seq,
                d.obligation_id in repeats,
                d.due_at.astimezone(tz),
                _period_of(d),
            )
            for d in picked
        )
        passed = [d.due_at < now for d in picked]
        cells = []
        pairs: list[list[tuple[State, bool]]] = [[] for _ in picked]
        extended = [0] * len(picked)
        for u in units:
            row: list[Cell | None] = []
            for j, (d, due_passed) in enumerate(zip(picked, passed, strict=True)):
                if d.unit_codes is not None and u.code not in d.unit_codes:
                    row.append(None)
                    continue
                sub = latest.get((d.id, u.id))
                override = overrides.get((d.id, u.id))
                if override is not None:  # 免报 / 延期: the unit's own due time, if any
                    due = due_for(d.due_at, override)
                    due_passed = due is not None and due < now
                    extended[j] += override.kind is OverrideKind.EXTENDED
                compared = {
                    "passed": due_passed,
                    "submitted": sub is not None,
                    "late": bool(sub and sub.late),
                    "returned": bool(sub and sub.status == RevisionStatus.RETURNED),
                    "exempt": override is not None and override.kind is OverrideKind.EXEMPT,
                }
                row.append(cell(nil=bool(sub and sub.nil), **compared))
                pairs[j].append((state(**compared), bool(sub and sub.nil)))
            cells.append(tuple(row))
        board = Board(
            campaign.name,
            campaign.office,
            now.astimezone(tz),
            tuple(BoardUnit(u.name, u.group) for u in units),
            heads,
            tuple(cells),
        )
        counts = tuple(tally(p, x) for p, x in zip(pairs, extended, strict=True))
        return CampaignBoard(campaign.id, campaign.code, board, span, counts)

    async def _campaign(
        self, s: AsyncSession, actor: Actor | None, code: str | int | None
    ) -> m.Campaign | None:
        q = select(m.Campaign).order_by(m.Campaign.updated_at.desc(), m.Campaign.id.desc())
        if isinstance(code, int):
            q = q.where(m.Campaign.id == code)
        elif code is not None:
            q = q.where(m.Campaign.code == code)
        for campaign in (await s.scalars(q)).all():
            if actor is None or actor.coordinates(campaign.id):
                return campaign
        return None

    async def _deadlines(self, s: AsyncSession, campaign_id: int) -> list[_DeadlineRow]:
        q = (
            select(
                m.Deadline.id,
                m.Deadline.seq,
                m.Deadline.due_at,
                m.Deadline.period_start,
                m.Deadline.period_end,
                m.Deadline.obligation_id,
                m.Obligation.title,
                m.Obligation.unit_codes,
            )
            .join(m.Obligation, m.Obligation.id == m.Deadline.obligation_id)
            .where(m.Deadline.campaign_id == campaign_id, m.Deadline.cancelled.is_(False))
            .order_by(m.Deadline.due_at, m.Obligation.position, m.Deadline.id)
        )
        return [
            _DeadlineRow(
                r.id,
                r.seq,
                r.due_at,
                r.period_start,
                r.period_end,
                r.obligation_id,
                r.title,
                r.unit_codes,
            )
            for r in (await s.execute(q)).all()
        ]

    async def _units(self, s: AsyncSession, campaign_id: int) -> list[_UnitRow]:
        q = (
            select(m.Unit.id, m.Unit.code, m.Unit.name, m.Unit.group)
            .where(m.Unit.campaign_id == campaign_id, m.Unit.active.is_(True))
            .order_by(m.Unit.position, m.Unit.id)
        )
        return [_UnitRow(r.id, r.code, r.name, r.group) for r in (await s.execute(q)).all()]

    async def _latest(
        self, s: AsyncSession, deadline_ids: list[int]
    ) -> dict[tuple[int, int], Any]:
        """What a cell needs of each (deadline, unit)'s newest revision: its status, nil,
        and whether it came after the deadline, compared in SQL against the deadline as
        it stands now (no instant is decoded: at 3,000 units that was a third of the time)."""
        if not deadline_ids:
            return {}
        newest = latest_revisions_subquery(deadline_ids)
        standing = m.UnitDeadlineOverride
        # Late against the unit's own due time: an extension's, none for an exempt unit.
        late = and_(
            func.coalesce(standing.kind, "") != OverrideKind.EXEMPT.value,
            m.Submission.submitted_at > func.coalesce(standing.due_at, m.Deadline.due_at),
        )
        q = (
            select(
                m.Submission.deadline_id,
                m.Submission.unit_id,
                m.Submission.status,
                m.Submission.nil,
                late.label("late"),
            )
            .join(
                newest,
                (m.Submission.deadline_id == newest.c.deadline_id)
                & (m.Submission.unit_id == newest.c.unit_id)
                & (m.Submission.revision == newest.c.revision),
            )
            .join(m.Deadline, m.Deadline.id == m.Submission.deadline_id)
            .outerjoin(
                standing,
                (standing.deadline_id == m.Submission.deadline_id)
                & (standing.unit_id == m.Submission.unit_id)
                & standing.revoked_at.is_(None),
            )
        )
        return {(r.deadline_id, r.unit_id): r for r in (await s.execute(q)).all()}


@dataclass(frozen=True)
class _DeadlineRow:
    id: int
    seq: int
    due_at: datetime
    period_start: date | None
    period_end: date | None
    obligation_id: int
    title: str
    unit_codes: list[str] | None


@dataclass(frozen=True)
class _UnitRow:
    id: int
    code: str
    name: str
    group: str


def _pick(
    deadlines: list[_DeadlineRow],
    now: datetime,
    tz: ZoneInfo,
    window: int | None,
    period: Period | None,
    span: tuple[date, date] | None,
) -> list[_DeadlineRow]:
    if period is not None:
        due = [d for d in deadlines if d.due_at <= now]
        if period.kind is PeriodKind.DEADLINE:
            return [d for d in deadlines if d.id == period.deadline_id]
        if span is None:
            return due
        return [d for d in due if span[0] <= d.due_at.astimezone(tz).date() <= span[1]]
    if window is None:
        return deadlines
    past = [d for d in deadlines if d.due_at <= now]
    future = [d for d in deadlines if d.due_at > now]
    return past[-max(window - 3, 0) :] + future[:3] if window > 3 else past[-window:]


def _period_of(d: _DeadlineRow) -> tuple[date, date] | None:
    return (d.period_start, d.period_end) if d.period_start and d.period_end else None


def _repeating(deadlines: list[_DeadlineRow]) -> set[int]:
    counts: dict[int, int] = {}
    for d in deadlines:
        counts[d.obligation_id] = counts.get(d.obligation_id, 0) + 1
    return {k for k, v in counts.items() if v > 1}
