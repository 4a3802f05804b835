"""Read receipts: which units' people have read the latest nudge, where the platform says
(DingTalk). The notifier records each message it sent with the key to ask about it; the
platform's process asks about those still unread (`refresh`), and any process reads the
answers from the database (`read_by_unit`) — /missing and the digest tell 已读未报 from
未读 by them."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.access import REPORTING
from services.ports import ReadReceipts
from storage import models as m

log = logging.getLogger("cuibao.receipts")

READ_WINDOW = timedelta(days=2)  # a nudge this long before a deadline counts for it
ASKABLE = timedelta(days=7)  # DingTalk answers about messages of the last week


class ReceiptService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        platform: str = "",
        source: ReadReceipts | None = None,
        *,
        per_refresh: int = 200,
    ) -> None:
        self.sessions, self.platform, self.source = sessions, platform, source
        self.per_refresh = per_refresh

    async def record(self, external_id: str, query_key: str, now: datetime) -> None:
        if not query_key:
            return
        async with self.sessions.begin() as s:
            s.add(
                m.MessageReceipt(
                    platform=self.platform,
                    external_id=external_id,
                    query_key=query_key,
                    sent_at=now,
                )
            )

    async def refresh(
        self, unit_ids: list[int], now: datetime, *, limit: int | None = None
    ) -> None:
        """Ask the platform about the unread messages to these units' people (no units:
        everybody's) sent within the last week, the newest first and at most `limit`
        of them; a failed question leaves the row unread."""
        if self.source is None:
            return
        q = (
            select(m.MessageReceipt.id, m.MessageReceipt.query_key, m.MessageReceipt.external_id)
            .where(
                m.MessageReceipt.platform == self.platform,
                m.MessageReceipt.read_at.is_(None),
                m.MessageReceipt.sent_at >= now - ASKABLE,
            )
            .order_by(m.MessageReceipt.sent_at.desc())
            .limit(limit or self.per_refresh)
        )
        if unit_ids:
            people = (
                select(m.Person.external_id)
                .join(m.Membership, m.Membership.person_id == m.Person.id)
                .where(
                    m.Membership.unit_id.in_(unit_ids),
                    m.Membership.role.in_(REPORTING),
                    m.Person.platform == self.platform,
                )
            )
            q = q.where(m.MessageReceipt.external_id.in_(people))
        async with self.sessions() as s:
            rows = (await s.execute(q)).all()
        if not rows:
            return
        source = self.source
        answers = await asyncio.gather(
            *(source.read_by(key) for _, key, _ in rows), return_exceptions=True
        )
        read = [
            row_id
            for (row_id, _, user), found in zip(rows, answers, strict=True)
            if isinstance(found, set) and user in found
        ]
        failed = sum(isinstance(a, BaseException) for a in answers)
        if failed:
            log.warning("read receipts: %d of %d questions failed", failed, len(rows))
        if read:
            async with self.sessions.begin() as s:
                await s.execute(
                    update(m.MessageReceipt)
                    .where(m.MessageReceipt.id.in_(read))
                    .values(read_at=now)
                )

    async def read_by_unit(self, unit_ids: list[int], since: datetime) -> dict[int, bool]:
        """For each unit with a message since `since` to one of its people on a platform
        with receipts: whether someone has read the latest one sent to them."""
        if not unit_ids:
            return {}
        async with self.sessions() as s:
            return await reads_by_unit(s, since, m.Membership.unit_id.in_(unit_ids))


async def reads_by_unit(
    s: AsyncSession, since: datetime, which: ColumnElement[bool]
) -> dict[int, bool]:
    """The read-receipt rule, in one place: a unit has read its nudge when one of its
    people has read the latest message sent to them since `since`; a unit none of whose
    people got such a message is absent. `which` picks the memberships."""
    q = (
        select(
            m.Membership.unit_id,
            m.MessageReceipt.external_id,
            m.MessageReceipt.read_at,
        )
        .join(m.Person, m.Person.id == m.Membership.person_id)
        .join(
            m.MessageReceipt,
            (m.MessageReceipt.platform == m.Person.platform)
            & (m.MessageReceipt.external_id == m.Person.external_id),
        )
        .where(
            which,
            m.Membership.role.in_(REPORTING),
            m.Membership.unit_id.is_not(None),
            m.MessageReceipt.sent_at >= since,
        )
        .order_by(m.MessageReceipt.sent_at, m.MessageReceipt.id)
    )
    latest: dict[tuple[int, str], bool] = {}
    for unit_id, person, read_at in (await s.execute(q)).all():  # in order: the last stays
        if unit_id is not None:
            latest[(unit_id, person)] = read_at is not None
    result: dict[int, bool] = {}
    for (unit_id, _person), was_read in latest.items():
        result[unit_id] = result.get(unit_id, False) or was_read
    return result
