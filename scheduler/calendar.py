"""Mainland China working days: statutory holidays and 调休 make-up days.

The data comes from the `chinesecalendar` package, which the State Council's yearly
notice updates. For a year it does not know yet, plan or config overrides win; failing
those the documented fallback is Monday-Friday working, Saturday-Sunday off, and the
year is recorded in `missing_years` so the caller can warn (never a silent guess).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from functools import lru_cache

import chinese_calendar

from domain.plan import CalendarOverrides


@lru_cache(maxsize=4096)
def _package_workday(day: date) -> bool | None:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return None


class WorkdayCalendar:
    def __init__(self, *overrides: CalendarOverrides) -> None:
        self._workdays: set[date] = set()
        self._holidays: set[date] = set()
        self.complete_years: set[int] = set()
        # Later overrides win: config first, then the plan's own.
        for o in overrides:
            self._holidays -= o.workdays
            self._workdays -= o.holidays
            self._workdays |= o.workdays
            self._holidays |= o.holidays
            self.complete_years |= o.complete_years
        self.missing_years: set[int] = set()

    @classmethod
    def with_days(
        cls, workdays: Iterable[date] = (), holidays: Iterable[date] = ()
    ) -> WorkdayCalendar:
        return cls(CalendarOverrides(frozenset(workdays), frozenset(holidays)))

    def is_workday(self, day: date) -> bool:
        if day in self._workdays:
            return True
        if day in self._holidays:
            return False
        known = _package_workday(day)
        if known is None:
            if day.year not in self.complete_years:
                self.missing_years.add(day.year)
            return day.isoweekday() <= 5
        return known

    def next_workday(self, day: date) -> date:
        """`day` itself when it is a working day, else the first working day after it."""
        while not self.is_workday(day):
            day += timedelta(days=1)
        return day

    def add_workdays(self, anchor: date, count: int) -> date:
        """The `count`-th working day after `anchor`; the anchor day itself is not counted.

        "下发之日起5个工作日内" issued on a Friday falls due on the following Friday.
        With count 0 it is the anchor when that is a working day, else the next one.
        """
        day = anchor
        if count == 0:
            return self.next_workday(day)
        while count > 0:
            day += timedelta(days=1)
            if self.is_workday(day):
                count -= 1
        return day

    def workdays_before(self, day: date, count: int) -> date:
        """The `count`-th working day before `day` (not counting `day`)."""
        while count > 0:
            day -= timedelta(days=1)
            if self.is_workday(day):
                count -= 1
        return day


def package_years() -> tuple[int, int]:
    """The first and last year the holiday package has data for."""
    years = [day.year for day in chinese_calendar.holidays]
    return min(years), max(years)


def package_version() -> str:
    from importlib.metadata import version

    return version("chinesecalendar")
