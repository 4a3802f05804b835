"""/export in the chat: the coordinator gets the workbook, a liaison gets a refusal."""

from __future__ import annotations

import io
import re
import zipfile

from openpyxl import load_workbook

from fakegram import ChatMessage
from tests.e2e.harness import COORDINATOR, Harness
from tests.storage.test_export_template import _template
from tests.storage.test_plan_template import _plan_text


async def _liaison_list(bot: Harness, user_id: int) -> None:
    """A liaison of 德宽路市场监管所 joins and sends the liaison list."""
    links = await bot.invite_links()
    await bot.join(user_id, "李联络", links["德宽路市场监管所"])
    [pick] = await bot.command(user_id, "submit")
    await bot.press(user_id, pick, text="信息联络员名单")
    await bot.text(user_id, "李明")
    await bot.press(user_id, bot.last(user_id), text="跳过")
    [preview] = await bot.text(user_id, "0556-5542026")
    await bot.press(user_id, preview, text="确认提交")


async def test_export_sends_the_coordinator_an_xlsx_while_showing_upload_document(
    bot: Harness,
) -> None:
    await _liaison_list(bot, 2001)

    [progress, sent] = await bot.command(COORDINATOR, "export")

    assert [e.text for e in progress.edits] == [
        "“2017年元旦春节期间打假专项行动”汇总报表已生成并发送。"
    ]
    assert sent.document is not None
    assert sent.document.file_name is not None
    assert re.fullmatch(
        r"2017年元旦春节期间打假专项行动汇总表_\d{4}-\d{2}-\d{2}\.xlsx", sent.document.file_name
    )
    assert "2017年元旦春节期间打假专项行动" in (sent.caption or "")
    assert "upload_document" in bot.fake.chat_actions(COORDINATOR)
    book = load_workbook(io.BytesIO(sent.document.data))
    assert book.sheetnames[:2] == ["提交情况", "累计"]
    liaison = book["信息联络员名单"]
    row = next(r for r in liaison.iter_rows(values_only=True) if r[0] == "德宽路市场监管所")
    assert row[2] == "已提交"
    assert "李明" in row and "0556-5542026" in row


async def test_export_names_a_campaign_and_refuses_one_that_does_not_exist(bot: Harness) -> None:

    [_, named] = await bot.command(COORDINATOR, "export", "daguan-2017-anticounterfeit")
    [unknown] = await bot.command(COORDINATOR, "export", "no-such-campaign")

    assert named.document is not None
    assert unknown.document is None
    assert "没有找到" in (unknown.text or "")


async def test_a_liaison_asking_for_the_export_is_refused_and_gets_no_file(bot: Harness) -> None:
    await _liaison_list(bot, 2002)
    before = len(bot.fake.chat_actions(2002))

    [refused] = await bot.command(2002, "export")

    assert refused.document is None
    assert refused.text == "此功能仅供牵头单位使用。"
    assert len(bot.fake.chat_actions(2002)) == before


async def test_a_stranger_asking_for_the_export_gets_the_polite_refusal(bot: Harness) -> None:
    bot.add_user(3001, "陌生人")

    [refused] = await bot.command(3001, "export")

    assert refused.document is None
    assert "邀请链接" in (refused.text or "")


async def _revise_plan(bot: Harness) -> ChatMessage:
    """Send the plan naming a template over the loaded campaign and confirm the revision."""
    [shown] = await bot.document(COORDINATOR, _plan_text().encode(), "daguan.toml")
    [loaded] = await bot.press(COORDINATOR, shown, text="确认修改")
    return loaded


async def test_a_plan_naming_a_template_asks_for_it_and_export_then_fills_it(bot: Harness) -> None:
    loaded = await _revise_plan(bot)
    assert "方案指定了导出模板 模板.xlsx,但还没有这个文件" in (loaded.text or "")

    [_, note, standard] = await bot.command(COORDINATOR, "export")
    assert "模板.xlsx 还没有发给我" in (note.text or "")
    assert standard.document is not None
    assert load_workbook(io.BytesIO(standard.document.data)).sheetnames[0] == "提交情况"

    [stored] = await bot.document(COORDINATOR, _template(), "模板.xlsx")
    assert stored.text == (
        "已保存导出模板 模板.xlsx(用于:2017年元旦春节期间打假专项行动)。/export 将按此模板填表。"
    )

    [_, filled] = await bot.command(COORDINATOR, "export")
    assert filled.document is not None
    assert filled.document.file_name is not None
    named = r"2017年元旦春节期间打假专项行动模板报表_\d{4}-\d{2}-\d{2}\.xlsx"
    assert re.fullmatch(named, filled.document.file_name)
    sheet = load_workbook(io.BytesIO(filled.document.data))["汇总表"]
    assert sheet["A1"].value == "2017年元旦春节期间打假专项行动"
    assert [sheet["A5"].value, sheet["B5"].value] == ["德宽路市场监管所", "逾期未报"]


def _zip_of_text() -> bytes:
    """A zip (as an .xlsx is) that holds no workbook."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("readme.txt", "not a workbook")
    return out.getvalue()


async def test_a_workbook_no_plan_names_or_that_does_not_fit_is_not_stored(bot: Harness) -> None:
    await _revise_plan(bot)

    [unnamed] = await bot.document(COORDINATOR, _template(), "周报.xlsx")
    [broken] = await bot.document(COORDINATOR, _zip_of_text(), "模板.xlsx")
    [_, note, _] = await bot.command(COORDINATOR, "export")

    assert "没有哪个在 [export] 里指定 周报.xlsx" in (unnamed.text or "")
    assert (broken.text or "").startswith("模板.xlsx 不能作为导出模板,未保存:")
    assert "还没有发给我" in (note.text or "")


async def test_export_with_files_sends_the_workbook_and_the_submitted_files_as_a_zip(
    bot: Harness,
) -> None:
    from tests.e2e.test_attachments import RIGHT
    from tests.e2e.test_bad_input import A, liaison_at

    await liaison_at(bot, 9)
    [files] = await bot.document(A, RIGHT, "周报.pdf", "application/pdf")
    [preview] = await bot.press(A, files, text="附件已传完")
    await bot.press(A, preview, text="确认提交")

    [progress, workbook, archive] = await bot.command(COORDINATOR, "export", "附件")

    assert workbook.document is not None and workbook.document.file_name is not None
    assert workbook.document.file_name.endswith(".xlsx")
    assert archive.document is not None
    assert archive.document.file_name == "2017年元旦春节期间打假专项行动-附件.zip"
    assert archive.caption == "各单位提交的附件(共 1 个,按 单位/截止事项 分文件夹)"
    with zipfile.ZipFile(io.BytesIO(archive.document.data)) as z:
        [name] = z.namelist()
        assert name.startswith("德宽路市场监管所/") and name.endswith("/周报.pdf")
        assert z.read(name) == RIGHT
    assert [e.text for e in progress.edits] == [
        "“2017年元旦春节期间打假专项行动”汇总报表已生成并发送。"
    ]


async def test_export_with_files_before_any_file_says_there_are_none(bot: Harness) -> None:
    [_progress, _workbook, said] = await bot.command(COORDINATOR, "export", "files")
    assert said.text == "还没有任何单位提交附件。"
