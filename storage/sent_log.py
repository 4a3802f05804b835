"""The delivery log of nudges and digests (models.SentReminder): the SQL that claims a
message before it is sent, takes over a failed or stale claim, and records the outcome.
The unique key (deadline, unit, person, step) makes each message go out at most once
however many processes claim it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import Table, Text, bindparam, delete, exists, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage import models as m

CLAIMED, SENT, BLOCKED, FAILED = "claimed", "sent", "blocked", "failed"
UNKNOWN = "unknown"  # sent, no answer: perhaps delivered; never sent again
STALE_MARK = "stale claim of "  # the error a taken-over claim carries
Key = tuple[int, int | None, int, str]  # deadline, unit, person, step
T = TypeVar("T")


def _table() -> Table:
    return cast(Table, m.SentReminder.__table__)


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _chunks(items: Sequence[T], size: int) -> Iterable[list[T]]:
    for i in range(0, len(items), max(1, size)):
        yield list(items[i : i + size])


class SentLog:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def entries(self, deadline_ids: list[int]) -> dict[Key, m.SentReminder]:
        """Every logged message of these deadlines, by key."""
        found: dict[Key, m.SentReminder] = {}
        for chunk in _chunks(deadline_ids, 500):
            q = select(m.SentReminder).where(m.SentReminder.deadline_id.in_(chunk))
            for row in (await self.s.scalars(q)).all():
                found[(row.deadline_id, row.unit_id, row.person_id, row.step)] = row
        return found

    def _insert_new(self, rows: list[dict[str, Any]]) -> Any:
        """INSERT … ON CONFLICT DO NOTHING: a row someone else inserted first is skipped."""
        if self.s.get_bind().dialect.name == "postgresql":
            return postgresql.insert(_table()).values(rows).on_conflict_do_nothing()
        return sqlite.insert(_table()).values(rows).on_conflict_do_nothing()

    async def claim(self, rows: list[dict[str, Any]]) -> dict[Key, int]:
        """Insert claims; the keys won (another process's inserts are not ours) with ids."""
        if not rows:
            return {}
        t = _table()
        stmt = self._insert_new(rows).returning(
            t.c.id, t.c.deadline_id, t.c.unit_id, t.c.person_id, t.c.step
        )
        return {
            (r.deadline_id, r.unit_id, r.person_id, r.step): r.id
            for r in (await self.s.execute(stmt)).all()
        }

    async def claim_unitless(self, row: dict[str, Any], campaign_id: int) -> int | None:
        """A claim without a unit (NULLs never collide in a unique key): lock the
        recipient's row and look first; a digest counts once per campaign. None if another
        process has it."""
        person_id, step = row["person_id"], row["step"]
        await self.s.execute(select(m.Person.id).where(m.Person.id == person_id).with_for_update())
        same = select(m.SentReminder.id).where(
            m.SentReminder.person_id == person_id,
            m.SentReminder.step == step,
            m.SentReminder.unit_id.is_(None),
        )
        if step.startswith("digest-"):
            same = same.join(m.Deadline, m.Deadline.id == m.SentReminder.deadline_id).where(
                m.Deadline.campaign_id == campaign_id
            )
        else:
            same = same.where(m.SentReminder.deadline_id == row["deadline_id"])
        if await self.s.scalar(select(exists(same))):
            return None
        claimed = m.SentReminder(**row)
        self.s.add(claimed)
        await self.s.flush()
        return claimed.id

    async def renew(self, worker: str, ids: Sequence[int], until: datetime) -> None:
        """Extend this worker's leases on claims it still holds (sends under way)."""
        for chunk in _chunks(list(ids), 500):
            await self.s.execute(
                update(m.SentReminder)
                .where(
                    m.SentReminder.id.in_(chunk),
                    m.SentReminder.status == CLAIMED,
                    m.SentReminder.claimed_by == worker,
                )
                .values(lease_until=until)
                .execution_options(synchronize_session=False)
            )

    async def release(self, worker: str, ids: Sequence[int]) -> None:
        """Give back claims never sent (the process is stopping): fresh ones are deleted,
        so any process claims them anew at once; a retry goes back to failed, due now."""
        for chunk in _chunks(list(ids), 500):
            mine = (
                m.SentReminder.id.in_(chunk),
                m.SentReminder.status == CLAIMED,
                m.SentReminder.claimed_by == worker,
            )
            await self.s.execute(
                delete(m.SentReminder)
                .where(*mine, m.SentReminder.attempts == 1)
                .execution_options(synchronize_session=False)
            )
            await self.s.execute(
                update(m.SentReminder)
                .where(*mine, m.SentReminder.attempts > 1)
                .values(status=FAILED, attempts=m.SentReminder.attempts - 1, error="released")
                .execution_options(synchronize_session=False)
            )

    async def take_over(
        self, row: m.SentReminder, now: datetime, worker: str, lease: datetime | None = None
    ) -> bool:
        """Claim a failed row due for a retry, or a stale claim (compare-and-set: True if
        this call got it)."""
        stale = row.status == CLAIMED
        error = f"{STALE_MARK}{row.claimed_by}" if stale else row.error
        result = await self.s.execute(
            update(m.SentReminder)
            .where(
                m.SentReminder.id == row.id,
                m.SentReminder.status == row.status,
                m.SentReminder.attempts == row.attempts,
                m.SentReminder.claimed_by == row.claimed_by,
            )
            .values(
                status=CLAIMED,
                claimed_at=now,
                claimed_by=worker,
                attempts=row.attempts + 1,
                error=error,
                lease_until=lease,
            )
            .execution_options(synchronize_session=False)
        )
        return _rowcount(result) == 1

    async def give_up(self, row: m.SentReminder, max_attempts: int) -> None:
        await self.s.execute(
            update(m.SentReminder)
            .where(
                m.SentReminder.id == row.id,
                m.SentReminder.status == CLAIMED,
                m.SentReminder.claimed_by == row.claimed_by,
            )
            .values(
                status=FAILED,
                attempts=max_attempts,
                error=(row.error or "") + "; gave up: claim went stale twice",
            )
            .execution_options(synchronize_session=False)
        )

    async def record(self, worker: str, outcomes: list[dict[str, Any]]) -> None:
        """Outcomes of this worker's claims, in one statement: dicts of b_id, b_status,
        b_sent_at and b_error (None keeps an earlier error)."""
        t = _table()
        stmt = (
            update(t)
            .where(t.c.id == bindparam("b_id"), t.c.status == CLAIMED, t.c.claimed_by == worker)
            .values(
                status=bindparam("b_status"),
                sent_at=bindparam("b_sent_at", type_=t.c.sent_at.type),
                error=func.coalesce(bindparam("b_error", type_=Text()), t.c.error),
            )
        )
        conn = await self.s.connection()
        await conn.execute(stmt, outcomes)

    async def unreachable(
        self, person_id: int, notices: list[dict[str, Any]]
    ) -> dict[int, int] | None:
        """Mark the person unreachable; if this call flipped the flag, claim the notices to
        the coordinators (person id -> claim id). None if someone else flipped it."""
        flipped = await self.s.execute(
            update(m.Person)
            .where(m.Person.id == person_id, m.Person.reachable.is_(True))
            .values(reachable=False)
            .execution_options(synchronize_session=False)
        )
        if _rowcount(flipped) != 1:
            return None
        if not notices:
            return {}
        t = _table()
        stmt = self._insert_new(notices).returning(t.c.id, t.c.person_id)
        return {r.person_id: r.id for r in (await self.s.execute(stmt)).all()}
