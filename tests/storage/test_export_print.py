"""The 汇总报表 as printed and forwarded: row heights, merges, print titles, page setup,
headers and footers, number formats, the periods listed and the file name. The pages
themselves are looked at with `python -m bench.render_export` (LibreOffice)."""

from __future__ import annotations

import asyncio
import io
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from conversation.i18n import Catalogue
from domain.plan_toml import parse_plan
from services.export import ExportRequest
from services.plans import load_plan
from storage.database import Database
from storage.filestore import FileStore
from tests.storage.test_export import (
    CAMPAIGN,
    LOADED,
    NOW,
    Campaign,
    _by_header,
    _cli,
    _cli_campaign,
    _many,
    _plan_text,
    _row,
    _service,
    _values,
    daguan_campaign,
)

A4_LANDSCAPE_PRINTABLE = 841.89 - 2 * 72 * 0.4  # points, less the side margins


@pytest.fixture
async def campaign(database: Database, tmp_path: Path) -> Campaign:
    return await daguan_campaign(database, tmp_path)


async def _book(c: Campaign, code: str = CAMPAIGN, *, future: bool = False) -> Any:
    request = ExportRequest(code, NOW, "zh-CN")
    if future:
        request = replace(request, future=True)
    exported = await _service(c).export_bytes(request, Catalogue("zh-CN"))
    return load_workbook(io.BytesIO(exported.data))


def _printed_size(ws: Worksheet) -> float:
    """The font size the sheet's 11 pt text prints at when shrunk to one page wide."""
    # A <col> element may cover several columns of one width (min..max).
    points: float = sum(
        (float(dim.width) * 7 + 5) * 0.75 * (dim.max - dim.min + 1)
        for dim in ws.column_dimensions.values()
        if dim.width
    )
    return 11.0 * min(1.0, A4_LANDSCAPE_PRINTABLE / points)


def _merged(ws: Worksheet) -> set[str]:
    return {str(r) for r in ws.merged_cells.ranges}


async def test_wrapped_header_rows_get_the_height_of_their_lines(campaign: Campaign) -> None:
    book = await _book(campaign)
    status, totals = book["提交情况"], book["累计"]

    assert status["C5"].value == "2016-12-01\n15:00"
    assert status.row_dimensions[5].height >= 30  # two lines of 15 pt
    # The long legend under the title wraps inside a merged cell as tall as its lines.
    assert status.row_dimensions[3].height >= 30
    assert any(r.startswith("A3:") for r in _merged(status))
    assert totals.row_dimensions[5].height >= 30  # 出动执法人员(人次) wraps in its column


async def test_the_totals_band_is_one_merged_cell_over_each_obligations_columns(
    campaign: Campaign,
) -> None:
    ws = (await _book(campaign))["累计"]
    band = [c.value for c in ws[4]]

    weekly = band.index("信息周报")
    after = next(i for i in range(weekly + 1, len(band)) if band[i] is not None)
    start, end = ws.cell(4, weekly + 1).coordinate, ws.cell(4, after).coordinate
    assert f"{start}:{end}" in _merged(ws)
    assert not any(r.startswith(("A4", "B4")) for r in _merged(ws))


async def test_a_sheet_too_wide_to_shrink_legibly_spans_pages_with_the_units_repeated(
    campaign: Campaign,
) -> None:
    book = await _book(campaign)
    status = book["提交情况"]  # 32 deadlines

    assert _printed_size(status) < 8
    assert not status.sheet_properties.pageSetUpPr.fitToPage
    assert status.print_title_cols == "$A:$B"
    assert status.print_title_rows == "$4:$5"
    for ws in book.worksheets:
        assert ws.page_setup.orientation == "landscape"
        assert ws.page_setup.paperSize == 9
        legible = _printed_size(ws) >= 8
        assert bool(ws.sheet_properties.pageSetUpPr.fitToPage) == legible, ws.title
        if legible:
            # fitToWidth left out means 1, the default.
            assert (ws.page_setup.fitToWidth or 1, ws.page_setup.fitToHeight) == (1, 0)
            assert ws.print_title_cols is None


async def test_every_page_names_the_office_and_numbers_itself(campaign: Campaign) -> None:
    book = await _book(campaign)

    for ws in book.worksheets:
        assert ws.oddHeader.left.text == "大观区市场监督管理局"
        assert ws.oddFooter.center.text == "第 &P 页 共 &N 页"


async def test_every_sheet_ends_with_the_preparer_phone_and_date_line(campaign: Campaign) -> None:
    book = await _book(campaign)

    for ws in book.worksheets:
        last = ws.cell(ws.max_row, 1).value
        assert str(last).startswith("制表人:"), ws.title
        assert "联系电话:" in last and last.endswith("报送日期:2017-01-11")


async def test_a_numeric_field_has_one_format_with_its_declared_decimals(
    campaign: Campaign,
) -> None:
    book = await _book(campaign)
    weekly = book["信息周报"]
    dekuan = _by_header(weekly, 4, _row(weekly, "德宽路市场监管所"))
    total = _by_header(weekly, 4, _row(weekly, "合计"))
    totals = book["累计"]
    overall = list(_row(totals, "合计"))
    header = [c.value for c in totals[5]]

    assert dekuan["案值(万元)"].value == 1.35
    assert dekuan["案值(万元)"].number_format == "0.0000"  # places = 4 in the plan
    assert dekuan["罚没款(万元)"].number_format == "0.0000"
    # Integers print alike in General, and an unstyled cell is the cheap one to write.
    assert dekuan["出动执法人员(人次)"].number_format == "General"
    assert total["案值(万元)"].number_format == "0.0000"
    assert total["出动执法人员(人次)"].value == 53
    assert overall[header.index("案值(万元)")].number_format == "0.0000"


async def test_periods_not_yet_due_are_left_out_unless_asked_for(campaign: Campaign) -> None:
    weekly = (await _book(campaign))["信息周报"]
    every = (await _book(campaign, future=True))["信息周报"]

    def headings(ws: Worksheet) -> list[str]:
        return [str(r[0]) for r in _values(ws) if str(r[0]).startswith("信息周报 第")]

    listed, all_of_them = headings(weekly), headings(every)
    assert len(all_of_them) == 13
    # Due on Thursdays from 2016-12-01; on 2017-01-11 the sixth (01-05) is the last due.
    assert listed == all_of_them[:6]
    assert listed[-1].endswith("截止 2017-01-05 15:00")
    assert any(str(r[0]).startswith("另有 7 期尚未到截止时间") for r in _values(weekly))


async def test_a_block_starts_a_new_page_rather_than_leave_its_title_behind(
    database: Database, tmp_path: Path
) -> None:
    c, code = await _many(database, tmp_path, 20)
    ws = await _book(c, code)
    weekly = ws["信息周报"]

    breaks = [b.id for b in weekly.row_breaks.brk]
    assert breaks  # 20 units: a block fits on a page, two never do
    for row in breaks:
        assert str(weekly.cell(row + 1, 1).value).startswith("信息周报 第"), row


async def test_the_chat_export_is_named_after_the_campaign_and_the_day_safely(
    database: Database, tmp_path: Path
) -> None:
    text = _plan_text().replace(
        'name = "2017年元旦春节期间打假专项行动"', 'name = "打假/专项:行动*"', 1
    )
    await load_plan(database.sessions, parse_plan(text, "plan.toml"), "plan.toml", text, LOADED)
    c = Campaign(database, FileStore(tmp_path / "files"), {}, {})

    exported = await _service(c).export_bytes(ExportRequest(CAMPAIGN, NOW), Catalogue("zh-CN"))

    assert exported.summary.file_name == "打假_专项_行动_汇总表_2017-01-11.xlsx"


async def test_on_pages_across_a_blocks_heading_wraps_inside_the_repeated_columns(
    campaign: Campaign,
) -> None:
    weekly = (await _book(campaign))["信息周报"]
    row = next(
        c.row for c in weekly["A"] if str(c.value).startswith("信息周报 第1期 · 截止 2016-12-01")
    )

    assert weekly.print_title_cols == "$A:$B"
    assert f"A{row}:B{row}" in _merged(weekly)
    assert weekly.cell(row, 1).alignment.wrap_text
    assert weekly.row_dimensions[row].height >= 36  # two lines in 单位 + 分组


async def test_a_band_split_by_a_page_edge_is_titled_again_on_the_next_page(
    campaign: Campaign,
) -> None:
    totals = (await _book(campaign))["累计"]
    band = [c.value for c in totals[4] if c.value]

    assert not totals.sheet_properties.pageSetUpPr.fitToPage
    assert any(band.count(title) > 1 for title in band)


def test_the_export_command_lists_periods_not_yet_due_with_future(tmp_path: Path) -> None:
    config = asyncio.run(_cli_campaign(tmp_path))
    written = {}
    for flags in ((), ("--future",)):
        out = tmp_path / f"out{len(flags)}.xlsx"
        args = ["export", "--config", str(config), "--campaign", CAMPAIGN, "--standard"]
        code = _cli(*args, *flags, "--out", str(out), "--now", "2017-01-11T10:00:00+08:00")
        assert code == 0
        weekly = load_workbook(out)["信息周报"]
        written[flags] = [r for r in _values(weekly) if str(r[0]).startswith("信息周报 第")]

    assert (len(written[()]), len(written[("--future",)])) == (6, 13)
