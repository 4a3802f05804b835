"""The kinds of slow work (conversation.slow), how one job is done, and the way one
process does them itself (SQLite: `InProcess`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from conversation import export, pictures, plans, reports_view
from conversation.events import Command, Sender
from conversation.replies import Sent
from conversation.slow import Reaches, SlowJob, tell
from conversation.turn import Turn, open_turn

log = logging.getLogger("cuibao.slow")

# Each kind finishes what its command started: (the person's turn, the job, its progress
# message where the platform can edit one).
Perform = Callable[[Turn, SlowJob, Sent | None], Awaitable[None]]

KINDS: dict[str, Perform] = {
    "export": export.finish,
    "tongbao": reports_view.finish,
    "picture": pictures.finish,
    "notice": plans.finish_reading,
}


class NotServed(LookupError):
    """The job is for a platform (or of a kind) this process does not serve."""


async def run(job: SlowJob, reaches: Reaches) -> None:
    """Do `job` for its person, on their chat. A failure is told to them (and logged);
    only a job this process cannot serve at all raises."""
    reach = reaches.get(job.platform)
    perform = KINDS.get(job.kind)
    if reach is None or perform is None:
        raise NotServed(f"{job.platform}/{job.kind}")
    channel = reach.channel(job.user)
    t = await open_turn(
        Command(job.kind, job.args), Sender(job.user, job.name), channel, reach.services
    )
    progress = channel.resume(job.progress) if job.progress is not None else None
    if job.queued:  # it said how many were ahead: now it is this one's turn
        await tell(progress, job.working)
    try:
        await perform(t, job, progress)
    except Exception:
        log.exception("a slow job (%s) failed", job.kind)
        if progress is not None:
            await tell(progress, t.t("error.generic"))
        else:
            await t.say(t.t("error.generic"))


Spawn = Callable[[Coroutine[Any, Any, None]], object]


class InProcess:
    """Slow jobs as tasks of this process (one process, SQLite): at most `capacity` at
    once, the others wait their turn; one exclusive job per person."""

    def __init__(self, reaches: Reaches, spawn: Spawn, capacity: int = 2) -> None:
        self.reaches, self.spawn, self.capacity = reaches, spawn, capacity
        self._slots: asyncio.Semaphore | None = None
        self._people: set[int] = set()
        self._running = 0

    @property
    def running(self) -> int:
        return self._running

    async def busy(self, person_id: int) -> bool:
        return person_id in self._people

    async def ahead(self) -> int:
        return max(0, self._running - self.capacity + 1)

    async def submit(self, job: SlowJob) -> None:
        if job.exclusive:
            self._people.add(job.person_id)
        self._running += 1
        try:
            self.spawn(self._run(job))
        except BaseException:
            self._done(job)
            raise

    async def _run(self, job: SlowJob) -> None:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.capacity)
        try:
            async with self._slots:
                await run(job, self.reaches)
        finally:
            self._done(job)

    def _done(self, job: SlowJob) -> None:
        self._running -= 1
        if job.exclusive:
            self._people.discard(job.person_id)
