"""The bot's shared send budget (services.send_rate): a slot counts for the second it was
taken in, so a take that outlasts its second must not send in the next one's budget."""

from __future__ import annotations

from sqlalchemy import select

from services.send_rate import SharedRate
from storage import models as m
from storage.database import Database


class Wall:
    """A wall clock that reads as scripted, one reading after another."""

    def __init__(self, *readings: float) -> None:
        self.readings = list(readings)

    def __call__(self) -> float:
        return self.readings.pop(0)


async def _used(database: Database) -> dict[int, int]:
    async with database.sessions() as s:
        rows = (await s.execute(select(m.SendBudget.second, m.SendBudget.used))).all()
    return {row.second: row.used for row in rows}


async def test_a_slot_taken_as_its_second_ends_is_spent_and_the_send_takes_the_next_ones(
    database: Database,
) -> None:
    # Read at 100.6 (the slot of 100 is taken), checked at 101.1: too late for 100.
    rate = SharedRate(database.sessions, "bot", 8, Wall(100.6, 101.1, 101.2, 101.3))

    await rate.acquire()

    assert await _used(database) == {100: 1, 101: 1}


async def test_a_slot_taken_within_its_second_is_used_at_once(database: Database) -> None:
    rate = SharedRate(database.sessions, "bot", 8, Wall(100.1, 100.2))

    await rate.acquire()

    assert await _used(database) == {100: 1}
