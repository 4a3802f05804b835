"""Input that must neither crash nor mislead: odd digits, -0, empty files, endless file
names, a deadline offered twice, an export with two columns of one header."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from openpyxl import load_workbook

from conversation.i18n import Catalogue
from services.campaign_reads import PlanRegistry
from services.export import ExportRequest, ExportService
from storage import models as m
from storage.filestore import FileStore
from tests.e2e.conftest import CAMPAIGN_DAY
from tests.e2e.harness import COORDINATOR, DAGUAN, Harness, running_bot
from tests.e2e.test_bad_input import QUESTIONS, UNIT_A, A, bind, liaison_at

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PHONE_HELP = 'help = "手机或座机,如 0556-5542026"\n'
# The liaison list of the Daguan plan, with a choice and a field named like the export's
# own 备注 column.
EXTRA_FIELDS = (
    PHONE_HELP
    + """[[forms.liaison.fields]]
id = "duty"
label = "在岗情况"
type = "choice"
options = ["在岗", "借调", "休假"]
[[forms.liaison.fields]]
id = "remark"
label = "备注"
type = "text"
required = false
"""
)
DUTY = "信息联络员名单(12月15日 周四 17:30前)\n(4/5)请填写:在岗情况\n请点击下面的选项。"
NOT_AN_OPTION = "请从给出的选项中选择。"


def _plan(tmp_path: Path) -> Path:
    text = DAGUAN.read_text(encoding="utf-8")
    assert PHONE_HELP in text
    path = tmp_path / "daguan-with-choice.toml"
    path.write_text(text.replace(PHONE_HELP, EXTRA_FIELDS, 1), encoding="utf-8")
    return path


async def _at_duty(bot: Harness) -> None:
    await bind(bot, (A, "李明", UNIT_A))
    [pick] = await bot.command(A, "submit")
    await bot.press(A, pick, text="信息联络员名单")
    await bot.text(A, "李明")
    await bot.press(A, bot.last(A), text="跳过")
    [question] = await bot.text(A, "0556-5542026")
    assert question.text == DUTY


async def test_a_choice_answered_with_an_ethiopic_digit_is_asked_again(tmp_path: Path) -> None:
    async with running_bot(tmp_path, CAMPAIGN_DAY, plan=_plan(tmp_path)) as bot:
        await _at_duty(bot)
        before = await bot.snapshot()

        refusal, again = await bot.text(A, "፩")

        assert (refusal.text, again.text) == (NOT_AN_OPTION, DUTY)
        assert await bot.snapshot() == before


def _fill(data: bytes, values: dict[str, object]) -> bytes:
    book = load_workbook(io.BytesIO(data))
    for row in book.worksheets[0].iter_rows():
        if row[0].value in values:
            row[1].value = values[row[0].value]
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def test_a_workbook_with_an_ethiopic_digit_for_a_choice_is_refused_by_line(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path, CAMPAIGN_DAY, plan=_plan(tmp_path)) as bot:
        await _at_duty(bot)
        [blank] = await bot.command(A, "blank")
        assert blank.document is not None
        filled = _fill(
            blank.document.data,
            {"联络员姓名": "李明", "联系电话": "0556-5542026", "在岗情况": "፩"},
        )
        before = await bot.snapshot()

        replies = await bot.document(A, filled, "名单.xlsx", XLSX)

        assert "在岗情况" in (replies[0].text or "")
        assert NOT_AN_OPTION in (replies[0].text or "")
        assert await bot.snapshot() == before


async def test_a_negative_zero_amount_is_stored_and_shown_as_zero(bot: Harness) -> None:
    await liaison_at(bot, 5)

    [question] = await bot.text(A, "-0.0")

    assert question.text is not None and question.text.startswith(QUESTIONS[5][:20])
    assert "(6/8)" in question.text
    [draft] = await bot.rows(m.Draft)
    assert draft.state["answers"]["case_value"] == "0"


async def test_an_empty_file_is_refused_and_nothing_is_stored(bot: Harness) -> None:
    await liaison_at(bot, 9)
    before = await bot.snapshot()

    [refusal] = await bot.document(A, b"", "统计报表.pdf", "application/pdf")

    assert refusal.text == "文件是空的(0 字节),请检查后重新上传。"
    assert await bot.snapshot() == before


async def test_a_300_character_file_name_keeps_its_extension_in_the_store_and_the_archive(
    bot: Harness, tmp_path: Path
) -> None:
    await liaison_at(bot, 9)
    name = "关于" + "打假" * 146 + "报告.pdf"
    assert len(name) == 300

    await bot.document(A, b"%PDF-1.4\n%%EOF\n", name, "application/pdf")

    [attachment] = await bot.rows(m.Attachment)
    assert attachment.original_name == name[:251] + ".pdf"
    await bot.press(A, bot.last(A), text="附件已传完")
    await bot.press(A, bot.last(A), text="确认提交")
    archive = tmp_path / "out.zip"
    export = ExportService(bot.db.sessions, PlanRegistry(), FileStore(bot.settings.files_dir))
    await export.export_file(
        ExportRequest("daguan-2017-anticounterfeit", bot.clock()),
        Catalogue(),
        tmp_path / "out.xlsx",
        archive,
    )
    with zipfile.ZipFile(archive) as z:
        [stored] = [n for n in z.namelist() if n.startswith(UNIT_A)]
    assert stored.endswith(".pdf")
    assert stored.split("/")[-1].startswith("关于打假")


async def test_a_deadline_with_an_open_draft_is_listed_once_in_submit(bot: Harness) -> None:
    await liaison_at(bot, 2)

    [menu] = await bot.command(A, "submit")

    deadline = await bot.deadline_id("weekly-report", 3)
    data = [button["callback_data"] for button in menu.buttons]
    assert data.count(f"sub:{deadline}") == 1


async def test_a_form_field_named_like_the_exports_own_column_gets_its_own_header(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path, CAMPAIGN_DAY, plan=_plan(tmp_path)) as bot:
        exported = await bot.command(COORDINATOR, "export")

        workbook = next(x.document for x in exported if x.document is not None)
        book = load_workbook(io.BytesIO(workbook.data), read_only=True)
        sheet = book["信息联络员名单"]
        headers = [
            c
            for row in sheet.iter_rows(values_only=True)
            for c in row
            if c in ("备注", "备注(表单)", "在岗情况")
        ]
        book.close()
        assert sorted(headers) == ["在岗情况", "备注", "备注(表单)"]


# ---- file type by content ----------------------------------------------------------------

EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 240
CONTENT_REFUSED = (
    "文件内容与扩展名不符(可能是改了扩展名的其他文件)。"
    "请上传真实的 doc/docx/xls/xlsx/wps/pdf/jpg/jpeg/png 格式文件。"
)


async def test_an_exe_renamed_report_pdf_is_refused_and_nothing_is_stored(bot: Harness) -> None:
    await liaison_at(bot, 9)
    before = await bot.snapshot()

    [refusal] = await bot.document(A, EXE, "report.pdf", "application/pdf")

    assert refusal.text == CONTENT_REFUSED
    assert await bot.snapshot() == before


async def test_a_real_pdf_is_still_accepted(bot: Harness) -> None:
    await liaison_at(bot, 9)

    await bot.document(A, b"%PDF-1.4\n%%EOF\n", "report.pdf", "application/pdf")

    [attachment] = await bot.rows(m.Attachment)
    assert attachment.original_name == "report.pdf"


async def test_an_exe_renamed_notice_docx_from_a_coordinator_is_refused(bot: Harness) -> None:
    campaigns = await bot.rows(m.Campaign)

    [refusal] = await bot.document(COORDINATOR, EXE, "关于开展打假专项行动的通知.docx")

    assert refusal.text == (
        "关于开展打假专项行动的通知.docx:文件内容与扩展名不符"
        "(可能是改了扩展名的其他文件),未处理。请发送原始文件。"
    )
    assert [c.id for c in await bot.rows(m.Campaign)] == [c.id for c in campaigns]
    assert bot.app.user_data.get(COORDINATOR, {}) == {}  # no review was started


async def test_an_exe_renamed_notice_txt_from_a_coordinator_is_refused(bot: Harness) -> None:
    [refusal] = await bot.document(COORDINATOR, EXE, "通知.txt")

    assert (refusal.text or "").startswith("通知.txt:文件内容与扩展名不符")


async def test_two_form_fields_of_one_label_get_numbered_headers(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    plan.write_text(
        plan.read_text(encoding="utf-8").replace('label = "在岗情况"', 'label = "联系电话"'),
        encoding="utf-8",
    )
    async with running_bot(tmp_path, CAMPAIGN_DAY, plan=plan) as bot:
        exported = await bot.command(COORDINATOR, "export")

        workbook = next(x.document for x in exported if x.document is not None)
        book = load_workbook(io.BytesIO(workbook.data), read_only=True)
        headers = [
            c
            for row in book["信息联络员名单"].iter_rows(values_only=True)
            for c in row
            if isinstance(c, str) and c.startswith("联系电话")
        ]
        book.close()
        assert headers == ["联系电话", "联系电话 (2)"]
