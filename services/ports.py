"""What the use cases need from the outside world, as protocols the edges implement."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


@dataclass(frozen=True)
class Button:
    label: str
    data: str  # opaque payload, validated again by whoever receives it


class Delivery(StrEnum):
    SENT = "sent"
    BLOCKED = "blocked"  # the person blocked the bot: do not retry, tell the coordinator
    FAILED = "failed"  # gave up after retries; may be tried again later
    ELSEWHERE = "elsewhere"  # on a platform this process does not serve
    # The request went out and no answer came (a read timeout): it may have been
    # delivered. Never sent again blindly; recorded as such, so duplicates can be counted.
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Address:
    """Where a person is reached: an id means something only on its own platform."""

    platform: str
    external_id: str


class Outbox:
    """Messages to people on whichever platform each is on: every platform this process
    serves adds its notifier; a person on another one is not sent to (ELSEWHERE) rather
    than have their id taken for somebody's on the wrong platform."""

    def __init__(self) -> None:
        self.routes: dict[str, Notifier] = {}

    def route(self, platform: str, notifier: Notifier) -> None:
        self.routes[platform] = notifier

    async def send(
        self, to: Address, text: str, buttons: Sequence[Sequence[Button]] = ()
    ) -> Delivery:
        notifier = self.routes.get(to.platform)
        if notifier is None:
            return Delivery.ELSEWHERE
        return await notifier.send(to.external_id, text, buttons)


class Notifier(Protocol):
    """Sends one message to a person's private chat on whatever platform they use."""

    async def send(
        self, external_id: str, text: str, buttons: Sequence[Sequence[Button]] = ()
    ) -> Delivery: ...


class ReadReceipts(Protocol):
    """A platform that tells who has read a message the bot sent (DingTalk's robot
    messages, by the query key their sending returned)."""

    async def read_by(self, query_key: str) -> set[str]: ...
