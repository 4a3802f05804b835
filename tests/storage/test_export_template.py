"""The coordinator's own template, filled from the Daguan campaign's weekly reports."""

from __future__ import annotations

import argparse
import io
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Border, Side

from bot.cli_common import UsageError
from bot.export_cli import add_export_parser
from conversation.i18n import Catalogue
from domain.export_template import parse_template
from domain.plan_toml import PlanError
from services.campaign_reads import PlanRegistry
from services.export import ExportError, ExportRequest, ExportService
from storage.database import Database
from tests.storage.test_export import STATS, Campaign, _campaign

NOW = datetime(2016, 12, 9, 2, 0, tzinfo=UTC)  # Friday after the second weekly report
BEIJING = ZoneInfo("Asia/Shanghai")
MAPPING = """
file = "模板.xlsx"
[[sheets]]
obligation = "weekly-report"
sheet = "汇总表"
first_row = 5
totals = true
columns = { unit = "A", status = "B", inspectors = "C", case_value = "D", seized = "E" }
cells = { campaign = "A1", period = "A2", due = "D2" }
"""


@cache
def _template() -> bytes:
    """What a coordinator keeps on their desktop: a title, a header, one styled row.

    Cached: openpyxl stamps the save time into the file, so two builds a second apart are
    different bytes, and tests that send "the same workbook" twice would flake."""
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.title = "汇总表"
    ws.merge_cells("A1:E1")
    for col, header in zip(
        "ABCDE", ["单位", "状态", "出动人次", "案值(万元)", "物资"], strict=True
    ):
        ws[f"{col}4"] = header
    thin = Side(style="thin")
    for col in "ABCDE":
        ws[f"{col}5"].border = Border(top=thin, bottom=thin, left=thin, right=thin)
    ws["D5"].number_format = "0.0000"
    book.create_sheet("说明")["A1"] = "本表由各所每周四报送"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _at(day: int, hour: int) -> datetime:
    return datetime(2016, 12, day, hour, tzinfo=BEIJING).astimezone(UTC)


@pytest.fixture
async def weekly(database: Database, tmp_path: Path) -> Campaign:
    c = await _campaign(database, tmp_path)
    await c.submit("weekly-report", 1, "dekuan", _at(1, 14), STATS)
    await c.submit("weekly-report", 2, "dekuan", _at(8, 14), {**STATS, "seized": "=1+1"})
    await c.submit(
        "weekly-report", 2, "yulin", _at(8, 16), {**STATS, "inspectors": 4, "case_value": "0.25"}
    )
    await c.submit("weekly-report", 2, "jixian", _at(8, 9), nil=True)
    return c


async def _fill(
    c: Campaign, deadline: str | None = None, mapping: str = MAPPING, data: bytes | None = None
) -> tuple[Workbook, int]:
    service = ExportService(c.db.sessions, PlanRegistry(), c.files)
    filled = await service.fill_template(
        ExportRequest("daguan-2017-anticounterfeit", NOW, "zh-CN", deadline),
        Catalogue(),
        parse_template(mapping, "mapping.toml"),
        data or _template(),
    )
    return load_workbook(io.BytesIO(filled.data)), filled.summary.deadlines


async def test_the_template_gets_one_row_per_unit_and_keeps_its_own_layout(
    weekly: Campaign,
) -> None:
    book, deadlines = await _fill(weekly)
    ws = book["汇总表"]

    assert deadlines == 1
    assert book.sheetnames == ["汇总表", "说明"]
    assert ws["A1"].value == "2017年元旦春节期间打假专项行动"
    assert "A1:E1" in {str(r) for r in ws.merged_cells.ranges}
    assert ws["D2"].value == datetime(2016, 12, 8, 15, 0)
    assert [c.value for c in ws[4]] == ["单位", "状态", "出动人次", "案值(万元)", "物资"]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=5, max_row=11)]
    assert rows == [
        ["德宽路市场监管所", "已提交", 36, 1.35, "=1+1"],
        ["玉琳路市场监管所", "迟报", 4, 0.25, "假冒白酒120瓶"],
        ["集贤路市场监管所", "已提交 · 零报告", None, None, None],
        ["菱湖市场监管所", "逾期未报", None, None, None],
        ["花山市场监管所", "逾期未报", None, None, None],
        ["海口市场监管所", "逾期未报", None, None, None],
        ["合计", None, 40, 1.6, None],
    ]
    assert ws["E5"].data_type == "s" and ws["E5"].quotePrefix
    assert ws["D7"].number_format == "0.0000"  # the first row's style, carried down
    assert ws["A9"].border.top.style == "thin"


async def test_a_chosen_deadline_fills_the_template_instead_of_the_latest(
    weekly: Campaign,
) -> None:
    book, _ = await _fill(weekly, "weekly-report#1")

    ws = book["汇总表"]
    assert ws["D2"].value == datetime(2016, 12, 1, 15, 0)
    assert [c.value for c in ws[5]][:3] == ["德宽路市场监管所", "已提交", 36]
    assert ws["B6"].value == "逾期未报"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (('sheet = "汇总表"', 'sheet = "周报"'), "template_no_such_sheet"),
        (('period = "A2"', 'period = "B1"'), "template_merged_cell"),
    ],
)
async def test_a_mapping_that_does_not_fit_the_template_is_refused_clearly(
    weekly: Campaign, change: tuple[str, str], code: str
) -> None:
    with pytest.raises(ExportError) as refused:
        await _fill(weekly, mapping=MAPPING.replace(*change))

    assert refused.value.code == code
    assert Catalogue().has(f"export.{code}")


async def test_a_mapping_naming_a_field_the_form_does_not_have_is_refused(
    weekly: Campaign,
) -> None:
    with pytest.raises(PlanError) as refused:
        await _fill(weekly, mapping=MAPPING.replace("seized = ", "weight = "))

    assert (refused.value.code, refused.value.where) == ("bad_choice", "sheets[0].columns.weight")


async def test_a_template_with_macros_is_not_used(weekly: Campaign) -> None:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(_template())) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            dst.writestr(name, src.read(name))
        dst.writestr("xl/vbaProject.bin", b"\x00")

    with pytest.raises(ExportError) as refused:
        await _fill(weekly, data=out.getvalue())

    assert refused.value.code == "template_read.macros"


def test_the_export_command_fills_the_template_named_by_the_mapping(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    from tests.storage.test_export import _cli_campaign

    config = asyncio.run(_cli_campaign(tmp_path))
    (tmp_path / "模板.xlsx").write_bytes(_template())
    (tmp_path / "mapping.toml").write_text(MAPPING, encoding="utf-8")
    out = tmp_path / "本周汇总.xlsx"
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config")
    common.add_argument("--lang")
    parser = argparse.ArgumentParser(parents=[common])
    add_export_parser(parser.add_subparsers(), common)
    args = parser.parse_args(
        [
            "export",
            "--config",
            str(config),
            "--campaign",
            "daguan-2017-anticounterfeit",
            "--template",
            str(tmp_path / "mapping.toml"),
            "--out",
            str(out),
            "--now",
            "2016-12-02T10:00:00+08:00",
        ]
    )

    assert args.run(args) == 0
    assert f"已按模板写入 {out}:1 个截止事项,6 个单位。" in capsys.readouterr().out
    assert load_workbook(out)["汇总表"]["C5"].value == 36

    args.with_files = True
    with pytest.raises(UsageError):
        args.run(args)
