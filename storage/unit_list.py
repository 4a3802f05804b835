"""Read a coordinator's unit list (通讯录) from an .xlsx: 单位名称, 分组, optionally 联系人 and
手机, in any order, headers matched with spaces ignored. Strict: the first problem refuses
the whole file, naming its row and column."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from enum import StrEnum

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from domain.unit_list import ListedUnit
from storage.spreadsheets import _OLE_MAGIC, ReadProblem, _as_text, _check_package

MAX_UNITS = 3000
MAX_NAME = 100
HEADER_ROWS = 10  # a title line or two above the header is common


class Column(StrEnum):
    NAME = "name"
    GROUP = "group"
    CONTACT = "contact"
    PHONE = "phone"


# What people write at the head of each column (compared with every space taken out).
HEADERS: dict[str, Column] = {
    "单位名称": Column.NAME,
    "分组": Column.GROUP,
    "组别": Column.GROUP,
    "联系人": Column.CONTACT,
    "联络员": Column.CONTACT,
    "手机": Column.PHONE,
    "手机号": Column.PHONE,
    "手机号码": Column.PHONE,
}
REQUIRED = (Column.NAME, Column.GROUP)
_SPACE = re.compile(r"\s+")
_MOBILE = re.compile(r"^(?:\+?86)?1[3-9]\d{9}$")


@dataclass
class UnitListError(Exception):
    """Why a unit list was refused: a `unitlist.*` message key with its row and column."""

    code: str
    row: int = 0
    column: str = ""  # the column's letter
    params: dict[str, str] = field(default_factory=dict)


def read_unit_list(data: bytes, *, max_bytes: int = 5 * 1024 * 1024) -> list[ListedUnit]:
    found = _header(data, max_bytes)
    if found is None:
        raise UnitListError("no_header")
    rows, header_row, columns = found
    units: list[ListedUnit] = []
    seen: dict[str, int] = {}
    for index, cells in enumerate(rows, start=header_row + 1):
        values = {
            c: _SPACE.sub(" ", _as_text(cells[i]) if i < len(cells) else "").strip()
            for c, i in columns.items()
        }
        if not any(values.values()):
            continue  # blank lines between groups
        name = values[Column.NAME]

        def fail(code: str, column: Column, **params: str) -> UnitListError:
            return UnitListError(
                code,
                index,  # noqa: B023 - called at once, inside this iteration
                get_column_letter(columns[column] + 1),
                params,
            )

        if not name:
            raise fail("empty_name", Column.NAME)
        if len(name) > MAX_NAME:
            raise fail("too_long", Column.NAME, max=str(MAX_NAME))
        if len(values[Column.GROUP]) > MAX_NAME:
            raise fail("too_long", Column.GROUP, max=str(MAX_NAME))
        if name in seen:
            raise fail("duplicate", Column.NAME, name=name, first=str(seen[name]))
        phone = re.sub(r"[\s-]", "", values.get(Column.PHONE, ""))
        if phone and not _MOBILE.match(phone):
            raise fail("bad_phone", Column.PHONE, value=values[Column.PHONE])
        seen[name] = index
        units.append(
            ListedUnit(
                name, values[Column.GROUP], values.get(Column.CONTACT, "")[:50], phone, index
            )
        )
        if len(units) > MAX_UNITS:
            raise UnitListError("too_many", index, "", {"max": str(MAX_UNITS)})
    if not units:
        raise UnitListError("no_units", header_row)
    return units


def _header(
    data: bytes, max_bytes: int = 5 * 1024 * 1024
) -> tuple[list[tuple[object, ...]], int, dict[Column, int]] | None:
    """The sheet's rows after the header, the header's row number and each column's index;
    None when no row near the top names 单位名称."""
    if len(data) > max_bytes:
        raise UnitListError(ReadProblem.TOO_LARGE.value)
    if data.startswith(_OLE_MAGIC):  # an old .xls, or a password-protected .xlsx
        raise UnitListError("ole")
    problem = _check_package(data)
    if problem is not None:
        raise UnitListError(problem.value)
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
    except Exception:  # openpyxl raises many kinds on a damaged file
        raise UnitListError(ReadProblem.CORRUPT.value) from None
    try:
        if not book.worksheets:
            return None
        rows = [
            tuple(r)
            for r in book.worksheets[0].iter_rows(
                max_row=MAX_UNITS + HEADER_ROWS + 1, values_only=True
            )
        ]
    except Exception:
        raise UnitListError(ReadProblem.CORRUPT.value) from None
    finally:
        book.close()
    for number, cells in enumerate(rows[:HEADER_ROWS], start=1):
        columns: dict[Column, int] = {}
        for i, cell in enumerate(cells):
            column = HEADERS.get(_SPACE.sub("", _as_text(cell)))
            if column is not None and column not in columns:
                columns[column] = i
        if Column.NAME not in columns:
            continue
        for needed in REQUIRED:
            if needed not in columns:
                raise UnitListError(
                    "missing_column",
                    number,
                    "",
                    {"column": "分组" if needed is Column.GROUP else "单位名称"},
                )
        return rows[number:], number, columns
    return None
