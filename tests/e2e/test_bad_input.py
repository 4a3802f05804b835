"""Bad input, one test each: a clear Chinese answer, and nothing changed in the database or
on disk. Plus what must survive a restart, English, and who may ask for what."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from fakegram import ChatMessage
from storage import models as m
from tests.e2e.conftest import CAMPAIGN_DAY
from tests.e2e.harness import COORDINATOR, QINGXI, Harness, running_bot

A, B, STRANGER = 2001, 2002, 3001
UNIT_A, UNIT_B = "德宽路市场监管所", "玉琳路市场监管所"
WEEKLY_3 = "信息周报第3期(12月15日 周四 15:00前)"
STATS = f"【打假统计报表】{WEEKLY_3}"
LIAISON_LIST = "信息联络员名单(12月15日 周四 17:30前)"
ANSWERS = ["12", "35", "3", "2", "1.5", "0.8", "2", "假冒白酒120瓶"]
QUESTIONS = {
    1: f"{STATS}\n(1/8)请填写:出动执法人员(人次)\n请输入整数,如 12。",
    5: f"{STATS}\n(5/8)请填写:案值(万元)\n请输入数字,最多 4 位小数,如 3.5。",
    8: (
        f"{STATS}\n(8/8)请填写:收缴物资\n说明:品名及数量,如:假冒白酒120瓶\n"
        "请输入文字(不超过 200 字)。"
    ),
}
FILES_PROMPT = (
    f"{STATS}\n请上传附件(可多个,格式 doc/docx/xls/xlsx/wps/pdf/jpg/jpeg/png,"
    "每个不超过 {max_mb} MB),传完后点“附件已传完”。"
)
STRANGER_TEXT = "您好!本机器人仅供受邀的联络员和牵头单位使用。如需使用,请向牵头单位索取邀请链接。"
STALE = "该按钮已过期,请重新发送 /submit 或 /tasks。"
COORDINATORS_ONLY = "此功能仅供牵头单位使用。"
NOT_A_NUMBER = "请输入数字(如 12 或 3.5),不要带其他文字。"
# What a coordinator's stray text gets (it is not the reason for a return).
NOT_A_LIAISON = "此功能供各单位联络员使用。牵头单位请用 /status 查看报送情况。"


async def bind(bot: Harness, *people: tuple[int, str, str]) -> None:
    links = await bot.invite_links()
    for user, name, unit in people:
        await bot.join(user, name, links[unit])


async def liaison_at(bot: Harness, question: int) -> ChatMessage:
    """A's liaison, bound, with the weekly report open at `question` (9: the files step)."""
    await bind(bot, (A, "李明", UNIT_A))
    [pick] = await bot.command(A, "submit")
    [prompt] = await bot.press(A, pick, text="信息周报第3期")
    for answer in ANSWERS[: question - 1]:
        *_, prompt = await bot.text(A, answer)
    if question in QUESTIONS:
        assert prompt.text == QUESTIONS[question]
    return prompt


async def assert_answer_refused(bot: Harness, question: int, answer: str, message: str) -> None:
    await liaison_at(bot, question)
    before = await bot.snapshot()

    refusal, again = await bot.text(A, answer)

    assert refusal.text == message
    assert again.text == QUESTIONS[question]  # the same question, asked again
    assert await bot.snapshot() == before


def downloads(bot: Harness) -> int:
    return sum(1 for call in bot.fake.calls if call.method == "getFile")


# ---- typed answers ---------------------------------------------------------------------


async def test_letters_for_a_number_are_refused_and_the_question_is_asked_again(
    bot: Harness,
) -> None:
    await assert_answer_refused(bot, 1, "abc", NOT_A_NUMBER)


async def test_a_negative_count_is_refused(bot: Harness) -> None:
    await assert_answer_refused(bot, 1, "-3", "数量不能为负数。")


async def test_1e309_is_not_taken_for_a_number(bot: Harness) -> None:
    await assert_answer_refused(bot, 5, "1e309", NOT_A_NUMBER)


async def test_nan_is_not_taken_for_a_number(bot: Harness) -> None:
    await assert_answer_refused(bot, 5, "NaN", NOT_A_NUMBER)


async def test_a_ten_thousand_character_answer_is_refused_with_its_length(bot: Harness) -> None:
    await assert_answer_refused(
        bot, 8, "假" * 10_000, "内容太长(10000 字),请控制在 200 字以内,或作为附件上传。"
    )


async def test_editing_an_earlier_answer_does_not_answer_the_current_question(
    bot: Harness,
) -> None:
    await liaison_at(bot, 2)
    [first] = [x for x in bot.fake.history(A) if not x.from_bot and x.text == "12"]
    before = await bot.snapshot()
    mark = bot.last(A).message_id

    bot.fake.edit_user_text(A, first.message_id, "13")
    [hint] = await bot.fake.wait_for_messages(A, 1, after=mark)
    await bot.idle()

    assert hint.text == (
        "修改已发送的消息不会改变已填的内容。如需修改,请在提交前的核对页点击相应项目。"
    )
    assert await bot.snapshot() == before
    [draft] = await bot.rows(m.Draft)
    assert draft.state["answers"] == {"inspectors": 12}


async def test_two_answers_of_four_thousand_characters_still_give_a_preview_to_confirm(
    bot: Harness,
) -> None:
    await bind(bot, (A, "李明", UNIT_A))
    [tasks] = await bot.command(A, "tasks")
    summary = await bot.deadline_id("stage-summary", 1)
    await bot.press(A, tasks, data=f"sub:{summary}", strict=False)
    experience, cases = "经验" * 2000, "案例" * 2000
    for answer in ["1", "2", "3", "-", experience, cases]:
        await bot.text(A, answer)
    [files] = await bot.document(A, b"PK\x03\x04", "小结.docx")

    [preview] = await bot.press(A, files, text="附件已传完")

    assert preview.text is not None
    assert f"· 经验做法:{experience[:300]}…(共 4000 字,已完整保存)" in preview.text.splitlines()
    assert f"· 典型案例:{cases[:300]}…(共 4000 字,已完整保存)" in preview.text.splitlines()
    [done] = await bot.press(A, preview, text="确认提交")
    assert (done.text or "").startswith("✅ 已提交:阶段工作小结第1期")
    [submission] = await bot.rows(m.Submission)
    assert (submission.answers["experience"], submission.answers["cases_typical"]) == (
        experience,
        cases,
    )


# ---- files -----------------------------------------------------------------------------


async def test_an_exe_upload_is_refused_before_it_is_downloaded(bot: Harness) -> None:
    files = await liaison_at(bot, 9)
    assert files.text == FILES_PROMPT.format(max_mb=20)
    before, fetched = await bot.snapshot(), downloads(bot)

    [refusal] = await bot.document(
        A, b"MZ\x90\x00" + b"\x00" * 100, "统计报表.exe", "application/x-msdownload"
    )

    assert refusal.text == (
        "不支持该文件类型。请上传 doc/docx/xls/xlsx/wps/pdf/jpg/jpeg/png 格式的文件。"
    )
    assert downloads(bot) == fetched
    assert await bot.snapshot() == before


async def test_a_file_over_the_limit_is_refused_before_it_is_downloaded(tmp_path: Path) -> None:
    async with running_bot(tmp_path, CAMPAIGN_DAY, files={"max_mb": 1}) as bot:
        files = await liaison_at(bot, 9)
        assert files.text == FILES_PROMPT.format(max_mb=1)
        before, fetched = await bot.snapshot(), downloads(bot)

        [refusal] = await bot.document(A, b"\x00" * (1024 * 1024 + 1), "统计报表.xlsx")

        assert refusal.text == "文件太大:每个文件不能超过 1 MB。"
        assert downloads(bot) == fetched
        assert await bot.snapshot() == before


async def test_a_file_for_a_form_without_attachments_is_refused_as_such(bot: Harness) -> None:
    await bind(bot, (A, "李明", UNIT_A))
    [pick] = await bot.command(A, "submit")
    await bot.press(A, pick, text="信息联络员名单")
    before, fetched = await bot.snapshot(), downloads(bot)

    # (An .xlsx is fetched first: it may be a filled-in /blank answering the whole form.)
    [refusal] = await bot.document(A, b"%PDF-1.4", "名单.pdf")

    assert refusal.text == "这份报表不需要上传附件,请按提示输入文字。"
    assert downloads(bot) == fetched
    assert await bot.snapshot() == before


# ---- buttons ---------------------------------------------------------------------------


async def fill_liaison_list(bot: Harness) -> tuple[ChatMessage, ChatMessage]:
    """A's liaison fills the liaison list up to its preview; returns (first question,
    preview)."""
    await bind(bot, (A, "李明", UNIT_A))
    [pick] = await bot.command(A, "submit")
    [question] = await bot.press(A, pick, text="信息联络员名单")
    await bot.text(A, "李明")
    await bot.press(A, bot.last(A), text="跳过")
    [preview] = await bot.text(A, "0556-5542026")
    assert preview.text == (
        f"{LIAISON_LIST}\n请核对后提交:\n· 联络员姓名:李明\n· 职务:(未填)\n· 联系电话:0556-5542026"
    )
    return question, preview


async def test_confirming_an_old_preview_after_submitting_changes_nothing(bot: Harness) -> None:
    _, preview = await fill_liaison_list(bot)
    confirm = preview.callback_data("确认提交")
    await bot.press(A, preview, text="确认提交")
    before = await bot.snapshot()

    [refusal] = await bot.press(A, preview, data=confirm, strict=False)

    assert refusal.text == STALE
    assert await bot.snapshot() == before
    assert len(before.submissions) == 1


async def test_confirming_an_old_preview_after_discarding_changes_nothing(bot: Harness) -> None:
    _, preview = await fill_liaison_list(bot)
    confirm = preview.callback_data("确认提交")
    [discarded] = await bot.press(A, preview, text="取消")
    assert discarded.text == "已取消,本次填写的内容已删除。"
    before = await bot.snapshot()

    [refusal] = await bot.press(A, preview, data=confirm, strict=False)

    assert refusal.text == STALE
    assert await bot.snapshot() == before
    assert (before.drafts, before.submissions) == ([], [])


async def test_the_cancel_button_of_a_submitted_form_does_not_discard_the_next_one(
    bot: Harness,
) -> None:
    old_question, preview = await fill_liaison_list(bot)
    await bot.press(A, preview, text="确认提交")
    [pick] = await bot.command(A, "submit")
    await bot.press(A, pick, text="信息周报第3期")
    await bot.text(A, "12")
    before = await bot.snapshot()

    # Still on the old question's keyboard: a real client lets the liaison tap it.
    [refusal] = await bot.press(A, old_question, text="取消")

    assert refusal.text == STALE
    assert await bot.snapshot() == before


async def test_forged_buttons_are_refused_as_expired_and_change_nothing(bot: Harness) -> None:
    question = await liaison_at(bot, 2)
    before = await bot.snapshot()

    for data in [
        "ok:999999",
        "zz:1",
        "sub:abc",
        "sub:999999",
        "x:999999",
        "ed:999999:name",
        "nil:1:2:3:4",
        "sub:1;drop",
        "ok:-1",
        "sk:1:../../etc/passwd",
    ]:
        [refusal] = await bot.press(A, question, data=data, strict=False)
        assert refusal.text == STALE, data

    assert await bot.snapshot() == before


async def test_a_forged_choice_on_the_own_form_is_refused_and_the_question_repeated(
    bot: Harness,
) -> None:
    question = await liaison_at(bot, 2)
    [draft] = await bot.rows(m.Draft)
    before = await bot.snapshot()

    refusal, again = await bot.press(A, question, data=f"ch:{draft.id}:x:99", strict=False)

    assert refusal.text == "该按钮已过期,请按最新的提示操作。"
    assert again.text == f"{STATS}\n(2/8)请填写:检查经营户(户次)\n请输入整数,如 12。"
    assert await bot.snapshot() == before


# ---- who may ask for what --------------------------------------------------------------

COORDINATOR_COMMANDS = [
    "status",
    "missing",
    "remind",
    "review",
    "units",
    "unit",
    "revoke",
    "invite",
    "digest",
    "export",
]
LIAISON_COMMANDS = ["tasks", "submit", "mine"]


async def test_every_command_from_an_unknown_user_gets_the_same_one_line_refusal(
    bot: Harness,
) -> None:
    bot.add_user(STRANGER, "陌生人")
    before = await bot.snapshot()

    for command in [*COORDINATOR_COMMANDS, *LIAISON_COMMANDS, "start", "help", "language"]:
        replies = await bot.command(STRANGER, command)
        assert [x.text for x in replies] == [STRANGER_TEXT], command
        assert replies[0].buttons == []
    for text in ["你好", "12"]:
        assert [x.text for x in await bot.text(STRANGER, text)] == [STRANGER_TEXT]
    assert [x.text for x in await bot.document(STRANGER, b"PK", "a.xlsx")] == [STRANGER_TEXT]
    assert [x.text for x in await bot.start(STRANGER, "forged-token")] == [
        "该邀请链接无效或已过期。请向牵头单位索取新的链接。"
    ]

    assert await bot.snapshot() == before


async def test_buttons_pressed_by_an_unknown_user_get_the_same_refusal(bot: Harness) -> None:
    bot.add_user(STRANGER, "陌生人")
    [refusal] = await bot.command(STRANGER, "status")
    before = await bot.snapshot()

    for data in ["sub:3", "ok:1", "st:3", "rv:1", "rmok:3", "lang:1", "dg:0"]:
        [again] = await bot.press(STRANGER, refusal, data=data, strict=False)
        assert again.text == STRANGER_TEXT, data

    assert await bot.snapshot() == before


async def test_a_coordinator_command_from_a_liaison_is_refused_in_one_line(bot: Harness) -> None:
    await bind(bot, (A, "李明", UNIT_A))
    before = await bot.snapshot()

    for command in COORDINATOR_COMMANDS[:-1]:
        replies = await bot.command(A, command)
        assert [x.text for x in replies] == [COORDINATORS_ONLY], command

    assert await bot.snapshot() == before


async def test_a_liaison_reaches_only_the_own_unit_s_deadlines_and_drafts(bot: Harness) -> None:
    await bind(bot, (A, "李明", UNIT_A), (B, "张华", UNIT_B))
    await bot.load(QINGXI)
    weekly_3 = await bot.deadline_id("weekly-report", 3)
    elsewhere = await bot.deadline_id("work-plan", campaign="qingxi-2018-anticounterfeit")
    # B has a half-filled weekly report and an earlier one submitted.
    [pick] = await bot.command(B, "submit")
    await bot.press(B, pick, text="信息周报第3期")
    await bot.press(B, bot.last(B), text="零报告")
    [pick] = await bot.command(B, "submit")
    await bot.press(B, pick, text="信息周报第4期")
    await bot.text(B, "7")
    [b_draft] = await bot.rows(m.Draft)
    [b_submission] = await bot.rows(m.Submission)
    [tasks] = await bot.command(A, "tasks")
    before = await bot.snapshot()

    for data in [
        f"sub:{elsewhere}",
        f"ok:{b_draft.id}",
        f"x:{b_draft.id}",
        f"nil:{b_draft.id}",
        f"fd:{b_draft.id}",
        f"ed:{b_draft.id}:inspectors",
        f"sk:{b_draft.id}:seized",
        f"ch:{b_draft.id}:inspected:0",
    ]:
        [refusal] = await bot.press(A, tasks, data=data, strict=False)
        assert refusal.text == STALE, data
    for data in [
        f"st:{weekly_3}",
        f"rv:{b_submission.id}",
        f"rvl:{weekly_3}",
        f"rm:{weekly_3}",
        f"rmok:{weekly_3}",
    ]:
        [refusal] = await bot.press(A, tasks, data=data, strict=False)
        assert refusal.text == COORDINATORS_ONLY, data
    assert await bot.snapshot() == before
    # A text after the refused 退回 is not taken as a reason for returning B's report.
    [reply] = await bot.text(A, "数据有误")
    assert reply.text == "您当前没有正在填写的报表。发送 /submit 开始填报,或 /tasks 查看待办。"
    assert await bot.snapshot() == before
    assert "退回" not in (bot.last(B).text or "")

    # The own unit's deadline opens the form.
    [question] = await bot.press(A, tasks, data=f"sub:{weekly_3}", strict=False)
    assert question.text == QUESTIONS[1]


async def submitted_by_b(bot: Harness) -> None:
    """B has sent the weekly report; the coordinator has tapped 退回 for it."""
    await bind(bot, (B, "张华", UNIT_B))
    [pick] = await bot.command(B, "submit")
    await bot.press(B, pick, text="信息周报第3期")
    await bot.press(B, bot.last(B), text="零报告")
    [status, _picture] = await bot.command(COORDINATOR, "status")
    [units] = await bot.press(COORDINATOR, status, text="3")
    [pick] = await bot.press(COORDINATOR, units, text="退回某单位")
    [ask] = await bot.press(COORDINATOR, pick, text=f"退回:{UNIT_B}")
    assert ask.text == "请回复退回原因(将原文发给该单位联络员):"


async def test_a_return_abandoned_for_another_command_takes_no_later_text_as_its_reason(
    bot: Harness,
) -> None:
    await submitted_by_b(bot)
    await bot.command(COORDINATOR, "missing")
    before, notices = await bot.snapshot(), len(bot.fake.sent(B))

    [reply] = await bot.text(COORDINATOR, "好的,稍后再说")

    assert reply.text == NOT_A_LIAISON
    assert await bot.snapshot() == before
    assert len(bot.fake.sent(B)) == notices


async def test_a_return_left_for_half_an_hour_takes_no_later_text_as_its_reason(
    bot: Harness,
) -> None:
    await submitted_by_b(bot)
    bot.clock.advance(minutes=31)
    before, notices = await bot.snapshot(), len(bot.fake.sent(B))

    [reply] = await bot.text(COORDINATOR, "好的")

    assert reply.text == NOT_A_LIAISON
    assert await bot.snapshot() == before
    assert len(bot.fake.sent(B)) == notices


async def test_a_return_reason_within_half_an_hour_is_sent_once(bot: Harness) -> None:
    await submitted_by_b(bot)
    bot.clock.advance(minutes=29)

    [done] = await bot.text(COORDINATOR, "本周有查处")
    [reply] = await bot.text(COORDINATOR, "本周有查处")

    assert done.text == f"已退回 {UNIT_B} 的 {WEEKLY_3},已通知 1 人。"
    assert reply.text == NOT_A_LIAISON
    [submission] = await bot.rows(m.Submission)
    assert (submission.status, submission.review_comment) == ("returned", "本周有查处")


# ---- continuity and language -----------------------------------------------------------


async def test_a_half_filled_form_survives_a_restart_of_the_bot(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'cuibao.sqlite3'}"
    async with running_bot(tmp_path, CAMPAIGN_DAY, database_url=database_url) as bot:
        await liaison_at(bot, 4)
        before = await bot.snapshot()

    later = datetime(2016, 12, 14, 3, 0, tzinfo=UTC)
    async with running_bot(tmp_path, later, database_url=database_url) as bot:
        assert await bot.snapshot() == before
        bot.add_user(A, "李明")

        [question] = await bot.text(A, "2")

        assert question.text == (
            f"{STATS}\n(5/8)请填写:案值(万元)\n请输入数字,最多 4 位小数,如 3.5。"
        )
        [draft] = await bot.rows(m.Draft)
        assert draft.state["answers"] == {
            "inspectors": 12,
            "inspected": 35,
            "complaints": 3,
            "cases": 2,
        }


async def test_a_liaison_who_picks_english_gets_the_next_prompts_in_english(bot: Harness) -> None:
    await bind(bot, (A, "李明", UNIT_A))
    [choose] = await bot.command(A, "language")
    assert choose.text == "请选择语言 / Choose a language:"
    assert choose.button_texts == ["中文", "English"]

    [done] = await bot.press(A, choose, text="English")
    assert done.text == "Language set to English."
    [pick] = await bot.command(A, "submit")
    assert pick.text == "Which report do you want to fill in?"
    [question] = await bot.press(A, pick, text="信息周报 #3")
    refusal, again = await bot.text(A, "twelve")

    assert question.text == (
        "【打假统计报表】信息周报 #3 (due Thu 15 Dec 15:00)\n"
        "(1/8) 出动执法人员(人次)\nType a whole number, e.g. 12."
    )
    assert refusal.text == "Please type a number (like 12 or 3.5), without other words."
    assert again.text == question.text
    [refused] = await bot.command(A, "status")
    assert refused.text == "Only coordinators can do this."
    # The coordinator's language is untouched.
    [status, _picture] = await bot.command(COORDINATOR, "status")
    assert (status.text or "").startswith("“2017年元旦春节期间打假专项行动”报送情况:")
