"""An update python-telegram-bot cannot read is skipped with one log line; the rest are
served, in long polling and in webhook mode alike."""

from __future__ import annotations

import logging

import pytest

from tests.e2e.harness import COORDINATOR, Harness

# A poll as an older (self-hosted) Bot API server sends it: without the fields PTB 22
# requires, so Update.de_json raises.
OLD_POLL = {"poll": {"id": "5", "question": "今天开会吗?", "is_closed": False,
                     "options": [{"text": "是", "voter_count": 0}]}}
UNREADABLE = "skipped update"


def skipped(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if UNREADABLE in r.getMessage()]


async def test_an_unreadable_update_is_skipped_and_the_next_one_is_served(
        bot: Harness, caplog: pytest.LogCaptureFixture) -> None:
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
        bot: Harness, caplog: pytest.LogCaptureFixture) -> None:
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
