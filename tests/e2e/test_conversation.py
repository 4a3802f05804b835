"""What a person does next is taken for what they were last shown, from the database: a
typed answer, a file or /blank is for the draft whose question is on screen, and a 退回
reason typed after a restart still returns the report."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

from openpyxl import load_workbook

from fakegram import ChatMessage
from storage import models as m
from tests.e2e.conftest import CAMPAIGN_DAY
from tests.e2e.harness import COORDINATOR, Harness, running_bot
from tests.e2e.test_bad_input import ANSWERS, UNIT_A, UNIT_B, WEEKLY_3, A, B, bind, submitted_by_b
from tests.e2e.test_intake import FIGURES, XLSX
from tests.e2e.test_intake import _fill as fill_blank


async def test_a_return_reason_typed_after_a_restart_still_returns_the_report(
    tmp_path: Path,
) -> None:
    database_url = f"sqlite:///{tmp_path / 'cuibao.sqlite3'}"
    async with running_bot(tmp_path, CAMPAIGN_DAY, database_url=database_url) as bot:
        await submitted_by_b(bot)
        [before] = await bot.rows(m.Submission)
        assert before.status == "submitted"

    later = CAMPAIGN_DAY + timedelta(minutes=5)
    async with running_bot(tmp_path, later, database_url=database_url) as bot:
        bot.add_user(B, "张华")

        [done] = await bot.text(COORDINATOR, "本周有查处")

        assert done.text == f"已退回 {UNIT_B} 的 {WEEKLY_3},已通知 1 人。"
        [submission] = await bot.rows(m.Submission)
        assert (
            submission.id,
            submission.revision,
            submission.status,
            submission.review_comment,
        ) == (before.id, 1, "returned", "本周有查处")
        assert "本周有查处" in bot.last(B).content
        [conversation] = await bot.rows(m.Conversation, m.Conversation.person_id == 1)
        assert conversation.review_submission_id is None
        # The reason is taken once: the same text again is not a second return.
        [again] = await bot.text(COORDINATOR, "本周有查处")
        assert again.text == "此功能供各单位联络员使用。牵头单位请用 /status 查看报送情况。"


# ---- answers go to the report on screen -------------------------------------------------

STATS_3 = f"【打假统计报表】{WEEKLY_3}"
WEEKLY_4 = "信息周报第4期(12月22日 周四 15:00前)"
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


async def open_report(bot: Harness, which: str) -> ChatMessage:
    """/submit, then the report's button: its draft opens (or resumes) on screen."""
    [pick] = await bot.command(A, "submit")
    [prompt] = await bot.press(A, pick, text=which)
    return prompt


async def drafts_by_deadline(bot: Harness) -> dict[int, dict[str, object]]:
    return {d.deadline_id: d.state for d in await bot.rows(m.Draft)}


async def two_reports_open(bot: Harness, answers_3: list[str]) -> tuple[int, int]:
    """A has answered `answers_3` in weekly report #3, then opened #4 and answered its first
    question; the ids of the two deadlines."""
    await bind(bot, (A, "李明", UNIT_A))
    await open_report(bot, "信息周报第3期")
    for answer in answers_3:
        await bot.text(A, answer)
    await open_report(bot, "信息周报第4期")
    await bot.text(A, "7")
    return await bot.deadline_id("weekly-report", 3), await bot.deadline_id("weekly-report", 4)


async def test_a_typed_answer_goes_to_the_reopened_report_not_the_newest(bot: Harness) -> None:
    weekly_3, weekly_4 = await two_reports_open(bot, ["12"])
    question = await open_report(bot, "信息周报第3期")
    assert question.text == f"{STATS_3}\n(2/8)请填写:检查经营户(户次)\n请输入整数,如 12。"
    before = await drafts_by_deadline(bot)

    [next_question] = await bot.text(A, "35")

    assert next_question.text == f"{STATS_3}\n(3/8)请填写:受理举报投诉(件)\n请输入整数,如 12。"
    after = await drafts_by_deadline(bot)
    assert after[weekly_3]["answers"] == {"inspectors": 12, "inspected": 35}
    assert after[weekly_4] == before[weekly_4]
    assert [x.id for x in await bot.rows(m.Submission)] == []


async def test_a_file_goes_to_the_reopened_report_not_the_newest(bot: Harness) -> None:
    weekly_3, weekly_4 = await two_reports_open(bot, ANSWERS)
    files_prompt = await open_report(bot, "信息周报第3期")
    assert (files_prompt.text or "").startswith(f"{STATS_3}\n请上传附件")
    before = await bot.snapshot()

    [listed] = await bot.document(A, PDF, "现场照片.pdf", "application/pdf")

    assert (listed.text or "").startswith(f"{STATS_3}\n请上传附件")
    assert "现场照片.pdf" in (listed.text or "")
    [attachment] = await bot.rows(m.Attachment)
    drafts = {d.deadline_id: d.id for d in await bot.rows(m.Draft)}
    assert (attachment.draft_id, attachment.submission_id) == (drafts[weekly_3], None)
    after = await bot.snapshot()
    assert (after.drafts, after.submissions) == (before.drafts, before.submissions)
    assert drafts[weekly_4] in [d[0] for d in after.drafts]


async def test_blank_and_the_filled_workbook_go_to_the_reopened_report(bot: Harness) -> None:
    weekly_3, weekly_4 = await two_reports_open(bot, [])
    await open_report(bot, "信息周报第3期")
    before = await drafts_by_deadline(bot)

    [blank] = await bot.command(A, "blank")
    assert blank.document is not None
    book = load_workbook(io.BytesIO(blank.document.data))
    assert "信息周报第3期" in " ".join(
        str(c.value) for row in book.worksheets[0].iter_rows() for c in row if c.value is not None
    )
    read, files = await bot.document(
        A, fill_blank(blank.document.data, FIGURES), "周报.xlsx", XLSX
    )

    assert read.text == "已从表格读入 7 项(空着 1 项)。"
    assert (files.text or "").startswith(f"{STATS_3}\n请上传附件")
    after = await drafts_by_deadline(bot)
    assert after[weekly_3]["answers"] == {
        "inspectors": 36,
        "inspected": 128,
        "complaints": 5,
        "cases": 2,
        "case_value": "1.35",
        "fines": "0.8",
        "losses_recovered": None,
        "seized": "假冒白酒120瓶",
    }
    assert after[weekly_4] == before[weekly_4]
    assert await bot.rows(m.Attachment) == []
