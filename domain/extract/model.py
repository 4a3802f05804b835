"""What the extractor returns: plain frozen dataclasses that serialise to the annotation schema."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    ONCE = "once"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    YEARLY = "yearly"
    RELATIVE_DAYS = "relative_days"
    RELATIVE_WORKDAYS = "relative_workdays"
    RELATIVE_HOURS = "relative_hours"


@dataclass(frozen=True)
class Period:
    """A statistics period relative to the deadline: 上月26日至本月25日 is prev-26 .. cur-25;
    a whole previous period is prev-1 .. prev-last (上月), prev-quarter-start ..
    prev-quarter-end (上季度), prev-year-start .. prev-year-end (上1年度), prev-w1 .. prev-w7
    (上周)."""

    start: str
    end: str


@dataclass(frozen=True)
class ExtractedObligation:
    """One reporting deadline found in a notice."""

    kind: Kind
    quote: str
    what: str | None = None
    date: dt.date | None = None
    month_day: str | None = None
    weekday: int | None = None
    day_of_month: int | None = None
    months: tuple[int, ...] | None = None
    time: str | None = None
    window: tuple[dt.date | None, dt.date | None] | None = None
    offset: int | None = None
    sender: str | None = None
    recipient: str | None = None
    year_inferred: bool = False
    anchor: str | None = None
    period: Period | None = None
    last_workday: bool = False  # 每月最后1个工作日: day_of_month is -1, moved to a working day

    def to_json(self) -> dict[str, Any]:
        """The annotation schema's obligation object."""
        return {
            "what": self.what,
            "kind": self.kind.value,
            "date": _iso(self.date),
            "month_day": self.month_day,
            "weekday": self.weekday,
            "day_of_month": self.day_of_month,
            "months": list(self.months) if self.months is not None else None,
            "time": self.time,
            "window": [_iso(d) for d in self.window] if self.window is not None else None,
            "offset": self.offset,
            "from": self.sender,
            "to": self.recipient,
            "quote": self.quote,
            "year_inferred": self.year_inferred,
            "anchor": self.anchor,
            "period": (
                {"from": self.period.start, "to": self.period.end} if self.period else None
            ),
        } | self._rule()

    def _rule(self) -> dict[str, Any]:
        """The annotations write 月底 and 最后1个工作日 alike as day_of_month -1 (the key the
        scorer compares); one extra key, only there, says it is the last working day."""
        return {"rule": "last_workday"} if self.last_workday else {}


@dataclass(frozen=True)
class Stage:
    """A named, dated part of the campaign: 集中整治阶段(4月1日至11月30日)."""

    label: str
    start: dt.date
    end: dt.date


@dataclass(frozen=True)
class Extraction:
    """Everything read from one notice."""

    doc_date: dt.date | None
    obligations: tuple[ExtractedObligation, ...]
    name: str | None = None  # the campaign, from 关于印发《…》的通知
    issuer: str | None = None  # the issuing office
    campaign: tuple[dt.date, dt.date] | None = None  # when the campaign runs, if stated
    phases: tuple[Stage, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The annotation schema: {"doc_date": ..., "obligations": [...]}."""
        return {
            "doc_date": _iso(self.doc_date),
            "obligations": [o.to_json() for o in self.obligations],
        }


def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None
