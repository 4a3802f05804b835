"""A whole campaign day over real HTTP: invitations, a weekly report with a spreadsheet, a
零报告, a unit that is missing, a nudge, a returned report corrected twice (the second time
after the deadline), and what all of that left in the database and on disk."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from openpyxl import Workbook

from fakegram import ChatMessage
from storage import models as m
from tests.e2e.conftest import CAMPAIGN_DAY
from tests.e2e.harness import COORDINATOR, DAGUAN, Harness, running_bot

A_LIAISON, B_LIAISON, A_DEPUTY, LATECOMER, C_LIAISON = 2001, 2002, 2003, 2004, 2005
UNIT_A, UNIT_B, UNIT_C = "德宽路市场监管所", "玉琳路市场监管所", "集贤路市场监管所"
CAMPAIGN = "2017年元旦春节期间打假专项行动"
WEEKLY_3 = "信息周报第3期(12月15日 周四 15:00前)"
STATS = f"【打假统计报表】{WEEKLY_3}"
# The eight typed questions of the stats form, then the files step.
ANSWERS = ["12", "35", "3", "2", "1.5", "0.8", "2", "假冒白酒120瓶"]
FILES_PROMPT = (
    f"{STATS}\n请上传附件(可多个,格式 doc/docx/xls/xlsx/wps/pdf/jpg/jpeg/png,"
    "每个不超过 20 MB),传完后点“附件已传完”。"
)
UNREACHABLE = (
    "以下单位没有可联系的联络员(尚未绑定,或已屏蔽机器人),请电话联系:"
    "菱湖市场监管所、花山市场监管所、海口市场监管所"
)


def _workbook(rows: int) -> bytes:
    """A real .xlsx (the unit's own 统计报表, not one of cuibao's blanks)."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["品名", "数量"])
    for i in range(rows):
        sheet.append([f"假冒白酒{i}", i])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


SPREADSHEET = _workbook(5)
CORRECTED = _workbook(400)
SIZE = f"{len(SPREADSHEET) // 1024} KB"
CORRECTED_SIZE = f"{len(CORRECTED) // 1024} KB"


def preview_text(answers: list[str], files: list[str], note: str = "") -> str:
    labels = [
        "出动执法人员",
        "检查经营户",
        "受理举报投诉",
        "立案查处案件数",
        "案值",
        "罚没款",
        "挽回经济损失",
        "收缴物资",
    ]
    units = [" 人次", " 户次", " 件", " 件", " 万元", " 万元", " 万元", ""]
    lines = [STATS, "请核对后提交:"]
    lines += [
        f"· {label}:{value}{unit}"
        for label, value, unit in zip(labels, answers, units, strict=True)
    ]
    lines += [f"· 📎 {name}" for name in files]
    return "\n".join(lines + ([note] if note else []))


async def join_units(bot: Harness) -> None:
    """A's liaison and deputy, B's and C's liaisons bind themselves with /invite links."""
    links = await bot.invite_links()
    for user, name, unit, role in [
        (A_LIAISON, "李明", UNIT_A, "信息联络员"),
        (B_LIAISON, "张华", UNIT_B, "信息联络员"),
        (A_DEPUTY, "王芳", UNIT_A, "副联络员"),
        (C_LIAISON, "陈静", UNIT_C, "信息联络员"),
    ]:
        bound, _tasks = await bot.join(user, name, links[unit])
        assert bound.text == f"绑定成功!您现在是“{unit}”在“{CAMPAIGN}”中的{role}。"


async def open_weekly_3(bot: Harness, user: int) -> ChatMessage:
    [pick] = await bot.command(user, "submit")
    [question] = await bot.press(user, pick, text="信息周报第3期")
    return question


async def fill_weekly_3_with_a_spreadsheet(bot: Harness, user: int) -> ChatMessage:
    """Answers typed one by one, the spreadsheet uploaded in the flow; returns the preview."""
    question = await open_weekly_3(bot, user)
    assert question.text == f"{STATS}\n(1/8)请填写:出动执法人员(人次)\n请输入整数,如 12。"
    for answer in ANSWERS:
        *_, question = await bot.text(user, answer)
    assert question.text == FILES_PROMPT
    [files] = await bot.document(
        user,
        SPREADSHEET,
        "周报 第3期.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    assert files.text == FILES_PROMPT + f"\n已上传:\n  · 周报 第3期.xlsx ({SIZE})"
    [preview] = await bot.press(user, files, text="附件已传完")
    return preview


async def test_a_second_person_on_a_unit_link_becomes_deputy_and_a_third_is_told_it_is_full(
    bot: Harness,
) -> None:
    links = await bot.invite_links()
    assert sorted(links) == sorted(
        [UNIT_A, UNIT_B, UNIT_C, "菱湖市场监管所", "花山市场监管所", "海口市场监管所"]
    )

    first, _ = await bot.join(A_LIAISON, "李明", links[UNIT_A])
    second, _ = await bot.join(A_DEPUTY, "王芳", links[UNIT_A])
    other, _ = await bot.join(B_LIAISON, "张华", links[UNIT_B])
    [refused] = await bot.join(LATECOMER, "赵强", links[UNIT_A])

    assert first.text == f"绑定成功!您现在是“{UNIT_A}”在“{CAMPAIGN}”中的信息联络员。"
    assert second.text == f"绑定成功!您现在是“{UNIT_A}”在“{CAMPAIGN}”中的副联络员。"
    assert other.text == f"绑定成功!您现在是“{UNIT_B}”在“{CAMPAIGN}”中的信息联络员。"
    assert refused.text == (
        "该单位已绑定信息联络员和副联络员,不能再绑定。如需更换人员,请联系牵头单位。"
    )
    roles = [(x.unit_id, x.role) for x in await bot.rows(m.Membership)]
    assert roles == [(1, "liaison"), (1, "deputy"), (2, "liaison")]
    [units] = await bot.command(COORDINATOR, "units")
    assert units.text is not None
    assert units.text.splitlines()[1:4] == [
        f"· {UNIT_A}(市场监管所)",
        "  李明(信息联络员)最近活动 12月14日(周三) 10:00",
        "  王芳(副联络员)最近活动 12月14日(周三) 10:00",
    ]
    # The refused person is still a stranger: the same one line as anyone uninvited.
    [stranger] = await bot.command(LATECOMER, "tasks")
    assert stranger.text == (
        "您好!本机器人仅供受邀的联络员和牵头单位使用。如需使用,请向牵头单位索取邀请链接。"
    )


async def test_a_campaign_day_from_invitations_to_a_late_correction(bot: Harness) -> None:
    await join_units(bot)

    # 12月14日 10:00 — unit A fills the weekly report and uploads its spreadsheet.
    preview = await fill_weekly_3_with_a_spreadsheet(bot, A_LIAISON)
    assert preview.text == preview_text(ANSWERS, [f"周报 第3期.xlsx ({SIZE})"])
    done = await bot.press(A_LIAISON, preview, text="确认提交")
    assert done[-1].text == f"✅ 已提交:{WEEKLY_3}(第 1 版,附件 1 个)。谢谢!"

    # Unit B has nothing to report this week: one tap on 零报告 submits it.
    question = await open_weekly_3(bot, B_LIAISON)
    [nil_done] = await bot.press(B_LIAISON, question, text="零报告")
    assert nil_done.text == f"✅ 已提交零报告:{WEEKLY_3}。谢谢!"

    # The coordinator's overview, and the units of the weekly report with their states.
    [status, _picture] = await bot.command(COORDINATOR, "status")
    assert f"3. {WEEKLY_3}\n   应报6 已报2(迟报0、零报告1) 退回0 未报4" in (status.text or "")
    [units] = await bot.press(COORDINATOR, status, text="3")
    assert units.text == "\n".join(
        [
            WEEKLY_3,
            f"· {UNIT_A}:已提交 12月14日(周三) 10:00",
            f"· {UNIT_B}:已提交 · 零报告 12月14日(周三) 10:00",
            f"· {UNIT_C}:未提交",
            "· 菱湖市场监管所:未提交",
            "· 花山市场监管所:未提交",
            "· 海口市场监管所:未提交",
        ]
    )

    # Before the deadline the coordinator returns A's report from that list.
    bot.clock.advance(hours=2)
    [pick] = await bot.press(COORDINATOR, units, text="退回某单位")
    assert pick.text == f"{WEEKLY_3}:选择要退回的单位:"
    assert pick.button_texts == [f"退回:{UNIT_A}", f"退回:{UNIT_B}"]
    [ask] = await bot.press(COORDINATOR, pick, text=f"退回:{UNIT_A}")
    assert ask.text == "请回复退回原因(将原文发给该单位联络员):"
    [returned] = await bot.text(COORDINATOR, "案值应为15万元,请核对后重报")
    assert returned.text == f"已退回 {UNIT_A} 的 {WEEKLY_3},已通知 2 人。"
    notice = (
        "【退回】" + WEEKLY_3 + " 被牵头单位退回。原因:案值应为15万元,请核对后重报\n"
        "请修改后重新提交。"
    )
    for person in (A_LIAISON, A_DEPUTY):
        assert bot.last(person).text == notice
        assert bot.last(person).button_texts == ["修改后重新提交"]

    # A's liaison corrects one figure: the form opens on the previous answers.
    [again] = await bot.press(A_LIAISON, bot.last(A_LIAISON), text="修改后重新提交")
    carried_note = (
        "本次提交将作为第 2 版,之前的版本会保留。\n"
        "本版还没有附件(上一版的附件不会自动带入);如需附件,请点“修改附件”上传。"
    )
    assert again.text == preview_text(ANSWERS, [], carried_note)
    [question] = await bot.press(A_LIAISON, again, text="案值")
    assert question.text == (f"{STATS}\n(5/8)请填写:案值(万元)\n请输入数字,最多 4 位小数,如 3.5。")
    [corrected] = await bot.text(A_LIAISON, "15")
    fixed = [*ANSWERS[:4], "15", *ANSWERS[5:]]
    assert corrected.text == preview_text(fixed, [], carried_note)
    [files] = await bot.press(A_LIAISON, corrected, text="修改附件")
    assert files.text == FILES_PROMPT
    await bot.document(A_LIAISON, CORRECTED, "周报 第3期(更正).xlsx")
    [preview] = await bot.press(A_LIAISON, bot.last(A_LIAISON), text="附件已传完")
    assert preview.text == preview_text(
        fixed,
        [f"周报 第3期(更正).xlsx ({CORRECTED_SIZE})"],
        "本次提交将作为第 2 版,之前的版本会保留。",
    )
    [resubmitted] = await bot.press(A_LIAISON, preview, text="确认提交")
    assert resubmitted.text == f"✅ 已提交:{WEEKLY_3}(第 2 版,附件 1 个)。谢谢!"

    # 12月15日 15:30, half an hour past the deadline: C has still not reported.
    bot.clock.advance(hours=27.5)
    [status, _picture] = await bot.command(COORDINATOR, "status")
    assert f"3. {WEEKLY_3}\n   应报6 已报2(迟报0、零报告1) 退回0 未报4" in (status.text or "")
    [missing] = await bot.command(COORDINATOR, "missing")
    assert missing.text == "\n".join(
        [
            f"{WEEKLY_3}:未报单位 4 个",
            f"· {UNIT_C}(逾期未报)",
            "· 菱湖市场监管所(逾期未报)",
            "· 花山市场监管所(逾期未报)",
            "· 海口市场监管所(逾期未报)",
        ]
    )

    [confirm] = await bot.command(COORDINATOR, "remind")
    assert confirm.text == f"将向 4 个未报单位的联络员发送催报:{WEEKLY_3}。确认吗?"
    before_a, before_b = bot.last(A_LIAISON), bot.last(B_LIAISON)
    [reminded] = await bot.press(COORDINATOR, confirm, text="确认催报")
    assert reminded.text == "已发送催报 1 条。\n" + UNREACHABLE
    assert reminded.message_id == confirm.message_id and reminded.buttons == []
    nudge = await bot.fake.wait_for(C_LIAISON, lambda x: "催报" in x.content)
    assert nudge.text == f"【催报】{UNIT_C}:{WEEKLY_3} 尚未报送,请尽快填报。"
    assert nudge.button_texts == ["立即填报"]
    assert (bot.last(A_LIAISON), bot.last(B_LIAISON)) == (before_a, before_b)
    [form] = await bot.press(C_LIAISON, nudge, text="立即填报")
    assert form.text == f"{STATS}\n(1/8)请填写:出动执法人员(人次)\n请输入整数,如 12。"

    # /review returns A's second revision; the correction now comes after the deadline.
    [pick] = await bot.command(COORDINATOR, "review")
    await bot.press(COORDINATOR, pick, text=f"退回:{UNIT_A}")
    [returned] = await bot.text(COORDINATOR, "罚没款应为1万元")
    assert returned.text == f"已退回 {UNIT_A} 的 {WEEKLY_3},已通知 2 人。"
    [again] = await bot.press(A_LIAISON, bot.last(A_LIAISON), text="修改后重新提交")
    await bot.press(A_LIAISON, again, text="罚没款")
    [preview] = await bot.text(A_LIAISON, "1")
    final = [*fixed[:5], "1", *fixed[6:]]
    assert preview.text == preview_text(
        final,
        [],
        (
            "本次提交将作为第 3 版,之前的版本会保留。\n"
            "本版还没有附件(上一版的附件不会自动带入);如需附件,请点“修改附件”上传。"
        ),
    )
    [late] = await bot.press(A_LIAISON, preview, text="确认提交")
    assert late.text == (f"✅ 已提交:{WEEKLY_3}(第 3 版)。注意:已过截止时间,记为迟报。")
    [status, _picture] = await bot.command(COORDINATOR, "status")
    assert f"3. {WEEKLY_3}\n   应报6 已报2(迟报1、零报告1) 退回0 未报4" in (status.text or "")
    [units] = await bot.press(COORDINATOR, status, text="3")
    assert f"· {UNIT_A}:迟报 12月15日(周四) 15:30" in (units.text or "").splitlines()
    [history] = await bot.command(A_LIAISON, "mine")
    assert history.text == "\n".join(
        [
            "本单位的报送记录(最近的在前):",
            f"· {WEEKLY_3} 第3版 12月15日(周四) 15:30 · 迟报",
            f"· {WEEKLY_3} 第2版 12月14日(周三) 12:00 · 已退回",
            f"· {WEEKLY_3} 第1版 12月14日(周三) 10:00 · 已退回",
        ]
    )

    # The database: every revision kept, the files stored under generated names.
    weekly_3 = await bot.deadline_id("weekly-report", 3)
    subs = await bot.rows(m.Submission)
    assert [(x.deadline_id, x.unit_id, x.revision, x.status, x.nil, x.late) for x in subs] == [
        (weekly_3, 1, 1, "returned", False, False),
        (weekly_3, 2, 1, "submitted", True, False),
        (weekly_3, 1, 2, "returned", False, False),
        (weekly_3, 1, 3, "submitted", False, True),
    ]
    first, nil, second, third = subs
    assert first.answers == {
        "inspectors": 12,
        "inspected": 35,
        "complaints": 3,
        "cases": 2,
        "case_value": "1.5",
        "fines": "0.8",
        "losses_recovered": "2",
        "seized": "假冒白酒120瓶",
    }
    assert second.answers == {**first.answers, "case_value": "15"}
    assert third.answers == {**second.answers, "fines": "1"}
    assert nil.answers == {}
    assert (first.review_comment, second.review_comment) == (
        "案值应为15万元,请核对后重报",
        "罚没款应为1万元",
    )
    attachments = await bot.rows(m.Attachment)
    assert [
        (a.submission_id, a.draft_id, a.original_name, a.size, a.sha256) for a in attachments
    ] == [
        (
            first.id,
            None,
            "周报 第3期.xlsx",
            len(SPREADSHEET),
            hashlib.sha256(SPREADSHEET).hexdigest(),
        ),
        (
            second.id,
            None,
            "周报 第3期(更正).xlsx",
            len(CORRECTED),
            hashlib.sha256(CORRECTED).hexdigest(),
        ),
    ]
    assert attachments[0].mime_type == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    files_dir = bot.settings.files_dir
    for attachment, data in zip(attachments, [SPREADSHEET, CORRECTED], strict=True):
        stored = files_dir / attachment.storage_key
        assert stored.is_file()
        assert stored.read_bytes() == data
        assert stored.resolve().is_relative_to(files_dir)
        assert "周报" not in attachment.storage_key
        assert "第3期" not in str(stored)
        assert stored.suffix == ".xlsx"
    assert sorted(p for p in files_dir.rglob("*") if p.is_file()) == sorted(
        files_dir / a.storage_key for a in attachments
    )
    # Only C's freshly opened form is still a draft.
    drafts = await bot.rows(m.Draft)
    assert [(d.unit_id, d.deadline_id) for d in drafts] == [(3, weekly_3)]


async def test_a_liaison_who_blocked_the_bot_is_named_to_the_coordinator_and_marked(
    bot: Harness,
) -> None:
    await join_units(bot)
    bot.clock.advance(hours=29.5)  # 12月15日 15:30: nobody has sent the weekly report
    bot.fake.block_chat(C_LIAISON)

    [confirm] = await bot.command(COORDINATOR, "remind")
    [reminded] = await bot.press(COORDINATOR, confirm, text="确认催报")

    assert reminded.text == (
        "已发送催报 3 条;1 人已屏蔽机器人,无法送达。\n"
        f"以下单位有联络员已屏蔽机器人,未收到催报,请电话联系:{UNIT_C}\n" + UNREACHABLE
    )
    [units] = await bot.command(COORDINATOR, "units")
    lines = (units.text or "").splitlines()
    assert lines[lines.index(f"· {UNIT_C}(市场监管所)") + 1].startswith("  陈静(信息联络员 ⚠)")
    # Next time the unit is listed among those to phone, without another failed send.
    [confirm] = await bot.command(COORDINATOR, "remind")
    [reminded] = await bot.press(COORDINATOR, confirm, text="确认催报")
    assert reminded.text == (
        "已发送催报 3 条。\n"
        "以下单位没有可联系的联络员(尚未绑定,或已屏蔽机器人),请电话联系:"
        f"{UNIT_C}、菱湖市场监管所、花山市场监管所、海口市场监管所"
    )
    # Writing to the bot again makes the liaison reachable.
    bot.fake.unblock_chat(C_LIAISON)
    await bot.command(C_LIAISON, "tasks")
    [units] = await bot.command(COORDINATOR, "units")
    lines = (units.text or "").splitlines()
    assert lines[lines.index(f"· {UNIT_C}(市场监管所)") + 1].startswith("  陈静(信息联络员)最近")


async def test_a_liaison_who_chose_english_is_nudged_and_told_of_a_return_in_english(
    bot: Harness,
) -> None:
    await join_units(bot)
    [choose] = await bot.command(A_LIAISON, "language")
    await bot.press(A_LIAISON, choose, text="English")
    question = await open_weekly_3(bot, B_LIAISON)
    await bot.press(B_LIAISON, question, text="零报告")
    bot.clock.advance(hours=29.5)

    [confirm] = await bot.command(COORDINATOR, "remind")
    await bot.press(COORDINATOR, confirm, text="确认催报")
    [pick] = await bot.command(COORDINATOR, "review")
    await bot.press(COORDINATOR, pick, text=f"退回:{UNIT_B}")
    await bot.text(COORDINATOR, "本周有查处,不是零报告")

    nudge = await bot.fake.wait_for(A_LIAISON, lambda x: "Reminder" in x.content)
    assert nudge.text == (
        f"[Reminder] {UNIT_A}: 信息周报 #3 (due Thu 15 Dec 15:00) has not "
        "been submitted yet. Please report as soon as you can."
    )
    assert nudge.button_texts == ["Report now"]
    deputy_nudge = await bot.fake.wait_for(A_DEPUTY, lambda x: "催报" in x.content)
    assert deputy_nudge.text == f"【催报】{UNIT_A}:{WEEKLY_3} 尚未报送,请尽快填报。"
    assert bot.last(B_LIAISON).text == (
        f"【退回】{WEEKLY_3} 被牵头单位退回。原因:本周有查处,不是零报告\n请修改后重新提交。"
    )


async def test_sixty_units_get_their_invitation_links_in_messages_telegram_accepts(
    tmp_path: Path,
) -> None:
    text = DAGUAN.read_text(encoding="utf-8")
    start, end = text.index("[[units]]"), text.index("# ---- forms")
    units = "".join(
        f'[[units]]\nid = "u{i:02d}"\nname = "第{i:02d}个乡镇街道市场监督管理所"\n\n'
        for i in range(1, 61)
    )
    plan = tmp_path / "sixty.toml"
    plan.write_text(text[:start] + units + text[end:], encoding="utf-8")

    async with running_bot(tmp_path, CAMPAIGN_DAY, plan=plan) as bot:
        messages = await bot.command(COORDINATOR, "invite")
        links = await bot.invite_links()

    texts = [x for x in messages if x.document is None]
    assert len(texts) == 2
    assert all(len((x.text or "").encode("utf-16-le")) // 2 <= 4096 for x in texts)
    assert (texts[0].text or "").startswith(f"“{CAMPAIGN}”各单位的邀请链接(14天内有效")
    assert sorted(links) == [f"第{i:02d}个乡镇街道市场监督管理所" for i in range(1, 61)]
