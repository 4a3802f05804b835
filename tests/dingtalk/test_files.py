"""Files on DingTalk: its messages say no size up front, so a file past the limit is
found while downloading; the liaison is told it is too large, and nothing is stored."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import func, select

from storage import models as m
from tests.dingtalk.harness import dingtalk_bot
from tests.dingtalk.test_campaign_day_on_dingtalk import CAMPAIGN_DAY, A, bind, open_weekly_3


async def test_a_file_past_the_limit_is_refused_as_too_large_not_as_empty(
    tmp_path: Path,
) -> None:
    async with dingtalk_bot(tmp_path, CAMPAIGN_DAY, max_file_mb=1) as bot:
        await bind(bot)
        await open_weekly_3(bot, A)
        [refused] = await bot.send_file(A, os.urandom(1024 * 1024 + 1), "周报.xlsx")
        assert refused.text == "文件太大:每个文件不能超过 1 MB。"
        async with bot.db.sessions() as s:
            assert await s.scalar(select(func.count()).select_from(m.Attachment)) == 0
