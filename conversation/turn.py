"""One event being handled: who sent it, in which language, and how to answer them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from conversation.choices import STEP as CHOICES
from conversation.choices import listed
from conversation.events import Command, Event, Press, Sender
from conversation.i18n import Catalogue
from conversation.replies import (
    Ack,
    Activity,
    Busy,
    Channel,
    Document,
    Edit,
    Message,
    Picture,
    Sent,
)
from conversation.services import AppServices
from services.access import Actor
from services.ports import Button

# Button payloads: a short prefix, then integer ids or a field id. Anything else is refused.
PAYLOAD = re.compile(r"^([a-z]{1,6}):([0-9]{1,12})(?::([A-Za-z0-9_.-]{1,40}))?(?::([0-9]{1,3}))?$")

Rows = Sequence[Sequence[tuple[str, str]]]  # rows of (label, payload)


@dataclass(frozen=True)
class Payload:
    prefix: str
    id: int
    field: str | None
    index: int | None


def parse_callback(data: str | None) -> Payload | None:
    m = PAYLOAD.fullmatch(data or "")
    if not m:
        return None
    return Payload(
        m.group(1),
        int(m.group(2)),
        m.group(3),
        int(m.group(4)) if m.group(4) is not None else None,
    )


def callback(prefix: str, ident: int, field: str | None = None, index: int | None = None) -> str:
    parts = [prefix, str(ident)]
    if field is not None:
        parts.append(field)
    if index is not None:
        parts.append(str(index))
    return ":".join(parts)


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_message(text: str, limit: int) -> list[str]:
    """Cut a text into messages the platform accepts, at line breaks where possible
    (counted in UTF-16 code units, as Telegram counts, which is never less than others)."""
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while utf16_length(line) > limit:  # one line longer than a message: cut it
            cut = limit
            while utf16_length(line[:cut]) > limit:
                cut -= 1
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:cut])
            line = line[cut:]
        candidate = f"{current}\n{line}" if current else line
        if current and utf16_length(candidate) > limit:
            parts.append(current)
            current = line
        else:
            current = candidate
    parts.append(current)
    return parts


@dataclass
class Turn:
    """One event being handled: the actor, their language and a way to speak to them."""

    event: Event
    sender: Sender
    channel: Channel
    services: AppServices
    actor: Actor
    language: str
    now: datetime

    @property
    def catalogue(self) -> Catalogue:
        return self.services.catalogue

    @property
    def args(self) -> tuple[str, ...]:
        return self.event.args if isinstance(self.event, Command) else ()

    def t(self, key: str, **params: Any) -> str:
        return self.catalogue.text(key, self.language, **params)

    async def say(
        self, text: str, buttons: Rows = (), *, typed_answer: bool = False
    ) -> Sent | None:
        """Send a text (in several messages if it is longer than one holds: the links of
        sixty units, say); the buttons go with the last one. Where the platform shows no
        buttons they become a numbered list (`typed_answer`: the message asks for a typed
        answer, so a bare number is that answer, not a choice)."""
        rows = _rows(buttons)
        if rows and not self.channel.capabilities.buttons:
            heading = self.t("choices.heading_words" if typed_answer else "choices.heading")
            text, offered = listed(text, rows, heading, numbers=not typed_answer)
            await self.services.steps.put(
                self.actor.person_id, CHOICES, offered.to_json(), self.now
            )
            rows = ()
        *first, last = split_message(text, self.channel.capabilities.message_chars)
        for part in first:
            await self.channel.deliver(Message(part))
        return await self.channel.deliver(Message(last, rows))

    async def edit_or_say(
        self, text: str, buttons: Rows = (), *, typed_answer: bool = False
    ) -> None:
        """Replace the message whose button was pressed (keeps the chat short on a phone);
        a new message where that cannot be done."""
        capabilities = self.channel.capabilities
        fits = len(split_message(text, capabilities.message_chars)) == 1
        if (
            isinstance(self.event, Press)
            and capabilities.can_edit
            and fits
            and (capabilities.buttons or not buttons)
        ):
            await self.channel.deliver(Edit(text, _rows(buttons)))
        else:
            await self.say(text, buttons, typed_answer=typed_answer)

    async def ack(self, text: str | None = None) -> None:
        """Answer a button press itself; nothing for other events."""
        if isinstance(self.event, Press):
            await self.channel.deliver(Ack(text))

    async def document(self, data: bytes, file_name: str, caption: str = "") -> None:
        await self.channel.deliver(Document(data, file_name, caption))

    async def picture(self, png: bytes, file_name: str, caption: str = "") -> None:
        await self.channel.deliver(Picture(png, file_name, caption))

    async def busy(self, activity: Activity = Activity.UPLOADING) -> None:
        await self.channel.deliver(Busy(activity))


def _rows(buttons: Rows) -> tuple[tuple[Button, ...], ...]:
    return tuple(tuple(Button(label, data) for label, data in row) for row in buttons if row)


async def open_turn(event: Event, sender: Sender, channel: Channel, services: AppServices) -> Turn:
    """Identify the sender: a person row is made for anyone who writes, with no rights."""
    now = services.clock()
    actor = await services.access.identify(sender.user_id, sender.display_name, None, now)
    language = actor.language or services.settings.language
    return Turn(event, sender, channel, services, actor, language, now)


async def refuse_stranger(t: Turn) -> None:
    """One short polite answer that says nothing about campaigns or units."""
    await t.say(t.t("access.stranger"))
