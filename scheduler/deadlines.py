"""Expand a plan's obligations into concrete, dated deadlines.

Pure and deterministic: the same plan, calendar and `now` always give the same list.
`now` only bounds open-ended rules (a monthly report with no end date), which are
expanded up to `HORIZON` past now and flagged in the warnings.
"""

from __future__ import annotations

import calendar as cal
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from domain.plan import (
    LAST_DAY,
    LAST_WORKDAY,
    Daily,
    Monthly,
    Obligation,
    Once,
    PeriodRule,
    Plan,
    Quarterly,
    Relative,
    Schedule,
    Weekly,
    Window,
    Yearly,
)
from scheduler.calendar import WorkdayCalendar

HORIZON = timedelta(days=366)


@dataclass(frozen=True)
class Deadline:
    obligation_id: str
    seq: int  # 1-based occurrence number within the obligation
    # Stable identity across plan edits: the local due date, or "single" for one-off rules.
    key: str
    due: datetime  # aware, in the plan's time zone
    period: tuple[date, date] | None = None

    @property
    def title_suffix(self) -> str:
        return f"#{self.seq}"


@dataclass(frozen=True)
class Notice:
    """A warning about the expansion, as a catalogue code and parameters."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Expansion:
    deadlines: tuple[Deadline, ...]
    warnings: tuple[Notice, ...]


def expand_plan(plan: Plan, now: datetime, calendar: WorkdayCalendar | None = None) -> Expansion:
    """Every deadline of every obligation, ordered by due instant then obligation order."""
    calendar = calendar or WorkdayCalendar(plan.calendar)
    tz = ZoneInfo(plan.timezone)
    horizon = now.astimezone(tz).date() + HORIZON
    warnings: list[Notice] = []
    deadlines: list[Deadline] = []
    on_holidays: list[tuple[str, date]] = []
    days_off: list[tuple[str, date]] = []
    for obligation in plan.obligations:
        # Sorted, so occurrence numbers follow the calendar even if windows are listed
        # out of order in the plan.
        days = sorted(_days(obligation.schedule, plan, calendar, horizon), key=lambda x: x[0])
        if _open_ended(obligation.schedule, plan) and days:
            warnings.append(
                Notice(
                    "open_ended", {"obligation": obligation.id, "until": days[-1][0].isoformat()}
                )
            )
        single = _single_occurrence(obligation.schedule)
        for seq, (day, period) in enumerate(days, start=1):
            due = datetime.combine(day, obligation.time, tzinfo=tz)
            key = single or day.isoformat()
            deadlines.append(Deadline(obligation.id, seq, key, due, period))
        event = isinstance(obligation.schedule, Relative) and obligation.schedule.anchor is None
        if event:
            assert isinstance(obligation.schedule, Relative)
            # 取得检验报告后2个工作日内: never dated silently; the coordinator sets it.
            warnings.append(
                Notice(
                    "event_anchor",
                    {
                        "obligation": obligation.id,
                        "event": obligation.schedule.anchor_label or "?",
                    },
                )
            )
        elif not days:
            warnings.append(Notice("no_deadlines", {"obligation": obligation.id}))
        if isinstance(obligation.schedule, Weekly) and obligation.schedule.on_holiday is None:
            on_holidays += [
                (obligation.id, day)
                for day, _ in days
                if day.isoweekday() <= 5 and not calendar.is_workday(day)
            ]
        if isinstance(obligation.schedule, _DATED):
            # 每月15日 / 9月12日前 on a Saturday or in 国庆: said once, like the weeklies.
            days_off += [(obligation.id, day) for day, _ in days if not calendar.is_workday(day)]
        early = [day for day, _ in days if day < plan.issued]
        if early:
            # Often a typo in a year or a start; else the units are late the day they join.
            warnings.append(
                Notice(
                    "before_issued",
                    {
                        "obligation": obligation.id,
                        "count": len(early),
                        "first": early[0].isoformat(),
                        "issued": plan.issued.isoformat(),
                    },
                )
            )
    if on_holidays:
        # One warning for the whole plan: the coordinator keeps them or declares a move.
        listed = "; ".join(f"{ob} {day.isoformat()}" for ob, day in on_holidays)
        warnings.append(
            Notice("weekly_on_holiday", {"count": len(on_holidays), "deadlines": listed})
        )
    if days_off:
        listed = "; ".join(f"{ob} {day.isoformat()}" for ob, day in days_off)
        warnings.append(Notice("dated_on_day_off", {"count": len(days_off), "deadlines": listed}))
    for year in sorted(calendar.missing_years):
        warnings.append(Notice("calendar_missing_year", {"year": year}))
    order = {o.id: i for i, o in enumerate(plan.obligations)}
    deadlines.sort(key=lambda d: (d.due, order[d.obligation_id]))
    return Expansion(tuple(deadlines), tuple(warnings))


# Dated rules whose day is written, not moved: a weekend or holiday among them is worth a word.
_DATED = (Once, Monthly, Quarterly, Yearly)


def _single_occurrence(schedule: Schedule) -> str | None:
    """The key of a rule with one occurrence: moving its date edits it, never duplicates it."""
    if isinstance(schedule, Relative) or (isinstance(schedule, Once) and len(schedule.dates) == 1):
        return "single"
    return None


def _open_ended(schedule: Schedule, plan: Plan) -> bool:
    if plan.period.end is not None:
        return False
    windows = (
        schedule.windows if isinstance(schedule, Daily) else (getattr(schedule, "window", None),)
    )
    return any(isinstance(w, Window) and w.end is None for w in windows)


def _bounded(window: Window, plan: Plan, horizon: date) -> tuple[date, date]:
    end = window.end or plan.period.end or horizon
    return window.start, end


Occurrence = tuple[date, tuple[date, date] | None]


def _days(
    schedule: Schedule, plan: Plan, calendar: WorkdayCalendar, horizon: date
) -> Iterator[Occurrence]:
    match schedule:
        case Once(dates):
            for d in dates:
                yield d, None
        case Weekly(weekday, window, on_holiday):
            start, end = _bounded(window, plan, horizon)
            day = start + timedelta(days=(weekday - start.isoweekday()) % 7)
            while day <= end:
                yield _moved(day, on_holiday, calendar), None
                day += timedelta(days=7)
        case Daily(windows, workdays_only):
            seen: set[date] = set()
            for window in windows:
                start, end = _bounded(window, plan, horizon)
                day = start
                while day <= end:
                    if day not in seen and (not workdays_only or calendar.is_workday(day)):
                        seen.add(day)
                        yield day, None
                    day += timedelta(days=1)
        case Monthly(day_of_month, window, period):
            yield from _in_months(
                window, plan, horizon, range(1, 13), day_of_month, period, calendar
            )
        case Quarterly(months, day_of_month, window, period):
            yield from _in_months(window, plan, horizon, months, day_of_month, period, calendar)
        case Yearly(month, day_of_month, window, period):
            yield from _in_months(window, plan, horizon, (month,), day_of_month, period, calendar)
        case Relative(offset, workdays, anchor, _):
            if anchor is None:
                return  # an event's date: the coordinator sets it (warned about)
            if workdays:
                yield calendar.add_workdays(anchor, offset), None
            else:
                yield anchor + timedelta(days=offset), None


def _moved(day: date, on_holiday: str | None, calendar: WorkdayCalendar) -> date:
    """A weekly deadline on a statutory holiday, moved as the plan declares."""
    if day.isoweekday() > 5 or calendar.is_workday(day):
        return day
    if on_holiday == "before":
        while not calendar.is_workday(day):
            day -= timedelta(days=1)
    elif on_holiday == "after":
        day = calendar.next_workday(day)
    return day


def _in_months(
    window: Window,
    plan: Plan,
    horizon: date,
    months: range | tuple[int, ...],
    day_of_month: int,
    period: PeriodRule | None,
    calendar: WorkdayCalendar,
) -> Iterator[Occurrence]:
    start, end = _bounded(window, plan, horizon)
    year, month = start.year, start.month
    while date(year, month, 1) <= end:
        if month in months:
            day = month_day(year, month, day_of_month, calendar)
            if start <= day <= end:
                yield day, statistics_period(period, day)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def month_day(
    year: int, month: int, day_of_month: int, calendar: WorkdayCalendar | None = None
) -> date:
    """The given day of a month; LAST_DAY or a day past the month's end gives its last day,
    LAST_WORKDAY the last working day on the calendar (Friday 2026-10-30, not Saturday)."""
    last = cal.monthrange(year, month)[1]
    if day_of_month == LAST_WORKDAY:
        day = date(year, month, last)
        calendar = calendar or WorkdayCalendar()
        while not calendar.is_workday(day) and day.day > 1:
            day -= timedelta(days=1)
        return day
    return date(year, month, last if day_of_month == LAST_DAY else min(day_of_month, last))


def _shift_month(year: int, month: int, by: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + by
    return index // 12, index % 12 + 1


def statistics_period(rule: PeriodRule | None, due: date) -> tuple[date, date] | None:
    """The dates an occurrence due on `due` reports on, per the rule."""
    if rule is None:
        return None
    y, m = due.year, due.month
    match rule.kind:
        case "cutoff":
            assert rule.start_day is not None and rule.end_day is not None
            # 上月26日至本月25日: the start lies in the previous month when it comes after the end.
            end = 31 if rule.end_day == LAST_DAY else rule.end_day
            start = 31 if rule.start_day == LAST_DAY else rule.start_day
            sy, sm = _shift_month(y, m, -1) if start > end else (y, m)
            return month_day(sy, sm, rule.start_day), month_day(y, m, rule.end_day)
        case "current_month":
            return date(y, m, 1), month_day(y, m, LAST_DAY)
        case "previous_month":
            py, pm = _shift_month(y, m, -1)
            return date(py, pm, 1), month_day(py, pm, LAST_DAY)
        case "previous_quarter":
            qy, qm = _shift_month(y, (m - 1) // 3 * 3 + 1, -3)
            ey, em = _shift_month(qy, qm, 2)
            return date(qy, qm, 1), month_day(ey, em, LAST_DAY)
        case "previous_year":
            return date(y - 1, 1, 1), date(y - 1, 12, 31)
    raise ValueError(f"unknown period rule {rule.kind!r}")


def deadlines_of(expansion: Expansion, obligation: Obligation) -> list[Deadline]:
    return [d for d in expansion.deadlines if d.obligation_id == obligation.id]
