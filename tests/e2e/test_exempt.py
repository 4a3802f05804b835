"""免报 and 延期 in the chat, over real HTTP: the coordinator picks the unit's deadline,
confirms, the unit's liaison is told, /status shows it; a second tap changes nothing; it
can be undone; nobody else can do it."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from storage import models as m
from tests.e2e.harness import COORDINATOR, Harness, running_bot
from tests.e2e.test_reminders import start_reminders

BJ = ZoneInfo("Asia/Shanghai")
UNIT = "德宽路市场监管所"
LIAISON = 2001
ROSTER = "信息联络员名单(12月15日 周四 17:30前)"


async def _told(bot: Harness, words: str) -> str:
    """The liaison's message containing `words`, once the reminder loop has sent it."""
    found = await bot.fake.wait_until(
        lambda: next((m.text for m in bot.fake.sent(LIAISON) if words in (m.text or "")), None),
        5.0,
        describe=f"a message to the liaison with {words!r}",
    )
    return str(found)


async def test_the_coordinator_exempts_a_unit_after_confirming_and_its_liaison_is_told(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path, datetime(2016, 12, 14, 10, tzinfo=BJ)) as bot:
        links = await bot.invite_links()
        await bot.join(LIAISON, "李明", links[UNIT])
        start_reminders(bot)

        [usage] = await bot.command(COORDINATOR, "exempt")
        assert (usage.text or "").startswith("用法:/exempt 单位名称 理由")
        [pick] = await bot.command(COORDINATOR, "exempt", f"{UNIT} 停业整顿")
        assert pick.text == f"选择 {UNIT} 免报哪一项:"
        [confirm] = await bot.press(COORDINATOR, pick, text="信息联络员名单")
        assert confirm.text == (
            f"将 {UNIT} 设为免报:{ROSTER}。理由:停业整顿。该单位不再被催报,也不计入未报。确认吗?"
        )
        assert await bot.rows(m.UnitDeadlineOverride) == []  # nothing before the confirmation

        go = confirm.callback_data("确认")
        [done] = await bot.press(COORDINATOR, confirm, data=go)
        assert done.message_id == confirm.message_id and done.buttons == []
        assert done.text == f"已设为免报:{UNIT},{ROSTER}。理由:停业整顿。将通知该单位联络员。"
        told = await _told(bot, "免报")
        assert told == (f"{UNIT}:牵头单位已同意本单位免报 {ROSTER}(理由:停业整顿)。此项不再催报。")

        # A second tap that was already on its way: nothing changes, and it says so.
        [again] = await bot.press(COORDINATOR, confirm, data=go, strict=False)
        assert (again.text or "").endswith("没有改动。")
        assert len(await bot.rows(m.UnitDeadlineOverride)) == 1

        [status, _picture] = await bot.command(COORDINATOR, "status")
        roster_line = next(
            line for line in (status.text or "").splitlines() if "应报" in line and "免报1" in line
        )
        assert roster_line.strip().startswith("应报5")


async def test_an_extension_and_its_undo_reach_the_liaison_and_strangers_cannot_do_either(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path, datetime(2016, 12, 14, 10, tzinfo=BJ)) as bot:
        links = await bot.invite_links()
        await bot.join(LIAISON, "李明", links[UNIT])
        [refused] = await bot.command(LIAISON, "exempt", f"{UNIT} 停业整顿")
        assert refused.text == "此功能仅供牵头单位使用。"
        start_reminders(bot)
        [bad] = await bot.command(COORDINATOR, "exempt", f"{UNIT} 2016-12-40 人员外出")
        assert (bad.text or "").startswith("延期时间应写作 YYYY-MM-DD HH:MM")
        [unknown] = await bot.command(COORDINATOR, "exempt", "不存在的所 停业整顿")
        assert (unknown.text or "").startswith("找不到单位“不存在的所”")

        [pick] = await bot.command(COORDINATOR, "exempt", f"{UNIT} 2016-12-20 15:00 人员外出")
        assert pick.text == f"选择 {UNIT} 延期哪一项:"
        [confirm] = await bot.press(COORDINATOR, pick, text="信息联络员名单")
        [done] = await bot.press(COORDINATOR, confirm, text="确认")
        new_due = "信息联络员名单(12月20日 周二 15:00前)"
        assert done.text == f"已延期:{UNIT},{new_due}。理由:人员外出。将通知该单位联络员。"
        assert "催报和逾期按新的截止时间计算" in await _told(bot, "延期")
        [tasks] = await bot.command(LIAISON, "tasks")
        assert f"{new_due} · 未提交 · 已延期" in (tasks.text or "")

        [listing] = await bot.command(COORDINATOR, "unexempt", UNIT)
        [ask] = await bot.press(COORDINATOR, listing, text="撤销延期")
        assert ask.button_texts == ["确认撤销", "取消"]
        [undone] = await bot.press(COORDINATOR, ask, text="确认撤销")
        assert undone.text == (
            f"已撤销:{UNIT} 的 {ROSTER} 恢复按原截止时间报送。已通知该单位联络员。"
        )
        assert "恢复按原截止时间报送" in await _told(bot, "撤销")
        [none] = await bot.command(COORDINATOR, "unexempt", UNIT)
        assert none.text == f"{UNIT} 目前没有免报或延期。"
