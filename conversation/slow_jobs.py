"""The kinds of slow work (conversation.slow), how one job is done, and the way one
process does them itself (SQLite: `InProcess`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from conversation import export, pictures, plans, reports_view
from conversation.events import Command, Sender
from conversation.replies import Channel, Message, Sent
from conversation.slow import Reach, Reaches, SlowJob, tell
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


async def run(job: SlowJob, reaches: Reaches, *, give_up: bool = False) -> None:
    """Do `job` for its person, on their chat. A failure is told to them (and logged),
    unless nobody asked for the job; only a job this process cannot serve at all raises.
    `give_up`: it was cut off too often (its process stopped, again and again): the
    person is told it will not be done, and nothing more is tried."""
    reach = reaches.get(job.platform)
    perform = KINDS.get(job.kind)
    if reach is None or perform is None:
        raise NotServed(f"{job.platform}/{job.kind}")
    channel = reach.channel(job.user)
    progress = channel.resume(job.progress) if job.progress is not None else None
    if give_up:
        log.error("a slow job (%s) was cut off too often; given up", job.kind)
        await _failed(job, reach, channel, progress, "jobs.gave_up")
        return
    try:
        t = await open_turn(
            Command(job.kind, job.args), Sender(job.user, job.name), channel, reach.services
        )
    except Exception:  # the database away, say: the person still hears of it
        log.exception("a slow job (%s) could not start", job.kind)
        await _failed(job, reach, channel, progress, "error.generic")
        return
    if job.queued:  # it said how many were ahead: now it is this one's turn
        await tell(progress, job.working)
    try:
        await perform(t, job, progress)
    except Exception:
        log.exception("a slow job (%s) failed", job.kind)
        await _failed(job, reach, channel, progress, "error.generic", t.language)


async def _failed(
    job: SlowJob,
    reach: Reach,
    channel: Channel,
    progress: Sent | None,
    key: str,
    language: str | None = None,
) -> None:
    """Tell the person their job ended without its result: on the progress message, else
    in a message of its own; nothing for a job nobody asked for."""
    if job.quiet:
        return
    services = reach.services
    text = services.catalogue.text(key, language or job.language or services.settings.language)
    if progress is not None:
        await tell(progress, text)
        return
    try:
        await channel.deliver(Message(text))
    except Exception:
        log.warning("could not tell a person their slow job failed", exc_info=True)


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
