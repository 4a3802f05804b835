"""A liaison fills the weekly report from cuibao's blank instead of typing each figure."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from storage import models as m
from tests.e2e.harness import COORDINATOR, Harness

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LIAISON = 2101


def _fill(data: bytes, values: dict[str, object]) -> bytes:
    book = load_workbook(io.BytesIO(data))
    for row in book.worksheets[0].iter_rows():
        if row[0].value in values:
            row[1].value = values[row[0].value]
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


FIGURES = {
    "出动执法人员": 36,
    "检查经营户": 128,
    "受理举报投诉": 5,
    "立案查处案件数": 2,
    "案值": 1.35,
    "罚没款": 0.8,
    "收缴物资": "假冒白酒120瓶",
}


async def _open_weekly(bot: Harness) -> None:
    links = await bot.invite_links()
    await bot.join(LIAISON, "李明", links["德宽路市场监管所"])
    [pick] = await bot.command(LIAISON, "submit")
    await bot.press(LIAISON, pick, text="信息周报第3期")


async def test_a_liaison_fills_the_weekly_report_from_the_blank_and_confirms_it(
    bot: Harness,
) -> None:
    await _open_weekly(bot)

    [sent] = await bot.command(LIAISON, "blank")
    assert sent.document is not None
    assert sent.document.file_name == "打假统计报表-德宽路市场监管所-填报表.xlsx"
    read, files = await bot.document(
        LIAISON, _fill(sent.document.data, FIGURES), "周报.xlsx", XLSX
    )
    assert read.text == "已从表格读入 7 项(空着 1 项)。"
    assert "附件" in (files.text or "")
    [preview] = await bot.press(LIAISON, files, text="附件已传完")
    assert "出动执法人员:36 人次" in (preview.text or "")
    done = await bot.press(LIAISON, preview, text="确认提交")

    assert "已提交" in (done[-1].text or "")
    [submission] = await bot.rows(m.Submission)
    assert submission.answers == {
        "inspectors": 36,
        "inspected": 128,
        "complaints": 5,
        "cases": 2,
        "case_value": "1.35",
        "fines": "0.8",
        "losses_recovered": None,
        "seized": "假冒白酒120瓶",
    }
    assert await bot.rows(m.Attachment) == []  # the blank is read, not attached

    # Round trip: the coordinator's export holds the very same numbers.
    exported = await bot.command(COORDINATOR, "export")
    workbook = next(x.document for x in exported if x.document is not None)
    book = load_workbook(io.BytesIO(workbook.data), read_only=True)
    sheet = next(book[name] for name in book.sheetnames if name.startswith("信息周报"))
    rows = [r for r in sheet.iter_rows(values_only=True) if "德宽路市场监管所" in r]
    filled = [
        [v for v in r if isinstance(v, int | float) and not isinstance(v, bool)] for r in rows
    ]
    assert [x[:6] for x in filled if x] == [[36, 128, 5, 2, 1.35, 0.8]]
    book.close()


async def test_a_blank_with_a_bad_figure_is_refused_line_by_line_and_nothing_changes(
    bot: Harness,
) -> None:
    await _open_weekly(bot)
    [sent] = await bot.command(LIAISON, "blank")
    assert sent.document is not None
    before = await bot.snapshot()

    [refused] = await bot.document(
        LIAISON,
        _fill(sent.document.data, {**FIGURES, "出动执法人员": -1, "案值": "35000元"}),
        "周报.xlsx",
        XLSX,
    )

    assert refused.text == (
        "表格中有 2 处需要修改,本次没有保存任何内容:\n"
        "· 出动执法人员(第5行,填的是“-1”):数量不能为负数。\n"
        "· 案值(第9行,填的是“35000元”):"
        + bot.app.bot_data["cuibao.services"].catalogue.text("invalid.wrong_unit", unit="万元")
    )
    assert await bot.snapshot() == before


async def test_a_password_protected_file_gets_a_clear_message_and_changes_nothing(
    bot: Harness,
) -> None:
    await _open_weekly(bot)
    before = await bot.snapshot()

    [refused] = await bot.document(
        LIAISON, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "加密.xlsx", XLSX
    )

    assert refused.text == (
        "这个表格设有密码(或是旧版 .xls 格式),无法读取。请取消密码并另存为 .xlsx 后再发送。"
    )
    assert await bot.snapshot() == before
