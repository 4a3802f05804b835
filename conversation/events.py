"""What a person does in a chat, as the core sees it: the adapter of each platform turns its
own updates into these, and nothing in the core knows which platform sent them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Sender:
    """Who sent the event: the platform's own id for them, as the database stores it."""

    user_id: str
    display_name: str
    language_code: str | None = None


@dataclass(frozen=True)
class Command:
    """`/status 打假` on Telegram, `状态 打假` on a platform without slash commands."""

    name: str
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class Join:
    """An invitation redeemed: a deep-link start payload, or a typed 绑定码."""

    token: str


@dataclass(frozen=True)
class Text:
    text: str
    edited: bool = False  # an edited message is never an answer


@dataclass(frozen=True)
class Press:
    """A button tapped (or, on a platform without buttons, its number typed)."""

    data: str
    shown_text: str | None = None  # the text of the message the button was under


class FileTooLarge(Exception):
    """Raised by a `FileArrived.fetch` that learns the size only while downloading (DingTalk
    says none up front): the file is past what the bot takes, `limit` bytes."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


@dataclass(frozen=True)
class FileArrived:
    """A document or picture; its bytes are fetched only once the core wants them."""

    name: str
    size: int | None
    mime: str
    fetch: Callable[[], Awaitable[bytes]]
    caption: str = ""
    is_picture: bool = False
    edited: bool = False  # a re-captioned file is not a second upload

    @property
    def extension(self) -> str:
        return self.name.rsplit(".", 1)[-1].lower() if "." in self.name else ""


@dataclass(frozen=True)
class Other:
    """Anything else a person sent (a sticker, a location): answered with a hint."""


Event = Command | Join | Text | Press | FileArrived | Other
