"""Slow jobs (an export, a 通报, a status picture, a notice to read) through the durable
queue: the chat worker only stores them, a `--role jobs` process runs them and sends the
results, with the progress message the person saw kept up to date; a jobs process that
dies mid-job has it given back and done by another.

The processes are the real CLI on a PostgreSQL database of their own; Telegram is
fakegram, delivering to the webhook of a `--role web` process."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from bot.update_queue import GIVE_UP_AFTER, UpdateQueue
from conversation.i18n import Catalogue
from domain.plan_toml import parse_plan
from fakegram import FakeTelegram
from fakegram.state import ChatMessage
from services.plans import load_plan
from storage.database import Database
from tests.e2e.reminders_worker import bind_liaisons
from tests.procs import bot_says, form_plan, free_port, fresh_database, webhook_config
from tests.storage.conftest import PG_URL
from tests.storage.test_update_queue import (
    CAMPAIGN,
    FIELDS,
    _health,
    _until_submitted,
    fill_form,
    start_worker,
    until_healthy,
)

pytestmark = pytest.mark.skipif(PG_URL is None, reason="the durable queue needs PostgreSQL")

TEXTS = Catalogue("zh-CN")
CAMPAIGN_NAME = "多进程测试"  # form_plan's
SECONDS = 60.0
SENT = TEXTS.text("export.sent", campaign=CAMPAIGN_NAME)
TONGBAO_SENT = TEXTS.text("tongbao.sent", campaign=CAMPAIGN_NAME)
NOTICE = "各单位于2026年12月15日前报送信息联络员名单。每周四15:00前报送本周工作进展。"


def _config(
    path: Path, fake: FakeTelegram, db_url: str, port: int, files: Path, coordinator: int
) -> None:
    path.write_text(
        webhook_config(fake, db_url, port, port, files, bot=f"coordinators = [{coordinator}]")
        + """
[reminders]
enabled = false

[ops]
queue_stalled_after_seconds = 3
slow_jobs_grace_seconds = 3
""",
        encoding="utf-8",
    )


class _Processes:
    """`cuibao run --role …` processes, stopped at the end."""

    def __init__(self, tmp_path: Path, config: Path, token: str) -> None:
        self.tmp_path, self.config, self.token = tmp_path, config, token
        self.started: list[tuple[asyncio.subprocess.Process, Path]] = []

    async def start(self, role: str, port: int) -> asyncio.subprocess.Process:
        log = self.tmp_path / f"{role}-{port}.log"
        own = None if role == "web" else port  # web listens on the config's webhook port
        process = await start_worker(self.config, self.token, log, role=role, port=own)
        self.started.append((process, log))
        await until_healthy(port, process, log)
        return process

    def logs(self) -> str:
        return "".join(log.read_text(errors="replace") for _, log in self.started)

    async def stop(self) -> None:
        for process, _ in self.started:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        for process, _ in self.started:
            await asyncio.wait_for(process.wait(), 30)


@contextlib.asynccontextmanager
async def _deployment(
    tmp_path: Path,
) -> AsyncIterator[tuple[FakeTelegram, str, int, int, _Processes]]:
    """A campaign of one unit, its liaison and a coordinator; a web process receiving."""
    assert PG_URL is not None
    async with fresh_database(PG_URL) as db_url, FakeTelegram() as fake:
        coordinator, liaison = (u.id for u in fake.add_users(2))
        async with Database.open(db_url) as db:
            # Due yesterday: the 通报 has a period to count (the form is filled late).
            today = datetime.now(UTC).date()
            text = form_plan(
                1,
                campaign=CAMPAIGN,
                start=today - timedelta(days=5),
                due=today - timedelta(days=1),
                fields=FIELDS,
            )
            await load_plan(
                db.sessions,
                parse_plan(text, "q.toml"),
                "q.toml",
                text,
                datetime.now(UTC) - timedelta(days=1),
            )
            await bind_liaisons(db, [liaison])
        web = free_port()
        config = tmp_path / "cuibao.toml"
        _config(config, fake, db_url, web, tmp_path / "files", coordinator)
        processes = _Processes(tmp_path, config, fake.token)
        try:
            await processes.start("web", web)
            yield fake, db_url, coordinator, liaison, processes
        finally:
            await processes.stop()


async def _until_edited(fake: FakeTelegram, user: int, progress: ChatMessage, text: str) -> None:
    """Until the progress message says `text`."""
    await fake.wait_until(
        lambda: fake.message(user, progress.message_id).text == text or None,
        SECONDS,
        describe=f"the progress message saying {text!r}",
    )


def _files(fake: FakeTelegram, user: int, after: int) -> list[ChatMessage]:
    return [
        m
        for m in fake.sent(user)
        if m.message_id > after and (m.document is not None or m.photo is not None)
    ]


async def test_slow_jobs_wait_for_a_jobs_process_while_the_chats_go_on_and_arrive_from_it(
    tmp_path: Path,
) -> None:
    async with _deployment(tmp_path) as (fake, db_url, coordinator, liaison, processes):
        worker = free_port()
        await processes.start("worker", worker)

        asked = fake.send_command(coordinator, "export")
        working = TEXTS.text("export.working", campaign=CAMPAIGN_NAME)
        progress = await bot_says(fake, coordinator, asked.message_id, working, SECONDS)
        again = fake.send_command(coordinator, "export")
        await bot_says(fake, coordinator, again.message_id, TEXTS.text("jobs.busy"), SECONDS)
        status = fake.send_command(coordinator, "status")
        header = TEXTS.text("status.header", campaign=CAMPAIGN_NAME)
        await bot_says(fake, coordinator, status.message_id, header, SECONDS)
        # The chats go on: a liaison fills a whole form meanwhile.
        await fill_form(fake, liaison)
        await _until_submitted(db_url, 1)

        health = await _health(worker)
        assert health["slow_jobs"] == {
            "depth": 2,
            "oldest_seconds": health["slow_jobs"]["oldest_seconds"],  # type: ignore[index]
        }, health
        assert _files(fake, coordinator, asked.message_id) == []  # nothing runs them yet

        await processes.start("jobs", free_port())
        await _until_edited(fake, coordinator, progress, SENT)
        await fake.wait_until(
            lambda: len(_files(fake, coordinator, asked.message_id)) >= 2 or None,
            SECONDS,
            describe="the workbook and the status picture",
        )
        files = _files(fake, coordinator, asked.message_id)
        assert sorted(
            (f.document.file_name or "")[-5:] if f.document else "photo" for f in files
        ) == [".xlsx", "photo"]

        # 通报: three files, and its progress message says so.
        mark = fake.chat(coordinator).next_message_id
        asked = fake.send_command(coordinator, "tongbao")
        progress = await bot_says(
            fake, coordinator, asked.message_id, TEXTS.text("tongbao.working"), SECONDS
        )
        await _until_edited(
            fake, coordinator, progress, TEXTS.text("tongbao.sent", campaign=CAMPAIGN_NAME)
        )
        assert len(_files(fake, coordinator, mark)) == 3

        # A notice (bytes through the queue) is read there, and its review follows.
        sent = fake.send_document(coordinator, NOTICE.encode(), "通知.txt", "text/plain")
        progress = await bot_says(
            fake, coordinator, sent.message_id, TEXTS.text("notice.reading"), SECONDS
        )
        await _until_edited(fake, coordinator, progress, TEXTS.text("notice.read_done"))
        await bot_says(fake, coordinator, progress.message_id, None, SECONDS)  # the review
    assert "Traceback" not in processes.logs()


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGTERM], ids=["killed", "stopped"])
async def test_a_jobs_process_gone_mid_export_has_its_job_done_by_another(
    tmp_path: Path, stop: signal.Signals
) -> None:
    """Killed: its heartbeat stops and another process gives the job back. Stopped: the
    job runs past the grace time (slow_jobs_grace_seconds) and is handed back as the
    process leaves."""
    async with _deployment(tmp_path) as (fake, db_url, coordinator, _, processes):
        await processes.start("worker", free_port())
        first = await processes.start("jobs", free_port())
        # The workbook is delivered, its answer comes late: the job is in the first
        # process's hands when that process is killed.
        fake.answer_late("sendDocument", times=1, seconds=30.0)
        asked = fake.send_command(coordinator, "export")
        working = TEXTS.text("export.working", campaign=CAMPAIGN_NAME)
        progress = await bot_says(fake, coordinator, asked.message_id, working, SECONDS)
        await fake.wait_until(
            lambda: _files(fake, coordinator, asked.message_id) or None,
            SECONDS,
            describe="the first try's workbook",
        )
        first.send_signal(stop)  # at once: its wait for the answer is still short
        await processes.start("jobs", free_port())
        await _until_edited(fake, coordinator, progress, SENT)
        # Delivered once by the killed process (its answer never came) and once again:
        # a slow job is done at least once.
        assert len(_files(fake, coordinator, asked.message_id)) == 2
        # Then the job's row goes (a successful job is deleted once it has returned).
        async with _queue(db_url) as conn:
            for _ in range(100):
                left = await conn.fetchval(
                    "SELECT count(*) FROM procrastinate_jobs WHERE queue_name = 'slow'"
                )
                if left == 0:
                    break
                await asyncio.sleep(0.1)
        assert left == 0
    if stop is signal.SIGKILL:
        assert "gave back 1 slow jobs" in processes.logs()


@contextlib.asynccontextmanager
async def _queue(db_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(db_url)
    try:
        yield conn
    finally:
        await conn.close()


async def test_a_job_cut_off_too_often_tells_its_person_and_sends_nothing(
    tmp_path: Path,
) -> None:
    """Its process stopped under it GIVE_UP_AFTER times: the next process to take it only
    says on the progress message that it will not be done."""
    async with _deployment(tmp_path) as (fake, db_url, coordinator, _, processes):
        await processes.start("worker", free_port())
        asked = fake.send_command(coordinator, "export")
        working = TEXTS.text("export.working", campaign=CAMPAIGN_NAME)
        progress = await bot_says(fake, coordinator, asked.message_id, working, SECONDS)
        async with _queue(db_url) as conn:
            await conn.execute(
                "UPDATE procrastinate_jobs SET attempts = $1 WHERE queue_name = 'slow'",
                GIVE_UP_AFTER,
            )

        await processes.start("jobs", free_port())

        await _until_edited(fake, coordinator, progress, TEXTS.text("jobs.gave_up"))
        assert _files(fake, coordinator, asked.message_id) == []
    assert "was cut off too often; given up" in processes.logs()


@contextlib.asynccontextmanager
async def _two_stalled_jobs() -> AsyncIterator[tuple[UpdateQueue, asyncpg.Connection]]:
    """A queue whose two slow jobs (people 1 and 2) were taken by a worker that is gone."""
    assert PG_URL is not None
    async with fresh_database(PG_URL) as db_url, _queue(db_url) as conn:
        queue = UpdateQueue(db_url, stalled_after=1)
        await queue.open()
        try:
            for person in (1, 2):
                await queue.defer_slow({"kind": "export", "person_id": person}, f"slow:{person}")
            await conn.execute("UPDATE procrastinate_jobs SET status = 'doing', worker_id = NULL")
            yield queue, conn
        finally:
            await queue.close()


async def test_the_rescue_gives_back_a_stalled_job_ends_one_given_back_too_often_and_purges() -> (
    None
):
    async with _two_stalled_jobs() as (queue, conn):
        # The first went round too often.
        await conn.execute(
            "UPDATE procrastinate_jobs SET attempts = CASE lock WHEN 'slow:1' THEN $1 ELSE 1 END",
            GIVE_UP_AFTER + 1,
        )

        given = await queue.rescue()
        # A failed job's row from an earlier version, an hour and more ago.
        await queue.defer_slow({"kind": "export", "person_id": 3}, "slow:3")
        await conn.execute("UPDATE procrastinate_jobs SET status = 'failed' WHERE lock = 'slow:3'")
        await conn.execute("UPDATE procrastinate_events SET at = at - interval '2 hours'")
        await queue.forget_finished()

        rows = await conn.fetch(
            "SELECT lock, status::text, attempts FROM procrastinate_jobs ORDER BY lock"
        )

    assert given == 1
    assert [tuple(r) for r in rows] == [("slow:2", "todo", 2)]


async def test_a_rescue_racing_another_process_skips_the_job_it_lost_and_gives_back_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with _two_stalled_jobs() as (queue, conn):
        manager = queue.app.job_manager
        found = manager.get_stalled_jobs

        async def raced(**kwargs: Any) -> Any:
            # Between this process's look and its retry, another process gives back the
            # first job.
            stalled = list(await found(**kwargs))
            if stalled:
                await manager.retry_job(stalled[0])
            return stalled

        monkeypatch.setattr(manager, "get_stalled_jobs", raced)

        given = await queue.rescue()

        statuses = await conn.fetch("SELECT status::text FROM procrastinate_jobs")

    assert given == 1
    assert [r[0] for r in statuses] == ["todo", "todo"]
