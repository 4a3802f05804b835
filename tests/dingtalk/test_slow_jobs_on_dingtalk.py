"""A coordinator's slow work on DingTalk (the real adapter over the fake's WebSocket and
HTTP): each job says at once that it started, and its result follows as messages of
their own (DingTalk cannot edit the first one); the chat is free meanwhile."""

from __future__ import annotations

from pathlib import Path

from tests.dingtalk.harness import COORDINATOR, dingtalk_bot
from tests.dingtalk.test_campaign_day_on_dingtalk import (
    CAMPAIGN_DAY,
    B,
    bind,
    open_weekly_3,
)

CAMPAIGN = "2017年元旦春节期间打假专项行动"
AFTER = "完成后发给您,其间可以继续使用其他功能。"
NOTICE = "各单位于2016年12月20日前报送信息联络员名单。每周四15:00前报送本周工作进展。"


async def test_an_export_a_tongbao_and_a_notice_each_say_they_started_and_how_they_ended(
    tmp_path: Path,
) -> None:
    async with dingtalk_bot(tmp_path, CAMPAIGN_DAY) as bot:
        await bind(bot)
        question = await open_weekly_3(bot, B)
        await bot.choose(B, question, "零报告")

        exported = await bot.say(COORDINATOR, "导出")
        tongbao = await bot.say(COORDINATOR, "通报")
        notice = await bot.send_file(COORDINATOR, NOTICE.encode(), "通知.txt")

    assert [(s.msg_key, s.text, s.param.get("fileName")) for s in exported] == [
        (
            "sampleText",
            f"正在生成“{CAMPAIGN}”汇总报表…… 完成后发给您,其间可以继续使用其他功能。",
            None,
        ),
        ("sampleText", f"“{CAMPAIGN}”汇总报表(导出于 12月14日(周三) 10:00)", None),
        ("sampleFile", "", f"{CAMPAIGN}汇总表_2016-12-14.xlsx"),
    ]
    assert tongbao[0].text == f"正在生成通报…… {AFTER}"
    assert [s.param.get("fileName") for s in tongbao if s.msg_key == "sampleFile"] == [
        f"{CAMPAIGN}报送情况通报-2016-12-14.docx",
        f"{CAMPAIGN}报送情况通报-2016-12-14.xlsx",
    ]
    assert tongbao[-1].msg_key == "sampleImageMsg"
    [reading, review] = notice
    assert reading.text == "正在读取通知…… 读完后把找到的报送事项发给您核对。"
    assert "中找到 2 项报送要求" in review.text
