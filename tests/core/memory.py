"""A second chat platform that lives in memory: the proof that the conversation core needs
no Telegram. It drives the core through the same events the Telegram adapter makes, and
keeps each person's chat as a list of messages (an edit replaces the message in place)."""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import AsyncIterator, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.composition import build_services
from bot.config import (
    BotSettings,
    DatabaseSettings,
    FileSettings,
    OpsSettings,
    ReminderSettings,
    Settings,
)
from conversation.dispatch import handle
from conversation.events import Command, Event, FileArrived, Join, Press, Sender, Text
from conversation.i18n import Catalogue
from conversation.notify import ListingNotifier
from conversation.replies import (
    Ack,
    Busy,
    Capabilities,
    Document,
    Edit,
    Menu,
    Message,
    Picture,
    Reply,
    Sent,
)
from conversation.services import AppServices
from domain.plan_toml import parse_plan
from services.plans import load_plan
from services.ports import Button, Delivery, Notifier
from services.steps import StepService
from storage.database import Database
from tests.clock import Clock

MEMORY = Capabilities(buttons=True, can_edit=True, message_chars=2000)
# A platform that shows no buttons and edits nothing: choices are numbered lists.
# No slash commands either: commands are typed as words (报送, 状态), invitations as 绑定码.
PLAIN = Capabilities(buttons=False, can_edit=False, message_chars=2000, slash_commands=False)
WORDS = Catalogue()
INVITE_PREFIX = "memory-join:"


@dataclass
class Shown:
    """One message in a person's chat, as they would see it."""

    id: int
    text: str = ""
    buttons: Sequence[Sequence[Button]] = ()
    document: tuple[str, bytes] | None = None  # file name, bytes
    picture: bytes | None = None

    @property
    def button_texts(self) -> list[str]:
        return [b.label for row in self.buttons for b in row]

    def button(self, label: str) -> Button:
        every = [b for row in self.buttons for b in row]
        found = [b for b in every if b.label == label] or [b for b in every if label in b.label]
        assert found, f"no button {label!r} under {self.text!r}: {self.button_texts}"
        return found[0]


@dataclass
class Chat:
    messages: list[Shown] = field(default_factory=list)
    menu_coordinator: bool | None = None
    acks: int = 0


class MemorySent:
    def __init__(self, message: Shown) -> None:
        self.message = message

    @property
    def ref(self) -> str:
        return str(self.message.id)

    async def edit(self, text: str) -> None:
        self.message.text, self.message.buttons = text, ()


class MemoryChannel:
    def __init__(self, platform: MemoryPlatform, chat: Chat, pressed: Shown | None) -> None:
        self.platform, self.chat, self.pressed = platform, chat, pressed
        self.capabilities = platform.capabilities

    def invitation(self, token: str) -> str:
        if not self.capabilities.slash_commands:
            return f"{WORDS.text('keyword.join').split('|')[0]} {token}"
        return INVITE_PREFIX + token

    def resume(self, ref: str) -> Sent | None:
        if not self.capabilities.can_edit:
            return None
        found = next((m for m in self.chat.messages if str(m.id) == ref), None)
        return MemorySent(found) if found is not None else None

    async def deliver(self, reply: Reply) -> Sent | None:
        match reply:
            case Message(text, buttons):
                return MemorySent(self.platform.post(self.chat, text=text, buttons=buttons))
            case Edit(text, buttons) if self.pressed is not None:
                self.pressed.text, self.pressed.buttons = text, buttons
            case Edit(text, buttons):
                self.platform.post(self.chat, text=text, buttons=buttons)
            case Document(data, name, caption):
                self.platform.post(self.chat, text=caption, document=(name, data))
            case Picture(png, _, caption):
                self.platform.post(self.chat, text=caption, picture=png)
            case Ack():
                self.chat.acks += 1
            case Busy():
                pass
            case Menu(coordinator):
                self.chat.menu_coordinator = coordinator
        return None


class MemoryNotifier:
    """Nudges and notices to other people land in their chat."""

    def __init__(self, platform: MemoryPlatform) -> None:
        self.platform = platform

    async def send(
        self, external_id: str, text: str, buttons: Sequence[Sequence[Button]] = ()
    ) -> Delivery:
        self.platform.post(self.platform.chat(int(external_id)), text=text, buttons=buttons)
        return Delivery.SENT


class MemoryPlatform:
    def __init__(self, clock: Clock, capabilities: Capabilities = MEMORY) -> None:
        self.clock, self.capabilities = clock, capabilities
        self.chats: dict[int, Chat] = {}
        self.names: dict[int, str] = {}
        self.ids = itertools.count(1)
        self.tasks: set[asyncio.Task[None]] = set()
        self.services: AppServices | None = None

    def chat(self, user: int) -> Chat:
        return self.chats.setdefault(user, Chat())

    def post(self, chat: Chat, **content: Any) -> Shown:
        shown = Shown(next(self.ids), **content)
        chat.messages.append(shown)
        return shown

    def spawn(self, work: Coroutine[Any, Any, None]) -> object:
        task = asyncio.ensure_future(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def tasks_done(self) -> None:
        """Until the work spawned so far (and the work it spawned) is done."""
        while self.tasks:
            await asyncio.gather(*self.tasks)

    async def send(self, user: int, event: Event, pressed: Shown | None = None) -> list[Shown]:
        """One event from `user`, handled to the end (work it spawned included); returns
        the messages that are new in their chat."""
        assert self.services is not None
        chat = self.chat(user)
        before = len(chat.messages)
        sender = Sender(str(user), self.names.get(user, f"user {user}"))
        await handle(event, sender, MemoryChannel(self, chat, pressed), self.services)
        await self.tasks_done()
        return chat.messages[before:]

    # What a person does, in the words of a test.
    async def command(self, user: int, name: str, *args: str) -> list[Shown]:
        """The command; typed as its first Chinese word where there are no slash commands."""
        if not self.capabilities.slash_commands:
            word = WORDS.text(f"keyword.{name}").split("|")[0]
            return await self.text(user, " ".join((word, *args)))
        return await self.send(user, Command(name, args))

    async def text(self, user: int, text: str) -> list[Shown]:
        return await self.send(user, Text(text))

    async def press(self, user: int, message: Shown, label: str) -> list[Shown]:
        """Tap the button; on a platform without buttons, type the option's words."""
        if not self.capabilities.buttons:
            return await self.text(user, self.option(message, label)[1])
        new = await self.send(user, Press(message.button(label).data, message.text), message)
        return new or [message]  # an edit shows in the pressed message itself

    @staticmethod
    def option(message: Shown, label: str) -> tuple[str, str]:
        """The number and words of a numbered option under a message."""
        lines = message.text.splitlines()
        headings = {WORDS.text("choices.heading"), WORDS.text("choices.heading_words")}
        after = max((i for i, line in enumerate(lines) if line in headings), default=len(lines))
        options = [
            re.split(r"\. |· ", line, maxsplit=1)
            for line in lines[after + 1 :]
            if re.match(r"^(\d+\. |· )", line)
        ]
        found = [o for o in options if o[1] == label] or [o for o in options if label in o[1]]
        assert found, f"no option {label!r} under {message.text!r}"
        number, words = found[0]
        return number, words

    async def join(self, user: int, name: str, invitation: str) -> list[Shown]:
        """Open the invitation link, or send the 绑定码 words as they were given."""
        self.names[user] = name
        if not self.capabilities.slash_commands:
            return await self.text(user, invitation)
        assert invitation.startswith(INVITE_PREFIX)
        return await self.send(user, Join(invitation.removeprefix(INVITE_PREFIX)))

    async def file(self, user: int, data: bytes, name: str, mime: str) -> list[Shown]:
        async def fetch() -> bytes:
            return data

        return await self.send(user, FileArrived(name, len(data), mime, fetch))

    def last(self, user: int) -> Shown:
        return self.chat(user).messages[-1]


@asynccontextmanager
async def memory_platform(
    tmp_path: Path,
    now: datetime,
    plan: Path,
    coordinator: int,
    database_url: str | None = None,
    capabilities: Capabilities = MEMORY,
    slow_jobs: int = 2,
) -> AsyncIterator[MemoryPlatform]:
    """The composition root's services on a real database, driven by the memory platform."""
    clock = Clock(now)
    platform = MemoryPlatform(clock, capabilities)
    url = database_url or f"sqlite:///{tmp_path / 'cuibao.sqlite3'}"
    async with Database.open(url) as db:
        text = plan.read_text(encoding="utf-8")
        await load_plan(
            db.sessions,
            parse_plan(text, plan.name),
            plan.name,
            text,
            datetime(2016, 11, 1, tzinfo=UTC),
        )
        settings = Settings(
            bot=BotSettings(coordinators=(coordinator,)),
            database=DatabaseSettings(url="sqlite://"),
            files=FileSettings(dir=str(tmp_path / "files")),
            reminders=ReminderSettings(enabled=False),
            ops=OpsSettings(slow_jobs=slow_jobs),
            base_dir=tmp_path,
        )
        notifier: Notifier = MemoryNotifier(platform)
        if not capabilities.buttons:  # nudges list their choices like replies do
            notifier = ListingNotifier(
                notifier, "telegram", StepService(db.sessions), Catalogue(), clock
            )
        services = build_services(settings, db, clock, notifier, spawn=platform.spawn)
        services.reaches.route(
            "telegram",
            services,
            lambda user: MemoryChannel(platform, platform.chat(int(user)), None),
        )
        platform.services = services
        platform.names[coordinator] = "王协调"
        yield platform
