"""A platform's rate limit shared by every process of one bot: Telegram allows a bot about
30 messages a second, whatever number of processes send them. Each send takes a slot of
the current second from the database; a spent second waits for the next."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.ports import Button, Delivery, Notifier
from storage import send_budget


class SharedRate:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        bot: str,
        per_second: int,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.sessions, self.bot, self.per_second, self.wall = sessions, bot, per_second, wall
        self._taken = 0

    async def acquire(self) -> None:
        while True:
            now = self.wall()
            second = int(now)
            async with self.sessions.begin() as s:
                took = await send_budget.take(s, self.bot, second, self.per_second)
                if took:
                    self._taken += 1
                    if self._taken % 1000 == 0:  # keep the table small
                        await send_budget.forget_before(s, second - 60)
            if took and int(self.wall()) == second:
                return
            if took:  # the write outlasted its second (a busy database): that slot is
                continue  # spent, and the send would fall in the next one's budget
            await asyncio.sleep(second + 1 - now + 0.001)


class RateSharedNotifier:
    """A notifier whose sends take their slot of the bot's shared budget first."""

    def __init__(self, inner: Notifier, rate: SharedRate) -> None:
        self.inner, self.rate = inner, rate

    async def send(
        self, external_id: str, text: str, buttons: Sequence[Sequence[Button]] = ()
    ) -> Delivery:
        await self.rate.acquire()
        return await self.inner.send(external_id, text, buttons)
