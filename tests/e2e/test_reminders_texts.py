"""What automatic reminders say, in both languages, rendered from the catalogue."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.config import ReminderSettings, Settings
from bot.nudge_loop import CatalogueRenderer, settings_of
from conversation.i18n import Catalogue
from services.nudges import (
    BlockedNotice,
    DeadlineRef,
    Digest,
    DigestLine,
    MissedNotice,
    Nudge,
)
from services.ports import Button

WEEKLY = DeadlineRef(
    7, "信息周报", 3, True, datetime(2016, 12, 15, 15, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
)
ROSTER = DeadlineRef(
    4, "信息联络员名单", 1, False, datetime(2016, 12, 15, 17, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
)
RENDER = CatalogueRenderer(Catalogue()).render


def nudge(step: str, overdue: bool, returned: bool = False, language: str | None = None) -> Nudge:
    return Nudge(WEEKLY, "德宽路市场监管所", step, overdue, returned, language)


def test_a_nudge_before_the_deadline_says_it_is_due_soon_and_carries_the_form_button() -> None:
    assert RENDER(nudge("before-1wd", False)) == (
        "【催报提醒】德宽路市场监管所:信息周报第3期(12月15日 周四 15:00前) 即将截止,请按时填报。",
        [[Button("立即填报", "sub:7")]],
    )


def test_the_due_and_overdue_notices_say_it_is_late() -> None:
    assert RENDER(nudge("due", True))[0] == (
        "【逾期提醒】德宽路市场监管所:信息周报第3期(12月15日 周四 15:00前) 已到截止时间,"
        "尚未报送,请尽快填报。"
    )
    assert RENDER(nudge("overdue-2", True))[0] == (
        "【逾期催报】德宽路市场监管所:信息周报第3期(12月15日 周四 15:00前) 已逾期,"
        "尚未报送,请尽快填报。"
    )


def test_a_returned_report_is_nudged_with_the_correct_and_resubmit_button() -> None:
    text, buttons = RENDER(nudge("overdue-1", True, returned=True))

    assert text.startswith("【催报】德宽路市场监管所:信息周报第3期")
    assert "已被退回" in text
    assert buttons == [[Button("修改后重新提交", "sub:7")]]


def test_a_nudge_speaks_the_recipients_language() -> None:
    text, buttons = RENDER(nudge("before-2h", False, language="en"))

    assert text == (
        "[Reminder] 德宽路市场监管所: 信息周报 #3 (due Thu 15 Dec 15:00) is due soon. "
        "Please report on time."
    )
    assert buttons == [[Button("Report now", "sub:7")]]


def test_coordinators_read_who_blocked_the_bot_and_who_missed_a_deadline() -> None:
    assert RENDER(BlockedNotice(ROSTER, "集贤路市场监管所", "陈静", None)) == (
        (
            "【无法送达】集贤路市场监管所的陈静已屏蔽机器人,自动催报(信息联络员名单"
            "(12月15日 周四 17:30前))无法送达,请电话联系。"
        ),
        [],
    )
    assert RENDER(MissedNotice(ROSTER, ("玉琳路市场监管所", "集贤路市场监管所"), None))[0] == (
        "【截止未报】信息联络员名单(12月15日 周四 17:30前) 已截止,以下 2 个单位尚未报送:"
        "玉琳路市场监管所、集贤路市场监管所"
    )


def test_the_daily_digest_lists_what_is_due_and_who_is_overdue() -> None:
    digest = Digest(
        "2017年元旦春节期间打假专项行动",
        date(2016, 12, 15),
        (DigestLine(WEEKLY, 6, 2, ()),),
        (DigestLine(ROSTER, 6, 5, ("集贤路市场监管所",)),),
        None,
    )

    assert RENDER(digest) == (
        (
            "【每日报送情况】2017年元旦春节期间打假专项行动 · 2016年12月15日\n"
            "今明两天截止:\n"
            "· 信息周报第3期(12月15日 周四 15:00前):已报 2/6\n"
            "逾期未报:\n"
            "· 信息联络员名单(12月15日 周四 17:30前):集贤路市场监管所"
        ),
        [],
    )


def test_reminders_are_on_by_default_and_a_config_can_turn_them_off() -> None:
    assert settings_of(Settings()).enabled is True
    off = Settings.model_validate({"reminders": {"enabled": False}})
    assert settings_of(off) == ReminderSettings(enabled=False)
