"""Slow work a person asked for (a workbook, a 通报, a picture, a notice to read), done
apart from the chat: the person is told at once that it is under way, can go on using
the bot, and gets the result on their own chat when it is done.

A `SlowJob` is plain data (it goes through JSON): which kind of work, for whom, on which
platform, with which arguments, and the progress message to update. Where it runs is
the composition root's choice (`SlowWork`):
- one process (SQLite): `conversation.slow_jobs.InProcess` runs it as a task beside the
  chats, its CPU-heavy part in a worker process (services.jobs);
- several processes (PostgreSQL, `cuibao run --role`): it is stored in the durable queue
  (bot/update_queue.py) and a `jobs` process runs it and sends its result from there, so
  neither the work nor its waiting is ever on a chat worker's loop, and a job whose
  process dies is given back to the queue instead of being lost.
Either way `conversation.slow_jobs.run` does it, in a Turn opened again for the person,
so their rights are checked when the work is done, not only when it was asked for.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from conversation.replies import Channel, Sent

if TYPE_CHECKING:  # both hold a SlowWork
    from conversation.services import AppServices
    from conversation.turn import Turn

log = logging.getLogger("cuibao.slow")


@dataclass(frozen=True)
class SlowJob:
    kind: str  # one of conversation.slow_jobs.KINDS
    platform: str
    user: str  # the person's id on the platform (their private chat with the bot)
    name: str  # the name they go by there
    person_id: int
    args: tuple[str, ...] = ()  # the command's words, as typed
    data: Mapping[str, Any] = field(default_factory=dict)  # the kind's own, JSON
    progress: str | None = None  # the progress message, as the platform finds it again
    working: str = ""  # what the progress message says while the work runs
    exclusive: bool = True  # one exclusive job per person at a time
    queued: bool = False  # the progress message said it waits behind others
    language: str = ""  # the person's, when it was asked for (for a failure told late)
    quiet: bool = False  # nobody asked for it (the digest's picture): a failure is logged

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "platform": self.platform,
            "user": self.user,
            "name": self.name,
            "person_id": self.person_id,
            "args": list(self.args),
            "data": dict(self.data),
            "progress": self.progress,
            "working": self.working,
            "exclusive": self.exclusive,
            "queued": self.queued,
            "language": self.language,
            "quiet": self.quiet,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SlowJob:
        return cls(
            kind=str(data["kind"]),
            platform=str(data["platform"]),
            user=str(data["user"]),
            name=str(data.get("name", "")),
            person_id=int(data["person_id"]),
            args=tuple(str(a) for a in data.get("args", ())),
            data=dict(data.get("data") or {}),
            progress=data.get("progress"),
            working=str(data.get("working", "")),
            exclusive=bool(data.get("exclusive", True)),
            queued=bool(data.get("queued", False)),
            language=str(data.get("language", "")),
            quiet=bool(data.get("quiet", False)),
        )


class SlowWork(Protocol):
    """Where slow jobs wait and run (the composition root picks one)."""

    @property
    def running(self) -> int:
        """Jobs this process has accepted and not finished (for tests and shutdown)."""
        ...

    async def busy(self, person_id: int) -> bool:
        """The person has an exclusive job waiting or running."""
        ...

    async def ahead(self) -> int:
        """How many jobs a new one would wait behind."""
        ...

    async def submit(self, job: SlowJob) -> None:
        """Store or start the job; when this returns it will be done."""
        ...


# The platform's channel to one person's private chat, outside any event of theirs.
ChannelFor = Callable[[str], Channel]


@dataclass(frozen=True)
class Reach:
    services: AppServices  # the platform's use cases (who a person is depends on it)
    channel: ChannelFor


class Reaches:
    """The platforms this process can answer on, for the slow jobs it runs."""

    def __init__(self) -> None:
        self.routes: dict[str, Reach] = {}

    def route(self, platform: str, services: AppServices, channel: ChannelFor) -> None:
        self.routes[platform] = Reach(services, channel)

    def get(self, platform: str) -> Reach | None:
        return self.routes.get(platform)


async def start(
    t: Turn,
    kind: str,
    working: str = "",
    *,
    args: tuple[str, ...] | None = None,
    data: Mapping[str, Any] | None = None,
    exclusive: bool = True,
) -> bool:
    """Hand `kind` to the slow workers for this turn's person. With `working`, they are
    told at once (and where the queue is long, how many jobs are ahead); an exclusive job
    is refused while they have another. False when it was not started."""
    slow = t.services.slow
    if exclusive and await slow.busy(t.actor.person_id):
        await t.say(t.t("jobs.busy"))
        return False
    progress: Sent | None = None
    ahead = await slow.ahead() if working else 0
    if working:
        text = working if not ahead else f"{working}\n{t.t('jobs.queued', ahead=ahead)}"
        progress = await t.say(text)
    job = SlowJob(
        kind,
        t.services.platform,
        t.sender.user_id,
        t.sender.display_name,
        t.actor.person_id,
        t.args if args is None else args,
        data or {},
        progress.ref if progress is not None else None,
        working,
        exclusive,
        queued=ahead > 0,
        language=t.language,
    )
    try:
        await slow.submit(job)
    except BaseException:
        if progress is not None:
            await tell(progress, t.t("jobs.not_started"))
        raise
    return True


async def tell(progress: Sent | None, text: str) -> None:
    """The progress message now says `text` (a failure to edit it loses nothing)."""
    if progress is None:
        return
    try:
        await progress.edit(text)
    except Exception:
        log.warning("could not edit a progress message", exc_info=True)


async def report(t: Turn, progress: Sent | None, text: str) -> None:
    """How the job ended, where the person sees it: on the progress message, or as a new
    message where there is none (a platform without edits)."""
    if progress is None:
        await t.say(text)
    else:
        await tell(progress, text)


async def still_coordinator(t: Turn, progress: Sent | None) -> bool:
    """In a job: the person still coordinates (rights are checked again when it runs);
    else the progress message says so. Unlike a command, it leaves a pending 退回 alone."""
    if t.actor.is_coordinator:
        return True
    await report(t, progress, t.t("access.coordinators_only"))
    return False
