from __future__ import annotations

from bot.transport import AiohttpRequest
from tests.e2e.harness import COORDINATOR, Harness


async def test_a_stranger_gets_one_polite_refusal_and_nothing_else(bot: Harness) -> None:
    bot.add_user(1001, "陌生人")

    replies = await bot.command(1001, "status")

    assert len(replies) == 1
    assert "邀请链接" in (replies[0].text or "")
    assert "大观" not in (replies[0].text or "")


async def test_an_invited_liaison_fills_the_liaison_list_and_the_coordinator_sees_it(
    bot: Harness,
) -> None:
    links = await bot.invite_links()
    bot.add_user(2001, "李联络")

    bound = await bot.start(2001, links["德宽路市场监管所"])
    assert "德宽路市场监管所" in (bound[0].text or "")

    [pick] = await bot.command(2001, "submit")
    [question] = await bot.press(2001, pick, text="信息联络员名单")
    assert "联络员姓名" in (question.text or "")
    await bot.text(2001, "李明")
    refused, again = await bot.text(2001, "x" * 31)  # title is limited to 30 characters
    assert "太长" in (refused.text or "")
    assert "职务" in (again.text or "")
    await bot.press(2001, bot.last(2001), text="跳过")
    [preview] = await bot.text(2001, "0556-5542026")
    assert "请核对" in (preview.text or "")
    done = await bot.press(2001, preview, text="确认提交")
    assert "已提交" in (done[-1].text or "")

    [status, _picture] = await bot.command(COORDINATOR, "status")
    assert "已报1" in (status.text or "")


async def test_the_bot_talks_to_the_bot_api_over_aiohttp_for_both_calls_and_polling(
    bot: Harness,
) -> None:
    # (No proxy in the test environment; telegram_request's choice is tested apart.)
    assert isinstance(bot.app.bot.request, AiohttpRequest)
    assert all(isinstance(r, AiohttpRequest) for r in bot.app.bot._request)
