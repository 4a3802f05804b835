"""The progress picture after /status and the 通报 of /tongbao, over the fake Bot API."""

from __future__ import annotations

import io

from docx import Document
from openpyxl import load_workbook
from PIL import Image

from domain.board import Cell
from services.board import BoardService
from services.pictures import COLOURS, cell_centre
from tests.e2e.harness import COORDINATOR, Harness
from tests.e2e.test_export import _liaison_list


async def test_status_sends_the_progress_picture_after_the_text(bot: Harness) -> None:
    await _liaison_list(bot, 2001)  # 德宽路 sends the liaison list, due tomorrow

    text, picture = await bot.command(COORDINATOR, "status")

    assert (text.text or "").startswith("“2017年元旦春节期间打假专项行动”报送情况:")
    assert picture.photo is not None
    assert picture.caption == "“2017年元旦春节期间打假专项行动”报送进度图"
    with Image.open(io.BytesIO(picture.photo.data)) as image:
        assert image.format == "PNG"
        pixels = image.convert("RGB")
    # The same window as the text: the picture's columns are the board's.
    found = await BoardService(bot.db.sessions).board(None, None, bot.clock(), window=12)
    assert found is not None
    titles = [d.title for d in found.board.deadlines]
    liaison = titles.index("信息联络员名单")  # due tomorrow
    # Row 0 is the 分组 市场监管所, row 1 德宽路 (submitted), row 2 玉琳路 (nothing).
    assert pixels.getpixel(cell_centre(1, liaison)) == COLOURS[Cell.ON_TIME]
    assert pixels.getpixel(cell_centre(2, liaison)) == COLOURS[Cell.NOT_DUE]
    assert pixels.getpixel(cell_centre(2, 0)) == COLOURS[Cell.MISSING]


async def test_tongbao_sends_the_draft_docx_its_sheet_and_its_picture(bot: Harness) -> None:
    docx, xlsx, picture = await bot.command(COORDINATOR, "tongbao", "month")

    assert docx.document is not None and xlsx.document is not None
    assert docx.document.file_name == "2017年元旦春节期间打假专项行动报送情况通报-2016-12-14.docx"
    assert xlsx.document.file_name == "2017年元旦春节期间打假专项行动报送情况通报-2016-12-14.xlsx"
    assert "草稿" in (docx.caption or "")
    paragraphs = [p.text for p in Document(io.BytesIO(docx.document.data)).paragraphs]
    assert paragraphs[1] == "关于2017年元旦春节期间打假专项行动2016年12月报送情况的通报"
    assert any(p.startswith("逾期未报的单位(6个):德宽路市场监管所、") for p in paragraphs)
    sheet = load_workbook(io.BytesIO(xlsx.document.data)).active
    assert sheet is not None and sheet.max_row == 2 + 6
    assert picture.photo is not None


async def test_tongbao_refuses_a_period_it_does_not_know_and_a_liaison(bot: Harness) -> None:
    await _liaison_list(bot, 2002)

    [bad] = await bot.command(COORDINATOR, "tongbao", "daguan-2017-anticounterfeit year")
    [liaison] = await bot.command(2002, "tongbao")

    assert (bad.text or "").startswith("无法识别统计范围“year”")
    assert bad.document is None
    assert liaison.text == "此功能仅供牵头单位使用。"
