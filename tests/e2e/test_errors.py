"""A failure while handling a message: the person gets one polite line, the operator (the
coordinators unless `operators` is set) hears of it once per kind of error in a while, and
the log carries neither the update nor what anyone typed."""

from __future__ import annotations

import logging

import pytest

from handlers import errors
from tests.e2e.harness import COORDINATOR, Harness

C_LIAISON = 2005
ERROR = "抱歉,处理时出错了,请稍后再试。已提交的内容不受影响。"


@pytest.fixture(autouse=True)
def _forget_reports() -> None:
    errors._told.clear()


async def test_a_failed_reply_is_apologised_for_and_the_operator_is_told_once(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    links = await bot.invite_links()
    await bot.join(C_LIAISON, "陈静", links["集贤路市场监管所"])
    told_before = len(bot.fake.sent(COORDINATOR))

    for _ in range(2):
        bot.fake.fail_next("sendMessage", chat_id=C_LIAISON, description="Bad Request: boom")
        with caplog.at_level(logging.ERROR, logger="cuibao.errors"):
            await bot.command(C_LIAISON, "tasks")
        assert bot.last(C_LIAISON).text == ERROR

    reports = [x.text or "" for x in bot.fake.sent(COORDINATOR)[told_before:]]
    assert len(reports) == 1
    assert reports[0].startswith("⚠ cuibao 处理一条消息时出错:BadRequest(")
    assert "/tasks" not in caplog.text  # what the person sent
    assert "陈静" not in caplog.text
