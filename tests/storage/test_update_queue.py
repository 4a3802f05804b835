"""Several `cuibao run --role all` processes on one PostgreSQL behind a round-robin proxy,
as nginx forwards a webhook by default: each person's updates are handled one at a time
and in order across all processes, none twice, none lost, also when a process is killed.

Each test gets a PostgreSQL database of its own (the queue's tables live beside cuibao's).
The processes are the real CLI; Telegram is fakegram, delivering to the webhook URL."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Self

import aiohttp
import asyncpg
import pytest
from sqlalchemy import func, select

from conversation.i18n import Catalogue
from domain.plan_toml import parse_plan
from fakedingtalk import FakeDingTalk, Sent
from fakegram import FakeTelegram
from fakegram.state import ChatMessage
from services.plans import load_plan
from storage import models as m
from storage.database import Database
from tests.e2e.reminders_worker import bind_liaisons, bind_people
from tests.procs import form_plan as shared_form_plan
from tests.procs import free_port, fresh_database, round_robin, webhook_config
from tests.storage.conftest import PG_URL

pytestmark = pytest.mark.skipif(PG_URL is None, reason="the update queue needs PostgreSQL")

ROOT = Path(__file__).resolve().parents[2]
CAMPAIGN = "bulk-reminders"  # the id bind_liaisons seats people in
FIELDS = 9  # /submit, the deadline, nine answers, 确认提交: 12 steps
# A person's next reply waits behind everyone's backlog: 200 people sending 11 updates at
# once is ~2,200 updates, about 100 s on a slow, loaded 2-core machine. These tests check
# order and loss; speed is bench/province_soak.py's to measure.
STEP_TIMEOUT = 240.0
TEXTS = Catalogue("zh-CN")


def form_plan(units: int, today: date) -> str:
    return shared_form_plan(
        units,
        campaign=CAMPAIGN,
        start=today - timedelta(days=5),
        due=today + timedelta(days=10),
        fields=FIELDS,
    )


def write_config(
    path: Path, fake: FakeTelegram, db_url: str, port: int, proxy: int, files: Path
) -> None:
    path.write_text(
        webhook_config(fake, db_url, port, proxy, files)
        + """
[rate_limit]
overall_per_second = 100000

[reminders]
enabled = false

[ops]
queue_concurrency = 16
queue_stalled_after_seconds = 3
""",
        encoding="utf-8",
    )


async def start_worker(
    config: Path,
    token: str,
    log: Path,
    *,
    role: str = "all",
    port: int | None = None,
    secret: str | None = None,
) -> asyncio.subprocess.Process:
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": token}
    if secret is not None:
        env["DINGTALK_CLIENT_SECRET"] = secret
    if not token:
        env.pop("TELEGRAM_BOT_TOKEN")
    extra = ["--port", str(port)] if port is not None else []
    with log.open("wb") as stderr:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            "--role",
            role,
            *extra,
            "--config",
            str(config),
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )


async def until_healthy(port: int, process: asyncio.subprocess.Process, log: Path) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            if process.returncode is not None:
                raise AssertionError(f"worker exited: {log.read_text(errors='replace')[-3000:]}")
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"http://127.0.0.1:{port}/healthz") as answer:
                    if answer.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise AssertionError(f"worker never healthy: {log.read_text(errors='replace')[-3000:]}")


async def reply_after(fake: FakeTelegram, user: int, mark: int, what: str) -> ChatMessage:
    chat = fake.chat(user)
    await fake.wait_until(
        lambda: chat.next_message_id > mark + 1 or None,
        STEP_TIMEOUT,
        describe=f"{what} in chat {user}",
    )
    return chat.messages[mark + 1]


def answers_of(user: int) -> list[str]:
    return [str(user % 100_000 * 10 + f) for f in range(FIELDS)]


async def fill_form(fake: FakeTelegram, user: int) -> None:
    """/submit, the deadline, nine answers sent at once without waiting (a person on a
    phone pasting them), then 确认提交 on the preview."""
    sent = fake.send_command(user, "submit")
    tasks = await reply_after(fake, user, sent.message_id, "the task list")
    fake.press_button(user, tasks.message_id, tasks.callback_data("专项报表"))
    chat = fake.chat(user)
    await fake.wait_until(
        lambda: chat.next_message_id > tasks.message_id + 1 or None,
        STEP_TIMEOUT,
        describe=f"the first question in chat {user}",
    )
    for answer in answers_of(user):
        fake.send_text(user, answer)
    confirm = TEXTS.text("button.confirm")

    def preview() -> ChatMessage | None:
        return next(
            (msg for msg in reversed(chat.messages.values()) if confirm in msg.button_texts),
            None,
        )

    shown = await fake.wait_until(preview, STEP_TIMEOUT, describe=f"the preview in {user}")
    fake.press_button(user, shown.message_id, text=confirm)


async def test_three_workers_behind_a_round_robin_proxy_keep_each_persons_answers_in_order(
    tmp_path: Path,
) -> None:
    people = 200
    assert PG_URL is not None
    async with fresh_database(PG_URL) as db_url, FakeTelegram() as fake:
        users = [u.id for u in fake.add_users(people)]
        today = datetime.now(UTC).date()
        async with Database.open(db_url) as db:
            text = form_plan(people, today)
            await load_plan(
                db.sessions,
                parse_plan(text, "q.toml"),
                "q.toml",
                text,
                datetime.now(UTC) - timedelta(days=1),
            )
            await bind_liaisons(db, users)
        ports = [free_port() for _ in range(3)]
        async with round_robin(ports) as proxy, _Queue(db_url) as queue:
            workers: list[tuple[asyncio.subprocess.Process, Path]] = []
            try:
                for i, port in enumerate(ports):
                    config = tmp_path / f"w{i}.toml"
                    write_config(config, fake, db_url, port, proxy, tmp_path / "files")
                    log = tmp_path / f"w{i}.log"
                    process = await start_worker(config, fake.token, log)
                    workers.append((process, log))
                    await until_healthy(port, process, log)
                    # Each process has two queue workers (updates, slow jobs): the first
                    # two ids are the victim's.
                    await queue.until_workers(2 * (i + 1))
                flows = asyncio.gather(*(fill_form(fake, u) for u in users))
                await queue.until_updates_handled(people * 3)
                # Replies answered late: handlers hang after committing, the worst moment.
                fake.answer_late("sendMessage", times=100, seconds=3.0)
                await queue.until_victim_busy()
                workers[0][0].send_signal(signal.SIGKILL)
                await flows
                await _until_submitted(db_url, people)
                health = await _health(ports[1])
                assert health["queue_depth"] == 0, health
                assert health["status"] == "ok", health
            finally:
                for process, _ in workers:
                    with contextlib.suppress(ProcessLookupError):
                        process.send_signal(signal.SIGTERM)
                for process, _ in workers:
                    await asyncio.wait_for(process.wait(), 30)
        rescued = "".join(log.read_text(errors="replace") for _, log in workers[1:])
        assert "gave back" in rescued, "the killed worker's updates were not given back"
        await _check(db_url, fake, users)


async def _health(port: int) -> dict[str, object]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/healthz") as answer,
    ):
        body: dict[str, object] = await answer.json()
        return body


class _Queue:
    """Looks into the queue's tables (procrastinate's) to time the kill."""

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url

    async def __aenter__(self) -> Self:
        self.conn = await asyncpg.connect(self.db_url)
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.conn.close()

    async def _poll(self, query: str, enough: int, what: str) -> None:
        for _ in range(600):
            with contextlib.suppress(asyncpg.UndefinedTableError):
                if int(await self.conn.fetchval(query)) >= enough:
                    return
            await asyncio.sleep(0.05)
        raise AssertionError(f"never {what}")

    async def until_workers(self, count: int) -> None:
        await self._poll("SELECT count(*) FROM procrastinate_workers", count, "started")

    async def until_updates_handled(self, count: int) -> None:
        await self._poll("SELECT count(*) FROM inbound_messages", count, f"{count} handled")

    async def until_victim_busy(self) -> None:
        # An answer other than the last: run twice, it would land in the next field.
        await self._poll(
            """SELECT count(*) FROM procrastinate_jobs WHERE status = 'doing'
               AND worker_id IN (SELECT id FROM procrastinate_workers ORDER BY id LIMIT 2)
               AND args->'update'->'update'->'message'->>'text' ~ '^[0-9]+[0-7]$'""",
            1,
            "an answer in the first worker's hands",
        )


async def _until_submitted(db_url: str, expected: int) -> None:
    async with Database.open(db_url, migrate=False) as db:
        for _ in range(300):
            async with db.sessions() as s:
                count = await s.scalar(select(func.count()).select_from(m.Submission))
            if count == expected:
                return
            await asyncio.sleep(0.1)
    raise AssertionError(f"{count} of {expected} submissions")


async def _answers_by_person(db_url: str) -> list[tuple[str, dict[str, object]]]:
    """(external id of who submitted, answers) of every submission."""
    async with Database.open(db_url, migrate=False) as db, db.sessions() as s:
        rows = await s.execute(
            select(m.Person.external_id, m.Submission.answers).join(
                m.Submission, m.Submission.submitted_by == m.Person.id
            )
        )
        return [(external, dict(answers)) for external, answers in rows.all()]


async def _check(db_url: str, fake: FakeTelegram, users: list[int]) -> None:
    rows = await _answers_by_person(db_url)
    async with Database.open(db_url, migrate=False) as db, db.sessions() as s:
        handled = set(
            (
                await s.scalars(
                    select(m.InboundMessage.message_id).where(
                        m.InboundMessage.platform == "telegram"
                    )
                )
            ).all()
        )
    wrong = {
        external: answers
        for external, answers in rows
        if [str(answers.get(f"f{f}")) for f in range(FIELDS)] != answers_of(int(external))
    }
    assert not wrong, (
        f"{len(wrong)} forms with answers out of place, e.g. {list(wrong.items())[:3]}"
    )
    assert len(rows) == len(users)
    assert fake.updates.pending_count == 0
    delivered = {str(i) for i in range(1, fake.updates.issued + 1)}
    assert delivered <= handled, f"{len(delivered - handled)} updates never handled"


async def test_two_dingtalk_workers_keep_answers_in_order_whichever_connection_gets_them(
    tmp_path: Path,
) -> None:
    """DingTalk alone: each process's Stream connection gets some of a person's messages
    (DingTalk hands each to one connection); the queue puts them back in order."""
    people = 40
    assert PG_URL is not None
    async with fresh_database(PG_URL) as db_url, FakeDingTalk() as fake:
        staff = [f"staff{i:04d}" for i in range(people)]
        for user in staff:
            fake.add_user(user, f"联络员{user}")
        today = datetime.now(UTC).date()
        async with Database.open(db_url) as db:
            text = form_plan(people, today)
            await load_plan(
                db.sessions, parse_plan(text, "q.toml"), "q.toml", text, datetime.now(UTC)
            )
            await bind_people(db, [[("dingtalk", user, "liaison")] for user in staff])
        workers = []
        try:
            for i in range(2):
                config = tmp_path / f"d{i}.toml"
                config.write_text(
                    f"""
[database]
url = "{db_url}"
[files]
dir = "{tmp_path / "files"}"
[reminders]
enabled = false
[dingtalk]
client_id = "{fake.client_id}"
api_base_url = "{fake.base_url}"
oapi_base_url = "{fake.base_url}"
per_second = 1000
[ops]
queue_stalled_after_seconds = 3
""",
                    encoding="utf-8",
                )
                port = free_port()
                log = tmp_path / f"d{i}.log"
                process = await start_worker(
                    config, "", log, role="worker", port=port, secret=fake.client_secret
                )
                workers.append(process)
                await until_healthy(port, process, log)
            await fake.wait_until(lambda: len(fake.open_connections) == 2, 15.0)
            await asyncio.gather(*(_dingtalk_form(fake, user) for user in staff))
        finally:
            for process in workers:
                process.send_signal(signal.SIGTERM)
            for process in workers:
                await asyncio.wait_for(process.wait(), 30)
        rows = await _answers_by_person(db_url)
    assert len(rows) == people
    for external, answers in rows:
        expected = [str(int(external.removeprefix("staff")) * 10 + f) for f in range(FIELDS)]
        assert [str(answers[f"f{f}"]) for f in range(FIELDS)] == expected, external


async def _dingtalk_form(fake: FakeDingTalk, user: str) -> None:
    """报送, the deadline by its number, nine answers typed at once, 确认提交 by number."""

    async def after(mark: int, words: str) -> Sent:
        def found() -> Sent | None:
            return next((s for s in fake.to(user)[mark:] if words in s.text), None)

        result: Sent = await fake.wait_until(found, STEP_TIMEOUT)
        return result

    mark = len(fake.to(user))
    await fake.user_sends_text(user, "报送")
    menu = await after(mark, "专项报表")
    mark = len(fake.to(user))
    await fake.user_sends_text(user, menu.option("专项报表"))
    await after(mark, "指标1")
    mark = len(fake.to(user))
    for f in range(FIELDS):
        await fake.user_sends_text(user, str(int(user.removeprefix("staff")) * 10 + f))
    preview = await after(mark, "确认提交")
    mark = len(fake.to(user))
    await fake.user_sends_text(user, preview.option("确认提交"))
    await after(mark, "已提交")
