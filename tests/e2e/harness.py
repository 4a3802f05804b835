"""A real cuibao Application over HTTP against the fake Bot API, with a settable clock."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import select

from bot.app import CuibaoApp, build_application, is_idle, serving
from bot.config import BotSettings, DatabaseSettings, FileSettings, Settings
from domain.plan_toml import parse_plan
from fakegram import ChatMessage, FakeTelegram
from handlers.context import services_of
from services.plans import load_plan
from storage import models as m
from storage.database import Database
from tests.clock import Clock

ROOT = Path(__file__).resolve().parents[2]
DAGUAN = ROOT / "examples" / "plans" / "daguan-2017-anticounterfeit.toml"
QINGXI = ROOT / "examples" / "plans" / "qingxi-2018-anticounterfeit.toml"
COORDINATOR = 900_001
LINK = re.compile(r"https://t\.me/\w+\?start=([A-Za-z0-9_-]+)")


@dataclass
class Harness:
    fake: FakeTelegram
    app: CuibaoApp
    db: Database
    clock: Clock
    settings: Settings
    cursors: dict[int, int] = field(default_factory=dict)

    async def command(self, user_id: int, command: str, args: str = "") -> list[ChatMessage]:
        """Send a command and wait until the bot has answered it (returns its new messages)."""
        mark = self._mark(user_id)
        self.fake.send_command(user_id, command, args)
        return await self._replies(user_id, mark)

    async def text(self, user_id: int, text: str) -> list[ChatMessage]:
        mark = self._mark(user_id)
        self.fake.send_text(user_id, text)
        return await self._replies(user_id, mark)

    async def start(self, user_id: int, payload: str) -> list[ChatMessage]:
        mark = self._mark(user_id)
        self.fake.send_start(user_id, payload)
        return await self._replies(user_id, mark)

    async def document(
        self, user_id: int, data: bytes, name: str, mime: str = "application/octet-stream"
    ) -> list[ChatMessage]:
        mark = self._mark(user_id)
        self.fake.send_document(user_id, data, name, mime_type=mime)
        return await self._replies(user_id, mark)

    async def press(
        self,
        user_id: int,
        message: ChatMessage,
        *,
        text: str | None = None,
        data: str | None = None,
        strict: bool = True,
    ) -> list[ChatMessage]:
        mark = self._mark(user_id)
        callback_id = self.fake.press_button(
            user_id, message.message_id, data, text=text, strict=strict
        )
        await self.fake.wait_for_callback_answer(callback_id)
        return await self._replies(user_id, mark, edits_of=message)

    def last(self, user_id: int) -> ChatMessage:
        sent = self.fake.sent(user_id)
        assert sent, f"the bot sent nothing to {user_id}"
        return sent[-1]

    def _mark(self, user_id: int) -> int:
        sent = self.fake.sent(user_id)
        return sent[-1].message_id if sent else 0

    async def _replies(
        self, user_id: int, after: int, edits_of: ChatMessage | None = None
    ) -> list[ChatMessage]:
        """Messages the bot sent after `after`, once it has gone quiet for this update."""
        edits_before = len(edits_of.edits) if edits_of else 0

        def probe() -> list[ChatMessage] | None:
            new = [m for m in self.fake.sent(user_id) if m.message_id > after]
            edited = edits_of is not None and len(edits_of.edits) > edits_before
            return new if new else ([edits_of] if edited and edits_of else None)

        found = await self.fake.wait_until(probe, 5.0, describe=f"a reply to {user_id}")
        await self.idle()
        return [m for m in self.fake.sent(user_id) if m.message_id > after] or found

    async def idle(self) -> None:
        """Wait until the application has no update in flight: the fake holds none it has
        not fetched (a reply that came first, e.g. a nudge, must not end the wait before
        the bot has even seen the update), its queue is empty and nothing is processing."""
        for _ in range(500):
            if self.fake.updates.pending_count == 0 and is_idle(self.app):
                break
            await _sleep()
        else:
            raise AssertionError("the application did not go idle")
        await self.jobs_done()

    async def jobs_done(self, seconds: float = 60.0) -> None:
        """Wait until no heavy job (an export building in a worker process) is running."""
        slow = services_of(self.app).slow
        for _ in range(int(seconds / 0.01)):
            if slow.running == 0 and self.app.update_queue.empty():
                return
            await _sleep()
        raise AssertionError("the heavy jobs did not finish")

    async def invite_links(self) -> dict[str, str]:
        """Unit name → deep-link token, from the coordinator's /invite answer."""
        messages = await self.command(COORDINATOR, "invite")
        links: dict[str, str] = {}
        for line in "\n".join(x.text or "" for x in messages).splitlines():
            m = LINK.search(line)
            if m:
                links[line.split(":")[0].lstrip("· ")] = m.group(1)
        return links

    def add_user(self, user_id: int, name: str) -> None:
        self.fake.add_user(user_id, name)

    async def join(self, user_id: int, name: str, token: str) -> list[ChatMessage]:
        """A new Telegram user opens an invitation deep link."""
        self.add_user(user_id, name)
        return await self.start(user_id, token)

    async def load(self, plan: Path) -> None:
        """Load another plan (a second campaign) into the running bot's database."""
        await _load(self.db, plan)

    async def rows(self, model: type[Any], *where: Any) -> list[Any]:
        """Rows of a storage model, in id order (for checking what the bot wrote)."""
        async with self.db.sessions() as s:
            q = select(model).where(*where).order_by(*model.__table__.primary_key.columns)
            return list((await s.scalars(q)).all())

    async def deadline_id(
        self, obligation: str, seq: int = 1, campaign: str = "daguan-2017-anticounterfeit"
    ) -> int:
        """The id of one deadline, as buttons carry it."""
        async with self.db.sessions() as s:
            found = await s.scalar(
                select(m.Deadline.id)
                .join(m.Obligation, m.Obligation.id == m.Deadline.obligation_id)
                .join(m.Campaign, m.Campaign.id == m.Deadline.campaign_id)
                .where(
                    m.Campaign.code == campaign,
                    m.Obligation.code == obligation,
                    m.Deadline.seq == seq,
                )
            )
        assert found is not None, f"no deadline {obligation} #{seq} in {campaign}"
        return int(found)

    async def snapshot(self) -> Snapshot:
        """What a refused input must leave untouched: drafts, submissions, attachments and
        the files on disk (ids, states and contents, not timestamps of reads)."""
        drafts = [
            (d.id, d.person_id, d.deadline_id, d.unit_id, d.state)
            for d in await self.rows(m.Draft)
        ]
        submissions = [
            (
                x.id,
                x.deadline_id,
                x.unit_id,
                x.revision,
                x.status,
                x.nil,
                x.answers,
                x.late,
                x.review_comment,
            )
            for x in await self.rows(m.Submission)
        ]
        attachments = [
            (a.id, a.draft_id, a.submission_id, a.original_name, a.size, a.sha256, a.storage_key)
            for a in await self.rows(m.Attachment)
        ]
        memberships = [
            (x.id, x.person_id, x.unit_id, x.role) for x in await self.rows(m.Membership)
        ]
        root = self.settings.files_dir
        files = (
            sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
            if root.exists()
            else []
        )
        return Snapshot(drafts, submissions, attachments, memberships, files)


@dataclass(frozen=True)
class Snapshot:
    drafts: list[Any]
    submissions: list[Any]
    attachments: list[Any]
    memberships: list[Any]
    files: list[str]


async def _load(db: Database, plan: Path) -> None:
    text = plan.read_text(encoding="utf-8")
    await load_plan(
        db.sessions,
        parse_plan(text, plan.name),
        plan.name,
        text,
        datetime(2016, 11, 1, tzinfo=UTC),
    )


async def _sleep() -> None:
    import asyncio

    await asyncio.sleep(0.01)


@asynccontextmanager
async def running_bot(
    tmp_path: Path,
    now: datetime,
    *,
    database_url: str | None = None,
    plan: Path = DAGUAN,
    **settings: Any,
) -> AsyncIterator[Harness]:
    clock = Clock(now)
    async with (
        FakeTelegram() as fake,
        Database.open(database_url or f"sqlite:///{tmp_path / 'cuibao.sqlite3'}") as db,
    ):
        await _load(db, plan)
        config = Settings(
            bot=BotSettings(
                api_base_url=fake.base_url,
                api_file_url=fake.base_file_url,
                coordinators=(COORDINATOR,),
            ),
            database=DatabaseSettings(url="sqlite://"),
            files=FileSettings(dir=str(tmp_path / "files"), **settings.pop("files", {})),
            # Automatic nudges would interleave with what a test drives; tests of them ask.
            reminders=settings.pop("reminders", {"enabled": False}),
            base_dir=tmp_path,
            token=SecretStr(fake.token),
            **settings,
        )
        fake.add_user(COORDINATOR, "王协调")
        app = build_application(config, clock=clock, database=db)
        async with serving(app):
            yield Harness(fake, app, db, clock, config)
