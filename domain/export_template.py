"""The coordinator's own report template: which sheet, rows and columns the export fills.

A mapping is a TOML table: the plan's `[export]` table, or a file of its own given to
`cuibao export --template`:

    file = "周报汇总模板.xlsx"        # the coordinator's workbook, relative to this file
    [[sheets]]
    obligation = "weekly-report"      # whose reports fill the sheet
    sheet = "汇总表"                   # optional: the template's first sheet otherwise
    first_row = 5                     # the first unit's row; one row per unit, plan order
    totals = true                     # optional: a 合计 row under the units
    columns = { unit = "A", inspectors = "B", cases = "C", case_value = "D" }
    cells = { campaign = "A1", period = "A2", due = "E2", exported = "F2" }

Column keys are the unit's `unit` name, `group`, `status`, `submitted` (time) or any field
id of the obligation's form; cell keys are `campaign`, `title`, `due`, `period`,
`exported`. Errors are `PlanError`s with the key path, like a plan's.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from typing import Any

from domain.forms import Form
from domain.plan_errors import PlanError

COLUMN_KEYS = ("unit", "group", "status", "submitted")
CELL_KEYS = ("campaign", "title", "due", "period", "exported")
_COLUMN = re.compile(r"[A-Z]{1,3}")
_CELL = re.compile(r"([A-Z]{1,3})([1-9][0-9]{0,6})")
_MAX_COLUMN = 16_384
_MAX_ROW = 1_048_576


@dataclass(frozen=True)
class TemplateSheet:
    obligation: str
    first_row: int
    columns: dict[str, str]  # key -> column letters
    sheet: str | None = None
    cells: dict[str, str] = field(default_factory=dict)  # key -> cell reference
    totals: bool = False


@dataclass(frozen=True)
class ExportTemplate:
    file: str  # the workbook, relative to the mapping (or plan) file
    sheets: tuple[TemplateSheet, ...]

    @property
    def file_name(self) -> str:
        """The workbook's name without folders: what it is stored and sent under."""
        return self.file.replace("\\", "/").rsplit("/", 1)[-1]


def column_number(letters: str) -> int:
    n = 0
    for c in letters:
        n = n * 26 + ord(c) - 64
    return n


def parse_template(text: str, source: str) -> ExportTemplate:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PlanError("toml_syntax", "file", {"detail": str(exc)}, source) from None
    return template_from_table(data, "", source)


def template_from_table(data: dict[str, Any], path: str, source: str) -> ExportTemplate:
    """A mapping from an already parsed TOML table (`path` prefixes error locations)."""

    def where(key: str) -> str:
        return f"{path}.{key}" if path else key

    _known(data, {"file", "sheets"}, path, source)
    file = _text(data, "file", where, source)
    sheets = data.get("sheets")
    if not isinstance(sheets, list) or not sheets:
        raise PlanError(
            "missing_key" if sheets is None else "wrong_type",
            where("sheets"),
            {"expected": "array of tables", "got": type(sheets).__name__},
            source,
        )
    return ExportTemplate(
        file, tuple(_sheet(s, f"{where('sheets')}[{i}]", source) for i, s in enumerate(sheets))
    )


def _sheet(data: Any, path: str, source: str) -> TemplateSheet:
    if not isinstance(data, dict):
        raise PlanError(
            "wrong_type", path, {"expected": "table", "got": type(data).__name__}, source
        )
    _known(data, {"obligation", "sheet", "first_row", "totals", "columns", "cells"}, path, source)

    def where(key: str) -> str:
        return f"{path}.{key}"

    obligation = _text(data, "obligation", where, source)
    sheet = data.get("sheet")
    if sheet is not None and not isinstance(sheet, str):
        raise PlanError(
            "wrong_type",
            where("sheet"),
            {"expected": "string", "got": type(sheet).__name__},
            source,
        )
    first_row = data.get("first_row")
    if type(first_row) is not int:
        raise PlanError(
            "missing_key" if first_row is None else "wrong_type",
            where("first_row"),
            {"expected": "integer", "got": type(first_row).__name__},
            source,
        )
    if not 1 <= first_row <= _MAX_ROW:
        raise PlanError(
            "out_of_range",
            where("first_row"),
            {"value": first_row, "low": 1, "high": _MAX_ROW},
            source,
        )
    totals = data.get("totals", False)
    if not isinstance(totals, bool):
        raise PlanError(
            "wrong_type",
            where("totals"),
            {"expected": "boolean", "got": type(totals).__name__},
            source,
        )
    columns = _mapping(data, "columns", where, source, _COLUMN, required=True)
    cells = _mapping(data, "cells", where, source, _CELL, required=False)
    for name, table in (("columns", columns), ("cells", cells)):
        # Two keys on one column would write one value over the other, silently.
        seen: dict[str, str] = {}
        for key, ref in table.items():
            if ref in seen:
                raise PlanError(
                    "duplicate_cell",
                    f"{where(name)}.{key}",
                    {"value": ref, "other": seen[ref]},
                    source,
                )
            seen[ref] = key
    for key in cells:
        if key not in CELL_KEYS:
            raise PlanError(
                "bad_choice",
                f"{where('cells')}.{key}",
                {"value": key, "allowed": ", ".join(CELL_KEYS)},
                source,
            )
    return TemplateSheet(obligation, first_row, columns, sheet, cells, totals)


def _mapping(
    data: dict[str, Any],
    key: str,
    where: Any,
    source: str,
    pattern: re.Pattern[str],
    *,
    required: bool,
) -> dict[str, str]:
    table = data.get(key)
    if table is None and not required:
        return {}
    if not isinstance(table, dict) or (required and not table):
        raise PlanError(
            "missing_key" if table is None else "wrong_type",
            where(key),
            {"expected": "table", "got": type(table).__name__},
            source,
        )
    result: dict[str, str] = {}
    for name, ref in table.items():
        if not isinstance(ref, str):
            raise PlanError(
                "wrong_type",
                f"{where(key)}.{name}",
                {"expected": "string", "got": type(ref).__name__},
                source,
            )
        ref = ref.strip().upper()
        m = pattern.fullmatch(ref)
        if m is None or column_number(m.group(1) if m.groups() else ref) > _MAX_COLUMN:
            raise PlanError("bad_cell", f"{where(key)}.{name}", {"value": ref}, source)
        result[str(name)] = ref
    return result


def _text(data: dict[str, Any], key: str, where: Any, source: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise PlanError(
            "missing_key" if value is None else "wrong_type",
            where(key),
            {"expected": "string", "got": type(value).__name__},
            source,
        )
    return value.strip()


def _known(data: dict[str, Any], allowed: set[str], path: str, source: str) -> None:
    for key in data:
        if key not in allowed:
            raise PlanError("unknown_key", f"{path}.{key}" if path else key, {}, source)


def check_against(
    template: ExportTemplate, forms_by_obligation: dict[str, Form], source: str, prefix: str = ""
) -> None:
    """Every sheet names an obligation of the plan, and every column key is one of its
    form's fields or a unit/status column (`prefix`: the mapping's own key path)."""
    for i, sheet in enumerate(template.sheets):
        path = f"{prefix}.sheets[{i}]" if prefix else f"sheets[{i}]"
        form = forms_by_obligation.get(sheet.obligation)
        if form is None:
            raise PlanError(
                "bad_choice",
                f"{path}.obligation",
                {"value": sheet.obligation, "allowed": ", ".join(sorted(forms_by_obligation))},
                source,
            )
        fields = {f.id for f in form.fields}
        for key in sheet.columns:
            if key not in fields and key not in COLUMN_KEYS:
                raise PlanError(
                    "bad_choice",
                    f"{path}.columns.{key}",
                    {"value": key, "allowed": ", ".join([*COLUMN_KEYS, *sorted(fields)])},
                    source,
                )
