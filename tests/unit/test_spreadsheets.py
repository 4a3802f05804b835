"""The workbook writer and the files archive, without a database."""

from __future__ import annotations

import io
import re
import tempfile
import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import xlsxwriter
from openpyxl import load_workbook
from openpyxl.utils.escape import unescape

from storage.archive import FileArchive, safe_component, unique_names
from storage.spreadsheets import Column, ExportBook, Kind, Mark, SheetSpec, Tone, sheet_name


def _spec(name: str = "表") -> SheetSpec:
    return SheetSpec(
        name,
        "标题",
        ("说明",),
        (
            Column("单位"),
            Column("数值", Kind.NUMBER),
            Column("日期", Kind.DATE),
            Column("说明", Kind.LONGTEXT),
        ),
    )


@pytest.mark.parametrize(
    "text",
    [
        "=1+2",
        "+1",
        "-1",
        "@A1",
        "\tx",
        "\rx",
        "#REF!",
        "#N/A",
        '=HYPERLINK("http://x")',
        "=cmd|' /C calc'!A0",
    ],
)
def test_text_starting_like_a_formula_is_stored_as_quoted_text(text: str) -> None:
    book = ExportBook()
    book.sheet(_spec()).row([text, None, None, text])

    ws = load_workbook(io.BytesIO(book.to_bytes()))["表"]

    for cell in (ws["A4"], ws["D4"]):
        # As Excel reads it: a control character is written as its OOXML escape
        # (_x000D_), which openpyxl's reader leaves as it is.
        assert (unescape(cell.value), cell.data_type, cell.quotePrefix) == (text, "s", True)


def test_values_keep_their_types_and_control_characters_are_dropped() -> None:
    book = ExportBook()
    sheet = book.sheet(_spec())
    sheet.row(["a\x07b", Decimal("0.0025"), date(2017, 1, 2), "长\n文本"])
    sheet.row([Mark("未报", Tone.MISSING), 12, datetime(2017, 1, 2, 9, 30), None])

    ws = load_workbook(io.BytesIO(book.to_bytes()))["表"]

    assert [c.value for c in ws[4]] == ["ab", 0.0025, datetime(2017, 1, 2), "长\n文本"]
    assert ws["D4"].alignment.wrap_text
    assert ws["A5"].fill.fgColor.rgb[2:] == "FFC7CE"  # after the alpha byte, which Excel ignores
    assert ws["C5"].number_format == "yyyy-mm-dd hh:mm"
    assert ws["B5"].data_type == "n"


def test_a_sheet_past_the_row_limit_continues_on_a_second_sheet_with_its_headers() -> None:
    book = ExportBook(max_rows=6)
    sheet = book.sheet(_spec("信息周报"))
    for i in range(5):
        sheet.row([f"u{i}", i, None, None])

    wb = load_workbook(io.BytesIO(book.to_bytes()))

    assert wb.sheetnames == ["信息周报", "信息周报(2)"]
    assert [r[0] for r in wb["信息周报"].iter_rows(values_only=True)] == [
        "标题",
        "说明",
        "单位",
        "u0",
        "u1",
        "u2",
    ]
    assert [r[0] for r in wb["信息周报(2)"].iter_rows(values_only=True)] == [
        "标题",
        "说明",
        "单位",
        "u3",
        "u4",
    ]
    assert wb["信息周报(2)"].freeze_panes == "B4"


def test_sheet_names_are_made_valid_and_unique() -> None:
    assert sheet_name("a/b[c]:d*?", []) == "a_b_c__d__"
    assert sheet_name("'引号'", []) == "引号"
    assert sheet_name("信息周报", ["信息周报"]) == "信息周报(2)"
    assert sheet_name("x" * 40, ["x" * 31]) == "x" * 28 + "(2)"
    assert sheet_name("", []) == "Sheet"


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../etc/passwd", "_.._etc_passwd"),
        ("..", "_"),
        ("C:\\Windows\\x.exe", "C__Windows_x.exe"),
        ("/abs/path.xlsx", "_abs_path.xlsx"),
        ("CON.txt", "_CON.txt"),
        ("nul", "_nul"),
        ("a\x00b\x1fc.pdf", "a_b_c.pdf"),
        ("  报表 .xlsx. ", "报表 .xlsx"),
        ("", "_"),
    ],
)
def test_a_file_name_becomes_one_harmless_path_component(name: str, safe: str) -> None:
    assert safe_component(name) == safe


def test_a_long_name_is_cut_to_a_safe_length_keeping_its_extension() -> None:
    name = safe_component("很" * 200 + ".xlsx")

    assert name.endswith(".xlsx")
    assert len(name.encode("utf-8")) <= 120


def test_the_archive_numbers_duplicates_also_when_they_differ_only_in_case(tmp_path: Path) -> None:
    source = tmp_path / "f"
    source.write_bytes(b"x")
    with FileArchive(tmp_path / "a.zip") as archive:
        names = [
            archive.add(source, ["单位", "周报"], n)
            for n in ("表.xlsx", "表.xlsx", "Report.PDF", "report.pdf", "noext", "noext")
        ]

    assert names == [
        "单位/周报/表.xlsx",
        "单位/周报/表 (2).xlsx",
        "单位/周报/Report.PDF",
        "单位/周报/report (2).pdf",
        "单位/周报/noext",
        "单位/周报/noext (2)",
    ]
    with zipfile.ZipFile(tmp_path / "a.zip") as z:
        assert z.namelist() == names
    assert unique_names(["所", "所", "../所"]) == ["所", "所 (2)", "_所"]


def test_a_block_too_long_for_what_is_left_of_a_page_starts_the_next_one() -> None:
    book = ExportBook()
    sheet = book.sheet(_spec())
    for i in range(10):
        sheet.row([f"u{i}", i, None, None])
    sheet.keep_together(25)  # 25 more rows do not fit under those 10
    sheet.heading("第二期")

    ws = load_workbook(io.BytesIO(book.to_bytes()))["表"]

    assert [b.id for b in ws.row_breaks.brk] == [13]  # after the first block's last row
    assert ws["A14"].value == "第二期"


def test_no_page_is_left_with_headers_alone_nor_broken_for_a_block_longer_than_a_page() -> None:
    book = ExportBook()
    sheet = book.sheet(_spec())
    sheet.keep_together(30)  # right under the headers: it starts here, whatever its length
    for i in range(30):
        sheet.row([f"u{i}", i, None, None])
    sheet.keep_together(60)  # longer than any page: no break, it flows on
    sheet.row(["u", 1, None, None])

    ws = load_workbook(io.BytesIO(book.to_bytes()))["表"]

    assert ws.row_breaks.brk == []


def test_a_data_row_is_written_as_xlsxwriter_itself_would_write_it(tmp_path: Path) -> None:
    """`SheetWriter.row` serialises data rows itself, for speed: the cells must be the ones
    XlsxWriter writes (styles apart, which the tests above check as read back)."""
    values: list[object] = [
        *("plain", " lead", "trail ", "a&b<c>\"'", "_x0041_", "x\ry", "tab\tin", "换行\n文本"),
        *("\u3000全角", "=1+2", 1, -2, 1.5, Decimal("1.3500"), 12345678901234567890, 0.1 + 0.2),
        *(datetime(2017, 1, 2, 9, 30, 15, 123000), date(1900, 2, 28), date(2017, 1, 2)),
    ]
    columns = tuple(Column(f"c{i}") for i in range(len(values)))
    book = ExportBook()
    book.sheet(SheetSpec("表", "标题", ("说明",), columns)).row(values)  # type: ignore[arg-type]
    book.save(tmp_path / "ours.xlsx")
    reference = xlsxwriter.Workbook(str(tmp_path / "theirs.xlsx"), {"constant_memory": True})
    sheet = reference.add_worksheet("表")
    for i, v in enumerate(values):
        if isinstance(v, str):
            sheet.write_string(3, i, v)
        elif isinstance(v, date):
            sheet.write_datetime(3, i, v)
        else:
            sheet.write_number(3, i, v)
    reference.close()

    def data_row(path: Path) -> str:
        with zipfile.ZipFile(path) as z:
            xml = z.read("xl/worksheets/sheet1.xml").decode()
        row = re.search(r'<row r="4".*?</row>', xml, re.DOTALL)
        assert row is not None
        return re.sub(r' s="\d+"', "", row[0])

    assert data_row(tmp_path / "ours.xlsx") == data_row(tmp_path / "theirs.xlsx")


def test_a_book_left_unsaved_by_an_error_leaves_no_temporary_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    with pytest.raises(RuntimeError), ExportBook() as book:
        book.sheet(_spec()).row(["u", 1, None, None])
        assert list(tmp_path.iterdir())  # the sheet's rows, on disk as they are written
        raise RuntimeError

    assert list(tmp_path.iterdir()) == []
