"""The printed page of an export sheet, in points: A4 landscape, how wide columns print,
whether shrinking them to one page wide stays legible, and how tall wrapped text is.
Plain arithmetic, the same for Excel and LibreOffice (row heights are set explicitly)."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable

# The printed page: A4 landscape with the margins the export sets, in points.
MARGIN_SIDE = 0.4  # inches
MARGIN_TOP = 0.75  # inches, room for the page header and footer
_A4_LANDSCAPE = (841.89, 595.28)
PRINTABLE_WIDTH = _A4_LANDSCAPE[0] - 2 * 72 * MARGIN_SIDE
PRINTABLE_HEIGHT = _A4_LANDSCAPE[1] - 2 * 72 * MARGIN_TOP
FONT_SIZE = 11.0  # the workbook's default font (Calibri 11)
MIN_PRINTED_SIZE = 8.0  # below this, a sheet shrunk to one page wide is not legible
LINE_HEIGHT = 15.0  # points per row of 11 pt text, the same in Excel and LibreOffice
# Points per line of wrapped text: a CJK font's lines are taller than Calibri's (at 15 pt
# a second line of Chinese is cut off in LibreOffice).
WRAPPED_LINE = 18.0
TITLE_HEIGHT = 22.0  # the 14 pt title


def column_points(width: float) -> float:
    """A column width (in characters of the default font) as printed points: Excel's
    7 pixels per character plus 5 of padding, at 96 pixels per inch."""
    return (width * 7 + 5) * 0.75


def print_scale(widths: Iterable[float]) -> float:
    """How much fitting these columns to one page width shrinks them (1: no need)."""
    total = sum(column_points(w) for w in widths)
    return min(1.0, PRINTABLE_WIDTH / total) if total else 1.0


def fits_one_page_wide(widths: Iterable[float]) -> bool:
    """Whether the columns, shrunk to one A4 landscape width, still print at 8 pt or more."""
    return print_scale(widths) * FONT_SIZE >= MIN_PRINTED_SIZE


def text_lines(text: str, width: float) -> int:
    """Lines a wrapped text takes in a cell `width` characters wide: CJK characters and
    the quotes a CJK font draws wide count two, with a tenth more for bold or another
    font's wider glyphs (a line too many is air; a line too few overprints)."""
    room = max(width - 1.0, 1.0)
    return sum(max(1, math.ceil(_print_width(line) * 1.1 / room)) for line in text.split("\n"))


def _print_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WFA" else 1 for c in text)


def wrapped_height(lines: int) -> float:
    """The height of a row showing `lines` lines of wrapped 11 pt text."""
    return LINE_HEIGHT if lines <= 1 else WRAPPED_LINE * lines


def header_escape(text: str) -> str:
    """Text for a page header or footer: a lone & would start a control code."""
    return text.replace("&", "&&")
