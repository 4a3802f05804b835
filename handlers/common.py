"""What every handler needs: who is talking, in which language, and how to answer."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest

from bot.context import AppServices, CustomContext
from bot.i18n import Catalogue
from services.access import Actor

# Callback payloads: a short prefix, then integer ids or a field id. Anything else is refused.
CALLBACK = re.compile(
    r"^([a-z]{1,6}):([0-9]{1,12})(?::([A-Za-z0-9_.-]{1,40}))?(?::([0-9]{1,3}))?$")


@dataclass(frozen=True)
class Payload:
    prefix: str
    id: int
    field: str | None
    index: int | None


def parse_callback(data: str | None) -> Payload | None:
    m = CALLBACK.fullmatch(data or "")
    if not m:
        return None
    return Payload(m.group(1), int(m.group(2)), m.group(3),
                   int(m.group(4)) if m.group(4) is not None else None)


def callback(prefix: str, ident: int, field: str | None = None, index: int | None = None) -> str:
    parts = [prefix, str(ident)]
    if field is not None:
        parts.append(field)
    if index is not None:
        parts.append(str(index))
    return ":".join(parts)


@dataclass
class Turn:
    """One update being handled: the actor, their language and a way to speak to them."""

    update: Update
    context: CustomContext
    actor: Actor
    language: str
    now: datetime

    @property
    def services(self) -> AppServices:
        return self.context.services

    @property
    def catalogue(self) -> Catalogue:
        return self.context.services.catalogue

    def t(self, key: str, **params: Any) -> str:
        return self.catalogue.text(key, self.language, **params)

    async def say(self, text: str, buttons: Sequence[Sequence[tuple[str, str]]] = ()
                  ) -> Message | None:
        """Send a text (in several messages if it is longer than one holds: the links of
        sixty units, say); the buttons go with the last one."""
        *first, last = split_message(text)
        for part in first:
            await self._send(part, None)
        return await self._send(last, keyboard(buttons))

    async def _send(self, text: str, markup: InlineKeyboardMarkup | None) -> Message | None:
        query = self.update.callback_query
        if query is not None and query.message is not None:
            return await self.context.bot.send_message(query.message.chat.id, text,
                                                       reply_markup=markup)
        message = self.update.effective_message
        if message is None:
            return None
        return await message.reply_text(text, reply_markup=markup)

    async def edit_or_say(self, text: str, buttons: Sequence[Sequence[tuple[str, str]]] = ()
                          ) -> None:
        """Replace the message whose button was tapped (keeps the chat short on a phone)."""
        query = self.update.callback_query
        if query is not None and query.message is not None and len(split_message(text)) == 1:
            try:
                await query.edit_message_text(text, reply_markup=keyboard(buttons))
            except BadRequest as exc:
                # A second tap asks for the very text the first one put there: done already.
                if not is_not_modified(exc):
                    raise
        else:
            await self.say(text, buttons)


def is_not_modified(exc: BadRequest) -> bool:
    """Telegram's answer to an edit that changes nothing, which is success here."""
    return "message is not modified" in exc.message.lower()


# Telegram refuses a message longer than this, counted in UTF-16 code units.
MESSAGE_LIMIT = 4096


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Cut a text into messages Telegram accepts, at line breaks where possible."""
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while utf16_length(line) > limit:  # one line longer than a message: cut it
            cut = len(line) if utf16_length(line) <= limit else limit
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


def keyboard(buttons: Sequence[Sequence[tuple[str, str]]]) -> InlineKeyboardMarkup | None:
    rows = [[InlineKeyboardButton(label, callback_data=data) for label, data in row]
            for row in buttons if row]
    return InlineKeyboardMarkup(rows) if rows else None


async def turn(update: Update, context: CustomContext) -> Turn | None:
    """Identify the sender; None for updates without a person (channel posts and such)."""
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None or chat.type != "private":
        return None
    services = context.services
    now = services.clock()
    actor = await services.access.identify(str(user.id), user.full_name, None, now)
    language = actor.language or services.settings.bot.language
    return Turn(update, context, actor, language, now)


def heavy_job_key(t: Turn) -> str:
    """Whose heavy jobs (reading a notice, building a workbook) queue behind each other:
    one person's, one at a time."""
    return f"person:{t.actor.person_id}"


async def refuse_stranger(t: Turn) -> None:
    """One short polite answer that says nothing about campaigns or units."""
    await t.say(t.t("access.stranger"))


async def ignore_edit(update: Update, context: CustomContext) -> bool:
    """True for an edited message, which is then answered with a hint and goes no further:
    answers are changed on the preview, never by editing what was sent."""
    if update.edited_message is None:
        return False
    t = await turn(update, context)
    if t is not None:
        if t.actor.is_known:
            await t.say(t.t("hint.edit_ignored"))
        else:
            await refuse_stranger(t)
    return True


async def answer_query(update: Update, text: str | None = None) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer(text)
