"""What the core says back, as platform-neutral values; the adapter turns each into its
platform's API calls within the capabilities it declares."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from services.ports import Button  # one button type for replies and for nudges

Buttons = Sequence[Sequence[Button]]


@dataclass(frozen=True)
class Message:
    text: str
    buttons: Buttons = ()


@dataclass(frozen=True)
class Edit:
    """Replace the message whose button was pressed (a confirmation loses its buttons)."""

    text: str
    buttons: Buttons = ()


@dataclass(frozen=True)
class Document:
    data: bytes
    file_name: str
    caption: str = ""


@dataclass(frozen=True)
class Picture:
    png: bytes
    file_name: str
    caption: str = ""


@dataclass(frozen=True)
class Ack:
    """The answer to a button press itself (Telegram's spinner, a toast)."""

    text: str | None = None


class Activity(StrEnum):
    UPLOADING = "uploading"
    TYPING = "typing"


@dataclass(frozen=True)
class Busy:
    """A hint that something slow is under way (a chat action); may be dropped."""

    activity: Activity = Activity.UPLOADING


@dataclass(frozen=True)
class Menu:
    """The person's command menu changed (bound as liaison, became a coordinator)."""

    coordinator: bool


Reply = Message | Edit | Document | Picture | Ack | Busy | Menu


@dataclass(frozen=True)
class Capabilities:
    """What a platform can show; the core adapts (e.g. numbered choices without buttons)."""

    buttons: bool = True
    button_data_bytes: int = 64
    can_edit: bool = True
    message_chars: int = 4096
    max_upload_bytes: int = 50 * 1024 * 1024
    max_download_bytes: int = 20 * 1024 * 1024
    pictures: bool = True
    read_receipts: bool = False
    slash_commands: bool = True
    command_words: dict[str, str] = field(default_factory=dict)  # 报送 -> submit, …


class Sent(Protocol):
    """A message delivered earlier, to be changed later (an export's progress line)."""

    @property
    def ref(self) -> str:
        """How the platform finds this message again (`Channel.resume`), in any process."""
        ...

    async def edit(self, text: str) -> None: ...


class Channel(Protocol):
    """The adapter's side of one event: where the replies to it go. A Busy that cannot be
    shown is dropped, never raised."""

    capabilities: Capabilities

    async def deliver(self, reply: Reply) -> Sent | None: ...

    def invitation(self, token: str) -> str:
        """What a person uses to redeem an invitation: a link on Telegram, the words to
        send on a platform without deep links (`绑定 K7Q2M9`)."""
        ...

    def resume(self, ref: str) -> Sent | None:
        """A message this chat was sent earlier (its `Sent.ref`), to be edited now; None
        where messages cannot be edited."""
        ...
