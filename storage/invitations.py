"""Invitation material a coordinator forwards: a workbook of units and links (with a
ready-to-paste notice line per unit), and a QR code per link for printed notices."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence

import segno
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill

from storage.spreadsheets import clean_text, display_width, needs_quote, sheet_name


def invitation_workbook(
    title: str, headers: Sequence[str], rows: Sequence[Sequence[str]]
) -> bytes:
    """One sheet: a header row, then one row per link; text only, never a formula."""
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.title = sheet_name(title, [])
    ws.append([clean_text(h) for h in headers])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="D9E1F2")
    for number, row in enumerate(rows, start=2):
        for column, value in enumerate(row, start=1):
            cell = ws.cell(number, column, clean_text(value))
            cell.data_type = "s"  # text, whatever it starts with: never a formula
            cell.quotePrefix = needs_quote(value)
    for index, header in enumerate(headers, start=1):
        widest = max([display_width(header), *(display_width(r[index - 1]) for r in rows)])
        letter = ws.cell(1, index).column_letter
        ws.column_dimensions[letter].width = min(widest + 2, 80)
    last = ws.cell(1, len(headers)).column_letter
    for cell in ws[last][1:]:
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def qr_png(text: str) -> bytes:
    """A QR code of the link as a PNG large enough to print and scan from paper."""
    buffer = io.BytesIO()
    segno.make(text, error="m", micro=False).save(buffer, kind="png", scale=8, border=4)
    return buffer.getvalue()


def zip_files(files: Sequence[tuple[str, bytes]]) -> bytes:
    """A .zip of named files (UTF-8 names: 单位.png opens right in Windows and WPS)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files:
            archive.writestr(name, data)
    return buffer.getvalue()
