"""An update python-telegram-bot cannot read is skipped with one log line; the rest are
served, in long polling and in webhook mode alike."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
from pydantic import SecretStr

from bot.app import build_application
from bot.config import BotSettings, DatabaseSettings, FileSettings, ReminderSettings, Settings
from bot.webhook import SECRET_HEADER, serve_webhook
from fakegram import FakeTelegram
from storage.database import Database
from tests.clock import Clock
from tests.e2e.conftest import CAMPAIGN_DAY
from tests.e2e.harness import COORDINATOR, Harness

# A poll as an older (self-hosted) Bot API server sends it: without the fields PTB 22
# requires, so Update.de_json raises.
OLD_POLL = {
    "poll": {
        "id": "5",
        "question": "今天开会吗?",
        "is_closed": False,
        "options": [{"text": "是", "voter_count": 0}],
    }
}
UNREADABLE = "skipped update"


def skipped(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if UNREADABLE in r.getMessage()]


async def test_an_unreadable_update_is_skipped_and_the_next_one_is_served(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    bad = bot.fake.updates.push_raw(OLD_POLL)

    [reply] = await bot.command(COORDINATOR, "help")

    assert reply.text
    [line] = skipped(caplog)
    assert line.levelno == logging.ERROR
    assert f"skipped update {bad} (poll)" in line.getMessage()
    assert line.exc_info is None  # one line, not a traceback
    assert not [r for r in caplog.records if r.levelno >= logging.CRITICAL]


async def test_an_unreadable_update_last_in_its_batch_is_acknowledged(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    await bot.command(COORDINATOR, "help")
    bot.fake.updates.push_raw(OLD_POLL)
    bot.fake.updates.push_raw({"message": "not an object"})

    await bot.idle()  # returns only once the fake holds no unacknowledged update
    [reply] = await bot.command(COORDINATOR, "help")

    assert reply.text
    assert len(skipped(caplog)) == 2
    polls = [c for c in bot.fake.calls if c.method == "getUpdates"]
    assert len(polls) < 50  # acknowledged at once, not fetched again and again


@asynccontextmanager
async def webhook_bot(tmp_path: Path) -> AsyncIterator[Harness]:
    """The real Application in webhook mode, Telegram (fakegram) posting to it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with (
        FakeTelegram() as fake,
        Database.open(f"sqlite:///{tmp_path / 'cuibao.sqlite3'}") as db,
    ):
        config = Settings(
            bot=BotSettings(
                api_base_url=fake.base_url,
                api_file_url=fake.base_file_url,
                coordinators=(COORDINATOR,),
            ),
            database=DatabaseSettings(url="sqlite://"),
            files=FileSettings(dir=str(tmp_path / "files")),
            reminders=ReminderSettings(enabled=False),
            base_dir=tmp_path,
            token=SecretStr(fake.token),
        )
        fake.add_user(COORDINATOR, "王协调")
        app = build_application(config, clock=Clock(CAMPAIGN_DAY), database=db)
        stop = asyncio.Event()
        serving = asyncio.create_task(
            serve_webhook(
                app,
                listen="127.0.0.1",
                port=port,
                url=f"http://127.0.0.1:{port}/hook",
                secret="s3cret",
                stop=stop,
            )
        )
        await fake.wait_until(
            lambda: fake.updates.webhook.url or None, 5.0, describe="the webhook to be set"
        )
        try:
            yield Harness(fake, app, db, Clock(CAMPAIGN_DAY), config)
        finally:
            await app.bot.delete_webhook()  # the fake's delivery loop ends by itself
            stop.set()
            await serving


async def test_in_webhook_mode_an_unreadable_update_is_acknowledged_and_the_next_served(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with webhook_bot(tmp_path) as bot:
        bad = bot.fake.updates.push_raw(OLD_POLL)

        [reply] = await bot.command(COORDINATOR, "help")

        assert reply.text
        assert bot.fake.updates.webhook.delivered == 2
        assert bot.fake.updates.webhook.last_error_message is None
    [line] = skipped(caplog)
    assert f"skipped update {bad} (poll)" in line.getMessage()
    assert line.exc_info is None


async def test_in_webhook_mode_a_post_without_the_secret_token_is_refused(tmp_path: Path) -> None:
    async with webhook_bot(tmp_path) as bot, aiohttp.ClientSession() as session:
        url = bot.fake.updates.webhook.url
        update = {
            "update_id": 1,
            "message": {
                "message_id": 1,
                "date": 0,
                "text": "/help",
                "chat": {"id": COORDINATOR, "type": "private"},
            },
        }
        async with (
            session.post(url, json=update) as missing,
            session.post(url, json=update, headers={SECRET_HEADER: "wrong"}) as wrong,
        ):
            statuses = (missing.status, wrong.status)
        await bot.idle()

        assert statuses == (403, 403)
        assert bot.fake.sent(COORDINATOR) == []
