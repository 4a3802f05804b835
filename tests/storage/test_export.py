"""The Excel export of the Daguan campaign, opened again with openpyxl and checked cell by
cell, on every database backend."""

from __future__ import annotations

import argparse
import asyncio
import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from openpyxl.cell.cell import Cell
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import select

from bot.cli_common import UsageError
from bot.export_cli import add_export_parser
from conversation.i18n import Catalogue
from domain.plan_toml import parse_plan
from services.access import Actor, Role, Seat
from services.campaign_reads import PlanRegistry
from services.export import ExportError, ExportRequest, ExportService
from services.plans import load_plan
from storage import models as m
from storage.database import Database
from storage.filestore import FileStore
from tests.storage.conftest import recorded_statements

ROOT = Path(__file__).resolve().parents[2]
DAGUAN = ROOT / "examples" / "plans" / "daguan-2017-anticounterfeit.toml"
CAMPAIGN = "daguan-2017-anticounterfeit"
LOADED = datetime(2016, 11, 1, tzinfo=UTC)
NOW = datetime(2017, 1, 11, 2, 0, tzinfo=UTC)  # 2017-01-11 10:00 in Beijing
BEIJING = ZoneInfo("Asia/Shanghai")

# The liaison form gets a date field, so that dates can be checked too.
DATE_FIELD = """help = "手机或座机,如 0556-5542026"
[[forms.liaison.fields]]
id = "since"
label = "任职日期"
type = "date"
required = false
"""

STATS = {
    "inspectors": 36,
    "inspected": 128,
    "complaints": 5,
    "cases": 2,
    "case_value": "1.35",
    "fines": "0.8",
    "losses_recovered": None,
    "seized": "假冒白酒120瓶",
}


def _plan_text(units: int | None = None) -> str:
    text = DAGUAN.read_text(encoding="utf-8")
    text = text.replace('help = "手机或座机,如 0556-5542026"\n', DATE_FIELD)
    if units is not None:
        start = text.index("[[units]]")
        end = text.index("# ---- forms")
        many = "".join(
            f'[[units]]\nid = "u{i:04d}"\nname = "第{i}市场监管所"\n\n' for i in range(units)
        )
        text = text[:start] + many + text[end:]
    return text


@dataclass
class Campaign:
    db: Database
    files: FileStore
    units: dict[str, int]
    deadlines: dict[tuple[str, int], int]

    async def submit(
        self,
        obligation: str,
        seq: int,
        unit: str,
        at: datetime,
        answers: dict[str, Any] | None = None,
        *,
        revision: int = 1,
        status: str = "submitted",
        nil: bool = False,
        comment: str | None = None,
        files: Sequence[tuple[str, bytes]] = (),
    ) -> int:
        deadline_id = self.deadlines[(obligation, seq)]
        async with self.db.sessions.begin() as s:
            due = (await s.get_one(m.Deadline, deadline_id)).due_at
            sub = m.Submission(
                deadline_id=deadline_id,
                unit_id=self.units[unit],
                revision=revision,
                status=status,
                nil=nil,
                answers=answers or {},
                submitted_at=at,
                late=at > due,
                review_comment=comment,
            )
            s.add(sub)
            await s.flush()
            for name, data in files:
                stored = self.files.put(data, 1, self.units[unit], deadline_id, "xlsx")
                s.add(
                    m.Attachment(
                        submission_id=sub.id,
                        field_id="attachment",
                        original_name=name,
                        size=stored.size,
                        mime_type="application/octet-stream",
                        sha256=stored.sha256,
                        storage_key=stored.key,
                        uploaded_at=at,
                    )
                )
            return sub.id


async def _campaign(
    db: Database, tmp_path: Path, units: int | None = None, code: str = CAMPAIGN
) -> Campaign:
    text = _plan_text(units).replace(f'id = "{CAMPAIGN}"', f'id = "{code}"')
    await load_plan(db.sessions, parse_plan(text, "plan.toml"), "plan.toml", text, LOADED)
    async with db.sessions() as s:
        campaign_id = await s.scalar(select(m.Campaign.id).where(m.Campaign.code == code))
        rows = await s.execute(
            select(m.Unit.code, m.Unit.id).where(m.Unit.campaign_id == campaign_id)
        )
        unit_ids = dict(rows.all())
        deadline_ids = {
            (o, seq): i
            for o, seq, i in await s.execute(
                select(m.Obligation.code, m.Deadline.seq, m.Deadline.id)
                .join(m.Obligation, m.Obligation.id == m.Deadline.obligation_id)
                .where(m.Deadline.campaign_id == campaign_id)
            )
        }
    return Campaign(db, FileStore(tmp_path / "files"), unit_ids, deadline_ids)


def _utc(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    """A Beijing wall-clock time as an aware UTC instant."""
    return datetime(y, mo, d, h, mi, tzinfo=BEIJING).astimezone(UTC)


@pytest.fixture
async def daguan(database: Database, tmp_path: Path) -> Campaign:
    """Daguan on 2017-01-11 with the first weekly report in every state there is."""
    return await daguan_campaign(database, tmp_path)


async def daguan_campaign(database: Database, tmp_path: Path) -> Campaign:
    """The `daguan` fixture's campaign, for other modules' fixtures."""
    c = await _campaign(database, tmp_path)
    week = ("weekly-report", 1)  # due 2016-12-01 15:00
    await c.submit(
        *week,
        "dekuan",
        _utc(2016, 12, 1, 14, 30),
        {**STATS, "seized": '=HYPERLINK("http://evil.example/","点我")'},
        files=[
            ("=cmd|' /C calc'!A0.xlsx", b"one"),
            ("../../etc/passwd", b"two"),
            ("统计表.xlsx", b"three"),
            ("统计表.xlsx", b"four"),
        ],
    )
    await c.submit(
        *week,
        "yulin",
        _utc(2016, 12, 1, 17, 5),
        {**STATS, "inspectors": 10, "case_value": "0.0025", "fines": "1.2", "seized": "@SUM(1)"},
    )
    await c.submit(*week, "jixian", _utc(2016, 12, 1, 9, 0), nil=True)
    await c.submit(
        *week,
        "linghu",
        _utc(2016, 12, 1, 10, 0),
        {**STATS, "inspectors": 999},
        status="returned",
        comment="数字有误",
    )
    await c.submit(*week, "huashan", _utc(2016, 12, 1, 11, 0), {**STATS, "inspectors": 1})
    await c.submit(
        *week,
        "huashan",
        _utc(2016, 12, 1, 12, 0),
        {**STATS, "inspectors": 7, "seized": "-5 箱"},
        revision=2,
    )
    # haikou sends nothing: 未报.
    await c.submit(
        "weekly-report",
        2,
        "dekuan",
        _utc(2016, 12, 8, 14, 0),
        {**STATS, "inspectors": 4, "case_value": "2"},
    )
    await c.submit(
        "liaison-list",
        1,
        "dekuan",
        _utc(2016, 12, 14, 9, 0),
        {"name": "张三", "title": "+科员", "phone": "0556-5542026", "since": "2016-03-01"},
    )
    return c


def _service(c: Campaign) -> ExportService:
    return ExportService(c.db.sessions, PlanRegistry(), c.files)


async def _export(
    c: Campaign, deadline: str | None = None, language: str = "zh-CN", actor: Actor | None = None
) -> tuple[Any, Any]:
    exported = await _service(c).export_bytes(
        ExportRequest(CAMPAIGN, NOW, language, deadline, actor), Catalogue(language)
    )
    return load_workbook(io.BytesIO(exported.data)), exported.summary


def _values(ws: Worksheet) -> list[list[Any]]:
    return [[c.value for c in row] for row in ws.iter_rows()]


def _row(ws: Worksheet, first: str) -> tuple[Cell, ...]:
    """The first row whose first cell is `first`."""
    for row in ws.iter_rows():
        if row[0].value == first:
            return tuple(row)
    raise AssertionError(f"no row starting with {first!r} in {ws.title}")


def _by_header(ws: Worksheet, header_row: int, row: Sequence[Cell]) -> dict[str, Cell]:
    headers = [c.value for c in ws[header_row]]
    return {str(h): c for h, c in zip(headers, row, strict=False) if h is not None}


async def test_the_workbook_has_the_status_sheet_the_totals_and_one_sheet_per_obligation(
    daguan: Campaign,
) -> None:
    book, summary = await _export(daguan)

    assert book.sheetnames == [
        "提交情况",
        "累计",
        "信息联络员名单",
        "信息周报",
        "集中行动日报",
        "阶段工作小结",
        "工作总结和典型案例",
    ]
    assert summary.sheets == tuple(book.sheetnames)
    assert (summary.units, summary.deadlines, summary.submissions) == (6, 32, 7)
    assert summary.file_name == "2017年元旦春节期间打假专项行动汇总表_2017-01-11.xlsx"
    for ws in book.worksheets:
        assert ws["A1"].value == "2017年元旦春节期间打假专项行动 汇总报表"
        assert ws["A2"].value == "导出时间:2017-01-11 10:00"


async def test_status_cells_show_the_time_marked_late_nil_or_returned_and_missing_in_red(
    daguan: Campaign,
) -> None:
    book, _ = await _export(daguan)
    ws = book["提交情况"]

    band = [c.value for c in ws[4]]
    header = [c.value for c in ws[5]]
    column = header.index("2016-12-01\n15:00")
    assert band[column] == "信息周报第1期"
    assert header[:2] == ["单位", "分组"]
    cells = {
        u: _row(ws, u)[column]
        for u in (
            "德宽路市场监管所",
            "玉琳路市场监管所",
            "集贤路市场监管所",
            "菱湖市场监管所",
            "花山市场监管所",
            "海口市场监管所",
        )
    }
    assert {u: c.value for u, c in cells.items()} == {
        "德宽路市场监管所": "12-01 14:30",
        "玉琳路市场监管所": "12-01 17:05 迟报",
        "集贤路市场监管所": "12-01 09:00 零报告",
        "菱湖市场监管所": "12-01 10:00 已退回",
        "花山市场监管所": "12-01 12:00",
        "海口市场监管所": "未报",
    }
    # The colour after the alpha byte, which Excel ignores.
    assert cells["海口市场监管所"].fill.fgColor.rgb[2:] == "FFC7CE"
    assert cells["玉琳路市场监管所"].fill.fgColor.rgb[2:] == "FFEB9C"
    assert cells["德宽路市场监管所"].fill.fgColor.rgb == "00000000"  # on time: no colour
    # Not yet due (the final summary, 2017-02-23): blank, not missing.
    final = header.index("2017-02-23\n17:30")
    assert _row(ws, "海口市场监管所")[final].value is None
    missed = _by_header(ws, 5, _row(ws, "海口市场监管所"))["未报次数"].value
    assert isinstance(missed, int) and missed > 1


async def test_counts_per_deadline_are_written_under_the_units(daguan: Campaign) -> None:
    book, _ = await _export(daguan)
    ws = book["提交情况"]
    column = [c.value for c in ws[5]].index("2016-12-01\n15:00")

    counts = {
        label: _row(ws, label)[column].value
        for label in ("应报单位数", "已报(含迟报)", "其中迟报", "其中零报告", "已退回待改", "未报")
    }

    assert counts == {
        "应报单位数": 6,
        "已报(含迟报)": 4,
        "其中迟报": 1,
        "其中零报告": 1,
        "已退回待改": 1,
        "未报": 1,
    }
    assert _row(ws, "未报")[0].font.b


async def test_an_obligation_sheet_has_units_as_rows_fields_as_columns_and_a_total(
    daguan: Campaign,
) -> None:
    book, _ = await _export(daguan)
    ws = book["信息周报"]
    values = _values(ws)

    assert values[2][0].startswith("信息周报(表单:打假统计报表)")
    header = values[3]
    assert header[:4] == ["单位", "分组", "状态", "提交时间"]
    assert header[4:12] == [
        "出动执法人员(人次)",
        "检查经营户(户次)",
        "受理举报投诉(件)",
        "立案查处案件数(件)",
        "案值(万元)",
        "罚没款(万元)",
        "挽回经济损失(万元)",
        "收缴物资",
    ]
    assert header[12:] == ["统计报表附件", "备注"]
    assert values[4][0] == "信息周报 第1期 · 截止 2016-12-01 15:00"
    first_block = {row[0]: row for row in values[5:12]}
    assert first_block["德宽路市场监管所"][2:9] == [
        "已提交",
        datetime(2016, 12, 1, 14, 30),
        36,
        128,
        5,
        2,
        1.35,
    ]
    assert first_block["玉琳路市场监管所"][2] == "迟报"
    assert first_block["集贤路市场监管所"][2:5] == [
        "已提交 · 零报告",
        datetime(2016, 12, 1, 9),
        None,
    ]
    assert first_block["菱湖市场监管所"][2] == "已退回"
    assert first_block["菱湖市场监管所"][-1] == "退回原因:数字有误"
    assert first_block["花山市场监管所"][4] == 7  # the newest revision
    assert first_block["海口市场监管所"][2:5] == ["逾期未报", None, None]
    total = first_block["合计"]
    # Valid reports only: dekuan 36 + yulin 10 + huashan 7 (returned and nil left out).
    assert total[2:10] == ["已报 4/6", None, 53, 384, 15, 6, 2.7025, 2.8]
    assert ws.cell(row=12, column=1).font.b


async def test_numbers_are_numbers_dates_are_dates_and_text_keeps_its_leading_zeros(
    daguan: Campaign,
) -> None:
    book, _ = await _export(daguan)
    weekly = book["信息周报"]
    dekuan = _by_header(weekly, 4, _row(weekly, "德宽路市场监管所"))
    liaison = book["信息联络员名单"]
    zhang = _by_header(liaison, 5, _row(liaison, "德宽路市场监管所"))

    assert dekuan["出动执法人员(人次)"].data_type == "n"
    assert isinstance(dekuan["出动执法人员(人次)"].value, int)
    assert dekuan["案值(万元)"].data_type == "n" and dekuan["案值(万元)"].value == 1.35
    assert dekuan["提交时间"].is_date
    assert dekuan["提交时间"].number_format == "yyyy-mm-dd hh:mm"
    assert zhang["联系电话"].value == "0556-5542026" and zhang["联系电话"].data_type == "s"
    assert zhang["任职日期"].is_date and zhang["任职日期"].value == datetime(2016, 3, 1)
    assert zhang["任职日期"].number_format == "yyyy-mm-dd"
    # The period of a single deadline is in the sheet's header.
    assert str(liaison["A3"].value).startswith("信息联络员名单")
    assert liaison["A4"].value == "信息联络员名单 · 截止 2016-12-15 17:30"


async def test_text_that_looks_like_a_formula_is_written_as_plain_text(daguan: Campaign) -> None:
    book, _ = await _export(daguan)
    weekly = book["信息周报"]
    liaison = book["信息联络员名单"]

    cells = [
        _by_header(weekly, 4, _row(weekly, "德宽路市场监管所"))["收缴物资"],
        _by_header(weekly, 4, _row(weekly, "德宽路市场监管所"))["统计报表附件"],
        _by_header(weekly, 4, _row(weekly, "玉琳路市场监管所"))["收缴物资"],
        _by_header(weekly, 4, _row(weekly, "花山市场监管所"))["收缴物资"],
        _by_header(liaison, 5, _row(liaison, "德宽路市场监管所"))["职务"],
    ]

    assert [c.value for c in cells] == [
        '=HYPERLINK("http://evil.example/","点我")',
        "=cmd|' /C calc'!A0.xlsx、../../etc/passwd、统计表.xlsx、统计表.xlsx",
        "@SUM(1)",
        "-5 箱",
        "+科员",
    ]
    assert all(c.data_type == "s" for c in cells)
    assert [c.quotePrefix for c in cells] == [True] * 5
    formulas = [
        c.coordinate
        for ws in book.worksheets
        for row in ws.iter_rows()
        for c in row
        if c.data_type == "f"
    ]
    assert formulas == []


async def test_header_rows_are_frozen_and_pages_print_landscape(daguan: Campaign) -> None:
    book, _ = await _export(daguan)

    assert book["提交情况"].freeze_panes == "C6"
    assert book["累计"].freeze_panes == "C6"
    assert book["信息周报"].freeze_panes == "C5"
    for ws in book.worksheets:
        assert ws.page_setup.orientation == "landscape"
        assert ws.column_dimensions["A"].width >= 18  # "德宽路市场监管所" fits
    # One page wide where that stays legible, else across pages (test_export_print).
    liaison = book["信息联络员名单"]
    assert liaison.sheet_properties.pageSetUpPr.fitToPage
    # fitToWidth left out means 1, the default.
    assert (liaison.page_setup.fitToWidth or 1, liaison.page_setup.fitToHeight) == (1, 0)
    assert book["信息周报"].print_title_rows == "$4:$4"


async def test_the_totals_sheet_sums_valid_reports_per_unit_and_overall(daguan: Campaign) -> None:
    book, _ = await _export(daguan)
    ws = book["累计"]

    band = [c.value for c in ws[4]]
    header = [c.value for c in ws[5]]
    weekly = band.index("信息周报")
    assert header[weekly : weekly + 3] == [
        "有效报送期数",
        "出动执法人员(人次)",
        "检查经营户(户次)",
    ]
    dekuan = [c.value for c in _row(ws, "德宽路市场监管所")]
    assert dekuan[weekly : weekly + 2] == [2, 40]  # weeks 1 and 2: 36 + 4
    assert dekuan[weekly + 5] == 3.35  # 案值 1.35 + 2
    total = [c.value for c in _row(ws, "合计")]
    assert total[weekly : weekly + 2] == [5, 57]  # 36 + 4 + 10 + 7; jixian's nil report counts
    assert [c.value for c in _row(ws, "菱湖市场监管所")][weekly : weekly + 2] == [0, 0]
    assert "累计:截至 2017-01-11 10:00" in ws["A3"].value


async def test_a_chosen_deadline_exports_its_block_and_totals_up_to_it(daguan: Campaign) -> None:
    book, summary = await _export(daguan, "weekly-report#1")

    assert book.sheetnames == ["提交情况", "累计", "信息周报"]
    assert summary.deadlines == 1
    status_header = [c.value for c in book["提交情况"][5]]
    assert status_header == ["单位", "分组", "2016-12-01\n15:00", "未报次数", "迟报次数"]
    weekly = book["信息周报"]
    headings = [r[0] for r in _values(weekly) if str(r[0]).startswith("信息周报 第")]
    assert headings == ["信息周报 第1期 · 截止 2016-12-01 15:00"]
    totals = book["累计"]
    assert [c.value for c in _row(totals, "合计")][2:4] == [4, 53]  # week 2 not yet counted
    assert "截至 2016-12-01 15:00" in totals["A3"].value

    book, summary = await _export(daguan, "2016-12-08")
    assert summary.deadlines == 1 and book.sheetnames[2:] == ["信息周报"]
    assert [c.value for c in _row(book["累计"], "德宽路市场监管所")][2:4] == [2, 40]


@pytest.mark.parametrize(
    "selector",
    [
        "weekly-report#99",
        "no-such-thing",
        "2015-01-01",
        "weekly-report@2016-13-01",
        "weekly-report#x",
    ],
)
async def test_a_deadline_that_is_not_in_the_campaign_is_refused(
    daguan: Campaign, selector: str
) -> None:
    with pytest.raises(ExportError) as refused:
        await _export(daguan, selector)

    assert refused.value.code == "bad_deadline"


async def test_an_unknown_campaign_or_one_the_actor_does_not_coordinate_is_refused(
    daguan: Campaign,
) -> None:
    liaison = Actor(1, "1", None, (Seat(1, CAMPAIGN, "x", Role.LIAISON, 1, "德宽"),))
    coordinator = Actor(2, "2", None, (Seat(1, CAMPAIGN, "x", Role.COORDINATOR),))
    service = _service(daguan)

    with pytest.raises(ExportError) as unknown:
        await service.export_bytes(ExportRequest("nope", NOW), Catalogue())
    with pytest.raises(ExportError) as refused:
        await service.export_bytes(ExportRequest(CAMPAIGN, NOW, actor=liaison), Catalogue())
    allowed = await service.export_bytes(
        ExportRequest(CAMPAIGN, NOW, actor=coordinator), Catalogue()
    )

    assert unknown.value.code == refused.value.code == "unknown_campaign"
    assert allowed.data.startswith(b"PK")


async def test_the_workbook_speaks_english_when_asked(daguan: Campaign) -> None:
    book, summary = await _export(daguan, language="en")

    assert book.sheetnames[:2] == ["Submissions", "To date"]
    assert summary.file_name == "2017年元旦春节期间打假专项行动 summary_2017-01-11.xlsx"
    assert "12-01 17:05 late" in [c.value for c in _row(book["Submissions"], "玉琳路市场监管所")]


async def test_with_files_the_archive_holds_the_files_by_unit_and_deadline_and_the_workbook(
    daguan: Campaign, tmp_path: Path
) -> None:
    out = tmp_path / "out" / "汇总.xlsx"
    out.parent.mkdir()
    archive = out.with_suffix(".zip")

    summary = await _service(daguan).export_file(
        ExportRequest(CAMPAIGN, NOW), Catalogue(), out, archive
    )

    with zipfile.ZipFile(archive) as z:
        names = z.namelist()
        contents = {n: z.read(n) for n in names}
    folder = "德宽路市场监管所/信息周报第1期 2016-12-01/"
    assert sorted(names) == sorted(
        [
            folder + "=cmd_' _C calc'!A0.xlsx",
            folder + "_.._etc_passwd",
            folder + "统计表.xlsx",
            folder + "统计表 (2).xlsx",
            "汇总.xlsx",
        ]
    )
    assert contents[folder + "统计表.xlsx"] == b"three"
    assert contents[folder + "统计表 (2).xlsx"] == b"four"
    assert contents["汇总.xlsx"] == out.read_bytes()
    assert all(".." not in n.split("/") and not n.startswith("/") for n in names)
    assert (summary.files, summary.missing_files, summary.archive) == (4, 0, archive)


async def test_a_stored_file_that_has_gone_is_counted_not_fatal(
    daguan: Campaign, tmp_path: Path
) -> None:
    async with daguan.db.sessions() as s:
        keys = (await s.scalars(select(m.Attachment.storage_key))).all()
    daguan.files.delete(keys[0])
    out = tmp_path / "x.xlsx"

    summary = await _service(daguan).export_file(
        ExportRequest(CAMPAIGN, NOW), Catalogue(), out, out.with_suffix(".zip")
    )

    assert (summary.files, summary.missing_files) == (3, 1)


async def _many(database: Database, tmp_path: Path, units: int) -> tuple[Campaign, str]:
    """A campaign of `units` units, each having sent two weekly reports (every third one
    with a file) and its liaison list; seeded in one transaction."""
    code = f"many-{units}"
    c = await _campaign(database, tmp_path, units, code)
    async with database.sessions.begin() as s:
        for i in range(units):
            unit_id = c.units[f"u{i:04d}"]
            for key, at in (
                (("weekly-report", 1), _utc(2016, 12, 1, 14)),
                (("weekly-report", 2), _utc(2016, 12, 8, 14)),
                (("liaison-list", 1), _utc(2016, 12, 14, 9)),
            ):
                sub = m.Submission(
                    deadline_id=c.deadlines[key],
                    unit_id=unit_id,
                    revision=1,
                    answers=STATS,
                    submitted_at=at,
                )
                s.add(sub)
                if i % 3 == 0:
                    await s.flush()
                    s.add(
                        m.Attachment(
                            submission_id=sub.id,
                            field_id="attachment",
                            original_name=f"{i}.xlsx",
                            size=1,
                            mime_type="x",
                            sha256="0",
                            storage_key=f"k/{code}/{i}/{sub.id}",
                            uploaded_at=at,
                        )
                    )
    return c, code


async def _statements_for(database: Database, tmp_path: Path, units: int) -> list[str]:
    c, code = await _many(database, tmp_path, units)
    with recorded_statements(database.engine) as seen:
        exported = await _service(c).export_bytes(
            ExportRequest(code, NOW, future=True), Catalogue()
        )
    book = load_workbook(io.BytesIO(exported.data))
    assert exported.summary.submissions == 3 * units
    assert book["信息周报"].max_row > 13 * units
    return seen


async def test_the_export_runs_the_same_statements_for_200_units_as_for_10(
    database: Database, tmp_path: Path
) -> None:
    few = await _statements_for(database, tmp_path / "few", 10)
    many = await _statements_for(database, tmp_path / "many", 200)

    assert len(many) == len(few)
    assert len(few) <= 10


async def test_the_event_loop_keeps_running_while_the_workbook_is_written(
    database: Database, tmp_path: Path
) -> None:
    c, code = await _many(database, tmp_path, 300)
    ticks = 0
    done = asyncio.Event()

    async def tick() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0.001)

    ticker = asyncio.create_task(tick())
    await _service(c).export_bytes(ExportRequest(code, NOW), Catalogue())
    done.set()
    await ticker

    assert ticks > 5


def _cli(*argv: str) -> int:
    """`cuibao export …` through the subcommand's own argparse definition."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config")
    common.add_argument("--lang")
    parser = argparse.ArgumentParser(prog="cuibao", parents=[common])
    add_export_parser(parser.add_subparsers(), common)
    args = parser.parse_args(argv)
    return int(args.run(args))


async def _cli_campaign(tmp_path: Path) -> Path:
    url = f"sqlite:///{tmp_path / 'cuibao.sqlite3'}"
    async with Database.open(url) as db:
        c = await _campaign(db, tmp_path)
        await c.submit(
            "weekly-report",
            1,
            "dekuan",
            _utc(2016, 12, 1, 14, 30),
            STATS,
            files=[("统计表.xlsx", b"x")],
        )
    config = tmp_path / "config.toml"
    config.write_text(
        f'[database]\nurl = "{url}"\n[files]\ndir = "{tmp_path / "files"}"\n', encoding="utf-8"
    )
    return config


def test_the_export_command_writes_the_workbook_and_with_files_the_zip_beside_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = asyncio.run(_cli_campaign(tmp_path))
    out = tmp_path / "reports" / "周报.xlsx"

    code = _cli(
        "export",
        "--config",
        str(config),
        "--campaign",
        CAMPAIGN,
        "--with-files",
        "--deadline",
        "weekly-report#1",
        "--out",
        str(out),
        "--now",
        "2017-01-11T10:00:00+08:00",
    )

    printed = capsys.readouterr().out
    assert code == 0
    assert f"已写入 {out}:6 个单位,1 个截止事项,1 份报送。" in printed
    assert f"附件压缩包 {out.with_suffix('.zip')}:1 个文件" in printed
    assert load_workbook(out).sheetnames == ["提交情况", "累计", "信息周报"]
    with zipfile.ZipFile(out.with_suffix(".zip")) as z:
        assert set(z.namelist()) == {
            "德宽路市场监管所/信息周报第1期 2016-12-01/统计表.xlsx",
            "周报.xlsx",
        }


def test_the_export_command_without_a_database_says_so_and_creates_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no config: the default ./cuibao.sqlite3
    monkeypatch.delenv("CUIBAO_CONFIG", raising=False)

    with pytest.raises(UsageError) as refused:
        _cli("export", "--campaign", CAMPAIGN)

    assert str(refused.value) == (
        f"没有数据库 {tmp_path / 'cuibao.sqlite3'}:先用 cuibao plan "
        "load 载入计划;若机器人的数据在别处,请用 --config 指向它的"
        "配置文件。"
    )
    assert list(tmp_path.iterdir()) == []


def test_the_export_command_refuses_an_unknown_campaign_or_deadline_in_one_line(
    tmp_path: Path,
) -> None:
    config = asyncio.run(_cli_campaign(tmp_path))

    with pytest.raises(UsageError) as campaign:
        _cli("export", "--config", str(config), "--campaign", "nope")
    with pytest.raises(UsageError) as deadline:
        _cli(
            "export",
            "--config",
            str(config),
            "--campaign",
            CAMPAIGN,
            "--deadline",
            "x#1",
            "--out",
            str(tmp_path / "x.xlsx"),
            "--lang",
            "en",
        )

    database = f"sqlite:///{tmp_path / 'cuibao.sqlite3'}"
    assert str(campaign.value) == (
        f"数据库 {database} 中没有活动“nope”;现有活动:{CAMPAIGN}。(是否忘了 --config?)"
    )
    assert str(deadline.value).startswith('"x#1" is not a deadline of this campaign.')
    assert not (tmp_path / "x.xlsx").exists()
