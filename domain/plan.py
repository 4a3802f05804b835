"""A campaign plan as plain data: who reports what, by which rule, on which form."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, time
from enum import StrEnum

from domain.export_template import ExportTemplate
from domain.forms import Form


class Cadence(StrEnum):
    ONCE = "once"
    WEEKLY = "weekly"
    DAILY = "daily"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    YEARLY = "yearly"
    RELATIVE = "relative"


LAST_DAY = -1
"""`day` value meaning the last day of the month (每月月底前)."""
LAST_WORKDAY = -2
"""`day` value meaning the month's last working day on the calendar (每月最后一个工作日前)."""


def applies(units: Collection[str] | None, unit: str) -> bool:
    """Whether an obligation is owed by a unit: its unit list is absent (every unit) or
    names the unit. The one place this rule is written."""
    return units is None or unit in units


@dataclass(frozen=True)
class Window:
    """An inclusive range of local dates; `end` None means open-ended."""

    start: date
    end: date | None = None

    def contains(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


@dataclass(frozen=True)
class PeriodRule:
    """How to derive the statistics period reported at one occurrence.

    `kind` is one of:
    - "cutoff": from `start_day` of the previous month to `end_day` of the due month
      (上月26日至本月25日); when start_day <= end_day both are in the due month;
    - "previous_month", "previous_quarter", "previous_year": the whole calendar period
      before the one the deadline falls in;
    - "current_month": the calendar month the deadline falls in.
    """

    kind: str
    start_day: int | None = None
    end_day: int | None = None


@dataclass(frozen=True)
class Once:
    dates: tuple[date, ...]


@dataclass(frozen=True)
class Weekly:
    weekday: int  # ISO: 1 = Monday … 7 = Sunday
    window: Window
    # What a deadline on a statutory holiday does: None keeps it (and `plan check` warns),
    # "keep" keeps it quietly, "before"/"after" move it to the working day before/after.
    on_holiday: str | None = None


@dataclass(frozen=True)
class Daily:
    windows: tuple[Window, ...]
    workdays_only: bool = False


@dataclass(frozen=True)
class Monthly:
    day: int  # 1..31, or LAST_DAY; a day past the month's end falls on its last day
    window: Window
    period: PeriodRule | None = None


@dataclass(frozen=True)
class Quarterly:
    months: tuple[int, ...]  # the months of the year in which it falls, e.g. (1, 4, 7, 10)
    day: int
    window: Window
    period: PeriodRule | None = None


@dataclass(frozen=True)
class Yearly:
    month: int
    day: int
    window: Window
    period: PeriodRule | None = None


@dataclass(frozen=True)
class Relative:
    offset: int
    workdays: bool
    anchor: date | None  # None: an event the plan cannot date (取得检验报告后)
    anchor_label: str = ""
    hours: bool = False  # 发生事故后2小时内报告: offset in hours, only after an event


Schedule = Once | Weekly | Daily | Monthly | Quarterly | Yearly | Relative


def cadence_of(schedule: Schedule) -> Cadence:
    return _CADENCES[type(schedule)]


_CADENCES: dict[type, Cadence] = {
    Once: Cadence.ONCE,
    Weekly: Cadence.WEEKLY,
    Daily: Cadence.DAILY,
    Monthly: Cadence.MONTHLY,
    Quarterly: Cadence.QUARTERLY,
    Yearly: Cadence.YEARLY,
    Relative: Cadence.RELATIVE,
}


@dataclass(frozen=True)
class Unit:
    id: str
    name: str
    group: str = ""  # e.g. 市场监管所 / 股室 / 成员单位, for grouping in lists and exports
    # People the plan names for the unit: on DingTalk the bot offers them the binding.
    contacts: tuple[Contact, ...] = ()


_MOBILE = re.compile(r"1\d{10}")


def mobile_number(text: str) -> str | None:
    """A mainland mobile number as 11 digits (spaces, dashes and +86 dropped); None when
    the text is not one (a 座机 such as 0556-5542026, say)."""
    digits = re.sub(r"[\s-]", "", text).removeprefix("+86")
    return digits if _MOBILE.fullmatch(digits) else None


@dataclass(frozen=True)
class Contact:
    """A unit's liaison or deputy named in the plan, by DingTalk userid or mobile."""

    role: str  # "liaison" or "deputy"
    name: str = ""
    dingtalk: str = ""  # userid (员工 UserID)
    mobile: str = ""  # 11 digits; looked up on DingTalk when the binding is offered


@dataclass(frozen=True)
class Phase:
    name: str
    window: Window


@dataclass(frozen=True)
class Obligation:
    id: str
    title: str
    form: str
    schedule: Schedule
    time: time
    units: tuple[str, ...] | None = None  # None: every unit of the campaign
    recipient: str = ""
    note: str = ""
    reminders: tuple[str, ...] | None = None  # own reminder policy (domain/reminder_grammar.py)

    @property
    def cadence(self) -> Cadence:
        return cadence_of(self.schedule)

    def applies_to(self, unit_id: str) -> bool:
        return applies(self.units, unit_id)


@dataclass(frozen=True)
class CalendarOverrides:
    """Days that the plan declares working or non-working, beating any calendar data."""

    workdays: frozenset[date] = frozenset()
    holidays: frozenset[date] = frozenset()
    # Years whose statutory holidays and 调休 days are all in the two sets above: the
    # calendar does not warn about them even without holiday data.
    complete_years: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Plan:
    id: str
    name: str
    office: str
    coordinator: str
    issued: date
    timezone: str
    period: Window
    default_time: time
    phases: tuple[Phase, ...]
    units: tuple[Unit, ...]
    forms: dict[str, Form]
    obligations: tuple[Obligation, ...]
    calendar: CalendarOverrides = field(default_factory=CalendarOverrides)
    export: ExportTemplate | None = None  # the coordinator's own workbook, if any
    # When a unit still missing is escalated to its leader (负责人), e.g. "+2wd@09:00":
    # an entry of the reminders grammar after the deadline, once. "": never.
    escalate: str = ""

    def unit(self, unit_id: str) -> Unit:
        return next(u for u in self.units if u.id == unit_id)

    def obligation(self, obligation_id: str) -> Obligation:
        return next(o for o in self.obligations if o.id == obligation_id)

    def units_for(self, obligation: Obligation) -> tuple[Unit, ...]:
        return tuple(u for u in self.units if obligation.applies_to(u.id))
