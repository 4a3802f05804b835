"""The DingTalk adapter: a robot message becomes a core event, and the core's replies
become robot messages. DingTalk shows no buttons without a card template and has no
command menu or deep links, so the adapter declares that (choices become numbered lists,
commands are typed as words, an invitation is a 绑定码) and the core does the rest."""

from __future__ import annotations

import asyncio
import logging
import mimetypes
from collections.abc import Callable, Sequence
from datetime import datetime

from conversation.dispatch import handle
from conversation.events import Event, FileArrived, Other, Sender, Text
from conversation.replies import (
    Capabilities,
    Document,
    Edit,
    Message,
    Picture,
    Reply,
    Sent,
)
from conversation.services import AppServices
from dingtalk.api import DingTalkApi, DingTalkError, TooLarge, Unreachable
from dingtalk.protocol import Frame, RobotMessage
from services.inbox import InboxService
from services.ports import Button, Delivery

log = logging.getLogger("cuibao.dingtalk")
PLATFORM = "dingtalk"

DINGTALK = Capabilities(
    buttons=False,  # numbered lists (interactive cards need a template configured)
    can_edit=False,
    message_chars=5000,
    max_upload_bytes=20 * 1024 * 1024,
    max_download_bytes=20 * 1024 * 1024,
    pictures=True,
    slash_commands=False,  # commands by their words: 报送, 状态, 绑定 K7Q2M9
)


class Repeats:
    """DingTalk may silently drop a message identical to the one before it to the same
    person: a repeat is told apart by an invisible mark."""

    def __init__(self) -> None:
        self._last: dict[str, str] = {}

    def distinct(self, user: str, text: str) -> str:
        if self._last.get(user) == text:
            text += "\u2060"  # WORD JOINER: invisible, but not the same content
        self._last[user] = text
        return text


class DingTalkChannel:
    capabilities = DINGTALK

    def __init__(self, api: DingTalkApi, user: str, repeats: Repeats) -> None:
        self.api, self.user, self.repeats = api, user, repeats

    def invitation(self, token: str) -> str:
        return f"绑定 {token}"

    async def deliver(self, reply: Reply) -> Sent | None:
        match reply:
            case Message(text) | Edit(text):
                await self.api.send_text(self.user, self.repeats.distinct(self.user, text))
            case Document(data, name, caption):
                if caption:
                    await self.api.send_text(self.user, self.repeats.distinct(self.user, caption))
                await self.api.send_file(self.user, data, name)
            case Picture(png, name, caption):
                if caption:
                    await self.api.send_text(self.user, self.repeats.distinct(self.user, caption))
                await self.api.send_picture(self.user, png, name)
        return None  # nothing is edited later on DingTalk: a progress line is a new message


class DingTalkNotifier:
    """Nudges and notices to people on DingTalk (the core's ListingNotifier numbers their
    buttons)."""

    def __init__(self, api: DingTalkApi, repeats: Repeats) -> None:
        self.api, self.repeats = api, repeats

    async def send(
        self, external_id: str, text: str, buttons: Sequence[Sequence[Button]] = ()
    ) -> Delivery:
        try:
            await self.api.send_text(external_id, self.repeats.distinct(external_id, text))
        except Unreachable:
            return Delivery.BLOCKED
        except (DingTalkError, OSError):
            log.warning("DingTalk: a message to %s failed", external_id, exc_info=True)
            return Delivery.FAILED
        return Delivery.SENT


class DingTalkAdapter:
    def __init__(
        self,
        services: AppServices,
        api: DingTalkApi,
        inbox: InboxService,
        clock: Callable[[], datetime],
        repeats: Repeats | None = None,
    ) -> None:
        self.services, self.api, self.inbox, self.clock = services, api, inbox, clock
        self.repeats = repeats or Repeats()
        self._locks: dict[str, asyncio.Lock] = {}
        self._waiting: dict[str, int] = {}
        self.handled = 0

    async def on_robot_message(self, frame: Frame) -> None:
        """One robot message: handled once (by its msgId, in the database), and one
        person's messages one at a time, in order."""
        message = RobotMessage.parse(frame.payload())
        if message is None or not message.single_chat:
            return
        if not await self.inbox.first_time(PLATFORM, message.message_id, self.clock()):
            return  # delivered again after a reconnect: done already
        key = message.sender
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock:
                await handle(
                    self.event_of(message),
                    Sender(message.sender, message.sender_name),
                    DingTalkChannel(self.api, message.sender, self.repeats),
                    self.services,
                )
                self.handled += 1
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:
                del self._waiting[key], self._locks[key]

    def event_of(self, message: RobotMessage) -> Event:
        if message.kind == "text":
            return Text(message.text)
        if message.kind in ("file", "picture") and message.download_code:
            name = message.file_name or f"picture-{message.message_id[-12:]}.jpg"
            mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
            limit = self.services.settings.max_file_mb * 1024 * 1024

            async def fetch() -> bytes:
                try:
                    return await self.api.download(message.download_code, limit)
                except TooLarge:
                    return b""  # refused by the size check, as an empty file is

            return FileArrived(name, None, mime, fetch, is_picture=message.kind == "picture")
        return Other()
