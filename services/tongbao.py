"""The 报送情况通报: the ranking of a period's board as the draft of a 通报 (.docx, in the
shape of real ones: title, 文号 placeholder, body naming who did not report on time,
table, 落款), the same ranking as a sheet (.xlsx) and a picture. The coordinator edits the
.docx and issues it; nothing here is sent to units."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from domain.board import UnitRecord, ranking
from services.board import CampaignBoard, PeriodKind
from services.pictures import board_texts, chat_picture

# The fonts 公文 use (GB/T 9704): 小标宋 titles, 黑体 headings, 仿宋_GB2312 text.
TITLE_FONT = "方正小标宋简体"
HEADING_FONT = "黑体"
BODY_FONT = "仿宋_GB2312"
TABLE_FONT = "宋体"


class Texts(Protocol):
    """The message catalogue, as the 通报 needs it (bot.i18n.Catalogue fits)."""

    def text(self, key: str, language: str | None = None, /, **params: Any) -> str: ...

    def date(self, day: date, language: str | None = None) -> str: ...

    def when(self, instant: datetime, language: str | None = None) -> str: ...


@dataclass(frozen=True)
class Tongbao:
    campaign: str
    office: str
    issued: date
    period: str  # how the body names the period, e.g. 2026年12月 / 信息周报第3期
    records: tuple[UnitRecord, ...]  # ranked

    @property
    def late(self) -> list[str]:
        return [r.name for r in self.records if r.late]

    @property
    def missing(self) -> list[str]:
        return [r.name for r in self.records if r.missing]

    @property
    def returned(self) -> list[str]:
        return [r.name for r in self.records if r.returned]

    @property
    def clean(self) -> list[str]:
        return [r.name for r in self.records if r.clean]


@dataclass(frozen=True)
class TongbaoFiles:
    docx: bytes
    xlsx: bytes
    png: bytes
    period: str
    name: str  # the file name without extension, e.g. 安全生产大排查报送情况通报-2026-12-04


def make_tongbao(
    found: CampaignBoard, texts: Texts, language: str | None, kind: PeriodKind
) -> Tongbao:
    board = found.board
    issued = board.as_of.date()
    if kind is PeriodKind.DEADLINE and board.deadlines:
        d = board.deadlines[0]
        title = (
            texts.text("tongbao.period_seq", language, title=d.title, seq=d.seq)
            if d.repeats
            else d.title
        )
        period = texts.text(
            "tongbao.period_deadline", language, title=title, due=texts.when(d.due, language)
        )
    elif found.span is not None:
        period = texts.text(
            f"tongbao.period_{kind.value}",
            language,
            start=texts.date(found.span[0], language),
            end=texts.date(found.span[1], language),
            month=f"{found.span[0].year}年{found.span[0].month}月",
        )
    else:
        period = texts.text("tongbao.period_all", language, day=texts.date(issued, language))
    return Tongbao(board.campaign, board.office, issued, period, tuple(ranking(board)))


def tongbao_files(
    found: CampaignBoard, texts: Texts, language: str | None, kind: PeriodKind
) -> TongbaoFiles:
    """The three files of one 通报 (CPU-bound: run it in a worker thread)."""
    tb = make_tongbao(found, texts, language, kind)
    name = texts.text(
        "tongbao.file_name", language, campaign=tb.campaign, day=tb.issued.isoformat()
    )
    png = chat_picture(found.board, board_texts(found.board, texts, language, found.code))
    return TongbaoFiles(
        docx_bytes(tb, texts, language), xlsx_bytes(tb, texts, language), png, tb.period, name
    )


def table_head(texts: Texts, language: str | None) -> list[str]:
    return [texts.text(f"tongbao.col.{c}", language) for c in _COLUMNS]


def table_row(rank: int, r: UnitRecord) -> list[Any]:
    return [
        rank,
        r.name,
        r.group,
        r.owed,
        r.on_time,
        r.late,
        r.nil,
        r.returned,
        r.missing,
        f"{r.on_time_rate:.1%}",
    ]


_COLUMNS = (
    "rank",
    "unit",
    "group",
    "owed",
    "on_time",
    "late",
    "nil",
    "returned",
    "missing",
    "rate",
)


def docx_bytes(tb: Tongbao, texts: Texts, language: str | None) -> bytes:
    def t(key: str, **params: Any) -> str:
        return texts.text(key, language, **params)

    names = "、" if (language or "zh").startswith("zh") else ", "
    doc = Document()
    _set_style_font(doc.styles["Normal"], BODY_FONT, 16)
    _paragraph(
        doc, t("tongbao.number", year=tb.issued.year), BODY_FONT, 16, WD_ALIGN_PARAGRAPH.CENTER
    )
    _paragraph(
        doc,
        t("tongbao.title", campaign=tb.campaign, period=tb.period),
        TITLE_FONT,
        22,
        WD_ALIGN_PARAGRAPH.CENTER,
    )
    _paragraph(doc, t("tongbao.to"), BODY_FONT, 16)
    owed = sum(r.owed for r in tb.records)
    on_time = sum(r.on_time + r.nil for r in tb.records)
    body: list[str | tuple[str, str]] = [
        t("tongbao.opening", campaign=tb.campaign, office=tb.office, period=tb.period),
        ("h", t("tongbao.h_overall")),
        t(
            "tongbao.overall",
            units=len(tb.records),
            owed=owed,
            on_time=on_time,
            nil=sum(r.nil for r in tb.records),
            late=sum(r.late for r in tb.records),
            returned=sum(r.returned for r in tb.records),
            missing=sum(r.missing for r in tb.records),
            rate=f"{on_time / owed:.1%}" if owed else "—",
        ),
        ("h", t("tongbao.h_units")),
    ]
    if tb.clean:
        body.append(t("tongbao.clean", units=names.join(tb.clean), count=len(tb.clean)))
    if tb.late or tb.missing or tb.returned:
        for key, units in (("late", tb.late), ("missing", tb.missing), ("returned", tb.returned)):
            if units:
                body.append(t(f"tongbao.named_{key}", units=names.join(units), count=len(units)))
        body += [("h", t("tongbao.h_demands")), t("tongbao.demands")]
    else:
        body.append(t("tongbao.all_on_time"))
    for item in body:
        if isinstance(item, tuple):
            _paragraph(doc, item[1], HEADING_FONT, 16, indent=True)
        else:
            _paragraph(doc, item, BODY_FONT, 16, indent=True)
    _paragraph(doc, t("tongbao.table_title"), HEADING_FONT, 14, WD_ALIGN_PARAGRAPH.CENTER)
    _table(
        doc,
        table_head(texts, language),
        [table_row(i, r) for i, r in enumerate(tb.records, start=1)],
    )
    _paragraph(doc, "", BODY_FONT, 16)
    _paragraph(
        doc, tb.office or t("tongbao.office_placeholder"), BODY_FONT, 16, WD_ALIGN_PARAGRAPH.RIGHT
    )
    _paragraph(doc, texts.date(tb.issued, language), BODY_FONT, 16, WD_ALIGN_PARAGRAPH.RIGHT)
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def xlsx_bytes(tb: Tongbao, texts: Texts, language: str | None) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = texts.text("tongbao.sheet", language)
    ws.append([texts.text("tongbao.title", language, campaign=tb.campaign, period=tb.period)])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append(table_head(texts, language))
    for cell in ws[2]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center")
    for i, r in enumerate(tb.records, start=1):
        row = table_row(i, r)
        row[-1] = r.on_time_rate
        ws.append(row)
        ws.cell(ws.max_row, len(row)).number_format = "0.0%"
    ws.column_dimensions["B"].width = 28
    ws.column_dimensions["C"].width = 14
    ws.freeze_panes = "C3"
    ws.print_title_rows = "1:2"
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _set_style_font(style: Any, name: str, size: float) -> None:
    style.font.name = name
    style.font.size = Pt(size)
    style.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), name)


def _run_font(run: Any, name: str, size: float) -> None:
    run.font.name = name
    run.font.size = Pt(size)
    # Word picks the font of Chinese characters from w:eastAsia, not from w:ascii.
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), name)


def _paragraph(
    doc: Any,
    text: str,
    font: str,
    size: float,
    align: Any = WD_ALIGN_PARAGRAPH.JUSTIFY,
    *,
    indent: bool = False,
) -> None:
    p = doc.add_paragraph()
    p.alignment = align
    if indent:
        p.paragraph_format.first_line_indent = Pt(size * 2)  # 首行缩进两字
    _run_font(p.add_run(text), font, size)


def _table(doc: Any, head: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    table = doc.add_table(rows=1, cols=len(head))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, text in zip(table.rows[0].cells, head, strict=True):
        cell.text = ""
        _run_font(cell.paragraphs[0].add_run(text), HEADING_FONT, 10.5)
    for values in rows:
        cells = table.add_row().cells
        for cell, value in zip(cells, values, strict=True):
            _run_font(cell.paragraphs[0].add_run(str(value)), TABLE_FONT, 10.5)
