"""The progress picture after /status and the 通报 of /tongbao, over the fake Bot API."""

from __future__ import annotations

import io
from datetime import time
from pathlib import Path

from docx import Document
from openpyxl import load_workbook
from PIL import Image

from bot.config import ReminderSettings
from bot.nudge_loop import replan
from domain.board import Cell
from services.access import AccessService, Role
from services.board import BoardService
from services.pictures import COLOURS, cell_centre
from tests.e2e.harness import COORDINATOR, Harness, running_bot
from tests.e2e.test_digest import DIGEST, OTHER, bj, running_loop
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
    progress, docx, xlsx, picture = await bot.command(COORDINATOR, "tongbao", "month")

    assert progress.text == "“2017年元旦春节期间打假专项行动”报送情况通报已生成并发送。"

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


async def test_the_daily_digest_is_followed_by_the_progress_picture(tmp_path: Path) -> None:
    options = ReminderSettings(digest_at=time(8, 30), replan_delay_seconds=0)
    async with running_bot(tmp_path, bj(8, 0), reminders=options) as bot:
        # The digest goes to coordinators bound to the campaign, as test_digest's are.
        tokens = await AccessService(bot.db.sessions).create_invites(
            "daguan-2017-anticounterfeit", bot.clock(), 14, role=Role.COORDINATOR
        )
        await bot.join(OTHER, "赵协调", tokens[0].token)
        await running_loop(bot)
        bot.clock.now = bj(8, 30)
        replan(bot.app)

        digest = await bot.fake.wait_for(OTHER, lambda x: DIGEST in x.content)
        picture = await bot.fake.wait_for(OTHER, lambda x: x.photo is not None)

        assert picture.message_id > digest.message_id
        assert picture.caption == "“2017年元旦春节期间打假专项行动”报送进度图"
        assert picture.photo is not None
        with Image.open(io.BytesIO(picture.photo.data)) as image:
            assert image.format == "PNG"
