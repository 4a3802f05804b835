"""The DingTalk adapter: a robot message or a card button becomes a core event, and the
core's replies become robot messages and interactive cards. DingTalk has no command menu
or deep links, and shows buttons only on a card built from a template the operator made,
so the adapter declares what it can do (with no template choices become numbered lists;
commands are typed as words; an invitation is a 绑定码) and the core does the rest."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import mimetypes
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from conversation.dispatch import handle
from conversation.events import Event, FileArrived, FileTooLarge, Other, Press, Sender, Text
from conversation.replies import (
    Ack,
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
from dingtalk.protocol import CARD_TOPIC, CardCallback, Frame, RobotMessage
from services.inbox import InboxService
from services.ports import Button, Delivery
from services.receipts import ReceiptService

log = logging.getLogger("cuibao.dingtalk")
PLATFORM = "dingtalk"


def _queued(frame: Frame, key: str, created: object = None) -> dict[str, Any]:
    """A frame as the queue keeps it: `update_id` is what a repeat is known by, `order`
    where it stands among the person's messages (DingTalk's createAt, in ms; when it has
    none, the time it was received), `received` when this process got it (ms)."""
    received = int(time.time() * 1000)
    return {
        "update_id": key,
        "order": created if isinstance(created, int) else received,
        "received": received,
        "topic": frame.topic,
        "frame": frame.message_id,
        "data": frame.data,
    }


DINGTALK = Capabilities(
    buttons=False,  # numbered lists (interactive cards need a template configured)
    can_edit=False,
    message_chars=5000,
    max_upload_bytes=20 * 1024 * 1024,
    max_download_bytes=20 * 1024 * 1024,
    pictures=True,
    slash_commands=False,  # commands by their words: 报送, 状态, 绑定 K7Q2M9
)
# With a card template configured: buttons on cards, and a pressed card can be changed.
DINGTALK_CARDS = dataclasses.replace(DINGTALK, buttons=True, can_edit=True)


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


class Cards:
    """Interactive cards from the operator's template: `content` (the text) and `buttons`
    (a JSON list of {label, data}; each button passes its `data` back when pressed)."""

    REMEMBERED = 2000  # cards whose text a press can still quote

    def __init__(self, api: DingTalkApi, template_id: str) -> None:
        self.api, self.template_id = api, template_id
        self._texts: OrderedDict[str, str] = OrderedDict()

    @staticmethod
    def params(text: str, buttons: Sequence[Sequence[Button]]) -> dict[str, str]:
        flat = [{"label": b.label, "data": b.data} for row in buttons for b in row]
        return {
            "content": text,
            "buttons": json.dumps(flat, ensure_ascii=False),
            "has_buttons": "true" if flat else "false",
        }

    async def send(self, user: str, text: str, buttons: Sequence[Sequence[Button]]) -> None:
        card = uuid.uuid4().hex
        self._remember(card, text)
        await self.api.send_card(user, self.template_id, card, self.params(text, buttons))

    async def update(self, card: str, text: str, buttons: Sequence[Sequence[Button]]) -> None:
        self._remember(card, text)
        await self.api.update_card(card, self.params(text, buttons))

    def text_of(self, card: str) -> str | None:
        """The text a card shows, if this process sent it lately."""
        return self._texts.get(card)

    def _remember(self, card: str, text: str) -> None:
        self._texts[card] = text
        self._texts.move_to_end(card)
        while len(self._texts) > self.REMEMBERED:
            self._texts.popitem(last=False)


class DingTalkChannel:
    def __init__(
        self,
        api: DingTalkApi,
        user: str,
        repeats: Repeats,
        cards: Cards | None = None,
        pressed: str | None = None,
    ) -> None:
        self.api, self.user, self.repeats = api, user, repeats
        self.cards, self.pressed = cards, pressed  # pressed: the card whose button it was
        self.capabilities = DINGTALK if cards is None else DINGTALK_CARDS

    def invitation(self, token: str) -> str:
        return f"绑定 {token}"

    def resume(self, ref: str) -> Sent | None:
        return None  # DingTalk messages are not edited: a progress line is a new message

    async def deliver(self, reply: Reply) -> Sent | None:
        match reply:
            case Edit(text, buttons) if self.cards is not None and self.pressed is not None:
                await self.cards.update(self.pressed, text, buttons)
            case Message(text, buttons) | Edit(text, buttons) if self.cards and any(buttons):
                await self.cards.send(self.user, text, buttons)
            case Message(text) | Edit(text) | Ack(text) if text:
                # A press answered with a line (Telegram's toast) is a message here.
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
    """Nudges and notices to people on DingTalk: their buttons on a card where a template
    is configured (otherwise the core's ListingNotifier has numbered them already)."""

    def __init__(
        self,
        api: DingTalkApi,
        repeats: Repeats,
        cards: Cards | None = None,
        receipts: ReceiptService | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.api, self.repeats, self.cards = api, repeats, cards
        self.receipts, self.clock = receipts, clock

    async def send(
        self, external_id: str, text: str, buttons: Sequence[Sequence[Button]] = ()
    ) -> Delivery:
        try:
            if self.cards is not None and any(buttons):
                await self.cards.send(external_id, text, buttons)  # DingTalk: no read state
            else:
                key = await self.api.send_text(
                    external_id, self.repeats.distinct(external_id, text)
                )
                await self._remember(external_id, key)
        except Unreachable:
            return Delivery.BLOCKED
        except (DingTalkError, OSError):
            log.warning("DingTalk: a message to %s failed", external_id, exc_info=True)
            return Delivery.FAILED
        return Delivery.SENT

    async def _remember(self, external_id: str, key: str) -> None:
        """Keep the key to ask whether it was read; the message is sent either way, so
        a failure here must not make it look unsent (and be sent again)."""
        if self.receipts is None or self.clock is None:
            return
        try:
            await self.receipts.record(external_id, key, self.clock())
        except Exception:
            log.warning("DingTalk: a read receipt could not be kept", exc_info=True)


# Stores a frame in the durable queue (`cuibao run --role`, bot/queued.py): the person's
# id (the queue's lock) and the frame as the queue keeps it; committed when it returns.
Forward = Callable[[str, dict[str, Any]], Awaitable[None]]


class DingTalkAdapter:
    def __init__(
        self,
        services: AppServices,
        api: DingTalkApi,
        inbox: InboxService,
        clock: Callable[[], datetime],
        repeats: Repeats | None = None,
        cards: Cards | None = None,
        forward: Forward | None = None,
    ) -> None:
        self.services, self.api, self.inbox, self.clock = services, api, inbox, clock
        self.repeats = repeats or Repeats()
        self.cards = cards
        self.forward = forward
        self._locks: dict[str, asyncio.Lock] = {}
        self._waiting: dict[str, int] = {}
        self.handled = 0

    def channel_to(self, user: str) -> DingTalkChannel:
        """A person's chat with the robot, outside any message of theirs (a slow job's
        result)."""
        return DingTalkChannel(self.api, user, self.repeats, self.cards)

    async def on_robot_message(self, frame: Frame) -> None:
        """One robot message: handled once (by its msgId, in the database), and one
        person's messages one at a time, in order. With a queue, only stored: a worker of
        any process handles it (`handle_queued`), and the frame is acknowledged once the
        queue holds it."""
        message = RobotMessage.parse(frame.payload())
        if message is None or not message.single_chat:
            return
        if self.forward is not None:
            created = frame.payload().get("createAt")
            await self.forward(message.sender, _queued(frame, message.message_id, created))
            return
        if not await self.inbox.first_time(PLATFORM, message.message_id, self.clock()):
            return  # delivered again after a reconnect: done already
        await self._in_order(*self._robot(message))

    async def on_card_callback(self, frame: Frame) -> dict[str, object]:
        """A card's button pressed: a Press, handled once and in order with the person's
        messages. The card itself is changed by the replies (an Edit updates it)."""
        pressed = CardCallback.parse(frame.payload())
        if pressed is None or self.cards is None:
            return {}
        key = f"card:{frame.message_id}"
        if self.forward is not None:
            await self.forward(pressed.user, _queued(frame, key))
        elif await self.inbox.first_time(PLATFORM, key, self.clock()):
            await self._in_order(*self._card(pressed))
        return {}

    async def handle_queued(self, data: dict[str, Any]) -> None:
        """A frame `on_robot_message` or `on_card_callback` stored in the queue, taken by a
        worker: the queue keeps the person's frames in order and skips a repeated one."""
        frame = Frame("CALLBACK", str(data["topic"]), str(data["frame"]), str(data["data"]))
        if frame.topic == CARD_TOPIC:
            pressed = CardCallback.parse(frame.payload())
            if pressed is not None and self.cards is not None:
                await handle(*self._card(pressed), self.services)
            return
        message = RobotMessage.parse(frame.payload())
        if message is not None:
            await handle(*self._robot(message), self.services)

    def _robot(self, message: RobotMessage) -> tuple[Event, Sender, DingTalkChannel]:
        return (
            self.event_of(message),
            Sender(message.sender, message.sender_name),
            DingTalkChannel(self.api, message.sender, self.repeats, self.cards),
        )

    def _card(self, pressed: CardCallback) -> tuple[Event, Sender, DingTalkChannel]:
        assert self.cards is not None
        return (
            Press(pressed.data, self.cards.text_of(pressed.out_track_id)),
            Sender(pressed.user, ""),
            DingTalkChannel(
                self.api, pressed.user, self.repeats, self.cards, pressed.out_track_id
            ),
        )

    async def _in_order(self, event: Event, sender: Sender, channel: DingTalkChannel) -> None:
        """One person's events one at a time, in the order they arrived."""
        key = sender.user_id
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock:
                await handle(event, sender, channel, self.services)
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
                    raise FileTooLarge(limit) from None

            return FileArrived(name, None, mime, fetch, is_picture=message.kind == "picture")
        return Other()
