"""The progress board read from the database, the 通报 made of it (.docx, .xlsx, .png),
and `cuibao status` / `cuibao tongbao`, on every database backend."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
from docx import Document
from docx.oxml.ns import qn
from openpyxl import load_workbook
from PIL import Image

from bot.cli import main
from conversation.i18n import Catalogue
from domain.board import Cell
from services.board import BoardService, Period, PeriodKind
from services.tongbao import BODY_FONT, tongbao_files
from storage.database import Database
from tests.storage.conftest import recorded_statements
from tests.storage.test_export import (
    CAMPAIGN,
    NOW,
    Campaign,
    _campaign,
    _cli_campaign,
    _utc,
    daguan,
)

__all__ = ["daguan"]  # the fixture, shared with the export's tests

UNITS = [
    "德宽路市场监管所",
    "玉琳路市场监管所",
    "集贤路市场监管所",
    "菱湖市场监管所",
    "花山市场监管所",
    "海口市场监管所",
]


def _first_week(c: Campaign) -> Period:
    return Period(PeriodKind.DEADLINE, c.deadlines[("weekly-report", 1)])


async def test_the_board_gives_every_unit_its_cell_on_a_deadline(daguan: Campaign) -> None:
    found = await BoardService(daguan.db.sessions).board(
        None, CAMPAIGN, NOW, period=_first_week(daguan)
    )

    assert found is not None
    board = found.board
    assert [u.name for u in board.units] == UNITS
    assert [u.group for u in board.units] == ["市场监管所"] * 6
    assert [row[0] for row in board.cells] == [
        Cell.ON_TIME,
        Cell.LATE,
        Cell.NIL,
        Cell.RETURNED,
        Cell.ON_TIME,
        Cell.MISSING,
    ]
    assert board.office == "大观区市场监督管理局"


async def test_the_status_window_holds_the_last_passed_deadlines_and_the_next_three(
    daguan: Campaign,
) -> None:
    service = BoardService(daguan.db.sessions)

    found = await service.board(None, CAMPAIGN, NOW, window=12)
    everything = await service.board(None, CAMPAIGN, NOW)

    assert found is not None and everything is not None
    due = [d.due for d in found.board.deadlines]
    assert len(due) == 12 and due == sorted(due)
    assert sum(d.due > NOW for d in found.board.deadlines) == 3
    assert len(everything.board.deadlines) > 12


async def test_the_board_reads_with_the_same_few_statements_for_200_units_as_for_6(
    database: Database, tmp_path: Path
) -> None:
    counts = []
    for units, code in ((6, "few"), (200, "many")):
        c = await _campaign(database, tmp_path / code, units, code=code)
        await c.submit("weekly-report", 1, "u0001", _utc(2016, 12, 1, 14, 0))
        with recorded_statements(database.engine) as seen:
            found = await BoardService(database.sessions).board(None, code, NOW)
        assert found is not None and len(found.board.units) == units
        counts.append(len([s for s in seen if s.startswith("SELECT")]))

    # campaign, deadlines, units, newest revisions, and the standing 免报 / 延期
    assert counts[0] == counts[1] <= 5


async def test_the_tongbao_names_who_was_late_or_missing_and_ranks_every_unit(
    daguan: Campaign,
) -> None:
    found = await BoardService(daguan.db.sessions).board(
        None, CAMPAIGN, NOW, period=_first_week(daguan)
    )
    assert found is not None

    files = tongbao_files(found, Catalogue("zh-CN"), "zh-CN", PeriodKind.DEADLINE)

    doc = Document(io.BytesIO(files.docx))
    text = [p.text for p in doc.paragraphs]
    assert text[0] == "〔2017〕X号"
    assert text[1] == (
        "关于2017年元旦春节期间打假专项行动信息周报第1期(12月1日(周四) 15:00截止)报送情况的通报"
    )
    assert "迟报的单位(1个):玉琳路市场监管所。" in text
    assert "逾期未报的单位(1个):海口市场监管所。" in text
    assert "材料被退回尚未改正的单位(1个):菱湖市场监管所。" in text
    assert (
        "德宽路市场监管所、集贤路市场监管所、花山市场监管所等3个单位均按时报送,予以通报表扬。"
    ) in text
    assert text[-2:] == ["大观区市场监督管理局", "2017年1月11日"]
    [table] = doc.tables
    rows = [[c.text for c in row.cells] for row in table.rows]
    assert rows[0] == [
        "排名",
        "单位",
        "分组",
        "应报",
        "按时",
        "迟报",
        "零报告",
        "退回",
        "未报",
        "按时报送率",
    ]
    assert [r[1] for r in rows[1:]] == [UNITS[0], UNITS[2], UNITS[4], UNITS[1], UNITS[3], UNITS[5]]
    assert rows[1][9] == "100.0%" and rows[6][8] == "1"
    properties = doc.paragraphs[5].runs[0]._element.rPr
    assert properties is not None and properties.rFonts is not None
    assert properties.rFonts.get(qn("w:eastAsia")) == BODY_FONT


async def test_the_tongbao_sheet_and_picture_carry_the_same_ranking(daguan: Campaign) -> None:
    found = await BoardService(daguan.db.sessions).board(
        None, CAMPAIGN, NOW, period=_first_week(daguan)
    )
    assert found is not None

    files = tongbao_files(found, Catalogue("zh-CN"), "zh-CN", PeriodKind.DEADLINE)

    ws = load_workbook(io.BytesIO(files.xlsx)).active
    assert ws is not None
    assert [ws.cell(r, 2).value for r in range(3, 9)] == [
        UNITS[0],
        UNITS[2],
        UNITS[4],
        UNITS[1],
        UNITS[3],
        UNITS[5],
    ]
    assert ws.cell(3, 10).value == 1 and ws.cell(3, 10).number_format == "0.0%"
    with Image.open(io.BytesIO(files.png)) as image:
        assert image.format == "PNG"


def test_the_status_command_prints_each_deadline_and_writes_the_picture(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = asyncio.run(_cli_campaign(tmp_path))
    png = tmp_path / "out" / "进度.png"

    code = main(
        [
            "status",
            "--config",
            str(config),
            "--campaign",
            CAMPAIGN,
            "--png",
            str(png),
            "--now",
            "2017-01-11T10:00:00+08:00",
        ]
    )

    printed = capsys.readouterr().out
    assert code == 0
    assert "信息周报第1期(12月1日 周四 15:00前):已交 1 · 未报 5;完成率 17%" in printed
    # More than 30 deadlines: two pages of columns, and the summary by 分组.
    pages = [png.with_name(f"进度-{n}.png") for n in ("1", "2", "groups")]
    assert f"已写入 3 张图:{', '.join(map(str, pages))}" in printed
    for page in pages:
        with Image.open(page) as image:
            assert image.size[0] >= 700


def test_the_tongbao_command_writes_the_docx_with_its_sheet_and_picture_beside_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = asyncio.run(_cli_campaign(tmp_path))
    out = tmp_path / "通报.docx"

    code = main(
        [
            "tongbao",
            "--config",
            str(config),
            "--campaign",
            CAMPAIGN,
            "--period",
            "all",
            "--out",
            str(out),
            "--now",
            "2017-01-11T10:00:00+08:00",
        ]
    )

    assert code == 0
    assert "已生成通报" in capsys.readouterr().out
    assert out.exists() and out.with_suffix(".xlsx").exists() and out.with_suffix(".png").exists()
    assert any("海口市场监管所" in p.text for p in Document(str(out)).paragraphs)


def test_the_tongbao_command_refuses_a_bad_period_or_campaign_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = asyncio.run(_cli_campaign(tmp_path))
    out = tmp_path / "通报.docx"

    bad_period = main(
        [
            "tongbao",
            "--config",
            str(config),
            "--campaign",
            CAMPAIGN,
            "--period",
            "year",
            "--out",
            str(out),
        ]
    )
    period_error = capsys.readouterr().err
    bad_campaign = main(["status", "--config", str(config), "--campaign", "nope"])
    campaign_error = capsys.readouterr().err

    assert (bad_period, bad_campaign) == (1, 1)
    assert period_error == (
        "无法识别统计范围“year”:请用 deadline:编号、week(本周)、month(本月)或 all(至今)。\n"
    )
    assert campaign_error == "没有找到活动 nope。\n"
    assert not out.exists()
