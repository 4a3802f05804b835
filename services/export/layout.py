"""What the worker needs, loaded up front (sizes: units + deadlines, never their
product): units, obligations, the deadlines chosen and the labels of the workbook."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from domain.forms import Field, Form
from domain.plan import applies as owed
from domain.status import Override, State
from services.export.model import ExportError, ExportRequest, Texts
from storage import models as m

# ---- what the worker needs, loaded up front (sizes: units + deadlines, never their product)


@dataclass(frozen=True)
class UnitLine:
    id: int
    code: str
    name: str
    group: str


@dataclass(frozen=True)
class ObligationSheet:
    id: int
    code: str
    title: str
    position: int
    form: Form
    unit_codes: frozenset[str] | None

    def applies(self, unit: UnitLine) -> bool:
        return owed(self.unit_codes, unit.code)

    @property
    def numeric(self) -> tuple[Field, ...]:
        return tuple(f for f in self.form.fields if f.is_numeric)


@dataclass(frozen=True)
class DeadlineColumn:
    id: int
    obligation: ObligationSheet
    seq: int
    due: datetime  # aware UTC
    local: datetime  # naive, in the campaign's zone
    period: tuple[date, date] | None
    repeats: bool


@dataclass(frozen=True)
class Labels:
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
class Layout:
    campaign_id: int
    campaign_code: str
    campaign_name: str
    tz: ZoneInfo
    now_utc: datetime
    now: datetime  # naive, in the campaign's zone
    units: list[UnitLine]
    grid: list[DeadlineColumn]  # 提交情况 columns, chronological
    sheets: list[tuple[ObligationSheet, list[DeadlineColumn], set[int]]]  # covered, shown ids
    cutoff: datetime | None  # the latest chosen deadline; None when all are shown
    selected: bool  # a --deadline was given: the passes read only what they need
    labels: Labels
    texts: Texts
    language: str | None
    obligations: tuple[ObligationSheet, ...]  # every one with a deadline, chosen or not
    # The coordinator's 免报 / 延期 by (deadline, unit): few, so read whole.
    overrides: dict[tuple[int, int], Override] = field(default_factory=dict)
    office: str = ""  # the issuing office, printed in every page's header
    future: bool = False  # blocks for periods not yet due (always, for chosen deadlines)
    groups: bool = field(init=False)

    def __post_init__(self) -> None:
        self.groups = any(u.group for u in self.units)

    def t(self, key: str, **params: Any) -> str:
        return self.texts.text(key, self.language, **params)

    def title(self, d: DeadlineColumn) -> str:
        """A deadline's title as the chat says it: 信息周报第3期 (a repeating one)."""
        if not d.repeats:
            return d.obligation.title
        return self.t("deadline.repeating", title=d.obligation.title, seq=d.seq)

    def listed(self, d: DeadlineColumn, answered: set[int]) -> bool:
        """Whether an obligation sheet has a block for `d`: once it is due or someone
        has answered it (`answered`: deadline ids), always when the request asked for
        every period (or chose the deadline)."""
        return self.future or d.due <= self.now_utc or d.id in answered


def select_deadlines(
    deadlines: list[DeadlineColumn], selector: str | None, tz: ZoneInfo
) -> list[DeadlineColumn] | None:
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
    found = [
        d
        for d in deadlines
        if (not code or d.obligation.code == code)
        and (seq is None or d.seq == seq)
        and (day is None or d.local.date() == day)
    ]
    if not found:
        raise ExportError("bad_deadline", value=selector)
    return found


def labels_for(texts: Texts, language: str | None, campaign: str, now: datetime) -> Labels:
    def t(key: str, **params: Any) -> str:
        return texts.text(key, language, **params)

    return Labels(
        title=t("export.title", campaign=campaign),
        exported=t("export.exported_at", when=f"{now:%Y-%m-%d %H:%M}"),
        unit=t("export.col_unit"),
        group=t("export.col_group"),
        status=t("export.col_status"),
        submitted=t("export.col_submitted"),
        comment=t("export.col_comment"),
        total=t("export.total"),
        missed=t("export.col_missed"),
        late_count=t("export.col_late"),
        reports=t("export.col_reports"),
        late=t("export.mark_late"),
        nil=t("export.mark_nil"),
        returned=t("export.mark_returned"),
        missing=t("export.mark_missing"),
        not_expected=t("export.mark_not_expected"),
        extended=t("export.mark_extended"),
        counts=tuple(
            t(f"export.count_{k}")
            for k in ("expected", "done", "late", "nil", "returned", "missing")
        ),
        states={s: t(f"state.{s.value}") for s in State},
    )


def plan_layout(
    campaign: m.Campaign,
    tz: ZoneInfo,
    request: ExportRequest,
    texts: Texts,
    units: list[UnitLine],
    deadlines: list[DeadlineColumn],
    chosen: list[DeadlineColumn] | None,
) -> Layout:
    shown = chosen if chosen is not None else deadlines
    shown_ids = {d.id for d in shown}
    cutoff = max(d.due for d in chosen) if chosen else None
    by_obligation: dict[int, list[DeadlineColumn]] = {}
    for d in deadlines:
        by_obligation.setdefault(d.obligation.id, []).append(d)
    sheets = []
    for obligation_id in sorted(
        by_obligation, key=lambda i: (by_obligation[i][0].obligation.position, i)
    ):
        mine = by_obligation[obligation_id]
        ids = {d.id for d in mine} & shown_ids
        if not ids:
            continue
        covered = [d for d in mine if cutoff is None or d.due <= cutoff]
        covered.sort(key=sheet_order)
        sheets.append((mine[0].obligation, covered, ids))
    local_now = request.now.astimezone(tz).replace(tzinfo=None)
    return Layout(
        campaign.id,
        campaign.code,
        campaign.name,
        tz,
        request.now,
        local_now,
        units,
        list(shown),
        sheets,
        cutoff,
        chosen is not None,
        labels_for(texts, request.language, campaign.name, local_now),
        texts,
        request.language,
        tuple({d.obligation.id: d.obligation for d in deadlines}.values()),
        office=campaign.office,
        future=request.future or chosen is not None,
    )


def pick_deadline(layout: Layout, obligation: str) -> DeadlineColumn:
    """The deadline a template sheet shows: the latest chosen one, else the latest passed
    one, else the first."""
    mine = [d for d in layout.grid if d.obligation.code == obligation]
    if not mine:
        raise ExportError("template_no_deadline", obligation=obligation)
    if layout.selected:
        return max(mine, key=lambda d: (d.due, d.id))
    passed = [d for d in mine if d.due <= layout.now_utc]
    return max(passed, key=lambda d: (d.due, d.id)) if passed else mine[0]


class TemplateRow(NamedTuple):
    """A unit's newest revision of the deadline a template is filled for."""

    status: str
    nil: bool
    submitted_at: datetime
    answers: dict[str, Any]


def sheet_order(d: DeadlineColumn) -> tuple[int, int, datetime, int]:
    # The same order as sheet_query's ORDER BY.
    return (d.obligation.position, d.obligation.id, d.due, d.id)
