"""In-memory records the fake keeps: users, chats, messages, files, callback queries."""

from __future__ import annotations

import asyncio
import base64
import time
from dataclasses import dataclass, field
from typing import Any

JSONDict = dict[str, Any]


def now_ts() -> int:
    return int(time.time())


class Notifier:
    """Wakes every waiter on each change; waiters re-check their condition afterwards."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, seconds: float) -> bool:
        event = self._event
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation
        # that arrives as the event is set, and a loop waiting here never stops.
        try:
            async with asyncio.timeout(max(0.0, seconds)):
                await event.wait()
        except TimeoutError:
            return False
        return True


@dataclass
class SimUser:
    id: int
    first_name: str
    username: str | None = None
    last_name: str | None = None
    language_code: str | None = None
    is_bot: bool = False

    def to_api(self) -> JSONDict:
        data: JSONDict = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        return data

    def to_json(self) -> JSONDict:
        return self.to_api()


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    kind: str  # "document" or "photo"
    data: bytes
    file_name: str | None
    mime_type: str | None
    file_path: str
    width: int = 0
    height: int = 0

    @property
    def file_size(self) -> int:
        return len(self.data)

    def to_api(self) -> JSONDict:
        if self.kind == "photo":
            return {
                "file_id": self.file_id,
                "file_unique_id": self.file_unique_id,
                "file_size": self.file_size,
                "width": self.width,
                "height": self.height,
            }
        data: JSONDict = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.file_size,
        }
        if self.file_name is not None:
            data["file_name"] = self.file_name
        if self.mime_type is not None:
            data["mime_type"] = self.mime_type
        return data

    def to_json(self) -> JSONDict:
        return {
            **self.to_api(),
            "kind": self.kind,
            "file_path": self.file_path,
            "file_name": self.file_name,
            "mime_type": self.mime_type,
            "data_b64": base64.b64encode(self.data).decode("ascii"),
        }


@dataclass
class Edit:
    """One successful edit of a message, as the bot requested it."""

    method: str
    date: int
    text: str | None = None
    caption: str | None = None
    reply_markup: JSONDict | None = None

    def to_json(self) -> JSONDict:
        return {
            "method": self.method,
            "date": self.date,
            "text": self.text,
            "caption": self.caption,
            "reply_markup": self.reply_markup,
        }


@dataclass
class ChatMessage:
    """A message in a chat, sent by the bot or injected from a simulated user.

    ``text`` / ``caption`` are what the user sees (markup removed, like Telegram returns it);
    ``raw_text`` / ``raw_caption`` are what the bot sent, together with ``parse_mode``.
    ``reply_markup`` is the markup as sent, including reply keyboards that Telegram itself
    does not echo back.  Edits are applied in place and listed in ``edits``.
    """

    chat_id: int
    message_id: int
    date: int
    from_bot: bool
    sender: JSONDict
    text: str | None = None
    raw_text: str | None = None
    parse_mode: str | None = None
    entities: list[JSONDict] = field(default_factory=list)
    caption: str | None = None
    raw_caption: str | None = None
    caption_entities: list[JSONDict] = field(default_factory=list)
    reply_markup: JSONDict | None = None
    document: StoredFile | None = None
    photo: StoredFile | None = None
    reply_to_message_id: int | None = None
    edits: list[Edit] = field(default_factory=list)
    edit_date: int | None = None
    deleted: bool = False
    link_preview_options: JSONDict | None = None

    @property
    def inline_keyboard(self) -> list[list[JSONDict]]:
        if self.reply_markup is None:
            return []
        rows = self.reply_markup.get("inline_keyboard")
        return rows if isinstance(rows, list) else []

    @property
    def buttons(self) -> list[JSONDict]:
        """Inline buttons, row by row, flattened."""
        return [button for row in self.inline_keyboard for button in row]

    @property
    def button_texts(self) -> list[str]:
        return [str(button.get("text", "")) for button in self.buttons]

    def callback_data(self, text: str) -> str:
        """The callback_data of the inline button whose text is or contains ``text``."""
        exact = [b for b in self.buttons if b.get("text") == text and "callback_data" in b]
        loose = [b for b in self.buttons if text in str(b.get("text")) and "callback_data" in b]
        found = exact or loose
        if not found:
            raise LookupError(
                f"no callback button {text!r} on message {self.message_id}; "
                f"buttons: {self.button_texts}"
            )
        return str(found[0]["callback_data"])

    @property
    def document_bytes(self) -> bytes | None:
        return self.document.data if self.document is not None else None

    @property
    def content(self) -> str:
        """Text or caption, whichever the message has (handy in predicates)."""
        return self.text if self.text is not None else (self.caption or "")

    def to_json(self) -> JSONDict:
        return {
            "chat_id": self.chat_id,
            "message_id": self.message_id,
            "date": self.date,
            "from_bot": self.from_bot,
            "from": self.sender,
            "text": self.text,
            "raw_text": self.raw_text,
            "parse_mode": self.parse_mode,
            "entities": self.entities,
            "caption": self.caption,
            "raw_caption": self.raw_caption,
            "reply_markup": self.reply_markup,
            "document": self.document.to_json() if self.document else None,
            "photo": self.photo.to_json() if self.photo else None,
            "reply_to_message_id": self.reply_to_message_id,
            "edits": [edit.to_json() for edit in self.edits],
            "edit_date": self.edit_date,
            "deleted": self.deleted,
        }


@dataclass
class CallbackAnswer:
    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int | None
    date: int

    def to_json(self) -> JSONDict:
        return {
            "text": self.text,
            "show_alert": self.show_alert,
            "url": self.url,
            "cache_time": self.cache_time,
            "date": self.date,
        }


@dataclass
class CallbackRecord:
    id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str
    answer: CallbackAnswer | None = None

    @property
    def answered(self) -> bool:
        return self.answer is not None

    def to_json(self) -> JSONDict:
        return {
            "id": self.id,
            "user_id": self.user_id,
            "chat_id": self.chat_id,
            "message_id": self.message_id,
            "data": self.data,
            "answered": self.answered,
            "answer": self.answer.to_json() if self.answer else None,
        }


@dataclass
class ChatState:
    id: int
    type: str
    user: SimUser
    messages: dict[int, ChatMessage] = field(default_factory=dict)
    next_message_id: int = 1
    blocked: bool = False
    actions: list[str] = field(default_factory=list)
    # Current reply keyboard shown to the user (None once removed or never sent).
    reply_keyboard: JSONDict | None = None
    menu_button: JSONDict | None = None

    def allocate_message_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id

    def to_api(self) -> JSONDict:
        data: JSONDict = {"id": self.id, "type": self.type, "first_name": self.user.first_name}
        if self.user.last_name:
            data["last_name"] = self.user.last_name
        if self.user.username:
            data["username"] = self.user.username
        return data


@dataclass
class ApiCall:
    """One Bot API call as the fake saw it (file contents replaced by their sizes)."""

    method: str
    params: JSONDict
    status: int = 0
    at: float = field(default_factory=time.monotonic)

    def to_json(self) -> JSONDict:
        return {"method": self.method, "params": self.params, "status": self.status}
