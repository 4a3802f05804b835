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


class Notifier(Protocol):
    """Sends one message to a person's private chat on whatever platform they use."""

    async def send(
        self, external_id: str, text: str, buttons: Sequence[Sequence[Button]] = ()
    ) -> Delivery: ...


class ReadReceipts(Protocol):
    """A platform that tells who has read a message the bot sent (DingTalk's robot
    messages, by the query key their sending returned)."""

    async def read_by(self, query_key: str) -> set[str]: ...
