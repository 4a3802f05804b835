"""Progress pictures: a Board drawn as PNG pages (a colour per cell state, a legend, the
completion rate of each deadline, units under their 分组), and the same board summed up
by 分组 when it is too big for one page. Pure: a board and texts in, PNG bytes out.

Chinese text is drawn with the font shipped in services/fonts (Noto Sans CJK SC, subset
to GB 2312 and the bot's own texts): no system font is needed. A character outside the
subset is drawn as □ rather than as nothing (see `displayable`).
"""

from __future__ import annotations

import functools
import io
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from PIL import Image, ImageDraw, ImageFont

from domain.board import Board, BoardDeadline, Cell

FONT_DIR = Path(__file__).parent / "fonts"
FONT_FILE = FONT_DIR / "NotoSansSC-GB2312.otf"
MISSING_GLYPH = "□"

# Colours told apart by people with the common red-green colour blindness too: green and
# red differ in lightness as well as hue, 迟报 is orange, 已退回 purple.
COLOURS: dict[Cell | None, tuple[int, int, int]] = {
    Cell.ON_TIME: (39, 158, 75),
    Cell.NIL: (150, 210, 160),
    Cell.LATE: (245, 166, 35),
    Cell.RETURNED: (142, 68, 173),
    Cell.MISSING: (214, 39, 40),
    Cell.NOT_DUE: (222, 222, 222),
    Cell.EXEMPT: (160, 196, 235),
    None: (255, 255, 255),  # the deadline does not apply to the unit
}
INK = (33, 33, 33)
GRID = (190, 190, 190)
GROUP_BAND = (236, 240, 247)
BACKGROUND = (255, 255, 255)

# Sizes in pixels, chosen for a phone: Telegram shows a photo about 1,000 pixels wide,
# so a 30-column page keeps 16-pixel text readable without zooming.
CELL = 30
GAP = 2
NAME_WIDTH = 240
HEADER_HEIGHT = 170
MARGIN = 20
TEXT = 18
SMALL = 15
TITLE = 24
ROWS_PER_PAGE = 60  # unit and group rows; a taller page is sent as several
COLUMNS_PER_PAGE = 30


# Where the first cell row starts: under the title, two legend lines and the column heads.
GRID_TOP = MARGIN + TITLE + 12 + 2 * (TEXT + 14) + HEADER_HEIGHT


def cell_centre(row: int, column: int) -> tuple[int, int]:
    """The pixel in the middle of a page's cell: `row` counts group rows too, `column`
    the deadlines on that page."""
    pitch = CELL + GAP
    return (MARGIN + NAME_WIDTH + column * pitch + CELL // 2, GRID_TOP + row * pitch + CELL // 2)


@dataclass(frozen=True)
class BoardTexts:
    """What the picture says, in the reader's language."""

    title: str  # e.g. the campaign's name and the time of the figures
    legend: dict[Cell, str]
    rate: str  # the label of the completion-rate row, e.g. 完成率
    page: str  # with {page} and {pages}, e.g. 第 {page}/{pages} 页
    continued: str  # after a group name repeated at the top of a page, e.g. (续)
    ungrouped: str  # the 分组 of units that have none, e.g. 未分组
    groups_note: str  # under a by-group summary, e.g. 单位较多,按分组汇总


# Pictures are drawn in worker threads, and a FreeType face is not safe to use from two
# threads at once: one picture at a time (each takes tens of milliseconds).
_DRAWING = threading.Lock()


@functools.cache
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT_FILE), size)


@functools.cache
def covered() -> frozenset[str]:
    """Every character the shipped font draws."""
    return frozenset((FONT_DIR / "charset.txt").read_text(encoding="utf-8"))


def displayable(text: str) -> str:
    """The text with each character the font lacks replaced by □, so a rare character in
    a unit's name shows as a visible gap rather than vanishing."""
    chars = covered()
    return "".join(c if c in chars or c.isspace() else MISSING_GLYPH for c in text)


def fit(text: str, size: int, width: int) -> str:
    """The text cut with … to fit `width` pixels."""
    text = displayable(text)
    font = _font(size)
    if font.getlength(text) <= width:
        return text
    while text and font.getlength(text + "…") > width:
        text = text[:-1]
    return text + "…"


def column_label(d: BoardDeadline) -> str:
    title = f"{d.title} {d.seq}" if d.repeats else d.title
    return f"{d.due:%m/%d} {title}"


@dataclass(frozen=True)
class _Row:
    label: str
    unit: int | None  # index into board.units; None for a group header
    members: tuple[int, ...] = ()  # a group header's units


def render_board(board: Board, texts: BoardTexts) -> list[bytes]:
    """The board as PNG pages: at most ROWS_PER_PAGE rows and COLUMNS_PER_PAGE deadlines
    each (the group header repeated where a page starts inside a group)."""
    rows = _rows(board, texts)
    row_pages = [rows[i : i + ROWS_PER_PAGE] for i in range(0, len(rows), ROWS_PER_PAGE)] or [[]]
    n = len(board.deadlines)
    col_pages = [
        list(range(j, min(j + COLUMNS_PER_PAGE, n))) for j in range(0, n, COLUMNS_PER_PAGE)
    ] or [[]]
    pages = [(r, c) for c in col_pages for r in row_pages]
    out = []
    for number, (page_rows, columns) in enumerate(pages, start=1):
        if page_rows and page_rows[0].unit is not None and number > 1:
            header = _header_of(rows, page_rows[0], texts)
            page_rows = [header, *page_rows] if header else page_rows
        footer = texts.page.format(page=number, pages=len(pages)) if len(pages) > 1 else ""
        out.append(_draw(board, texts, page_rows, columns, footer))
    return out


def render_groups(board: Board, texts: BoardTexts) -> bytes:
    """One page: a row per 分组, each deadline's completion rate in that group as a shade
    from red (none) to green (all) with the percentage written in it."""
    rows = [
        _Row(name or texts.ungrouped, None, tuple(members)) for name, members in board.groups()
    ]
    columns = list(range(min(len(board.deadlines), COLUMNS_PER_PAGE)))
    start = max(len(board.deadlines) - COLUMNS_PER_PAGE, 0)
    columns = [start + j for j in columns]
    return _draw(board, texts, rows[:ROWS_PER_PAGE], columns, texts.groups_note, by_group=True)


def pages_needed(board: Board) -> int:
    groups = len(board.groups())
    rows = len(board.units) + (groups if groups > 1 or board.groups()[0][0] else 0)
    return max(1, -(-rows // ROWS_PER_PAGE)) * max(1, -(-len(board.deadlines) // COLUMNS_PER_PAGE))


def _rows(board: Board, texts: BoardTexts) -> list[_Row]:
    groups = board.groups()
    show_groups = len(groups) > 1 or (groups and groups[0][0] != "")
    rows: list[_Row] = []
    for name, members in groups:
        if show_groups:
            rows.append(_Row(name or texts.ungrouped, None, tuple(members)))
        rows += [_Row(board.units[i].name, i) for i in members]
    return rows


def _header_of(rows: list[_Row], first: _Row, texts: BoardTexts) -> _Row | None:
    header = None
    for row in rows:
        if row.unit is None:
            header = row
        if row is first:
            break
    if header is None:
        return None
    return _Row(header.label + texts.continued, None, header.members)


def _rate_colour(rate: float) -> tuple[int, int, int]:
    """From red (0 %) to green (100 %), in steps of 10 % (each one in the palette)."""
    step = round(rate * 10) / 10
    red, green = COLOURS[Cell.MISSING], COLOURS[Cell.ON_TIME]
    r, g, b = (round(x + (y - x) * step) for x, y in zip(red, green, strict=True))
    return r, g, b


def page_width_for_title(title: str) -> int:
    """The page width that shows `title` whole. Rounded up: rounded down, a title that fits
    by a fraction of a pixel would be cut with an ellipsis."""
    return math.ceil(_font(TITLE).getlength(displayable(title))) + 2 * MARGIN


def _draw(
    board: Board,
    texts: BoardTexts,
    rows: Sequence[_Row],
    columns: Sequence[int],
    footer: str,
    *,
    by_group: bool = False,
) -> bytes:
    with _DRAWING:
        return _draw_page(board, texts, rows, columns, footer, by_group)


def _draw_page(
    board: Board,
    texts: BoardTexts,
    rows: Sequence[_Row],
    columns: Sequence[int],
    footer: str,
    by_group: bool,
) -> bytes:
    pitch = CELL + GAP
    grid_top = GRID_TOP
    # Wide enough for the grid and, up to what a phone shows well, for the whole title.
    title_width = page_width_for_title(texts.title)
    width = max(MARGIN * 2 + NAME_WIDTH + pitch * len(columns) + 60, min(title_width, 1280), 720)
    height = grid_top + pitch * (len(rows) + 1) + (SMALL + 16) + MARGIN + (SMALL + 8)
    image = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.text(
        (MARGIN, MARGIN), fit(texts.title, TITLE, width - 2 * MARGIN), fill=INK, font=_font(TITLE)
    )
    if not by_group:  # a summary's cells are rates, written in them
        _legend(draw, texts, MARGIN, MARGIN + TITLE + 12, width - MARGIN)
    left = MARGIN + NAME_WIDTH
    _column_heads(image, board, columns, left, grid_top)
    small = _font(SMALL)
    for r, row in enumerate(rows):
        y = grid_top + r * pitch
        if row.unit is None:
            draw.rectangle((MARGIN, y, left + pitch * len(columns), y + CELL), fill=GROUP_BAND)
        draw.text(
            (MARGIN + (0 if row.unit is None else 10), y + CELL // 2),
            fit(row.label, TEXT, NAME_WIDTH - 14),
            fill=INK,
            font=_font(TEXT),
            anchor="lm",
        )
        for k, j in enumerate(columns):
            x = left + k * pitch
            box = (
                (x, y + 3, x + CELL, y + CELL - 3)
                if row.unit is None
                else (x, y, x + CELL, y + CELL)
            )
            if row.unit is not None:
                cell = board.cells[row.unit][j]
                draw.rectangle(box, fill=COLOURS[cell], outline=GRID if cell is None else None)
                continue
            rate = board.rate(j, row.members)
            if by_group and rate is not None:
                draw.rectangle(box, fill=_rate_colour(rate))
                draw.text(
                    (x + CELL // 2, y + CELL // 2),
                    f"{round(rate * 100)}",
                    fill=BACKGROUND,
                    font=_font(12),
                    anchor="mm",
                )
    y = grid_top + len(rows) * pitch + 4
    draw.text(
        (MARGIN, y + CELL // 2),
        fit(texts.rate, TEXT, NAME_WIDTH - 14),
        fill=INK,
        font=_font(TEXT),
        anchor="lm",
    )
    for k, j in enumerate(columns):
        rate = board.rate(j)
        label = "—" if rate is None else f"{round(rate * 100)}"
        draw.text(
            (left + k * pitch + CELL // 2, y + CELL // 2),
            label,
            fill=INK,
            font=_font(13),
            anchor="mm",
        )
    if footer:
        draw.text(
            (MARGIN, y + pitch + 8), fit(footer, SMALL, width - 2 * MARGIN), fill=INK, font=small
        )
    buffer = io.BytesIO()
    # Mapped onto a fixed palette (every cell colour exactly, greys for the text's edges):
    # an 8-bit PNG encodes three times faster than RGB and is half the size.
    image.quantize(palette=_palette(), dither=Image.Dither.NONE).save(
        buffer, "PNG", compress_level=3
    )
    return buffer.getvalue()


@functools.cache
def _palette() -> Image.Image:
    colours = [*dict.fromkeys([*COLOURS.values(), GROUP_BAND, INK, GRID])]
    colours += [_rate_colour(step / 10) for step in range(11)]
    colours += [(v, v, v) for v in range(0, 256, 8)]
    colours += [colours[-1]] * (256 - len(colours))
    palette = Image.new("P", (1, 1))
    palette.putpalette([channel for rgb in colours for channel in rgb])
    return palette


def _legend(draw: ImageDraw.ImageDraw, texts: BoardTexts, x0: int, y0: int, right: int) -> None:
    x, y = x0, y0
    for cell, label in texts.legend.items():
        label = displayable(label)
        span = 22 + int(_font(TEXT).getlength(label)) + 20
        if x + span > right and x > x0:
            x, y = x0, y + TEXT + 14
        draw.rectangle((x, y + 2, x + 16, y + 18), fill=COLOURS[cell])
        draw.text((x + 22, y), label, fill=INK, font=_font(TEXT))
        x += span


def _column_heads(
    image: Image.Image, board: Board, columns: Sequence[int], left: int, bottom: int
) -> None:
    """Deadline labels written upwards above their column, as a spreadsheet's tilted heads."""
    pitch = CELL + GAP
    for k, j in enumerate(columns):
        image.paste(
            _turned(column_label(board.deadlines[j])), (left + k * pitch, bottom - HEADER_HEIGHT)
        )


@functools.lru_cache(maxsize=256)
def _turned(text: str) -> Image.Image:
    """A column's label written upwards (kept: every page of a board repeats them)."""
    strip = Image.new("RGB", (HEADER_HEIGHT - 4, CELL), BACKGROUND)
    ImageDraw.Draw(strip).text(
        (2, CELL // 2),
        fit(text, SMALL, HEADER_HEIGHT - 8),
        fill=INK,
        font=_font(SMALL),
        anchor="lm",
    )
    return strip.rotate(90, expand=True)


class Texts(Protocol):
    """The message catalogue, as the pictures need it (bot.i18n.Catalogue fits)."""

    def text(self, key: str, language: str | None = None, /, **params: Any) -> str: ...

    def when(self, instant: datetime, language: str | None = None) -> str: ...


def board_texts(board: Board, texts: Texts, language: str | None, code: str = "") -> BoardTexts:
    def t(key: str) -> str:
        return texts.text(key, language)

    return BoardTexts(
        title=texts.text(
            "picture.title",
            language,
            campaign=board.campaign,
            when=texts.when(board.as_of, language),
        ),
        legend={cell: texts.text(f"picture.cell.{cell.value}", language) for cell in Cell},
        rate=t("picture.rate"),
        page=t("picture.page"),
        continued=t("picture.continued"),
        ungrouped=t("picture.ungrouped"),
        groups_note=texts.text("picture.groups_note", language, campaign=code),
    )


def chat_picture(board: Board, texts: BoardTexts) -> bytes:
    """The one picture a chat gets: the whole board when it fits a page, else the board
    summed up by 分组 (every page: `cuibao status --png`)."""
    if pages_needed(board) == 1:
        return render_board(board, texts)[0]
    return render_groups(board, texts)
