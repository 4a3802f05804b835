"""The coordinator's own workbook (`[export]` in the plan) filled for one deadline."""

from __future__ import annotations

from decimal import Decimal

from domain.export_template import TemplateSheet
from domain.forms import FieldType
from domain.status import LatestSubmission, RevisionStatus, state_of
from services.export.cells import as_written, cell_value
from services.export.layout import DeadlineColumn, Layout, TemplateRow
from storage.spreadsheets import (
    CellValue,
    TemplateFill,
)


def template_fill(
    layout: Layout,
    sheet: TemplateSheet,
    d: DeadlineColumn,
    rows: dict[tuple[int, int], TemplateRow],
) -> TemplateFill:
    labels = layout.labels
    fields = {f.id: f for f in d.obligation.form.fields}
    due = d.local
    title = layout.title(d)
    period = (
        layout.t("export.period", start=d.period[0].isoformat(), end=d.period[1].isoformat())
        if d.period
        else None
    )
    singles: dict[str, CellValue] = {
        "campaign": layout.campaign_name,
        "title": title,
        "due": due,
        "period": period,
        "exported": layout.now,
    }
    cells = {ref: singles[key] for key, ref in sheet.cells.items()}
    out: list[dict[str, CellValue]] = []
    sums: dict[str, Decimal] = {}
    for unit in layout.units:
        if not d.obligation.applies(unit):
            continue
        row = rows.get((d.id, unit.id))
        summary = (
            LatestSubmission(row.submitted_at, row.status == RevisionStatus.RETURNED, row.nil, 0)
            if row is not None
            else None
        )
        state = state_of(d.due, summary, layout.now_utc, layout.overrides.get((d.id, unit.id)))
        nil = bool(row and row.nil)
        answers = row.answers if row is not None and not nil else {}
        status = labels.states[state] + (f" · {labels.nil}" if nil and state.is_done else "")
        line: dict[str, CellValue] = {}
        for key, col in sheet.columns.items():
            if key == "unit":
                line[col] = unit.name
            elif key == "group":
                line[col] = unit.group or None
            elif key == "status":
                line[col] = status
            elif key == "submitted":
                line[col] = (
                    row.submitted_at.astimezone(layout.tz).replace(tzinfo=None)
                    if row is not None
                    else None
                )
            elif fields[key].type is not FieldType.FILE:
                value = cell_value(fields[key], answers.get(key))
                line[col] = value
                if state.is_done and isinstance(value, int | Decimal):
                    sums[key] = sums.get(key, Decimal(0)) + value
        out.append(line)
    if sheet.totals:
        total: dict[str, CellValue] = {}
        for key, col in sheet.columns.items():
            if key == "unit":
                total[col] = labels.total
            elif key in fields and fields[key].is_numeric:
                total[col] = as_written(fields[key], sums.get(key, Decimal(0)))
        out.append(total)
    return TemplateFill(sheet.sheet, cells, sheet.first_row, out)
