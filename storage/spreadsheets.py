"""Excel workbooks: a streaming writer for the export and a reader for filled-in blanks.

Pure of Telegram and of the database: callers hand in plain rows of Python values.

Two libraries, each for what it does best. The export (the 汇总报表) is written with
XlsxWriter in constant_memory mode: each row goes to disk once the next one starts, so
memory stays flat however many rows there are, and its cell writer is a good deal
cheaper than openpyxl's. Only cells that need a style (dates, coloured status marks,
headings, totals, text that could be mistaken for a formula) get one. openpyxl reads
(filled-in blanks, unit lists, uploads) and edits existing workbooks (a coordinator's
template), which XlsxWriter cannot; the small blank it hands out is written with it too.

Untrusted text never becomes a formula: every string is written as an inline string,
and one that starts with = + - @, a tab or a carriage return (or looks like an error
code such as #REF!) also gets the quotePrefix style, so editing the cell in Excel or WPS
keeps it text.
"""

from __future__ import annotations

import contextlib
import copy
import io
import math
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import IO, Any, Self

import xlsxwriter
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from xlsxwriter.utility import _datetime_to_excel_datetime, xl_col_to_name
from xlsxwriter.worksheet import Worksheet

from storage.printed_page import (
    FONT_SIZE,
    LINE_HEIGHT,
    MARGIN_SIDE,
    MARGIN_TOP,
    PRINTABLE_HEIGHT,
    PRINTABLE_WIDTH,
    TITLE_HEIGHT,
    WRAPPED_LINE,
    column_points,
    fits_one_page_wide,
    header_escape,
    print_scale,
    text_lines,
    wrapped_height,
)

MAX_ROWS = 1_048_576  # Excel's limit per sheet; a longer sheet continues in "名称(2)"
MAX_COLUMNS = 16_384
MAX_TEXT = 32_767  # characters per cell
RISKY_STARTS = frozenset("=+-@\t\r")
_ERROR_VALUES = frozenset(ERROR_CODES)  # "#REF!" and the like: Excel would read an error
_SHEET_NAME_MAX = 31
_SHEET_NAME_BAD = str.maketrans(dict.fromkeys("[]:*?/\\", "_"))


class Kind(StrEnum):
    """What a column holds: it decides the width and, for long text, wrapping."""

    TEXT = "text"
    LONGTEXT = "longtext"
    NUMBER = "number"
    DATE = "date"
    DATETIME = "datetime"
    STATUS = "status"


class Tone(StrEnum):
    """How a status mark is coloured (Excel's own Good/Bad/Neutral palette)."""

    PLAIN = "plain"
    MISSING = "missing"  # due and nothing valid: red
    LATE = "late"  # submitted after the deadline: amber
    RETURNED = "returned"  # sent back to be corrected: orange
    NIL = "nil"  # 零报告: blue
    NOT_EXPECTED = "not_expected"  # the unit does not report this: grey


@dataclass(frozen=True, slots=True)
class Mark:
    """A short status text with a colour."""

    text: str
    tone: Tone = Tone.PLAIN


CellValue = None | int | float | Decimal | str | date | datetime | Mark


@dataclass(frozen=True)
class Column:
    header: str
    kind: Kind = Kind.TEXT
    width: float | None = None  # None: from the header and the kind
    number_format: str | None = None  # numbers in this column, e.g. "0.00"; None: General


@dataclass(frozen=True)
class SheetSpec:
    name: str
    title: str  # first row, large: the campaign name
    notes: tuple[str, ...]  # rows under the title: what the sheet is, export time, period
    columns: tuple[Column, ...]
    # Header rows above the column headers. A text spans the "" cells after it (one
    # merged cell); None is a cell of its own, left empty.
    bands: tuple[tuple[str | None, ...], ...] = ()
    freeze_columns: int = 1  # columns kept in view when scrolling right; repeated in print
    issuer: str = ""  # the issuing office, in every printed page's header
    page_numbers: str = ""  # the footer, with &P (page) and &N (pages): "第 &P 页 共 &N 页"


_THIN = Side(style="thin", color="BFBFBF")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_TONES: dict[Tone, tuple[str | None, str | None]] = {  # (fill, font colour)
    Tone.PLAIN: (None, None),
    Tone.MISSING: ("FFC7CE", "9C0006"),
    Tone.LATE: ("FFEB9C", "9C5700"),
    Tone.RETURNED: ("F8CBAD", "833C0B"),
    Tone.NIL: ("DDEBF7", "1F4E78"),
    Tone.NOT_EXPECTED: (None, "A6A6A6"),
}
_MIN_WIDTH = {
    Kind.TEXT: 12,
    Kind.LONGTEXT: 40,
    Kind.NUMBER: 10,
    Kind.DATE: 12,
    Kind.DATETIME: 17,
    Kind.STATUS: 13,
}
_GRID = "#BFBFBF"  # the header cells' borders
_DIGIT_PIXELS = 7  # a character of the column width, in pixels (Calibri 11)
_HEADER_MAX = 255  # characters in a page header
_DATE_FORMAT = "yyyy-mm-dd"
_DATETIME_FORMAT = "yyyy-mm-dd hh:mm"


def display_width(text: str) -> int:
    """Columns a text needs on screen: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def clean_text(value: str) -> str:
    """Drop the control characters XML cannot carry and cut at Excel's cell limit."""
    if not value.isprintable():
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    return value[:MAX_TEXT]


def needs_quote(value: str) -> bool:
    """Whether a spreadsheet would read this text as a formula or an error value."""
    return bool(value) and (value[0] in RISKY_STARTS or value in _ERROR_VALUES)


def sheet_name(wanted: str, taken: Iterable[str]) -> str:
    """A valid, unused sheet name: no []:*?/\\, no edge apostrophes, at most 31 chars."""
    base = clean_text(wanted).translate(_SHEET_NAME_BAD).strip().strip("'") or "Sheet"
    used = {n.casefold() for n in taken}
    candidate = base[:_SHEET_NAME_MAX]
    n = 1
    while candidate.casefold() in used:
        n += 1
        suffix = f"({n})"
        candidate = base[: _SHEET_NAME_MAX - len(suffix)] + suffix
    return candidate


class ExportBook:
    """A workbook written row by row; sheets are written in the order they are created.

    XlsxWriter in constant_memory mode: each sheet's rows go to a temporary file as soon
    as the next row starts, so memory stays flat however many rows there are. Call
    `save` (or `to_bytes`) once at the end; used as a context manager, a book left
    unsaved by an error has its temporary files removed."""

    def __init__(self, *, max_rows: int = MAX_ROWS) -> None:
        self._book = xlsxwriter.Workbook(
            None,
            {
                "constant_memory": True,
                # Cells are written with their type's own method, never through write(),
                # so no text becomes a formula, a number or a link; these only make sure.
                "strings_to_formulas": False,
                "strings_to_numbers": False,
                "strings_to_urls": False,
            },
        )
        self._names: list[str] = []
        self._formats: dict[tuple[str, str | None], Any] = {}
        self._closed = False
        self.max_rows = max_rows

    def sheet(self, spec: SheetSpec) -> SheetWriter:
        return SheetWriter(self, spec)

    def _new_sheet(self, wanted: str) -> Any:
        name = sheet_name(wanted, self._names)
        self._names.append(name)
        return self._book.add_worksheet(name, worksheet_class=_Worksheet)

    def _format(self, style: str, number_format: str | None) -> Any:
        """The shared format for a style key and a number format, made once."""
        key = (style, number_format)
        found = self._formats.get(key)
        if found is None:
            properties = _properties(style)
            if number_format:
                properties["num_format"] = number_format
            found = self._formats[key] = self._book.add_format(properties)
        return found

    @property
    def sheet_names(self) -> list[str]:
        return list(self._names)

    def save(self, target: Path | IO[bytes]) -> None:
        if not self._names:
            self._new_sheet("Sheet")
        self._book.filename = str(target) if isinstance(target, Path) else target
        self._closed = True
        self._book.close()

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        self.save(buffer)
        return buffer.getvalue()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()  # nothing left behind when the export failed; no-op after save

    def discard(self) -> None:
        """Close and remove the sheets' temporary files without writing a workbook."""
        if self._closed:
            return
        self._closed = True
        for sheet in self._book.worksheets():
            sheet._opt_close()
            with contextlib.suppress(OSError):
                Path(sheet.row_data_filename).unlink()


class _Worksheet(Worksheet):  # type: ignore[misc]  # XlsxWriter ships no types
    """XlsxWriter's worksheet, taking whole data rows at once (`put_row`), and with its
    default row height marked explicit (customHeight), as Excel does for a height it was
    told: LibreOffice then keeps 15 pt rather than growing rows to fit a CJK font, and
    pages end where the layout expects. (XlsxWriter leaves the mark out when the height
    is its own default.)"""

    def put_row(self, row: int, last_column: int, cells: str) -> None:
        """A data row's cells, already serialised (see `SheetWriter.row`), written
        straight to the sheet's row file. The row XlsxWriter still holds is written out
        first, as its own writers do on moving to a new row; the row has no height or
        format of its own."""
        if row > self.previous_row:
            self._write_single_row(row)
        self._check_dimensions(row, 0)
        self._check_dimensions(row, last_column)
        self.fh.write(f'<row r="{row + 1}">{cells}</row>')

    def _write_sheet_format_pr(self) -> None:
        height = f"{LINE_HEIGHT:g}"
        self._xml_empty_tag("sheetFormatPr", [("defaultRowHeight", height), ("customHeight", 1)])


def _properties(style: str) -> dict[str, Any]:
    """XlsxWriter format properties from a key: "base", "base:tone", either with "+quote"
    appended. Fonts are named: a font with no name prints in a serif in LibreOffice."""
    quote = style.endswith("+quote")
    base, _, tone = style.removesuffix("+quote").partition(":")
    p: dict[str, Any] = {"font_name": "Calibri", "font_size": FONT_SIZE}
    if base == "title":
        p |= {"bold": True, "font_size": 14}
    elif base == "note":
        p |= {"font_color": "#595959", "text_wrap": True, "valign": "top"}
    elif base == "sign":
        p["font_color"] = "#262626"
    elif base == "header":
        p |= {"bold": True, "bg_color": "#D9E1F2", "align": "center", "valign": "vcenter"}
        p |= {"text_wrap": True, "border": 1, "border_color": _GRID}
    elif base in ("heading", "heading_wrap"):
        p |= {"bold": True, "font_color": "#1F3864", "bg_color": "#EDEDED"}
        if base == "heading_wrap":
            p |= {"text_wrap": True, "valign": "top"}
    elif base == "total":
        p |= {"bold": True, "bg_color": "#F2F2F2", "top": 1, "top_color": "#808080"}
    elif base == "date":
        p["num_format"] = _DATE_FORMAT
    elif base == "datetime":
        p["num_format"] = _DATETIME_FORMAT
    elif base == "wrap":
        p |= {"text_wrap": True, "valign": "top"}
    if tone:
        fill, colour = _TONES[Tone(tone)]
        if fill:
            p["bg_color"] = "#" + fill
        if colour:  # the tone's font in place of the style's (as it always was: not bold)
            p |= {"bold": False, "font_size": FONT_SIZE, "font_color": "#" + colour}
    if quote:
        p["quote_prefix"] = True
    return p


@dataclass(frozen=True, slots=True)
class _ColumnStyles:
    letter: str  # "A"
    number: str  # the style attribute of a number: ' s="3"', or "" for none
    text: str
    quoted: str  # text that could be read as a formula


def _style(cell_format: Any) -> str:
    """A format as a cell's style attribute, as XlsxWriter writes it."""
    return "" if cell_format is None else f' s="{cell_format._get_xf_index()}"'


def _finite(number: Decimal | float) -> bool:
    if isinstance(number, Decimal):
        return number.is_finite()
    return math.isfinite(number)


_NEEDS_ESCAPE = re.compile(r"[&<>\x00-\x1f]|_x[0-9a-fA-F]{4}_")
_ESCAPE_LIKE = re.compile(r"(_x[0-9a-fA-F]{4}_)")
_CONTROL = re.compile(r"([\x00-\x08\x0b-\x1f])")


def _text_cell(ref: str, style: str, text: str) -> str:
    """An inline-string cell as XlsxWriter's constant_memory mode writes it: control
    characters as _xHHHH_ (and a literal "_xHHHH_" escaped, so it stays itself), XML
    escapes, and xml:space="preserve" for leading or trailing space."""
    if _NEEDS_ESCAPE.search(text):
        text = _ESCAPE_LIKE.sub(r"_x005F\1", text)
        text = _CONTROL.sub(lambda m: f"_x{ord(m.group(1)):04X}_", text)
        space = text[0].isspace() or text[-1].isspace()
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    else:
        space = text[0].isspace() or text[-1].isspace()
    keep = ' xml:space="preserve"' if space else ""
    return f'<c r="{ref}"{style} t="inlineStr"><is><t{keep}>{text}</t></is></c>'


class SheetWriter:
    """Writes rows to one sheet (and its continuations past Excel's row limit).

    It also lays out the printed pages: one page wide when that stays legible, else the
    pages run across with the lead columns repeated; header rows repeated on every page;
    row heights for wrapped headers and notes; and page breaks that keep a block (see
    `keep_together`) on one page. Heights are explicit, so Excel and LibreOffice agree
    where a page ends.

    Rows are written in order and each is final once the next starts (constant_memory):
    a row's height and merges are set while it is the current one."""

    def __init__(self, book: ExportBook, spec: SheetSpec) -> None:
        if len(spec.columns) > MAX_COLUMNS:
            raise ValueError(f"{len(spec.columns)} columns: Excel allows {MAX_COLUMNS}")
        self.book = book
        self.spec = spec
        self._wrap = frozenset(i for i, c in enumerate(spec.columns) if c.kind is Kind.LONGTEXT)
        self._number_formats = tuple(c.number_format for c in spec.columns)
        self.widths = tuple(_width(c) for c in spec.columns)
        self.fits = fits_one_page_wide(self.widths)
        self._pages = self._column_pages()
        # Pages run across: a block's heading wraps inside the repeated lead columns, so
        # every page shows it whole.
        self._lead_width = sum(self.widths[: spec.freeze_columns]) if not self.fits else 0.0
        scale = print_scale(self.widths) if self.fits else 1.0
        # What one page holds, in unscaled points: shrinking to the width shrinks rows too.
        self._page = PRINTABLE_HEIGHT / scale
        # Per column, the style attribute of its numbers, its text and its quoted text
        # (' s="3"', or "" for none), for the rows `row` serialises itself.
        self._columns: list[_ColumnStyles] = []
        self._widen(len(spec.columns))
        self._tones = {t: _style(book._format(f"plain:{t.value}", None)) for t in Tone}
        self._datetime = _style(book._format("datetime", None))
        self._date = _style(book._format("date", None))
        self._part = 0
        self._open_part()

    def _widen(self, columns: int) -> None:
        """Styles for the first `columns` columns (a row may run past the headers)."""
        for i in range(len(self._columns), columns):
            wrap = i in self._wrap
            self._columns.append(
                _ColumnStyles(
                    xl_col_to_name(i),
                    _style(self._column_format(i, "number")),
                    _style(self._column_format(i, "wrap") if wrap else None),
                    _style(self._column_format(i, "wrap+quote" if wrap else "plain+quote")),
                )
            )

    def _column_format(self, column: int, style: str) -> Any:
        number_format = (
            self._number_formats[column] if column < len(self._number_formats) else None
        )
        if style.partition(":")[0] not in ("number", "total"):
            number_format = None
        if style == "number" and not number_format:
            return None  # General: the cheap, unstyled cell
        return self.book._format(style, number_format)

    @property
    def header_rows(self) -> int:
        """Rows above the data: title, notes, bands and the column headers."""
        return 1 + len(self.spec.notes) + len(self.spec.bands) + 1

    @property
    def name(self) -> str:
        return str(self._sheet.name)

    def _column_pages(self) -> list[int]:
        """The printed page (across) each column lands on; the lead columns are on every
        page, so the later pages have that much less room."""
        if self.fits:
            return [0] * len(self.widths)
        lead = self.spec.freeze_columns
        repeated = sum(column_points(w) for w in self.widths[:lead])
        pages, page, room = [], 0, PRINTABLE_WIDTH
        for i, width in enumerate(self.widths):
            need = column_points(width)
            if i >= lead and need > room and room < PRINTABLE_WIDTH - repeated:
                page, room = page + 1, PRINTABLE_WIDTH - repeated
            pages.append(page)
            room -= need
        return pages

    def _first_page_span(self) -> int:
        """Columns the title and notes are merged across: those on the first page."""
        return max(self._pages.count(0), 1)

    def _open_part(self) -> None:
        self._part += 1
        wanted = self.spec.name if self._part == 1 else f"{self.spec.name}({self._part})"
        self._sheet = self.book._new_sheet(wanted)
        self._breaks: list[int] = []
        self._sheet.set_h_pagebreaks(self._breaks)  # filled in as blocks are laid out
        self._rows = 0
        self._used = 0.0  # points of the current printed page taken
        self._fresh = True  # no row yet under the headers (of the sheet or a page break)
        self._titles = 0.0  # points the repeated header rows take on every page
        self._setup()
        span = self._first_page_span()
        room = sum(self.widths[:span])
        row = self._top(TITLE_HEIGHT)
        self._merge(row, 0, span - 1, "title")
        self._write_styled(row, 0, "title", self.spec.title)
        for note in self.spec.notes:
            # A line of Chinese needs more than 15 pt, or it touches the row below.
            row = self._top(WRAPPED_LINE * text_lines(note, room))
            self._merge(row, 0, span - 1, "note")
            self._write_styled(row, 0, "note", note)
        for band in self.spec.bands:
            self._titles += self._band(band)
        headers = [c.header for c in self.spec.columns]
        height = self._header_height(headers, self.widths)
        self._titles += height
        row = self._top(height)
        for i, h in enumerate(headers):
            self._write_styled(row, i, "header", h, empty=True)

    def _band(self, band: Sequence[str | None]) -> float:
        """One band row: each text merged over the "" cells after it, and again from the
        first of them on the next printed page (where it is repeated). Its height."""
        cells = list(band)
        texts: list[str] = []
        widths: list[float] = []
        merges: list[tuple[int, int]] = []
        start: int | None = None
        owner: str | None = None
        pages = self._pages
        for i, v in enumerate([*band, None]):
            inside = i < len(band) and i < len(pages)
            if v == "" and start is not None and inside:
                if pages[i] == pages[i - 1]:
                    widths[-1] += self.widths[i]
                    continue
                v = cells[i] = owner  # a new page: the text again
            if start is not None and i - 1 > start:
                merges.append((start, i - 1))
            start = i if v else None
            if v and inside:
                owner = v
                texts.append(v)
                widths.append(self.widths[i])
        height = self._header_height(texts, widths)
        row = self._top(height)
        for first, last in merges:
            self._merge(row, first, last, "header")
        for i, v in enumerate(cells):
            self._write_styled(row, i, "header", v, empty=True)
        return height

    @staticmethod
    def _header_height(texts: Sequence[str], widths: Sequence[float]) -> float:
        lines = max((text_lines(t, w) for t, w in zip(texts, widths, strict=False)), default=1)
        return wrapped_height(lines) + 3  # a little air under bold text

    def _merge(self, row: int, first: int, last: int, style: str) -> None:
        """Merge columns first..last of the current row; the value goes in `first`
        afterwards (merge_range would write it through write(), which reads formulas)."""
        if last > first:
            self._sheet.merge_range(row, first, row, last, None, self._format(first, style))

    def _format(self, column: int, style: str, value: object = None) -> Any:
        number_format = None
        if isinstance(value, datetime):
            number_format = _DATETIME_FORMAT
        elif isinstance(value, date):
            number_format = _DATE_FORMAT
        elif column < len(self._number_formats) and style.partition(":")[0] == "total":
            number_format = self._number_formats[column]
        return self.book._format(style, number_format)

    def _write_styled(
        self, row: int, column: int, style: str, value: CellValue, *, empty: bool = False
    ) -> None:
        """One cell of any type in a style; with `empty`, a blank cell keeps the style
        (shading across a header or total line)."""
        if value is None or value == "":
            if empty:
                self._sheet._write_blank(row, column, None, self._format(column, style))
            return
        if isinstance(value, Mark):
            style = f"{style}:{value.tone.value}" if value.tone is not Tone.PLAIN else style
            value = value.text
        if isinstance(value, str):
            text = clean_text(value)
            if needs_quote(text):
                style += "+quote"
            self._sheet.write_string(row, column, text, self._format(column, style))
        elif isinstance(value, date):  # and datetime
            self._sheet.write_datetime(row, column, value, self._format(column, style, value))
        elif isinstance(value, int | float | Decimal):
            self._sheet.write_number(row, column, value, self._format(column, style))
        else:
            raise TypeError(f"cannot write {type(value).__name__} to a spreadsheet")

    def _top(self, height: float) -> int:
        """A title or header row, never counted against the limit, so never split: its
        index, with its height set."""
        row = self._rows
        if height != LINE_HEIGHT:
            self._height(row, height)
        self._rows += 1
        self._used += height
        return row

    def _height(self, row: int, height: float) -> None:
        # In pixels, so that a height such as 22 pt is kept exactly (set_row rounds it
        # to whole pixels).
        self._sheet.set_row_pixels(row, height / 0.75)

    def _next(self, height: float = LINE_HEIGHT) -> int:
        """The index of the next row, on a new part when this one is full."""
        if self._rows >= self.book.max_rows:
            self._open_part()
        row = self._rows
        self._rows += 1
        self._used += height
        self._fresh = False
        if self._used > self._page:  # the printer starts a page: this row opens it
            self._used = self._titles + height
        return row

    def _setup(self) -> None:
        ws, spec = self._sheet, self.spec
        for i, width in enumerate(self.widths):
            # In pixels, so that the stored width is the width asked for (set_column adds
            # the cell padding to it): 12 characters are stored as 12, as before.
            ws.set_column_pixels(i, i, width * _DIGIT_PIXELS)
        first_data = self.header_rows
        ws.freeze_panes(first_data, spec.freeze_columns)
        header_top = 1 + len(spec.notes)
        ws.repeat_rows(header_top, first_data - 1)
        ws.set_landscape()
        ws.set_paper(9)  # A4
        if self.fits:
            ws.fit_to_pages(1, 0)  # one page wide, as many pages down as needed
        else:
            # Too wide to shrink legibly: pages run across, each with the units repeated.
            ws.repeat_columns(0, max(spec.freeze_columns, 1) - 1)
            ws.print_across()
        ws.center_horizontally()
        ws.set_margins(MARGIN_SIDE, MARGIN_SIDE, MARGIN_TOP, MARGIN_TOP)
        right = "&R&A"  # the sheet's name
        issuer = spec.issuer
        header = "&L" + header_escape(issuer) + right if issuer else right
        while len(header.encode("utf-16-le")) > 2 * _HEADER_MAX:  # Excel's limit
            issuer = issuer[:-1]
            header = "&L" + header_escape(issuer) + right
        ws.set_header(header, {"margin": 0.3})
        if spec.page_numbers:
            ws.set_footer("&C" + spec.page_numbers, {"margin": 0.3})

    def _append_styled(self, style: str, values: Sequence[CellValue], height: float) -> int:
        row = self._next(height)
        for i, v in enumerate(values):
            self._write_styled(row, i, style, v)
        return row

    def keep_together(self, rows: int, heading: str | None = None) -> None:
        """The next `rows` rows (a block's lines and total), after `heading` if given, go
        on one page: a page break comes first if they would not fit on what is left of
        this one. A block longer than a page starts a page of its own."""
        if self._fresh:  # right under the headers: a break would leave them alone
            return
        need = rows * LINE_HEIGHT + (self._heading_height(heading) if heading else 0.0)
        if self._used + need > self._page and need <= self._page - self._titles:
            self._breaks.append(self._rows)
            self._used = self._titles
            self._fresh = True

    def _heading_height(self, text: str) -> float:
        if not self._lead_width:
            return LINE_HEIGHT
        return wrapped_height(text_lines(text, self._lead_width))

    def row(self, values: Sequence[CellValue]) -> None:
        """One data row. Strings are always text; numbers stay numbers (Decimal is kept
        as written, shown in its column's number format); dates and date-times get a date
        format; a Mark gets its colour.

        The hot path of a large export, so the row is serialised here in one piece, as
        XlsxWriter would write it, and handed to the sheet (`_Worksheet.put_row`): cell
        by cell through XlsxWriter's writers costs about twice as much. Every other row
        (titles, headers, headings, totals) goes through those writers."""
        row = self._next()
        cells: Sequence[Any] = values  # checked by exact type below, the cheap way
        if len(cells) > len(self._columns):
            self._widen(len(cells))
        columns = self._columns
        n = str(row + 1)
        out: list[str] = []
        for i, v in enumerate(cells):
            kind = type(v)
            if kind is Mark:
                if v.tone is not Tone.PLAIN:
                    text = clean_text(v.text)
                    if text:
                        style = self._tones[v.tone]
                        if needs_quote(text):
                            style = _style(self._format(i, f"plain:{v.tone.value}+quote"))
                        out.append(_text_cell(columns[i].letter + n, style, text))
                    continue
                v, kind = v.text, str
            if kind is str:
                if not v.isprintable() or len(v) > MAX_TEXT:
                    v = clean_text(v)
                if not v:
                    continue
                c = columns[i]
                quote = v[0] in RISKY_STARTS or v in _ERROR_VALUES
                out.append(_text_cell(c.letter + n, c.quoted if quote else c.text, v))
            elif v is None:
                continue
            elif kind is int or ((kind is Decimal or kind is float) and _finite(v)):
                c = columns[i]
                out.append(f'<c r="{c.letter}{n}"{c.number}><v>{v:.16G}</v></c>')
            elif kind is datetime or kind is date:
                style = self._datetime if kind is datetime else self._date
                serial = _datetime_to_excel_datetime(v, False, False)
                out.append(f'<c r="{columns[i].letter}{n}"{style}><v>{serial:.16G}</v></c>')
            else:
                raise TypeError(f"cannot write {kind.__name__} to a spreadsheet")
        if out:
            self._sheet.put_row(row, len(cells) - 1, "".join(out))

    def heading(self, text: str) -> None:
        """A bold line that opens a block (e.g. one deadline's table). When pages run
        across, it wraps inside the lead columns, which every page repeats."""
        if not self._lead_width:
            self._append_styled("heading", [text], LINE_HEIGHT)
            return
        height = self._heading_height(text)
        row = self._next(height)
        if height != LINE_HEIGHT:
            self._height(row, height)
        self._merge(row, 0, self.spec.freeze_columns - 1, "heading_wrap")
        self._write_styled(row, 0, "heading_wrap", text)

    def total(self, values: Sequence[CellValue]) -> None:
        """A bold, shaded line: 合计 and counts."""
        row = self._next()
        for i, v in enumerate(values):
            self._write_styled(row, i, "total", v, empty=True)

    def blank(self) -> None:
        self._next()

    def line(self, text: str) -> None:
        """A line of plain text under the tables (it may run on to the right)."""
        self._append_styled("sign", [text], LINE_HEIGHT)

    def sign(self, text: str) -> None:
        """The closing line under the last table (制表人 / 联系电话 / 报送日期), on the
        same page as the rows above it."""
        self.keep_together(2)
        self.blank()
        self.line(text)


def _width(column: Column) -> float:
    if column.width is not None:
        return column.width
    header = max((display_width(line) for line in column.header.splitlines()), default=0)
    return float(min(max(header + 2, _MIN_WIDTH[column.kind]), 60))


# ---- the 指标/数值 blank: handed out by cuibao, filled in by a unit, read back ---------------

BLANK_MARKER = "cuibao-blank:v1"  # in the hidden column E of row 1, then ":<form id>"
_KEY_COLUMN = 5  # E: the field ids, hidden, so matching never depends on the labels
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # encrypted OOXML, and old .xls files
MAX_UNPACKED = 20 * 1024 * 1024  # a one-sheet blank is a few kB; more is a zip bomb
MAX_BLANK_ROWS = 400


class ReadProblem(StrEnum):
    """Why a spreadsheet was not read (nothing was changed)."""

    TOO_LARGE = "too_large"  # the file, or what it unpacks to
    NOT_XLSX = "not_xlsx"  # not an Excel 2007+ workbook (e.g. .xls, or a renamed file)
    ENCRYPTED = "encrypted"  # password-protected
    MACROS = "macros"  # contains a VBA project
    CORRUPT = "corrupt"  # damaged, or XML that a spreadsheet never needs (DTDs, entities)
    NOT_A_BLANK = "not_a_blank"  # a workbook, but not one of cuibao's blanks


@dataclass(frozen=True)
class BlankLine:
    field_id: str
    label: str
    unit: str = ""
    hint: str = ""


@dataclass(frozen=True)
class BlankSpec:
    form_id: str
    title: str  # e.g. 打假统计报表 · 信息周报 第3期
    notes: tuple[str, ...]  # how to fill it in, the deadline, the period
    headers: tuple[str, str, str, str]  # 指标, 数值, 单位, 填写说明
    lines: tuple[BlankLine, ...]
    values: dict[str, str] = field(default_factory=dict)  # prefilled (a draft's answers)


@dataclass(frozen=True)
class BlankValue:
    row: int
    field_id: str
    label: str
    value: str  # as the unit typed it: 12 not 12.0, a date as YYYY-MM-DD


@dataclass(frozen=True)
class FilledBlank:
    form_id: str
    values: tuple[BlankValue, ...]


def write_blank(spec: BlankSpec) -> bytes:
    """One sheet: 指标 | 数值 | 单位 | 填写说明, a line per field, the field ids hidden in E."""
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.title = sheet_name(spec.title, [])
    ws.append(_safe_row([spec.title, None, None, None, BLANK_MARKER + ":" + spec.form_id]))
    ws["A1"].font = Font(bold=True, size=14)
    for note in spec.notes:
        ws.append(_safe_row([note]))
        ws.cell(ws.max_row, 1).font = Font(color="595959")
    ws.append(_safe_row([*spec.headers, None]))
    header_row = ws.max_row
    for cell in ws[header_row][:4]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="D9E1F2")
        cell.border = _BOX
    for line in spec.lines:
        ws.append(
            _safe_row(
                [line.label, spec.values.get(line.field_id), line.unit, line.hint, line.field_id]
            )
        )
        row = ws.max_row
        ws.cell(row, 2).fill = PatternFill("solid", fgColor="FFF2CC")  # fill in here
        for col in range(1, 5):
            ws.cell(row, col).border = _BOX
        ws.cell(row, 4).alignment = Alignment(wrap_text=True, vertical="top")
    for letter, width in (("A", 24), ("B", 18), ("C", 8), ("D", 44)):
        ws.column_dimensions[letter].width = width
    ws.column_dimensions["E"].hidden = True
    ws.freeze_panes = f"A{header_row + 1}"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _safe_row(values: Sequence[object]) -> list[object]:
    """Plan text into cells of a normal worksheet: never a formula."""
    out: list[object] = []
    for v in values:
        if isinstance(v, str):
            v = clean_text(v) or None
        out.append(v)
    return out


def read_blank(data: bytes, *, max_bytes: int) -> FilledBlank | ReadProblem:
    """Read a filled-in blank. Refuses, without raising and before parsing any XML:
    oversized files and zip bombs, password-protected and old-format files, workbooks
    with macros, XML with a DTD; then anything openpyxl cannot read."""
    if len(data) > max_bytes:
        return ReadProblem.TOO_LARGE
    if data.startswith(_OLE_MAGIC):
        return ReadProblem.ENCRYPTED
    checked = _check_package(data)
    if checked is not None:
        return checked
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
    except Exception:  # openpyxl raises many kinds on a damaged file
        return ReadProblem.CORRUPT
    try:
        if not book.worksheets:
            return ReadProblem.NOT_A_BLANK
        rows = book.worksheets[0].iter_rows(
            max_col=_KEY_COLUMN, max_row=MAX_BLANK_ROWS, values_only=True
        )
        form_id: str | None = None
        values: list[BlankValue] = []
        for index, cells in enumerate(rows, start=1):
            cells = tuple(cells) + (None,) * (_KEY_COLUMN - len(cells))
            key = _as_text(cells[_KEY_COLUMN - 1])
            if index == 1:
                prefix = BLANK_MARKER + ":"
                if not key.startswith(prefix):
                    return ReadProblem.NOT_A_BLANK
                form_id = key[len(prefix) :]
            elif key:
                values.append(BlankValue(index, key, _as_text(cells[0]), _as_text(cells[1])))
        if form_id is None:
            return ReadProblem.NOT_A_BLANK
        return FilledBlank(form_id, tuple(values))
    except Exception:
        return ReadProblem.CORRUPT
    finally:
        book.close()


def _check_package(data: bytes) -> ReadProblem | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            if len(infos) > 200 or sum(i.file_size for i in infos) > MAX_UNPACKED:
                return ReadProblem.TOO_LARGE
            names = {i.filename.lower() for i in infos}
            if "xl/workbook.xml" not in names or "[content_types].xml" not in names:
                return ReadProblem.NOT_XLSX
            if any(n.endswith("vbaproject.bin") for n in names):
                return ReadProblem.MACROS
            for info in infos:  # reads are bounded by the declared sizes checked above
                if not info.filename.lower().endswith((".xml", ".rels")):
                    continue
                text = archive.read(info)
                if b"<!DOCTYPE" in text or b"<!ENTITY" in text:
                    return ReadProblem.CORRUPT
                if info.filename.lower() == "[content_types].xml" and b"macroEnabled" in text:
                    return ReadProblem.MACROS
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        ValueError,
        OSError,
        KeyError,
        NotImplementedError,
        EOFError,
    ):
        return ReadProblem.NOT_XLSX
    return None


def _as_text(value: object) -> str:
    """A cell as the unit would have typed it: 12 not 12.0, 1.35 not 1.3500000000000001,
    a date as YYYY-MM-DD."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return format(Decimal(repr(value)), "f")
    if isinstance(value, datetime):
        if value.time() == datetime.min.time():
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


# ---- the coordinator's own template ------------------------------------------------------


@dataclass(frozen=True)
class TemplateFill:
    """What goes into one sheet of a template: single cells, then unit rows."""

    sheet: str | None  # None: the first sheet
    cells: dict[str, CellValue]  # "A1" -> value
    first_row: int
    rows: Sequence[dict[str, CellValue]]  # column letters -> value, one dict per row


MAX_SHEET_ROW = 1_048_576  # Excel's last row


class TemplateProblem(StrEnum):
    NO_SUCH_SHEET = "no_such_sheet"
    MERGED_CELL = "merged_cell"  # a mapped cell lies inside a merged range
    TOO_MANY_ROWS = "too_many_rows"  # the unit rows would run past Excel's last row


@dataclass(frozen=True)
class TemplateRefused:
    problem: ReadProblem | TemplateProblem
    where: str = ""
    sheets: tuple[str, ...] = ()  # the template's sheets, when one named is not there
    fill: int | None = None  # which of the fills (mapped sheets) it concerns


def fill_template(
    data: bytes, fills: Sequence[TemplateFill], *, max_bytes: int
) -> bytes | TemplateRefused:
    """The coordinator's workbook with the values written in, its layout and styles kept
    (rows past the prepared ones copy the first data row's style). Values are written
    as in the export: numbers as numbers, dates as dates, text never as a formula.
    Note: openpyxl does not keep images or charts of a template."""
    if len(data) > max_bytes:
        return TemplateRefused(ReadProblem.TOO_LARGE)
    if data.startswith(_OLE_MAGIC):
        return TemplateRefused(ReadProblem.ENCRYPTED)
    checked = _check_package(data)
    if checked is not None:
        return TemplateRefused(checked)
    try:
        book = load_workbook(io.BytesIO(data), keep_links=False)
    except Exception:
        return TemplateRefused(ReadProblem.CORRUPT)
    for n, fill in enumerate(fills):
        if fill.sheet is not None and fill.sheet not in book.sheetnames:
            return TemplateRefused(
                TemplateProblem.NO_SUCH_SHEET, fill.sheet, tuple(book.sheetnames), n
            )
        ws = book[fill.sheet] if fill.sheet is not None else book.worksheets[0]
        if fill.first_row + len(fill.rows) - 1 > MAX_SHEET_ROW:
            return TemplateRefused(TemplateProblem.TOO_MANY_ROWS, str(fill.first_row), fill=n)
        merged = {c for r in ws.merged_cells.ranges for c in _inner_cells(r)}
        writes = list(fill.cells.items())
        for k, row in enumerate(fill.rows):
            writes += [(f"{col}{fill.first_row + k}", v) for col, v in row.items()]
        for ref, _ in writes:
            if ref in merged:
                return TemplateRefused(TemplateProblem.MERGED_CELL, f"{ws.title}!{ref}", fill=n)
        for k, row in enumerate(fill.rows[1:], start=1):  # rows the template did not style
            for col in row:
                cell, model = ws[f"{col}{fill.first_row + k}"], ws[f"{col}{fill.first_row}"]
                if not cell.has_style and model.has_style:
                    cell._style = copy.copy(model._style)
        for ref, value in writes:
            _template_value(ws[ref], value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _inner_cells(cell_range: Any) -> list[str]:
    """The cells of a merged range that cannot be written (all but the top-left one)."""
    cells = [
        f"{get_column_letter(c)}{r}"
        for r in range(cell_range.min_row, cell_range.max_row + 1)
        for c in range(cell_range.min_col, cell_range.max_col + 1)
    ]
    return cells[1:]


def _template_value(cell: Cell, value: CellValue) -> None:
    if isinstance(value, Mark):
        value = value.text
    if isinstance(value, str):
        text = clean_text(value)
        cell.value = text or None
        if text:
            cell.data_type = "s"
            if needs_quote(text):
                cell.quotePrefix = True
        return
    cell.value = value
    if isinstance(value, datetime) and not cell.is_date:
        cell.number_format = _DATETIME_FORMAT
    elif isinstance(value, date) and not isinstance(value, datetime) and not cell.is_date:
        cell.number_format = _DATE_FORMAT
