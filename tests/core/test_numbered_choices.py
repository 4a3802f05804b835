"""On a platform without buttons every choice is a numbered list answered by typing the
number (or the option's words); under a question that wants a typed answer a bare number
is that answer."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from conversation.choices import Offered, listed
from services.ports import Button
from tests.core.memory import PLAIN, memory_platform

ROOT = Path(__file__).resolve().parents[2]
DAGUAN = ROOT / "examples" / "plans" / "daguan-2017-anticounterfeit.toml"
CAMPAIGN_DAY = datetime(2016, 12, 14, 2, 0, tzinfo=UTC)
COORDINATOR, LIAISON = 900_001, 2001

OK, CANCEL = Button("✅ 确认提交", "ok:1:0"), Button("取消", "x:1")


def test_a_number_or_the_words_pick_an_option_and_nothing_else_does() -> None:
    text, offered = listed("核对后提交", [[OK], [CANCEL]], "请回复编号:", numbers=True)
    assert text == "核对后提交\n请回复编号:\n1. ✅ 确认提交\n2. 取消"
    assert offered.pick("1") == OK
    assert offered.pick("２") == CANCEL  # a full-width digit from a Chinese keyboard
    assert offered.pick("确认提交") == OK
    assert offered.pick(" 取消 ") == CANCEL
    assert offered.pick("3") is None
    assert offered.pick("确认") is None
    assert Offered.from_json(offered.to_json()) == offered


def test_under_a_typed_question_a_number_is_an_answer_and_words_still_choose() -> None:
    _, offered = listed("出动执法人员(人次)", [[CANCEL]], "也可以回复:", numbers=False)
    assert offered.pick("1") is None
    assert offered.pick("取消") == CANCEL


async def test_a_liaison_without_buttons_picks_by_number_and_answers_with_numbers(
    tmp_path: Path,
) -> None:
    async with memory_platform(
        tmp_path, CAMPAIGN_DAY, DAGUAN, COORDINATOR, capabilities=PLAIN
    ) as platform:
        messages = await platform.command(COORDINATOR, "invite")
        link = next(
            line for line in messages[0].text.splitlines() if line.startswith("· 德宽路市场监管所")
        ).split(":", 1)[1]
        await platform.join(LIAISON, "李明", link)

        [menu] = await platform.command(LIAISON, "submit")
        number, _ = platform.option(menu, "信息周报第3期")
        [question] = await platform.text(LIAISON, number)
        assert "(1/8)请填写:出动执法人员(人次)" in question.text
        assert "1. " not in question.text  # its options are words, not numbers

        # "1" is the number of people, not the first option (零报告).
        [second] = await platform.text(LIAISON, "1")
        assert "(2/8)请填写:检查经营户" in second.text
        [cancelled] = await platform.text(LIAISON, "取消")
        assert cancelled.text == "已取消,本次填写的内容已删除。"


async def test_without_slash_commands_words_are_commands_and_help_brings_the_menu(
    tmp_path: Path,
) -> None:
    async with memory_platform(
        tmp_path, CAMPAIGN_DAY, DAGUAN, COORDINATOR, capabilities=PLAIN
    ) as platform:
        [*_, menu] = await platform.text(COORDINATOR, "帮助")
        assert menu.text.startswith("常用功能:\n请回复编号(或选项文字)选择:\n1. ")
        number, _ = platform.option(menu, "报送情况")
        status, _picture = await platform.text(COORDINATOR, number)
        assert status.text.startswith(
            "“2017年元旦春节期间打假专项行动”报送情况:\n1. 信息周报第1期"
        )
        assert status.text.endswith("点击编号查看各单位情况。\n请回复编号(或选项文字)选择:")
        # The same by its word, with an argument, and a slash command typed by hand.
        [unknown] = await platform.text(COORDINATOR, "状态 no-such-campaign")
        [again, _] = await platform.text(COORDINATOR, "/status")
        assert again.text == status.text and unknown.text != status.text
        # 绑定 without its code is no command: a stranger's text gets the usual answer.
        [refused] = await platform.text(LIAISON, "绑定")
        assert refused.text.startswith("您好!本机器人仅供受邀的联络员和牵头单位使用。")
