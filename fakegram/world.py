"""The simulated Telegram world: users, their private chats, files and what the bot did.

Everything a test injects or reads goes through :class:`World`; the HTTP layers (Bot API and
control API) are thin adapters on top of it.
"""

from __future__ import annotations

import hashlib
import itertools
import mimetypes
import re
import secrets
import struct
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from fakegram.faults import FaultInjector, FaultRule, FloodLimiter, Stats, flood_config
from fakegram.params import bad_request
from fakegram.state import (
    ApiCall,
    CallbackAnswer,
    CallbackRecord,
    ChatMessage,
    ChatState,
    Notifier,
    SimUser,
    StoredFile,
    now_ts,
)
from fakegram.updates import UpdateQueue, WebhookDelivery

JSONDict = dict[str, Any]

DEFAULT_LANGUAGE = "zh-hans"
_COMMAND_RE = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")


class _HasToDict(Protocol):
    def to_dict(self) -> JSONDict: ...


def scope_key(scope: Mapping[str, Any] | _HasToDict | None) -> str:
    """Canonical key of a BotCommandScope (dict or PTB object), default scope when None."""
    if scope is None:
        data: JSONDict = {"type": "default"}
    elif isinstance(scope, Mapping):
        data = dict(scope)
    else:
        data = scope.to_dict()
    if (
        "chat_id" in data
        and isinstance(data["chat_id"], str)
        and data["chat_id"].lstrip("-").isdigit()
    ):
        data["chat_id"] = int(data["chat_id"])
    return "|".join(f"{key}={data[key]}" for key in sorted(data))


def image_size(data: bytes) -> tuple[int, int]:
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data.startswith(b"\xff\xd8"):
        pos = 2
        while pos + 9 < len(data):
            if data[pos] != 0xFF:
                pos += 1
                continue
            marker = data[pos + 1]
            length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
            if marker in (0xC0, 0xC1, 0xC2):
                height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
                return int(width), int(height)
            pos += 2 + length
    # Unknown format: Telegram would re-encode it anyway; any positive size will do.
    return 100, 100


class World:
    def __init__(self, token: str, bot: SimUser) -> None:
        self.token = token
        self.bot = bot
        self.users: dict[int, SimUser] = {}
        self.chats: dict[int, ChatState] = {}
        self.files: dict[str, StoredFile] = {}
        self.files_by_path: dict[str, StoredFile] = {}
        self.callbacks: dict[str, CallbackRecord] = {}
        self.command_sets: dict[tuple[str, str], list[JSONDict]] = {}
        self.default_menu_button: JSONDict | None = None
        self.changed = Notifier()
        self.updates = UpdateQueue(self.changed)
        self.webhook = WebhookDelivery(self.updates)
        self.bot_texts: dict[tuple[str, str], str] = {}
        self.faults = FaultInjector()
        self.late_answers: list[list[Any]] = []  # [method, times left, seconds]
        self.flood = FloodLimiter()
        self.stats = Stats()
        self.calls: deque[ApiCall] = deque(maxlen=20_000)
        self._ids = itertools.count(10_001)
        self._file_seq = itertools.count(1)
        self._callback_seq = itertools.count(1)

    # ------------------------------------------------------------------ users and chats

    def add_user(
        self,
        user_id: int | None = None,
        first_name: str | None = None,
        *,
        username: str | None = None,
        last_name: str | None = None,
        language_code: str | None = DEFAULT_LANGUAGE,
    ) -> SimUser:
        if user_id is None:
            user_id = next(self._ids)
            while user_id in self.users:
                user_id = next(self._ids)
        elif user_id in self.users:
            raise ValueError(f"fakegram: user {user_id} already exists")
        user = SimUser(user_id, first_name or f"User{user_id}", username, last_name, language_code)
        self.users[user_id] = user
        # A private chat's id is the user's id.
        self.chats[user_id] = ChatState(user_id, "private", user)
        return user

    def add_users(
        self,
        count: int,
        *,
        first_name: str = "User",
        language_code: str | None = DEFAULT_LANGUAGE,
        with_usernames: bool = True,
    ) -> list[SimUser]:
        users = []
        for _ in range(count):
            user_id = next(self._ids)
            while user_id in self.users:
                user_id = next(self._ids)
            username = f"user{user_id}" if with_usernames else None
            users.append(
                self.add_user(
                    user_id,
                    f"{first_name}{user_id}",
                    username=username,
                    language_code=language_code,
                )
            )
        return users

    def user(self, user_id: int) -> SimUser:
        try:
            return self.users[user_id]
        except KeyError:
            raise KeyError(f"fakegram: unknown user {user_id}; call add_user() first") from None

    def chat(self, chat_id: int) -> ChatState:
        try:
            return self.chats[chat_id]
        except KeyError:
            raise KeyError(f"fakegram: unknown chat {chat_id}") from None

    def find_chat(self, chat_id: Any) -> ChatState:
        """Bot-side lookup: 400 "chat not found" like Telegram."""
        if isinstance(chat_id, bool) or not isinstance(chat_id, int):
            if chat_id is None or chat_id == "":
                raise bad_request("chat_id is empty")
            raise bad_request("chat not found")
        chat = self.chats.get(chat_id)
        if chat is None:
            raise bad_request("chat not found")
        return chat

    def block_chat(self, chat_id: int, *, notify: bool = False) -> None:
        """The user blocks the bot: every send to the chat answers 403 from now on."""
        self._set_blocked(chat_id, True, notify)

    def unblock_chat(self, chat_id: int, *, notify: bool = False) -> None:
        self._set_blocked(chat_id, False, notify)

    def _set_blocked(self, chat_id: int, blocked: bool, notify: bool) -> None:
        chat = self.chat(chat_id)
        chat.blocked = blocked
        if notify:
            old, new = ("member", "kicked") if blocked else ("kicked", "member")
            self.updates.push(
                "my_chat_member",
                {
                    "chat": chat.to_api(),
                    "from": chat.user.to_api(),
                    "date": now_ts(),
                    "old_chat_member": {
                        "status": old,
                        "user": self.bot.to_api(),
                        **({"until_date": 0} if old == "kicked" else {}),
                    },
                    "new_chat_member": {
                        "status": new,
                        "user": self.bot.to_api(),
                        **({"until_date": 0} if new == "kicked" else {}),
                    },
                },
            )
        self.changed.notify()

    # ------------------------------------------------------------------ files

    def store_file(
        self, kind: str, data: bytes, file_name: str | None, mime_type: str | None
    ) -> StoredFile:
        seq = next(self._file_seq)
        prefix = "BQ" if kind == "document" else "AgAC"
        file_id = f"{prefix}fg{seq:06d}{secrets.token_hex(8)}"
        unique = "fgU" + hashlib.sha1(data, usedforsecurity=False).hexdigest()[:16]
        ext = mimetypes.guess_extension(mime_type or "") or ""
        if file_name and "." in file_name:
            ext = "." + file_name.rsplit(".", 1)[1][:10]
        path = f"{kind}s/file_{seq}{ext}"
        width, height = image_size(data) if kind == "photo" else (0, 0)
        stored = StoredFile(file_id, unique, kind, data, file_name, mime_type, path, width, height)
        self.files[file_id] = stored
        self.files_by_path[path] = stored
        return stored

    def file_bytes(self, file_id: str) -> bytes:
        return self.files[file_id].data

    # ------------------------------------------------------------------ messages

    def add_message(self, chat: ChatState, *, from_bot: bool, **fields: Any) -> ChatMessage:
        sender = self.bot.to_api() if from_bot else chat.user.to_api()
        message = ChatMessage(
            chat.id, chat.allocate_message_id(), now_ts(), from_bot, sender, **fields
        )
        chat.messages[message.message_id] = message
        self.changed.notify()
        return message

    def message_to_api(self, message: ChatMessage, *, nested: bool = False) -> JSONDict:
        chat = self.chats[message.chat_id]
        data: JSONDict = {
            "message_id": message.message_id,
            "from": message.sender,
            "chat": chat.to_api(),
            "date": message.date,
        }
        if message.edit_date is not None:
            data["edit_date"] = message.edit_date
        if message.text is not None:
            data["text"] = message.text
            if message.entities:
                data["entities"] = message.entities
        if message.document is not None:
            data["document"] = message.document.to_api()
        if message.photo is not None:
            data["photo"] = [message.photo.to_api()]
        if message.caption is not None:
            data["caption"] = message.caption
            if message.caption_entities:
                data["caption_entities"] = message.caption_entities
        if message.reply_markup is not None and "inline_keyboard" in message.reply_markup:
            # Telegram only echoes inline keyboards back in Message objects.
            data["reply_markup"] = message.reply_markup
        if message.link_preview_options is not None:
            data["link_preview_options"] = message.link_preview_options
        if message.reply_to_message_id is not None and not nested:
            replied = chat.messages.get(message.reply_to_message_id)
            if replied is not None:
                data["reply_to_message"] = self.message_to_api(replied, nested=True)
        return data

    def history(self, chat_id: int) -> list[ChatMessage]:
        """Every message in the chat, user's and bot's, in order."""
        return list(self.chat(chat_id).messages.values())

    def sent(self, chat_id: int) -> list[ChatMessage]:
        """Messages the bot sent to the chat, in order (edits already applied)."""
        return [m for m in self.chat(chat_id).messages.values() if m.from_bot]

    def last_sent(self, chat_id: int) -> ChatMessage | None:
        sent = self.sent(chat_id)
        return sent[-1] if sent else None

    def message(self, chat_id: int, message_id: int) -> ChatMessage:
        return self.chat(chat_id).messages[message_id]

    def chat_actions(self, chat_id: int) -> list[str]:
        return list(self.chat(chat_id).actions)

    def reply_keyboard(self, chat_id: int) -> JSONDict | None:
        """The reply keyboard the user currently sees, None after ReplyKeyboardRemove."""
        return self.chat(chat_id).reply_keyboard

    def callback(self, callback_id: str) -> CallbackRecord:
        return self.callbacks[callback_id]

    def commands(
        self, scope: Mapping[str, Any] | _HasToDict | None = None, language_code: str = ""
    ) -> list[JSONDict]:
        """Commands set with setMyCommands for exactly this scope and language."""
        return list(self.command_sets.get((scope_key(scope), language_code), []))

    # ------------------------------------------------------------------ user actions

    def _user_message(self, user_id: int, **fields: Any) -> ChatMessage:
        chat = self.chat(self.user(user_id).id)
        message = self.add_message(chat, from_bot=False, **fields)
        self.updates.push("message", self.message_to_api(message))
        return message

    def send_text(
        self,
        user_id: int,
        text: str,
        *,
        reply_to_message_id: int | None = None,
        entities: list[JSONDict] | None = None,
    ) -> ChatMessage:
        """The user types ``text``; commands get ``bot_command`` entities like in the app."""
        if entities is None:
            entities = [
                {
                    "type": "bot_command",
                    "offset": len(text[: m.start()].encode("utf-16-le")) // 2,
                    "length": len(m.group(0).encode("utf-16-le")) // 2,
                }
                for m in _COMMAND_RE.finditer(text)
            ]
        return self._user_message(
            user_id,
            text=text,
            raw_text=text,
            entities=entities,
            reply_to_message_id=reply_to_message_id,
        )

    def send_command(self, user_id: int, command: str, args: str = "") -> ChatMessage:
        text = "/" + command.lstrip("/")
        return self.send_text(user_id, f"{text} {args}" if args else text)

    def send_start(self, user_id: int, payload: str | None = None) -> ChatMessage:
        """``/start`` as sent by a t.me/<bot>?start=<payload> deep link."""
        return self.send_command(user_id, "start", payload or "")

    def send_document(
        self,
        user_id: int,
        data: bytes,
        file_name: str,
        mime_type: str = "application/octet-stream",
        *,
        caption: str | None = None,
    ) -> ChatMessage:
        stored = self.store_file("document", data, file_name, mime_type)
        return self._user_message(user_id, document=stored, caption=caption, raw_caption=caption)

    def send_photo(
        self,
        user_id: int,
        data: bytes,
        *,
        caption: str | None = None,
        mime_type: str = "image/jpeg",
    ) -> ChatMessage:
        stored = self.store_file("photo", data, None, mime_type)
        return self._user_message(user_id, photo=stored, caption=caption, raw_caption=caption)

    def edit_user_text(self, user_id: int, message_id: int, text: str) -> ChatMessage:
        """The user edits one of their messages: the bot gets an ``edited_message`` update."""
        message = self.message(self.user(user_id).id, message_id)
        if message.from_bot:
            raise ValueError("a user can only edit their own messages")
        message.text = message.raw_text = text
        message.edit_date = now_ts()
        self.updates.push("edited_message", self.message_to_api(message))
        self.changed.notify()
        return message

    def press_button(
        self,
        user_id: int,
        message_id: int,
        data: str | None = None,
        *,
        text: str | None = None,
        strict: bool = True,
    ) -> str:
        """The user taps an inline button; returns the callback query id.

        Pick the button by ``data`` or by (part of) its ``text``.  With ``strict`` the button
        must be on the message's current keyboard, as in a real client; pass ``strict=False``
        to simulate a stale or forged press.
        """
        user = self.user(user_id)
        message = self.message(user.id, message_id)
        if message.deleted:
            raise LookupError(f"message {message_id} was deleted")
        if data is None:
            if text is None:
                raise ValueError("press_button needs data= or text=")
            data = message.callback_data(text)
        elif strict and data not in [b.get("callback_data") for b in message.buttons]:
            raise LookupError(
                f"message {message_id} has no button with callback_data "
                f"{data!r}; buttons: {message.buttons}"
            )
        callback_id = f"{user.id}{next(self._callback_seq):08d}"
        self.callbacks[callback_id] = CallbackRecord(
            callback_id, user.id, user.id, message_id, data
        )
        self.updates.push(
            "callback_query",
            {
                "id": callback_id,
                "from": user.to_api(),
                "message": self.message_to_api(message),
                "chat_instance": f"ci{user.id}",
                "data": data,
            },
        )
        return callback_id

    def answer_callback(self, callback_id: str, answer: CallbackAnswer) -> None:
        record = self.callbacks.get(callback_id)
        if record is None or record.answered:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        record.answer = answer
        self.changed.notify()

    # ------------------------------------------------------------------ faults

    def fail_next(
        self,
        method: str,
        times: int = 1,
        *,
        error_code: int = 400,
        description: str | None = None,
        chat_id: int | None = None,
        retry_after: int | None = None,
    ) -> None:
        """The next ``times`` calls of ``method`` (to ``chat_id`` if given) fail.

        ``description`` defaults to Telegram's wording for ``error_code``; 429 errors carry
        ``parameters.retry_after`` (default 1 s).
        """
        self.faults.add(FaultRule(method, times, error_code, description, chat_id, retry_after))

    def answer_late(self, method: str, times: int = 1, seconds: float = 2.0) -> None:
        """The next ``times`` calls of ``method`` are carried out (a message is delivered)
        but answered only ``seconds`` later: a client that gives up waiting first cannot
        tell whether it went through."""
        self.late_answers.append([method, times, seconds])

    def take_late_answer(self, method: str) -> float:
        for rule in self.late_answers:
            if rule[0] == method and rule[1] > 0:
                rule[1] -= 1
                return float(rule[2])
        return 0.0

    def clear_faults(self) -> None:
        self.faults.clear()
        self.late_answers.clear()

    def set_flood_limit(
        self,
        per_second: float | None = None,
        *,
        per_chat_per_second: float | None = None,
        burst: float | None = None,
        retry_after: int | None = None,
        mode: str = "bucket",
        methods: Iterable[str] | None = None,
    ) -> None:
        """Answer 429 past ``per_second`` sends overall (and ``per_chat_per_second`` per chat).

        ``mode="bucket"`` is a token bucket holding ``burst`` (default ``per_second``) tokens,
        the same model as PTB's AIORateLimiter; ``mode="window"`` allows at most
        ``per_second`` calls in any sliding one-second window.  ``None`` switches it off.
        The 429s are counted in ``stats.flood_429``.
        """
        if mode not in ("bucket", "window"):
            raise ValueError("mode must be 'bucket' or 'window'")
        self.flood.configure(
            flood_config(
                methods,
                per_second=per_second,
                per_chat_per_second=per_chat_per_second,
                burst=burst,
                retry_after=retry_after,
                mode=mode,
            )
        )
