"""What a person does next is taken for what they were last shown, from the database: a
typed answer, a file or /blank is for the draft whose question is on screen, and a 退回
reason typed after a restart still returns the report."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from storage import models as m
from tests.e2e.conftest import CAMPAIGN_DAY
from tests.e2e.harness import COORDINATOR, running_bot
from tests.e2e.test_bad_input import B, UNIT_B, WEEKLY_3, submitted_by_b


async def test_a_return_reason_typed_after_a_restart_still_returns_the_report(
        tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'cuibao.sqlite3'}"
    async with running_bot(tmp_path, CAMPAIGN_DAY, database_url=database_url) as bot:
        await submitted_by_b(bot)
        [before] = await bot.rows(m.Submission)
        assert before.status == "submitted"

    later = CAMPAIGN_DAY + timedelta(minutes=5)
    async with running_bot(tmp_path, later, database_url=database_url) as bot:
        bot.add_user(B, "张华")

        [done] = await bot.text(COORDINATOR, "本周有查处")

        assert done.text == f"已退回 {UNIT_B} 的 {WEEKLY_3},已通知 1 人。"
        [submission] = await bot.rows(m.Submission)
        assert (submission.id, submission.revision, submission.status,
                submission.review_comment) == (before.id, 1, "returned", "本周有查处")
        assert "本周有查处" in bot.last(B).content
        [conversation] = await bot.rows(m.Conversation, m.Conversation.person_id == 1)
        assert conversation.review_submission_id is None
        # The reason is taken once: the same text again is not a second return.
        [again] = await bot.text(COORDINATOR, "本周有查处")
        assert again.text == "此功能供各单位联络员使用。牵头单位请用 /status 查看报送情况。"
