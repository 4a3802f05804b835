"""The progress picture: PNG pages that decode, cells in their states' colours, pages that
stay readable at 300 units, and Chinese drawn with the shipped font."""

from __future__ import annotations

import io
import pathlib
from datetime import UTC, datetime, timedelta

from PIL import Image

from conversation.i18n import Catalogue
from domain.board import Board, BoardDeadline, BoardUnit, Cell
from services.pictures import (
    COLOURS,
    COLUMNS_PER_PAGE,
    FONT_FILE,
    MARGIN,
    MISSING_GLYPH,
    ROWS_PER_PAGE,
    TITLE,
    board_texts,
    cell_centre,
    chat_picture,
    covered,
    displayable,
    fit,
    page_width_for_title,
    render_board,
)

NOW = datetime(2026, 12, 4, 4, 0, tzinfo=UTC)


def _board(
    units: int, deadlines: int, cells: list[list[Cell | None]] | None = None, groups: int = 1
) -> Board:
    heads = tuple(
        BoardDeadline(j + 1, "信息周报", j + 1, True, NOW + timedelta(days=7 * j))
        for j in range(deadlines)
    )
    rows = tuple(
        BoardUnit(f"第{i + 1}街道办事处", f"第{i * groups // units + 1}片区" if groups > 1 else "")
        for i in range(units)
    )
    grid = cells or [
        [list(Cell)[(i + j) % len(Cell)] for j in range(deadlines)] for i in range(units)
    ]
    return Board("安全生产大排查", "县应急管理局", NOW, rows, heads, tuple(tuple(r) for r in grid))


def _texts(board: Board):  # type: ignore[no-untyped-def]
    return board_texts(board, Catalogue("zh-CN"), "zh-CN", "safety-2026")


def _open(png: bytes) -> Image.Image:
    with Image.open(io.BytesIO(png)) as image:
        return image.convert("RGB")


def test_a_three_unit_board_is_one_png_with_each_cell_in_its_states_colour() -> None:
    cells: list[list[Cell | None]] = [
        [Cell.ON_TIME, Cell.LATE, Cell.NIL],
        [Cell.RETURNED, Cell.MISSING, Cell.NOT_DUE],
        [Cell.EXEMPT, None, Cell.ON_TIME],
    ]
    board = _board(3, 3, cells)

    [page] = render_board(board, _texts(board))

    image = _open(page)
    assert page.startswith(b"\x89PNG")
    assert 700 <= image.width <= 1400 and image.height < 1000
    for r, row in enumerate(cells):
        for k, cell in enumerate(row):
            assert image.getpixel(cell_centre(r, k)) == COLOURS[cell], (r, k, cell)


def test_units_sit_under_their_group_row_which_is_not_coloured_as_a_state() -> None:
    cells: list[list[Cell | None]] = [[Cell.MISSING], [Cell.ON_TIME]]
    board = _board(2, 1, cells, groups=2)

    [page] = render_board(board, _texts(board))

    image = _open(page)
    # Rows: 第1片区, its unit, 第2片区, its unit.
    assert image.getpixel(cell_centre(1, 0)) == COLOURS[Cell.MISSING]
    assert image.getpixel(cell_centre(3, 0)) == COLOURS[Cell.ON_TIME]
    assert image.getpixel(cell_centre(0, 0)) not in COLOURS.values()


def test_a_300_unit_30_deadline_board_is_paged_so_every_page_stays_legible() -> None:
    board = _board(300, 30, groups=5)

    pages = render_board(board, _texts(board))

    # 300 units and 5 group rows, at most 60 rows a page (plus a repeated group row).
    assert len(pages) == 6
    for png in pages:
        image = _open(png)
        assert image.width + image.height <= 10_000  # Telegram's limit for a photo
        assert image.height <= 200 + 32 * (ROWS_PER_PAGE + 2) + 200
        assert image.width <= 40 + 240 + 32 * COLUMNS_PER_PAGE + 60


def test_the_chat_gets_the_whole_board_when_small_and_the_summary_by_group_when_big() -> None:
    small, big = _board(3, 5), _board(300, 30, groups=5)

    one = _open(chat_picture(small, _texts(small)))
    summary = _open(chat_picture(big, _texts(big)))

    assert one.size == _open(render_board(small, _texts(small))[0]).size
    assert summary.height < 800  # five group rows, not 300 unit rows


def test_a_character_outside_the_font_is_drawn_as_a_box_not_dropped() -> None:
    board = Board(
        "排查",
        "",
        NOW,
        (BoardUnit("𠀾燊镇", ""),),
        (BoardDeadline(1, "周报", 1, False, NOW),),
        ((Cell.MISSING,),),
    )

    [page] = render_board(board, _texts(board))

    assert displayable("𠀾燊镇") == MISSING_GLYPH * 2 + "镇"
    assert MISSING_GLYPH in covered()
    assert _open(page).getpixel(cell_centre(0, 0)) == COLOURS[Cell.MISSING]


def test_the_shipped_font_covers_every_character_of_the_catalogues_and_is_small() -> None:
    locales = pathlib.Path(__file__).parents[2] / "conversation" / "locales"
    used = {c for po in locales.glob("*.po") for c in po.read_text(encoding="utf-8")}

    # Emoji (and their variation selectors) mark chat buttons only; a picture never draws
    # them, and would show □ if it did (tested above).
    emoji = {c for c in used if ord(c) >= 0x1F000 or 0xFE00 <= ord(c) <= 0xFE0F}
    assert sorted(c for c in used - emoji if not c.isspace() and c not in covered()) == []
    assert len([c for c in covered() if "\u4e00" <= c <= "\u9fff"]) >= 6763  # GB 2312
    assert FONT_FILE.stat().st_size < 4 * 1024 * 1024
    assert (FONT_FILE.parent / "LICENSE-OFL.txt").exists()


def test_a_title_that_fits_the_page_width_made_for_it_is_not_cut() -> None:
    title = "“2017年元旦春节期间打假专项行动”报送进度 · 12月15日(周四) 15:00"

    width = page_width_for_title(title) - 2 * MARGIN

    assert fit(title, TITLE, width) == title
