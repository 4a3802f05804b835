"""cuibao's real DingTalk adapter over a real WebSocket and HTTP to the fake DingTalk."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pydantic import SecretStr

from bot.config import DingTalkSettings, FileSettings, ReminderSettings, Settings
from bot.dingtalk_app import DingTalkBot, running_dingtalk
from domain.plan_toml import parse_plan
from fakedingtalk import FakeDingTalk, Sent
from services.plans import load_plan
from storage.database import Database
from tests.clock import Clock

ROOT = Path(__file__).resolve().parents[2]
DAGUAN = ROOT / "examples" / "plans" / "daguan-2017-anticounterfeit.toml"
COORDINATOR = "manager0001"


@dataclass
class Harness:
    fake: FakeDingTalk
    bot: DingTalkBot
    db: Database
    clock: Clock

    async def say(self, user: str, text: str) -> list[Sent]:
        """A person types `text`; returns what the bot sent them for it (once handled)."""
        mark = len(self.fake.sent)
        message_id = await self.fake.user_sends_text(user, text)
        await self.handled(message_id)
        return [s for s in self.fake.sent[mark:] if s.user == user]

    async def send_file(self, user: str, data: bytes, name: str) -> list[Sent]:
        mark = len(self.fake.sent)
        message_id = await self.fake.user_sends_file(user, data, name)
        await self.handled(message_id)
        return [s for s in self.fake.sent[mark:] if s.user == user]

    async def handled(self, message_id: str) -> None:
        """Acknowledged by the bot: it acknowledges a message once it has handled it."""
        frame = f"frame-{message_id}"
        await self.fake.wait_until(lambda: self.fake.acked.get(frame, 0) >= 1, 15.0)
        await self.fake.wait_until(self.bot.idle, 30.0)  # the slow jobs it started too

    async def press(self, user: str, card: Sent, words: str) -> list[Sent]:
        """The person presses a card's button; returns the card if the press changed it,
        then what else the bot sent them for it."""
        mark, updates = len(self.fake.sent), self.fake.updates
        before = dict(card.param)
        frame = await self.fake.user_presses(user, card, words)
        await self.fake.wait_until(lambda: self.fake.acked.get(frame, 0) >= 1, 15.0)
        await self.fake.wait_until(self.bot.idle, 30.0)
        changed = [card] if self.fake.updates > updates and card.param != before else []
        return changed + [s for s in self.fake.sent[mark:] if s.user == user]

    async def choose(self, user: str, shown: Sent, words: str) -> list[Sent]:
        """Pick the option `words` under a message: its card button, or its number."""
        if shown.msg_key == "card":
            return await self.press(user, shown, words)
        return await self.say(user, shown.option(words))

    def last(self, user: str) -> Sent:
        return self.fake.to(user)[-1]


@asynccontextmanager
async def dingtalk_bot(
    tmp_path: Path,
    now: datetime,
    database_url: str | None = None,
    per_second: float = 15.0,
    *,
    cards: bool = False,
    plan_text: str | None = None,
    max_file_mb: int = 20,
) -> AsyncIterator[Harness]:
    clock = Clock(now)
    async with (
        FakeDingTalk() as fake,
        Database.open(database_url or f"sqlite:///{tmp_path / 'cuibao.sqlite3'}") as db,
    ):
        text = plan_text or DAGUAN.read_text(encoding="utf-8")
        await load_plan(
            db.sessions,
            parse_plan(text, DAGUAN.name),
            DAGUAN.name,
            text,
            datetime(2016, 11, 1, tzinfo=UTC),
        )
        settings = Settings(
            dingtalk=DingTalkSettings(
                client_id=fake.client_id,
                coordinators=(COORDINATOR,),
                api_base_url=fake.base_url,
                per_second=per_second,
                oapi_base_url=fake.base_url,
                card_template_id="cuibao-choices.schema" if cards else "",
            ),
            dingtalk_secret=SecretStr(fake.client_secret),
            files=FileSettings(dir=str(tmp_path / "files"), max_mb=max_file_mb),
            reminders=ReminderSettings(enabled=False),
            base_dir=tmp_path,
        )
        fake.add_user(COORDINATOR, "王协调")
        async with running_dingtalk(settings, db, clock) as bot:
            await fake.wait_until(lambda: fake.connected, 10.0)
            yield Harness(fake, bot, db, clock)
