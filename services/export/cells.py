"""Stored answers as workbook cells: numbers as numbers (with the field's decimals), dates
as dates, text as text; and the campaign-to-date totals."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from domain.forms import Field, FieldType, Form
from services.export.layout import ObligationSheet
from storage.spreadsheets import (
    CellValue,
    Kind,
)

# ---- the worker ---------------------------------------------------------------------------


def number_of(spec: Field, value: Any) -> int | Decimal | None:
    """A stored numeric answer as a number; None if it is not one (an old, odd value)."""
    if type(value) is int:
        return value
    if type(value) is float and math.isfinite(value):
        value = repr(value)
    if isinstance(value, str):
        try:
            number = Decimal(value)
        except InvalidOperation:
            return None
        if not number.is_finite():
            return None
        if spec.type is FieldType.INTEGER and number == number.to_integral_value():
            return int(number)
        return number
    return None


def cell_value(spec: Field, value: Any) -> CellValue:
    """A stored answer as a cell: numbers as numbers, dates as dates, the rest as text."""
    if value is None:
        return None
    if spec.is_numeric:
        number = number_of(spec, value)
        return number if number is not None else str(value)
    if spec.type is FieldType.DATE and isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    return str(value)


_Reader = tuple[str, Any, Callable[[Any], CellValue]]  # Any: no narrowing on `is`
_PASS_THROUGH: dict[FieldType, type] = {
    FieldType.INTEGER: int,
    FieldType.TEXT: str,
    FieldType.LONGTEXT: str,
    FieldType.CHOICE: str,
}


def field_readers(form: Form) -> tuple[_Reader, ...]:
    """Per field: its id, the stored type that already is the cell value, and the
    conversion for anything else (the common case costs one type check per answer)."""
    return tuple(
        (
            f.id,
            _PASS_THROUGH.get(f.type, type(None)),
            functools.partial(decimal_cell if f.type is FieldType.DECIMAL else cell_value, f),
        )
        for f in form.fields
    )


def decimal_cell(spec: Field, value: Any) -> CellValue:
    """A stored decimal answer ("1.35") as a number; the general path for anything odd."""
    if type(value) is str:
        try:
            number = Decimal(value)
        except InvalidOperation:
            return value
        if number.is_finite():
            return number
    return cell_value(spec, value)


def number_format(spec: Field) -> str | None:
    """One format per decimal field, with the decimals the form declares: 1.3500 beside
    0.8000, never 1.35 beside 0.8. Integers need none: General already shows every
    integer alike (and an unstyled cell is the cheap one to write)."""
    if spec.type is FieldType.DECIMAL:
        return "0." + "0" * spec.places if spec.places > 0 else "0"
    return None


def kind_of(spec: Field) -> Kind:
    if spec.is_numeric:
        return Kind.NUMBER
    return {FieldType.LONGTEXT: Kind.LONGTEXT, FieldType.DATE: Kind.DATE}.get(spec.type, Kind.TEXT)


@dataclass
class Cumulative:
    """Campaign-to-date sums of one obligation's numeric fields, per unit."""

    obligation: ObligationSheet
    per_unit: dict[int, list[Decimal]] = field(default_factory=dict)
    reports: dict[int, int] = field(default_factory=dict)

    def add(self, unit_id: int, cells: Sequence[CellValue], numeric_at: Sequence[int]) -> None:
        """One valid report: the numbers at `numeric_at` among its cells."""
        sums = self.per_unit.get(unit_id)
        if sums is None:
            sums = self.per_unit[unit_id] = [Decimal(0)] * len(numeric_at)
        for k, i in enumerate(numeric_at):
            n = cells[i]
            if type(n) is int or type(n) is Decimal:
                sums[k] += n
        self.reports[unit_id] = self.reports.get(unit_id, 0) + 1


def as_written(spec: Field, total: Decimal) -> int | Decimal:
    return int(total) if spec.type is FieldType.INTEGER else total
