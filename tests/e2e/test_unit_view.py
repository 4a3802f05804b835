"""The coordinator opens one unit: its record across the deadlines due so far, its people
and last report, and a submission's answers with the files it carried sent again."""

from __future__ import annotations

from tests.e2e.harness import COORDINATOR, Harness
from tests.e2e.test_campaign_day import (
    A_LIAISON,
    ANSWERS,
    SPREADSHEET,
    UNIT_A,
    UNIT_C,
    WEEKLY_3,
    fill_weekly_3_with_a_spreadsheet,
    join_units,
)


async def test_a_unit_record_lists_its_deadlines_and_opens_a_submission_with_its_file(
    bot: Harness,
) -> None:
    await join_units(bot)
    preview = await fill_weekly_3_with_a_spreadsheet(bot, A_LIAISON)
    await bot.press(A_LIAISON, preview, text="确认提交")
    bot.clock.advance(hours=29.5)  # past weekly report #3

    [card] = await bot.command(COORDINATOR, "unit", "德宽")
    [record] = await bot.press(COORDINATOR, card, text="📋 报送记录")
    lines = (record.text or "").splitlines()
    assert lines[0] == f"【{UNIT_A}】报送记录(2017年元旦春节期间打假专项行动)"
    assert lines[1] == "人员:李明(信息联络员)、王芳(副联络员)"
    assert lines[2] == "最近报送:12月14日(周三) 10:00"
    assert lines[3] == "按时 1 · 迟报 0 · 零报告 0 · 退回待改 0 · 未报 2 · 免报 0"
    assert lines[4] == f"1. {WEEKLY_3} · 已提交"
    assert [x for x in lines[5:] if "信息周报第1期" in x or "信息周报第2期" in x]
    assert record.button_texts == ["查看 1"]

    [answers, document] = await bot.press(COORDINATOR, record, text="查看 1")
    assert (answers.text or "").splitlines()[:3] == [
        f"【{UNIT_A}】{WEEKLY_3} 第 1 版:",
        f"· 出动执法人员:{ANSWERS[0]} 人次",
        f"· 检查经营户:{ANSWERS[1]} 户次",
    ]
    assert document.document is not None
    assert document.document.file_name == "周报 第3期.xlsx"
    assert document.document.data == SPREADSHEET


async def test_missing_units_are_one_tap_from_their_record(bot: Harness) -> None:
    await join_units(bot)
    bot.clock.advance(hours=29.5)
    [missing] = await bot.command(COORDINATOR, "missing")
    assert f"记录:{UNIT_C}" in missing.button_texts
    [record] = await bot.press(COORDINATOR, missing, text=f"记录:{UNIT_C}")
    assert (record.text or "").startswith(f"【{UNIT_C}】报送记录")
    assert record.button_texts == []


async def test_a_liaison_cannot_open_a_unit_record_with_a_forged_button(bot: Harness) -> None:
    await join_units(bot)
    [tasks] = await bot.command(A_LIAISON, "tasks")
    [refused] = await bot.press(A_LIAISON, tasks, data="ur:1", strict=False)
    assert refused.text == "此功能仅供牵头单位使用。"
