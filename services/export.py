"""The Excel export (汇总报表) of a campaign, for the `cuibao export` command and /export.

The workbook has, in this order:

- 提交情况: units × deadlines; each cell the time of the unit's newest revision, marked
  逾期 / 零报告 / 已退回, 未报 in red once a deadline has passed with nothing valid, "—"
  where the unit does not report; counts per deadline underneath.
- 累计: campaign-to-date totals of every numeric field, per unit and overall.
- one sheet per obligation: a block per deadline (its period in the block's heading),
  units as rows, the form's fields as columns (units of measure in the headers), a 合计
  row. Numbers are numbers, dates are dates, text is text.

Totals count valid reports only: not returned ones (已退回, to be corrected) and not 零报告.

The database is read with a fixed number of statements whatever the number of units or
deadlines: campaign, plan, units, deadlines, then two streamed passes over the newest
revisions (one in unit order for 提交情况, one in deadline order for the rest). The
workbook is written in a worker thread (`asyncio.to_thread`) with openpyxl's write-only
mode; the streamed rows are fetched on the event loop, batch by batch, as the worker asks
for them, so neither the loop nor memory has to hold the whole campaign.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import io
import math
from collections.abc import Callable, Coroutine, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Executable, and_, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncResult, AsyncSession, async_sessionmaker

from domain.export_template import ExportTemplate, TemplateSheet, check_against
from domain.forms import Field, FieldType, Form
from domain.status import LatestSubmission, Override, State, due_for, state_of
from services.access import Actor
from services.catalog import PlanRegistry, latest_submissions, overrides_for
from storage import models as m
from storage.archive import FileArchive, unique_names
from storage.filestore import FileStore
from storage.spreadsheets import (
    CellValue,
    Column,
    ExportBook,
    Kind,
    Mark,
    ReadProblem,
    SheetSpec,
    SheetWriter,
    TemplateFill,
    TemplateProblem,
    TemplateRefused,
    Tone,
    display_width,
    fill_template,
)

BATCH = 2000  # rows fetched on the event loop per request of the worker thread
FETCH_TIMEOUT = 300.0  # seconds the worker waits for one batch before giving up
T = TypeVar("T")
_DbRow = Sequence[Any]  # a result row, read by position


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
        return _export_error, (self.code, self.params)


def _export_error(code: str, params: dict[str, Any]) -> ExportError:
    return ExportError(code, **params)


@dataclass(frozen=True)
class ExportRequest:
    campaign: str  # campaign code
    now: datetime  # aware; decides what is overdue, and the "exported at" line
    language: str | None = None
    deadline: str | None = None  # "obligation", "obligation#seq", "YYYY-MM-DD", or both: "@"
    actor: Actor | None = None  # when given, must coordinate the campaign


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


def template_problem(template: ExportTemplate, data: bytes, units: int = 1,
                     max_bytes: int = TEMPLATE_MAX_BYTES) -> ExportError | None:
    """Why `data` cannot serve as the workbook `template` maps for a plan of `units` units
    (a missing sheet, a mapped cell inside a merged range, rows past Excel's last one,
    macros, a corrupt file …), found by filling it once with blanks; None when it can.
    Blocking (openpyxl): run it in a worker thread."""
    def blank_rows(sheet: TemplateSheet) -> list[dict[str, CellValue]]:
        row: dict[str, CellValue] = dict.fromkeys(sheet.columns.values(), "")
        return [row] * (max(units, 1) + (1 if sheet.totals else 0))

    fills = [TemplateFill(sheet.sheet, dict.fromkeys(sheet.cells.values(), ""),
                          sheet.first_row, blank_rows(sheet))
             for sheet in template.sheets]
    filled = fill_template(data, fills, max_bytes=max_bytes)
    return _refusal(filled, max_bytes) if isinstance(filled, TemplateRefused) else None


def _refusal(refused: TemplateRefused, max_bytes: int) -> ExportError:
    """The refusal as an ExportError; its `at` param is the mapping key to blame."""
    code = refused.problem.value
    if isinstance(refused.problem, ReadProblem):
        return ExportError(f"template_read.{code}", where=refused.where,
                           max_mb=max_bytes // (1024 * 1024), at="file")
    sheet = f"sheets[{refused.fill}]" if refused.fill is not None else "file"
    key = {TemplateProblem.NO_SUCH_SHEET: f"{sheet}.sheet",
           TemplateProblem.TOO_MANY_ROWS: f"{sheet}.first_row"}.get(refused.problem, sheet)
    return ExportError(f"template_{code}", where=refused.where, at=key,
                       sheets="、".join(refused.sheets))


# ---- what the worker needs, loaded up front (sizes: units + deadlines, never their product)


@dataclass(frozen=True)
class _Unit:
    id: int
    code: str
    name: str
    group: str


@dataclass(frozen=True)
class _Obligation:
    id: int
    code: str
    title: str
    position: int
    form: Form
    unit_codes: frozenset[str] | None

    def applies(self, unit: _Unit) -> bool:
        return self.unit_codes is None or unit.code in self.unit_codes

    @property
    def numeric(self) -> tuple[Field, ...]:
        return tuple(f for f in self.form.fields if f.is_numeric)


@dataclass(frozen=True)
class _Deadline:
    id: int
    obligation: _Obligation
    seq: int
    due: datetime  # aware UTC
    local: datetime  # naive, in the campaign's zone
    period: tuple[date, date] | None
    repeats: bool


@dataclass(frozen=True)
class _Labels:
    """Every text the worker writes, looked up once in the request's language."""

    title: str
    exported: str
    unit: str
    group: str
    status: str
    submitted: str
    comment: str
    total: str
    missed: str
    late_count: str
    reports: str
    late: str
    nil: str
    returned: str
    missing: str
    not_expected: str
    extended: str  # 延期至
    counts: tuple[str, ...]  # expected, done, late, nil, returned, missing
    states: dict[State, str]


@dataclass
class _Layout:
    campaign_id: int
    campaign_code: str
    campaign_name: str
    tz: ZoneInfo
    now_utc: datetime
    now: datetime  # naive, in the campaign's zone
    units: list[_Unit]
    grid: list[_Deadline]  # 提交情况 columns, chronological
    sheets: list[tuple[_Obligation, list[_Deadline], set[int]]]  # covered, shown ids
    cutoff: datetime | None  # the latest chosen deadline; None when all are shown
    selected: bool  # a --deadline was given: the passes read only what they need
    labels: _Labels
    texts: Texts
    language: str | None
    obligations: tuple[_Obligation, ...]  # every one with a deadline, chosen or not
    # The coordinator's 免报 / 延期 by (deadline, unit): few, so read whole.
    overrides: dict[tuple[int, int], Override] = field(default_factory=dict)
    groups: bool = field(init=False)

    def __post_init__(self) -> None:
        self.groups = any(u.group for u in self.units)

    def t(self, key: str, **params: Any) -> str:
        return self.texts.text(key, self.language, **params)


class ExportService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], plans: PlanRegistry,
                 files: FileStore) -> None:
        self.sessions = sessions
        self.plans = plans
        self.files = files

    async def export_bytes(self, request: ExportRequest, texts: Texts) -> ExportedBytes:
        """The workbook in memory (for sending in a chat)."""
        buffer = io.BytesIO()
        summary = await self._export(request, texts, buffer, None)
        return ExportedBytes(buffer.getvalue(), summary)

    async def export_to(self, request: ExportRequest, texts: Texts, sink: IO[bytes]
                        ) -> ExportSummary:
        """The workbook written to `sink`, which may refuse to grow past a size by raising
        (the chat's 50 MB): the export stops there."""
        return await self._export(request, texts, sink, None)

    async def export_file(self, request: ExportRequest, texts: Texts, out: Path,
                          archive: Path | None = None) -> ExportSummary:
        """The workbook at `out`; with `archive`, also a .zip of the submitted files laid
        out as 单位/截止事项/原文件名, the workbook at its root."""
        return await self._export(request, texts, out, archive)

    async def _export(self, request: ExportRequest, texts: Texts,
                      sink: Path | IO[bytes], archive: Path | None) -> ExportSummary:
        async with self.sessions() as s:
            layout = await self._layout(s, request, texts)
            conn = await s.connection()
            loop = asyncio.get_running_loop()
            grid_rows = _LoopFeed(loop, conn, _grid_query(layout))
            sheet_rows = _LoopFeed(loop, conn, _sheet_query(layout))
            writer = _Writer(layout, self.files, archive)
            return await asyncio.to_thread(writer.run, grid_rows, sheet_rows, sink)

    async def fill_template(self, request: ExportRequest, texts: Texts,
                            template: ExportTemplate, data: bytes, *,
                            max_bytes: int = TEMPLATE_MAX_BYTES) -> ExportedBytes:
        """The coordinator's own workbook (`data`) filled as `template` maps it, for one
        deadline per mapped sheet: the chosen one (--deadline), else the latest passed.
        Reads a fixed number of statements (campaign, plan, units, deadlines, and the
        newest revisions of the chosen deadlines)."""
        async with self.sessions() as s:
            layout = await self._layout(s, request, texts)
            check_against(template, {o.code: o.form for o in layout.obligations},
                          template.file)
            chosen = [_pick(layout, sheet.obligation) for sheet in template.sheets]
            latest = await latest_submissions(s, deadline_ids=sorted({d.id for d in chosen}))
            rows = {key: (sub.status, sub.nil, sub.submitted_at, dict(sub.answers or {}))
                    for key, sub in latest.items()}
        fills = [_template_fill(layout, sheet, d, rows)
                 for sheet, d in zip(template.sheets, chosen, strict=True)]
        filled = await asyncio.to_thread(fill_template, data, fills, max_bytes=max_bytes)
        if isinstance(filled, TemplateRefused):
            raise _refusal(filled, max_bytes)
        stamp = f"{layout.now:%Y%m%d-%H%M}"
        summary = ExportSummary(
            layout.campaign_code, layout.campaign_name,
            layout.t("export.template_file_name", campaign=layout.campaign_code, stamp=stamp),
            len(layout.units), len({d.id for d in chosen}), len(rows), ())
        return ExportedBytes(filled, summary)

    async def plan_template(self, request: ExportRequest) -> PlanTemplate | None:
        """The template the campaign's plan names, with the stored workbook if any."""
        async with self.sessions() as s:
            campaign = await self._campaign(s, request)
            plan = await self.plans.plan(s, campaign.id)
            if plan.export is None:
                return None
            row = await s.scalar(select(m.ExportTemplate)
                                 .where(m.ExportTemplate.campaign_id == campaign.id))
        name = plan.export.file_name
        data = row.data if row is not None and row.file_name == name else None
        return PlanTemplate(plan.export, name, data)

    async def export_plan_template(self, request: ExportRequest, texts: Texts
                                   ) -> ExportedBytes | None:
        """The campaign's own template filled, when its plan names one that is stored;
        None when the plan names none (use the standard workbook). Raises
        ExportError("template_missing") when the plan names a workbook not stored yet."""
        found = await self.plan_template(request)
        if found is None:
            return None
        if found.data is None:
            raise ExportError("template_missing", file=found.file_name,
                              campaign=request.campaign)
        return await self.fill_template(request, texts, found.mapping, found.data)

    async def _campaign(self, s: AsyncSession, request: ExportRequest) -> m.Campaign:
        campaign = await s.scalar(select(m.Campaign).where(m.Campaign.code == request.campaign))
        if campaign is None:
            raise ExportError("unknown_campaign", campaign=request.campaign)
        if request.actor is not None and not request.actor.coordinates(campaign.id):
            raise ExportError("unknown_campaign", campaign=request.campaign)
        return campaign

    async def _layout(self, s: AsyncSession, request: ExportRequest, texts: Texts
                      ) -> _Layout:
        campaign = await self._campaign(s, request)
        plan = await self.plans.plan(s, campaign.id)
        tz = ZoneInfo(campaign.timezone)
        unit_rows = await s.scalars(
            select(m.Unit).where(m.Unit.campaign_id == campaign.id, m.Unit.active.is_(True))
            .order_by(m.Unit.position, m.Unit.id))
        units = [_Unit(u.id, u.code, u.name, u.group) for u in unit_rows]
        pairs = (await s.execute(
            select(m.Deadline, m.Obligation)
            .join(m.Obligation, m.Obligation.id == m.Deadline.obligation_id)
            .where(m.Deadline.campaign_id == campaign.id, m.Deadline.cancelled.is_(False))
            .order_by(m.Deadline.due_at, m.Obligation.position, m.Deadline.id))).all()
        obligations: dict[int, _Obligation] = {}
        per_obligation: dict[int, int] = {}
        for _, o in pairs:
            per_obligation[o.id] = per_obligation.get(o.id, 0) + 1
            if o.id not in obligations:
                form = plan.forms.get(o.form_code) or Form(o.form_code, o.title, ())
                codes = frozenset(o.unit_codes) if o.unit_codes is not None else None
                obligations[o.id] = _Obligation(o.id, o.code, o.title, o.position, form, codes)
        deadlines = [
            _Deadline(d.id, obligations[o.id], d.seq, d.due_at,
                      d.due_at.astimezone(tz).replace(tzinfo=None),
                      (d.period_start, d.period_end) if d.period_start and d.period_end
                      else None, per_obligation[o.id] > 1)
            for d, o in pairs]
        chosen = _select(deadlines, request.deadline, tz)
        layout = _plan_layout(campaign, tz, request, texts, units, deadlines, chosen)
        layout.overrides = await overrides_for(s, campaign_id=campaign.id)
        return layout


def _select(deadlines: list[_Deadline], selector: str | None, tz: ZoneInfo
            ) -> list[_Deadline] | None:
    """The deadlines a --deadline value names; None for no selector (all of them)."""
    if selector is None or not selector.strip():
        return None
    text = selector.strip()
    code, _, day_text = text.partition("@")
    seq: int | None = None
    if "#" in code:
        code, _, seq_text = code.partition("#")
        if not seq_text.isdigit():
            raise ExportError("bad_deadline", value=selector)
        seq = int(seq_text)
    day: date | None = None
    for candidate in (day_text, code if not day_text else ""):
        if candidate:
            try:
                day = date.fromisoformat(candidate)
            except ValueError:
                continue
            if candidate == code:
                code = ""
    if day_text and day is None:
        raise ExportError("bad_deadline", value=selector)
    found = [d for d in deadlines
             if (not code or d.obligation.code == code) and (seq is None or d.seq == seq)
             and (day is None or d.local.date() == day)]
    if not found:
        raise ExportError("bad_deadline", value=selector)
    return found


def _labels(texts: Texts, language: str | None, campaign: str, now: datetime) -> _Labels:
    def t(key: str, **params: Any) -> str:
        return texts.text(key, language, **params)

    return _Labels(
        title=t("export.title", campaign=campaign),
        exported=t("export.exported_at", when=f"{now:%Y-%m-%d %H:%M}"),
        unit=t("export.col_unit"), group=t("export.col_group"), status=t("export.col_status"),
        submitted=t("export.col_submitted"), comment=t("export.col_comment"),
        total=t("export.total"), missed=t("export.col_missed"),
        late_count=t("export.col_late"), reports=t("export.col_reports"),
        late=t("export.mark_late"), nil=t("export.mark_nil"),
        returned=t("export.mark_returned"), missing=t("export.mark_missing"),
        not_expected=t("export.mark_not_expected"), extended=t("export.mark_extended"),
        counts=tuple(t(f"export.count_{k}") for k in
                     ("expected", "done", "late", "nil", "returned", "missing")),
        states={s: t(f"state.{s.value}") for s in State})


def _plan_layout(campaign: m.Campaign, tz: ZoneInfo, request: ExportRequest, texts: Texts,
                 units: list[_Unit], deadlines: list[_Deadline],
                 chosen: list[_Deadline] | None) -> _Layout:
    shown = chosen if chosen is not None else deadlines
    shown_ids = {d.id for d in shown}
    cutoff = max(d.due for d in chosen) if chosen else None
    by_obligation: dict[int, list[_Deadline]] = {}
    for d in deadlines:
        by_obligation.setdefault(d.obligation.id, []).append(d)
    sheets = []
    for obligation_id in sorted(by_obligation, key=lambda i: (by_obligation[i][0].obligation
                                                                .position, i)):
        mine = by_obligation[obligation_id]
        ids = {d.id for d in mine} & shown_ids
        if not ids:
            continue
        covered = [d for d in mine if cutoff is None or d.due <= cutoff]
        covered.sort(key=_sheet_order)
        sheets.append((mine[0].obligation, covered, ids))
    local_now = request.now.astimezone(tz).replace(tzinfo=None)
    return _Layout(campaign.id, campaign.code, campaign.name, tz, request.now, local_now,
                   units, list(shown), sheets, cutoff, chosen is not None,
                   _labels(texts, request.language, campaign.name, local_now), texts,
                   request.language, tuple({d.obligation.id: d.obligation
                                            for d in deadlines}.values()))


def _pick(layout: _Layout, obligation: str) -> _Deadline:
    """The deadline a template sheet shows: the latest chosen one, else the latest passed
    one, else the first."""
    mine = [d for d in layout.grid if d.obligation.code == obligation]
    if not mine:
        raise ExportError("template_no_deadline", obligation=obligation)
    if layout.selected:
        return max(mine, key=lambda d: (d.due, d.id))
    passed = [d for d in mine if d.due <= layout.now_utc]
    return max(passed, key=lambda d: (d.due, d.id)) if passed else mine[0]


_TemplateRow = tuple[str, bool, datetime, dict[str, Any]]


def _template_fill(layout: _Layout, sheet: TemplateSheet, d: _Deadline,
                   rows: dict[tuple[int, int], _TemplateRow]) -> TemplateFill:
    labels = layout.labels
    fields = {f.id: f for f in d.obligation.form.fields}
    due = d.local
    title = f"{d.obligation.title} #{d.seq}" if d.repeats else d.obligation.title
    period = (layout.t("export.period", start=d.period[0].isoformat(),
                       end=d.period[1].isoformat()) if d.period else None)
    singles: dict[str, CellValue] = {"campaign": layout.campaign_name, "title": title,
                                     "due": due, "period": period, "exported": layout.now}
    cells = {ref: singles[key] for key, ref in sheet.cells.items()}
    out: list[dict[str, CellValue]] = []
    sums: dict[str, Decimal] = {}
    for unit in layout.units:
        if not d.obligation.applies(unit):
            continue
        row = rows.get((d.id, unit.id))
        summary = (LatestSubmission(row[2], row[0] == "returned", row[1], 0)
                   if row is not None else None)
        state = state_of(d.due, summary, layout.now_utc, layout.overrides.get((d.id, unit.id)))
        nil = bool(row and row[1])
        answers = row[3] if row is not None and not nil else {}
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
                line[col] = (row[2].astimezone(layout.tz).replace(tzinfo=None)
                             if row is not None else None)
            elif fields[key].type is not FieldType.FILE:
                value = _value(fields[key], answers.get(key))
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
                total[col] = _as_written(fields[key], sums.get(key, Decimal(0)))
        out.append(total)
    return TemplateFill(sheet.sheet, cells, sheet.first_row, out)


def _sheet_order(d: _Deadline) -> tuple[int, int, datetime, int]:
    # The same order as _sheet_query's ORDER BY.
    return (d.obligation.position, d.obligation.id, d.due, d.id)


# ---- the two streamed passes --------------------------------------------------------------


def _latest(layout: _Layout, deadline_ids: set[int] | None) -> Any:
    q = (select(m.Submission.deadline_id, m.Submission.unit_id,
                func.max(m.Submission.revision).label("revision"))
         .join(m.Deadline, m.Deadline.id == m.Submission.deadline_id)
         .where(m.Deadline.campaign_id == layout.campaign_id, m.Deadline.cancelled.is_(False)))
    if deadline_ids is not None:
        q = q.where(m.Submission.deadline_id.in_(sorted(deadline_ids)))
    return q.group_by(m.Submission.deadline_id, m.Submission.unit_id).subquery()


def _newest(latest: Any) -> Any:
    return and_(m.Submission.deadline_id == latest.c.deadline_id,
                m.Submission.unit_id == latest.c.unit_id,
                m.Submission.revision == latest.c.revision)


def _grid_query(layout: _Layout) -> Executable:
    """Newest revisions in 提交情况 order: unit by unit, each unit's deadlines in time."""
    latest = _latest(layout, {d.id for d in layout.grid} if layout.selected else None)
    return (select(m.Submission.unit_id, m.Submission.deadline_id, m.Submission.status,
                   m.Submission.nil, m.Submission.submitted_at)
            .join(latest, _newest(latest))
            .join(m.Unit, m.Unit.id == m.Submission.unit_id)
            .where(m.Unit.active.is_(True))
            .order_by(m.Unit.position, m.Unit.id))


def _sheet_query(layout: _Layout) -> Executable:
    """Newest revisions with their answers and files, deadline by deadline in sheet order."""
    covered = {d.id for _, c, _ in layout.sheets for d in c}
    latest = _latest(layout, covered if layout.selected else None)
    return (select(m.Submission.deadline_id, m.Submission.unit_id, m.Submission.status,
                   m.Submission.nil, m.Submission.submitted_at, m.Submission.answers,
                   m.Submission.review_comment, m.Attachment.field_id,
                   m.Attachment.original_name, m.Attachment.storage_key)
            .join(latest, _newest(latest))
            .join(m.Deadline, m.Deadline.id == m.Submission.deadline_id)
            .join(m.Obligation, m.Obligation.id == m.Deadline.obligation_id)
            .join(m.Unit, m.Unit.id == m.Submission.unit_id)
            .outerjoin(m.Attachment, m.Attachment.submission_id == m.Submission.id)
            .where(m.Unit.active.is_(True))
            .order_by(m.Obligation.position, m.Obligation.id, m.Deadline.due_at,
                      m.Deadline.id, m.Attachment.id))


class _LoopFeed:
    """The rows of one streamed query, for a worker thread: each batch is fetched on the
    event loop (where the async connection lives) when the worker asks for it."""

    def __init__(self, loop: asyncio.AbstractEventLoop, conn: AsyncConnection,
                 query: Executable) -> None:
        self._loop = loop
        self._conn = conn
        self._query = query

    def _start(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        if self._loop.is_closed():
            coro.close()
            raise RuntimeError("the event loop is closed")
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return self._start(coro).result(timeout=FETCH_TIMEOUT)

    async def _open(self) -> AsyncResult[Any]:
        return await self._conn.stream(self._query)

    def rows(self) -> Generator[_DbRow, None, None]:
        """The rows in order. The next batch is already being fetched on the loop while
        the worker writes the current one."""
        result = self._call(self._open())
        pending: concurrent.futures.Future[Sequence[_DbRow]] | None = None
        try:
            pending = self._start(result.fetchmany(BATCH))
            while True:
                batch = pending.result(timeout=FETCH_TIMEOUT)
                pending = None
                if not batch:
                    return
                pending = self._start(result.fetchmany(BATCH))
                yield from batch
        finally:
            if pending is not None:  # never close the result under a running fetch
                with contextlib.suppress(Exception):
                    pending.result(timeout=FETCH_TIMEOUT)
            self._call(result.close())


class _Groups:
    """Consecutive rows sharing a key, taken in the caller's order; a row whose key the
    caller never asks for (or asks for too late) is skipped."""

    def __init__(self, rows: Iterator[_DbRow], key: int, rank: dict[int, int]) -> None:
        self._rows = rows
        self._key = key
        self._rank = rank
        self._next: _DbRow | None = next(rows, None)

    def take(self, ident: int) -> list[_DbRow]:
        wanted = self._rank[ident]
        found: list[_DbRow] = []
        while self._next is not None:
            rank = self._rank.get(self._next[self._key], -1)
            if rank > wanted:
                break
            if rank == wanted:
                found.append(self._next)
            self._next = next(self._rows, None)
        return found


# ---- the worker ---------------------------------------------------------------------------


def _number(spec: Field, value: Any) -> int | Decimal | None:
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


def _value(spec: Field, value: Any) -> CellValue:
    """A stored answer as a cell: numbers as numbers, dates as dates, the rest as text."""
    if value is None:
        return None
    if spec.is_numeric:
        number = _number(spec, value)
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
    FieldType.INTEGER: int, FieldType.TEXT: str, FieldType.LONGTEXT: str,
    FieldType.CHOICE: str}


def _readers(form: Form) -> tuple[_Reader, ...]:
    """Per field: its id, the stored type that already is the cell value, and the
    conversion for anything else (the common case costs one type check per answer)."""
    return tuple((f.id, _PASS_THROUGH.get(f.type, type(None)),
                  functools.partial(_decimal if f.type is FieldType.DECIMAL else _value, f))
                 for f in form.fields)


def _decimal(spec: Field, value: Any) -> CellValue:
    """A stored decimal answer ("1.35") as a number; the general path for anything odd."""
    if type(value) is str:
        try:
            number = Decimal(value)
        except InvalidOperation:
            return value
        if number.is_finite():
            return number
    return _value(spec, value)


def _kind(spec: Field) -> Kind:
    if spec.is_numeric:
        return Kind.NUMBER
    return {FieldType.LONGTEXT: Kind.LONGTEXT, FieldType.DATE: Kind.DATE}.get(spec.type,
                                                                             Kind.TEXT)


@dataclass
class _Cumulative:
    """Campaign-to-date sums of one obligation's numeric fields, per unit."""

    obligation: _Obligation
    per_unit: dict[int, list[Decimal]] = field(default_factory=dict)
    reports: dict[int, int] = field(default_factory=dict)

    def add(self, unit_id: int, cells: Sequence[CellValue], numeric_at: Sequence[int]
            ) -> None:
        """One valid report: the numbers at `numeric_at` among its cells."""
        sums = self.per_unit.get(unit_id)
        if sums is None:
            sums = self.per_unit[unit_id] = [Decimal(0)] * len(numeric_at)
        for k, i in enumerate(numeric_at):
            n = cells[i]
            if type(n) is int or type(n) is Decimal:
                sums[k] += n
        self.reports[unit_id] = self.reports.get(unit_id, 0) + 1


def _as_written(spec: Field, total: Decimal) -> int | Decimal:
    return int(total) if spec.type is FieldType.INTEGER else total


class _Writer:
    def __init__(self, layout: _Layout, files: FileStore, archive: Path | None) -> None:
        self.layout = layout
        self.labels = layout.labels
        self.files = files
        self.archive_path = archive
        self.submissions = 0
        self._marks: dict[tuple[State, bool], Mark] = {}
        self.archived = 0
        self.missing_files = 0
        unit_width = max((display_width(u.name) for u in layout.units), default=8)
        self.unit_column = Column(self.labels.unit, Kind.TEXT, float(min(unit_width + 2, 40)))
        self.group_column = Column(self.labels.group, Kind.TEXT)

    def _unit_columns(self) -> list[Column]:
        return [self.unit_column, self.group_column] if self.layout.groups else \
            [self.unit_column]

    def _unit_cells(self, unit: _Unit) -> list[CellValue]:
        return [unit.name, unit.group] if self.layout.groups else [unit.name]

    def _notes(self, *extra: str) -> tuple[str, ...]:
        return (self.labels.exported, *extra)

    def run(self, grid_rows: _LoopFeed, sheet_rows: _LoopFeed, sink: Path | IO[bytes]
            ) -> ExportSummary:
        book = ExportBook()
        with contextlib.closing(grid_rows.rows()) as rows:
            self._grid(book, rows)
        cumulative = [_Cumulative(o) for o, _, _ in self.layout.sheets if o.numeric]
        totals_sheet = self._open_totals(book, cumulative)
        archive = FileArchive(self.archive_path) if self.archive_path else None
        try:
            with contextlib.closing(sheet_rows.rows()) as rows:
                self._obligation_sheets(book, rows, {c.obligation.id: c for c in cumulative},
                                        archive)
            self._write_totals(totals_sheet, cumulative)
            book.save(sink)
            if archive is not None and isinstance(sink, Path):
                archive.add(sink, [], sink.name)
        finally:
            if archive is not None:
                archive.close()
        layout = self.layout
        stamp = f"{layout.now:%Y%m%d-%H%M}"
        return ExportSummary(
            layout.campaign_code, layout.campaign_name,
            layout.t("export.file_name", campaign=layout.campaign_code, stamp=stamp),
            len(layout.units), len(layout.grid), self.submissions, tuple(book.sheet_names),
            self.archived, self.missing_files, self.archive_path)

    # -- 提交情况 --

    def _grid(self, book: ExportBook, rows: Iterator[_DbRow]) -> None:
        layout, labels = self.layout, self.labels
        grid = layout.grid
        lead = self._unit_columns()
        columns = [*lead,
                   *(Column(f"{d.local:%Y-%m-%d}\n{d.local:%H:%M}", Kind.STATUS, 15)
                     for d in grid),
                   Column(labels.missed, Kind.NUMBER), Column(labels.late_count, Kind.NUMBER)]
        band = tuple([""] * len(lead)
                     + [f"{d.obligation.title} #{d.seq}" if d.repeats else d.obligation.title
                        for d in grid] + ["", ""])
        sheet = book.sheet(SheetSpec(
            layout.t("export.sheet_status"), labels.title,
            self._notes(layout.t("export.status_note")), tuple(columns), (band,),
            freeze_columns=len(lead)))
        counts = [[0] * 6 for _ in grid]
        groups = _Groups(rows, 0, {u.id: i for i, u in enumerate(layout.units)})
        not_expected = Mark(labels.not_expected, Tone.NOT_EXPECTED)
        missing = Mark(labels.missing, Tone.MISSING)
        now, tz = layout.now_utc, layout.tz
        for unit in layout.units:
            found = {r[1]: r for r in groups.take(unit.id)}
            cells: list[CellValue] = self._unit_cells(unit)
            missed = late_count = 0
            for i, d in enumerate(grid):
                if not d.obligation.applies(unit):
                    cells.append(not_expected)
                    continue
                tally = counts[i]
                row = found.get(d.id)
                override = layout.overrides.get((d.id, unit.id))
                if row is None:
                    state = state_of(d.due, None, now, override)
                    if state is State.EXEMPT:  # not expected to report: not counted
                        cells.append(self._state_mark(state, False))
                        continue
                    tally[0] += 1
                    own = due_for(d.due, override)
                    if state is State.OVERDUE:
                        tally[5] += 1
                        missed += 1
                        cells.append(missing)
                    elif own is not None and own != d.due:
                        cells.append(f"{labels.extended} {own.astimezone(tz):%m-%d %H:%M}")
                    else:
                        cells.append(None)
                    continue
                tally[0] += 1
                self.submissions += 1
                _, _, status, nil, at = row
                state = state_of(d.due, LatestSubmission(at, status == "returned", nil, 0), now,
                                 override)
                text = f"{at.astimezone(tz):%m-%d %H:%M}"
                if state is State.RETURNED:
                    tally[4] += 1
                    cells.append(Mark(f"{text} {labels.returned}", Tone.RETURNED))
                    continue
                tally[1] += 1
                if nil:
                    tally[3] += 1
                    text = f"{text} {labels.nil}"
                if state is State.LATE:
                    tally[2] += 1
                    late_count += 1
                    cells.append(Mark(f"{text} {labels.late}", Tone.LATE))
                else:
                    cells.append(Mark(text, Tone.NIL) if nil else text)
            cells += [missed, late_count]
            sheet.row(cells)
        pad: list[CellValue] = [None] * (len(lead) - 1)
        for k, label in enumerate(labels.counts):
            sheet.total([label, *pad, *(c[k] for c in counts), None, None])

    # -- 累计 --

    def _open_totals(self, book: ExportBook, cumulative: list[_Cumulative]) -> SheetWriter:
        layout, labels = self.layout, self.labels
        lead = self._unit_columns()
        columns = list(lead)
        band: list[str] = [""] * len(lead)
        for c in cumulative:
            columns.append(Column(labels.reports, Kind.NUMBER))
            band.append(c.obligation.title)
            fixed = [col.header for col in (*lead, columns[-1])]
            for header in _field_headers(layout, fixed, c.obligation.numeric):
                columns.append(Column(header, Kind.NUMBER))
                band.append("")
        until = layout.cutoff.astimezone(layout.tz).replace(tzinfo=None) if layout.cutoff \
            else layout.now
        note = layout.t("export.cumulative_note", when=f"{until:%Y-%m-%d %H:%M}")
        if not cumulative:
            note = layout.t("export.cumulative_none")
        return book.sheet(SheetSpec(layout.t("export.sheet_total"), labels.title,
                                    self._notes(note), tuple(columns), (tuple(band),),
                                    freeze_columns=len(lead)))

    def _write_totals(self, sheet: SheetWriter, cumulative: list[_Cumulative]) -> None:
        overall = [[Decimal(0)] * len(c.obligation.numeric) for c in cumulative]
        reports = [0] * len(cumulative)
        for unit in self.layout.units:
            cells = self._unit_cells(unit)
            for k, c in enumerate(cumulative):
                fields = c.obligation.numeric
                if not c.obligation.applies(unit):
                    cells += [None] * (1 + len(fields))
                    continue
                sums = c.per_unit.get(unit.id, [Decimal(0)] * len(fields))
                count = c.reports.get(unit.id, 0)
                reports[k] += count
                cells.append(count)
                for i, f in enumerate(fields):
                    overall[k][i] += sums[i]
                    cells.append(_as_written(f, sums[i]))
            sheet.row(cells)
        total: list[CellValue] = [self.labels.total] + [None] * (len(self._unit_columns()) - 1)
        for k, c in enumerate(cumulative):
            total.append(reports[k])
            total += [_as_written(f, s) for f, s in zip(c.obligation.numeric, overall[k],
                                                         strict=True)]
        sheet.total(total)

    # -- one sheet per obligation --

    def _obligation_sheets(self, book: ExportBook, rows: Iterator[_DbRow],
                           cumulative: dict[int, _Cumulative],
                           archive: FileArchive | None) -> None:
        layout = self.layout
        rank = {d.id: i for i, d in enumerate(d for _, c, _ in layout.sheets for d in c)}
        groups = _Groups(rows, 0, rank)
        unit_folders = dict(zip((u.id for u in layout.units),
                                unique_names([u.name for u in layout.units]), strict=True))
        for obligation, covered, shown in layout.sheets:
            sheet = self._open_obligation(book, obligation, [d for d in covered
                                                             if d.id in shown])
            total = cumulative.get(obligation.id)
            folders = dict(zip((d.id for d in covered),
                               unique_names([self._folder(d) for d in covered]), strict=True))
            for d in covered:
                found: dict[int, tuple[_DbRow, list[_DbRow]]] = {}
                for r in groups.take(d.id):
                    entry = found.setdefault(r[1], (r, []))
                    if r[9] is not None:
                        entry[1].append(r)
                self._block(sheet, d, found, total, d.id in shown, len(shown) > 1)
                if archive is not None and d.id in shown:
                    self._archive(archive, d, found, unit_folders, folders[d.id])

    def _folder(self, d: _Deadline) -> str:
        title = f"{d.obligation.title} #{d.seq}" if d.repeats else d.obligation.title
        return f"{title} {d.local:%Y-%m-%d}"

    def _archive(self, archive: FileArchive, d: _Deadline,
                 found: dict[int, tuple[_DbRow, list[_DbRow]]],
                 unit_folders: dict[int, str], folder: str) -> None:
        for unit in self.layout.units:
            entry = found.get(unit.id)
            if entry is None or not d.obligation.applies(unit):
                continue
            for a in entry[1]:
                try:
                    source = self.files.path(a[9])
                except ValueError:
                    source = None
                if source is None or not source.is_file():
                    self.missing_files += 1
                    continue
                archive.add(source, [unit_folders[unit.id], folder], a[8] or "")
                self.archived += 1

    def _field_columns(self, form: Form, fixed: Sequence[str]) -> list[Column]:
        headers = _field_headers(self.layout, fixed, form.fields)
        return [Column(h, _kind(f)) for h, f in zip(headers, form.fields, strict=True)]

    def _open_obligation(self, book: ExportBook, obligation: _Obligation,
                         shown: list[_Deadline]) -> SheetWriter:
        layout, labels = self.layout, self.labels
        lead = self._unit_columns()
        fixed = [*lead, Column(labels.status, Kind.STATUS, 16),
                 Column(labels.submitted, Kind.DATETIME)]
        comment = Column(labels.comment, Kind.TEXT, 24)
        columns = [*fixed, *self._field_columns(obligation.form,
                                                [c.header for c in (*fixed, comment)]),
                   comment]
        notes = [layout.t("export.obligation_note", obligation=obligation.title,
                          form=obligation.form.title)]
        if len(shown) == 1:
            notes.append(self._block_title(shown[0]))
        return book.sheet(SheetSpec(obligation.title, labels.title, self._notes(*notes),
                                    tuple(columns), freeze_columns=len(lead)))

    def _block_title(self, d: _Deadline) -> str:
        layout = self.layout
        due = f"{d.local:%Y-%m-%d %H:%M}"
        key = "export.block_seq" if d.repeats else "export.block"
        text = layout.t(key, title=d.obligation.title, seq=d.seq, due=due)
        if d.period:
            text += " · " + layout.t("export.period", start=d.period[0].isoformat(),
                                      end=d.period[1].isoformat())
        return text

    def _block(self, sheet: SheetWriter, d: _Deadline,
               found: dict[int, tuple[_DbRow, list[_DbRow]]],
               cumulative: _Cumulative | None, shown: bool, heading: bool) -> None:
        """One deadline: heading, a row per unit, 合计. A deadline that is only covered
        (before the chosen one) feeds 累计 and writes nothing. A sheet of one deadline
        has its heading among the notes at the top instead."""
        layout, labels = self.layout, self.labels
        fields = d.obligation.form.fields
        readers = _readers(d.obligation.form)
        numeric_at = [i for i, f in enumerate(fields) if f.is_numeric]
        files_at = [(i, f.id) for i, f in enumerate(fields) if f.type is FieldType.FILE]
        sums = [Decimal(0)] * len(fields)
        expected = done = 0
        lead = len(self._unit_columns())
        if shown and heading:
            sheet.heading(self._block_title(d))
        for unit in layout.units:
            if not d.obligation.applies(unit):
                continue
            override = layout.overrides.get((d.id, unit.id))
            entry = found.get(unit.id)
            if entry is None:
                state, nil, row = state_of(d.due, None, layout.now_utc, override), False, None
                cells: list[CellValue] = [None] * len(fields)
            else:
                row = entry[0]
                nil = bool(row[3])
                state = state_of(d.due, LatestSubmission(row[4], row[2] == "returned", nil, 0),
                                 layout.now_utc, override)
                answers: dict[str, Any] = {} if nil else (row[5] or {})
                get = answers.get
                cells = []
                for field_id, keep, convert in readers:
                    v = get(field_id)
                    cells.append(v if v is None or type(v) is keep else convert(v))
            expected += state is not State.EXEMPT
            if state.is_done:
                done += 1
                for i in numeric_at:
                    n = cells[i]
                    if type(n) is int or type(n) is Decimal:
                        sums[i] += n
                if cumulative is not None:
                    cumulative.add(unit.id, cells, numeric_at)
            if not shown:
                continue
            if entry is not None and entry[1]:
                for i, field_id in files_at:
                    names = [a[8] or "" for a in entry[1] if a[7] == field_id]
                    cells[i] = "、".join(names) if names else None
            if row is None:
                sheet.row([*self._unit_cells(unit), self._state_mark(state, nil), None, *cells,
                           None])
                continue
            comment = (layout.t("export.returned_comment", comment=row[6])
                       if state is State.RETURNED and row[6] else None)
            at = row[4].astimezone(layout.tz).replace(tzinfo=None)
            sheet.row([*self._unit_cells(unit), self._state_mark(state, nil), at, *cells,
                       comment])
        if not shown:
            return
        total: list[CellValue] = [labels.total] + [None] * (lead - 1)
        total += [layout.t("export.done_of", done=done, expected=expected), None]
        total += [_as_written(fields[i], sums[i]) if i in numeric_at else None
                  for i in range(len(fields))]
        sheet.total([*total, None])
        sheet.blank()

    def _state_mark(self, state: State, nil: bool) -> Mark:
        found = self._marks.get((state, nil))
        if found is None:
            found = self._marks[(state, nil)] = self._new_mark(state, nil)
        return found

    def _new_mark(self, state: State, nil: bool) -> Mark:
        labels = self.labels
        text = labels.states[state]
        if nil and state.is_done:
            text = f"{text} · {labels.nil}"
        tone = {State.LATE: Tone.LATE, State.OVERDUE: Tone.MISSING,
                State.RETURNED: Tone.RETURNED, State.EXEMPT: Tone.NOT_EXPECTED,
                }.get(state, Tone.NIL if nil else Tone.PLAIN)
        return Mark(text, tone)


def _field_headers(layout: _Layout, fixed: Sequence[str], fields: Sequence[Field]
                   ) -> list[str]:
    """The fields' headers, none repeating a header of the sheet's own columns (a field
    named 备注 becomes 备注(表单)) or another field's (数量, 数量 (2))."""
    own = set(fixed)
    taken = set(own)
    headers = []
    for spec in fields:
        header = _header(layout, spec)
        if header in own:
            header = layout.t("export.form_field", header=header)
        candidate, n = header, 1
        while candidate in taken:
            n += 1
            candidate = f"{header} ({n})"
        taken.add(candidate)
        headers.append(candidate)
    return headers


def _header(layout: _Layout, spec: Field) -> str:
    if spec.unit:
        return layout.t("export.with_unit", label=spec.label, unit=spec.unit)
    return spec.label
