"""A confirmation is carried out once, even when two bot processes take it at the same
instant. On every configured backend."""

from __future__ import annotations

import asyncio
from datetime import datetime

from storage import models as m
from storage.database import Database
from storage.repositories import ConfirmationRepo


async def _person(database: Database, now: datetime) -> int:
    async with database.sessions.begin() as s:
        person = m.Person(
            platform="telegram", external_id="900001", display_name="王协调", created_at=now
        )
        s.add(person)
        await s.flush()
        return person.id


async def test_two_concurrent_takers_of_one_confirmation_carry_it_out_once(
    database: Database, now: datetime
) -> None:
    person = await _person(database, now)
    async with database.sessions.begin() as s:
        offered = await ConfirmationRepo(s).offer(person, "remind", 7, now)
        assert await ConfirmationRepo(s).offer(person, "remind", 7, now) == offered

    async def take() -> int | None:
        async with database.sessions.begin() as s:
            return await ConfirmationRepo(s).consume(offered, person, "remind", now)

    taken = await asyncio.gather(take(), take())

    assert sorted(taken, key=lambda x: x is None) == [7, None]
    async with database.sessions.begin() as s:  # consumed: a new offer is a new one
        assert await ConfirmationRepo(s).offer(person, "remind", 7, now) != offered
        assert await ConfirmationRepo(s).consume(offered, person + 1, "remind", now) is None
