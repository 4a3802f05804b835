"""What an export is asked for and what it answers: requests, summaries, refusals, and
the catalogue protocol the workbook's texts come from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

from domain.export_template import ExportTemplate, TemplateSheet
from services.access import Actor
from storage.spreadsheets import (
    CellValue,
    ReadProblem,
    TemplateFill,
    TemplateProblem,
    TemplateRefused,
    fill_template,
)

BATCH = 2000  # rows fetched on the event loop per request of the worker thread
FETCH_TIMEOUT = 300.0  # seconds the worker waits for one batch before giving up
T = TypeVar("T")


class Texts(Protocol):
    """The message catalogue, as the export needs it (bot.i18n.Catalogue fits)."""

    def text(self, key: str, language: str | None = None, /, **params: Any) -> str: ...

    def date(self, day: date, language: str | None = None) -> str: ...

    def when(self, instant: datetime, language: str | None = None) -> str: ...


class ExportError(Exception):
    """Refused before anything was written: a catalogue key under `export.` and params."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params

    def __reduce__(self) -> tuple[Any, ...]:  # crosses from a worker process intact
        return export_error, (self.code, self.params)


def export_error(code: str, params: dict[str, Any]) -> ExportError:
    return ExportError(code, **params)


@dataclass(frozen=True)
class ExportRequest:
    campaign: str  # campaign code
    now: datetime  # aware; decides what is overdue, and the "exported at" line
    language: str | None = None
    deadline: str | None = None  # "obligation", "obligation#seq", "YYYY-MM-DD", or both: "@"
    actor: Actor | None = None  # when given, must coordinate the campaign
    # Periods not yet due get a block too (empty, mostly); by default they are left out.
    future: bool = False


@dataclass(frozen=True)
class ExportSummary:
    campaign_code: str
    campaign_name: str
    file_name: str  # a suggested name for the workbook
    units: int
    deadlines: int
    submissions: int  # newest revisions shown in 提交情况
    sheets: tuple[str, ...]
    files: int = 0  # files put in the archive
    missing_files: int = 0  # attachments whose stored file was not found
    archive: Path | None = None


@dataclass(frozen=True)
class ExportedBytes:
    data: bytes
    summary: ExportSummary


TEMPLATE_MAX_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class PlanTemplate:
    """The workbook a campaign's plan names in `[export]`; `data` None: not stored yet."""

    mapping: ExportTemplate
    file_name: str
    data: bytes | None


def template_problem(
    template: ExportTemplate, data: bytes, units: int = 1, max_bytes: int = TEMPLATE_MAX_BYTES
) -> ExportError | None:
    """Why `data` cannot serve as the workbook `template` maps for a plan of `units` units
    (a missing sheet, a mapped cell inside a merged range, rows past Excel's last one,
    macros, a corrupt file …), found by filling it once with blanks; None when it can.
    Blocking (openpyxl): run it in a worker thread."""

    def blank_rows(sheet: TemplateSheet) -> list[dict[str, CellValue]]:
        row: dict[str, CellValue] = dict.fromkeys(sheet.columns.values(), "")
        return [row] * (max(units, 1) + (1 if sheet.totals else 0))

    fills = [
        TemplateFill(
            sheet.sheet,
            dict.fromkeys(sheet.cells.values(), ""),
            sheet.first_row,
            blank_rows(sheet),
        )
        for sheet in template.sheets
    ]
    filled = fill_template(data, fills, max_bytes=max_bytes)
    return refusal(filled, max_bytes) if isinstance(filled, TemplateRefused) else None


def refusal(refused: TemplateRefused, max_bytes: int) -> ExportError:
    """The refusal as an ExportError; its `at` param is the mapping key to blame."""
    code = refused.problem.value
    if isinstance(refused.problem, ReadProblem):
        return ExportError(
            f"template_read.{code}",
            where=refused.where,
            max_mb=max_bytes // (1024 * 1024),
            at="file",
        )
    sheet = f"sheets[{refused.fill}]" if refused.fill is not None else "file"
    key = {
        TemplateProblem.NO_SUCH_SHEET: f"{sheet}.sheet",
        TemplateProblem.TOO_MANY_ROWS: f"{sheet}.first_row",
    }.get(refused.problem, sheet)
    return ExportError(
        f"template_{code}", where=refused.where, at=key, sheets="、".join(refused.sheets)
    )
