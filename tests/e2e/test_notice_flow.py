"""A coordinator creates a campaign by sending the notice in the chat."""

from __future__ import annotations

from sqlalchemy import func, select

from storage import models as m
from tests.e2e.harness import COORDINATOR, ROOT, Harness

NOTICE = ROOT / "tests" / "data" / "seeds" / "000_120f0acc1c4bbbb9.txt"


async def _deadlines_of(bot: Harness, code: str) -> int:
    async with bot.db.sessions() as s:
        campaign = await s.scalar(select(m.Campaign).where(m.Campaign.code == code))
        assert campaign is not None
        return int(
            await s.scalar(
                select(func.count())
                .select_from(m.Deadline)
                .where(m.Deadline.campaign_id == campaign.id)
            )
            or 0
        )


async def test_a_notice_sent_as_a_file_becomes_a_campaign_after_review(bot: Harness) -> None:
    [progress, found] = await bot.document(
        COORDINATOR, NOTICE.read_bytes(), "daguan-notice.txt", "text/plain"
    )
    assert progress.text == "通知已读完,请核对下面的报送事项。"  # it said "正在读取" first
    assert "找到 8 项" in (found.text or "")
    assert "原文:" in (found.text or "")

    [ask_units] = await bot.press(COORDINATOR, found, text="无误,下一步")
    assert "单位名单" in (ask_units.text or "")
    created = await bot.text(COORDINATOR, "德宽路所\n玉琳路所、集贤路所")

    assert "已载入 daguan-notice" in (created[0].text or "")
    assert created[-1].document is not None
    assert created[-1].document.file_name == "daguan-notice.toml"
    assert await _deadlines_of(bot, "daguan-notice") == 32
    [status, _picture] = await bot.command(COORDINATOR, "status", "daguan-notice")
    assert "应报3" in (status.text or "")


async def test_an_item_can_be_dropped_and_another_fixed_before_creating(bot: Harness) -> None:
    [_, found] = await bot.document(COORDINATOR, NOTICE.read_bytes(), "n2.txt", "text/plain")

    [shorter] = await bot.press(COORDINATOR, found, text="删第1项")
    assert "找到 7 项" in (shorter.text or "")
    [fixed] = await bot.text(COORDINATOR, "6 日期 2017-01-18")
    assert "2017-01-18" in (fixed.text or "")
    [bad] = await bot.text(COORDINATOR, "6 日期 2017-02-30")
    assert "没看懂" in (bad.text or "")

    await bot.press(COORDINATOR, fixed, text="无误,下一步")
    await bot.text(COORDINATOR, "甲所")

    assert await _deadlines_of(bot, "n2") == 31


async def test_a_plan_file_sent_by_a_coordinator_is_checked_before_it_is_loaded(
    bot: Harness,
) -> None:
    plan = (ROOT / "examples" / "plans" / "qingxi-2018-anticounterfeit.toml").read_text(
        encoding="utf-8"
    )
    broken = plan.replace('form = "stats"', 'form = "statz"')

    [refused] = await bot.document(COORDINATOR, broken.encode(), "qingxi.toml")
    assert "obligations[2].form" in (refused.text or "")
    assert "statz" in (refused.text or "")

    loaded = await bot.document(COORDINATOR, plan.encode(), "qingxi.toml")
    assert "已载入 qingxi-2018-anticounterfeit" in (loaded[0].text or "")
    assert await _deadlines_of(bot, "qingxi-2018-anticounterfeit") == 11


async def test_a_liaison_cannot_create_a_campaign_by_sending_a_plan_file(bot: Harness) -> None:
    links = await bot.invite_links()
    bot.add_user(3001, "联络员")
    await bot.start(3001, links["玉琳路市场监管所"])
    plan = (ROOT / "examples" / "plans" / "qingxi-2018-anticounterfeit.toml").read_bytes()

    replies = await bot.document(3001, plan, "qingxi.toml")

    assert all("已载入" not in (r.text or "") for r in replies)
    async with bot.db.sessions() as s:
        assert (
            await s.scalar(
                select(m.Campaign).where(m.Campaign.code == "qingxi-2018-anticounterfeit")
            )
            is None
        )
