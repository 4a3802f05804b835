"""A coordinator's own daily digest: on at the deployment's time, at a time of their own,
or muted. The reminder dispatcher reads the same rows (`digest_preferences`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time
from enum import StrEnum

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scheduler.nudge_policy import QuietHours
from services.access import Actor
from storage import models as m


class DigestAction(StrEnum):
    MUTE = "mute"
    UNMUTE = "unmute"
    DEFAULT = "default"  # back to the deployment's time, and on
    AT = "at"  # a time of one's own (turns the digest on)


@dataclass(frozen=True)
class DigestChange:
    action: DigestAction
    at: time | None = None  # for AT


class DigestProblem(StrEnum):
    """Why a change was refused; the catalogue has "digest.problem_<value>"."""

    UNKNOWN = "unknown"  # neither on / off / default nor a time
    BAD_TIME = "bad_time"  # looks like a time but is none (25:00)
    QUIET = "quiet"  # in quiet hours, when no message is sent
    OFF = "off"  # this deployment sends no digest at all


@dataclass(frozen=True)
class DigestSetting:
    on: bool  # the deployment sends digests and this person did not mute theirs
    at: time | None  # when it comes while on: their own time, else the deployment's
    own_time: bool  # a time of their own rather than the deployment's
    default: time | None  # the deployment's time; None: it sends no digest at all

    @property
    def available(self) -> bool:
        return self.default is not None


_WORDS = {
    DigestAction.MUTE: ("off", "mute", "stop", "关", "关闭", "停", "停止", "静音"),
    DigestAction.UNMUTE: ("on", "unmute", "start", "开", "开启", "打开"),
    DigestAction.DEFAULT: ("default", "reset", "默认", "恢复默认"),
}
# 17:30, 9:05, 17：30 (the full-width colon Chinese keyboards type), 17.30, 1730.
_CLOCK = re.compile(r"(\d{1,2})[:：.](\d{2})|(\d{2})(\d{2})")


def parse_change(text: str) -> DigestChange | DigestProblem:
    """What `/digest <argument>` asks for."""
    word = text.replace(" ", "").lower()
    for action, words in _WORDS.items():
        if word in words:
            return DigestChange(action)
    found = _CLOCK.fullmatch(word)
    if found is None:
        return DigestProblem.UNKNOWN
    hour, minute = int(found[1] or found[3]), int(found[2] or found[4])
    if hour > 23 or minute > 59:
        return DigestProblem.BAD_TIME
    return DigestChange(DigestAction.AT, time(hour, minute))


class DigestService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        default_at: time | None,
        quiet: QuietHours | None = None,
    ) -> None:
        self.sessions = sessions
        self.default_at = default_at  # None: the deployment sends no digest
        self.quiet = quiet or QuietHours()

    async def setting(self, actor: Actor) -> DigestSetting | None:
        """A coordinator's current setting; None for anyone else."""
        if not actor.is_coordinator:
            return None
        async with self.sessions() as s:
            return self._setting(await s.get(m.DigestPreference, actor.person_id))

    async def change(
        self, actor: Actor, change: DigestChange, now: datetime
    ) -> DigestSetting | DigestProblem | None:
        """Apply a change and return the setting once it is committed; None for someone
        who is not a coordinator, a problem (nothing changed) for a change refused."""
        if not actor.is_coordinator:
            return None
        if self.default_at is None:
            return DigestProblem.OFF
        if change.at is not None and not self.quiet.allows(change.at):
            return DigestProblem.QUIET
        async with self.sessions.begin() as s:
            if change.action is DigestAction.DEFAULT:
                await s.execute(
                    delete(m.DigestPreference).where(
                        m.DigestPreference.person_id == actor.person_id
                    )
                )
                return self._setting(None)
            pref = await s.get(m.DigestPreference, actor.person_id, with_for_update=True)
            if pref is None:
                pref = m.DigestPreference(
                    person_id=actor.person_id, muted=False, local_time=None, updated_at=now
                )
                s.add(pref)
            pref.muted = change.action is DigestAction.MUTE
            if change.action is DigestAction.AT:
                pref.local_time = change.at
            pref.updated_at = now
            await s.flush()
            return self._setting(pref)

    def _setting(self, pref: m.DigestPreference | None) -> DigestSetting:
        if self.default_at is None:
            return DigestSetting(False, None, False, None)
        own = pref.local_time if pref is not None else None
        muted = pref is not None and pref.muted
        return DigestSetting(not muted, own or self.default_at, own is not None, self.default_at)
