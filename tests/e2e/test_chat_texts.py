"""Small chat texts a new coordinator reads first: the /start reply, and a plan refused for
a wrong type."""

from __future__ import annotations

from handlers.menus import COORDINATOR_COMMANDS
from tests.e2e.harness import COORDINATOR, DAGUAN, Harness

WRONG_TYPE = DAGUAN.read_text(encoding="utf-8").replace("weekday = 4", 'weekday = "4"')


async def test_the_coordinators_start_reply_names_every_command_of_their_menu(
    bot: Harness,
) -> None:
    [welcome] = await bot.command(COORDINATOR, "start")

    text = welcome.text or ""
    assert text.startswith("您好,您是牵头单位工作人员。")
    assert [c for c in COORDINATOR_COMMANDS if f"/{c} " not in text] == []


async def test_the_coordinators_start_reply_in_english_names_them_too(bot: Harness) -> None:
    [choose] = await bot.command(COORDINATOR, "language")
    await bot.press(COORDINATOR, choose, text="English")

    [welcome] = await bot.command(COORDINATOR, "start")

    text = welcome.text or ""
    assert text.startswith("Welcome, coordinator.")
    assert [c for c in COORDINATOR_COMMANDS if f"/{c} " not in text] == []


async def test_a_plan_sent_with_a_wrong_type_is_refused_with_the_types_in_chinese(
    bot: Harness,
) -> None:
    [refused] = await bot.document(COORDINATOR, WRONG_TYPE.encode(), "daguan.toml")

    assert refused.text == (
        "daguan.toml: obligations[1].schedule.weekday: 类型不对:应为 整数,实际是 带引号的文字"
    )


async def test_a_plan_sent_with_a_wrong_type_is_refused_in_english_after_language_en(
    bot: Harness,
) -> None:
    [choose] = await bot.command(COORDINATOR, "language")
    await bot.press(COORDINATOR, choose, text="English")

    [refused] = await bot.document(COORDINATOR, WRONG_TYPE.encode(), "daguan.toml")

    assert refused.text == (
        "daguan.toml: obligations[1].schedule.weekday: wrong type: expected integer, got string"
    )
