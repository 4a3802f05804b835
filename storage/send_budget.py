"""The send budget all processes of one bot share: one row per bot and second, counting
the messages sent in it (INSERT … ON CONFLICT DO UPDATE … WHERE used < limit RETURNING)."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from storage import models as m
from storage.db import upsert


async def take(s: AsyncSession, bot: str, second: int, limit: int) -> bool:
    """One message of `second`'s budget; False when it is spent (nothing written)."""
    insert = upsert(s, m.SendBudget).values(bot=bot, second=second, used=1)
    stmt = insert.on_conflict_do_update(
        index_elements=[m.SendBudget.bot, m.SendBudget.second],
        set_={"used": m.SendBudget.used + 1},
        where=m.SendBudget.used < limit,
    ).returning(m.SendBudget.used)
    return (await s.execute(stmt)).first() is not None


async def forget_before(s: AsyncSession, second: int) -> None:
    await s.execute(delete(m.SendBudget).where(m.SendBudget.second < second))
