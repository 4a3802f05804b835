"""WorkdayCalendar: statutory holidays, 调休 make-up days, fallback years and overrides.

Every expected day is taken from the State Council's yearly holiday notices:
2017 春节 01-27..02-02 off, 01-22 (Sun) and 02-04 (Sat) working;
2019 国庆 10-01..10-07 off, 09-29 (Sun) and 10-12 (Sat) working.
"""

from __future__ import annotations

from datetime import date

import pytest

from domain.plan import CalendarOverrides
from scheduler.calendar import WorkdayCalendar


@pytest.mark.parametrize(
    "day",
    [
        date(2017, 1, 2),  # 元旦 observed on the Monday
        date(2017, 1, 27),  # 除夕, a Friday
        date(2017, 2, 2),  # last day of 春节, a Thursday
        date(2019, 10, 1),  # 国庆, a Tuesday
        date(2019, 10, 7),  # last day of 国庆, a Monday
        date(2024, 2, 12),  # 春节 2024, a Monday
    ],
)
def test_a_statutory_holiday_on_a_weekday_is_not_a_working_day(day: date) -> None:
    calendar = WorkdayCalendar()

    assert calendar.is_workday(day) is False
    assert calendar.missing_years == set()


@pytest.mark.parametrize(
    "day",
    [
        date(2017, 1, 22),  # Sunday before 春节
        date(2017, 2, 4),  # Saturday after 春节
        date(2019, 9, 29),  # Sunday before 国庆
        date(2019, 10, 12),  # Saturday after 国庆
    ],
)
def test_a_tiaoxiu_weekend_day_is_a_working_day(day: date) -> None:
    calendar = WorkdayCalendar()

    result = calendar.is_workday(day)

    assert day.isoweekday() in (6, 7)
    assert result is True


def test_an_ordinary_weekend_is_off_and_an_ordinary_weekday_is_working() -> None:
    calendar = WorkdayCalendar()

    assert calendar.is_workday(date(2017, 1, 21)) is False  # Saturday
    assert calendar.is_workday(date(2017, 1, 29)) is False  # Sunday, also 春节
    assert calendar.is_workday(date(2017, 1, 23)) is True  # Monday


def test_a_year_without_data_falls_back_to_monday_to_friday_and_is_recorded() -> None:
    calendar = WorkdayCalendar()

    new_year = calendar.is_workday(date(2027, 1, 1))  # a Friday: a holiday, but unknown yet
    saturday = calendar.is_workday(date(2027, 1, 2))
    sunday = calendar.is_workday(date(2027, 1, 3))

    assert (new_year, saturday, sunday) == (True, False, False)
    assert calendar.missing_years == {2027}


def test_a_year_before_the_data_also_falls_back_and_is_recorded() -> None:
    calendar = WorkdayCalendar()

    result = calendar.is_workday(date(2003, 10, 1))  # a Wednesday

    assert result is True
    assert calendar.missing_years == {2003}


def test_known_years_are_never_recorded_as_missing() -> None:
    calendar = WorkdayCalendar()

    calendar.is_workday(date(2004, 1, 1))
    calendar.is_workday(date(2026, 12, 31))

    assert calendar.missing_years == set()


def test_an_override_beats_the_package_both_ways() -> None:
    calendar = WorkdayCalendar.with_days(
        workdays=[date(2019, 10, 5)],  # a 国庆 Saturday declared working
        holidays=[date(2019, 10, 12)],  # the 调休 Saturday declared off
    )

    assert calendar.is_workday(date(2019, 10, 5)) is True
    assert calendar.is_workday(date(2019, 10, 12)) is False


def test_an_overridden_day_in_a_year_without_data_is_not_recorded_as_missing() -> None:
    calendar = WorkdayCalendar.with_days(holidays=[date(2027, 1, 1)])

    result = calendar.is_workday(date(2027, 1, 1))

    assert result is False
    assert calendar.missing_years == set()


def test_a_later_override_wins_over_an_earlier_one_for_the_same_day() -> None:
    day = date(2017, 1, 23)  # an ordinary Monday
    config = CalendarOverrides(holidays=frozenset({day}))
    plan = CalendarOverrides(workdays=frozenset({day}))

    plan_last = WorkdayCalendar(config, plan)
    config_last = WorkdayCalendar(plan, config)

    assert plan_last.is_workday(day) is True
    assert config_last.is_workday(day) is False


def test_a_later_override_keeps_the_earlier_overrides_days_it_does_not_mention() -> None:
    config = CalendarOverrides(holidays=frozenset({date(2017, 1, 23)}))
    plan = CalendarOverrides(workdays=frozenset({date(2017, 1, 21)}))

    calendar = WorkdayCalendar(config, plan)

    assert calendar.is_workday(date(2017, 1, 23)) is False
    assert calendar.is_workday(date(2017, 1, 21)) is True


def test_next_workday_of_a_working_day_is_that_day() -> None:
    calendar = WorkdayCalendar()

    assert calendar.next_workday(date(2019, 9, 30)) == date(2019, 9, 30)


def test_next_workday_of_a_guoqing_holiday_is_the_day_after_the_break() -> None:
    calendar = WorkdayCalendar()

    assert calendar.next_workday(date(2019, 10, 1)) == date(2019, 10, 8)


def test_next_workday_of_a_saturday_before_chunjie_is_the_tiaoxiu_sunday() -> None:
    calendar = WorkdayCalendar()

    assert calendar.next_workday(date(2017, 1, 21)) == date(2017, 1, 22)


def test_five_working_days_from_a_friday_is_the_next_friday() -> None:
    calendar = WorkdayCalendar()

    assert calendar.add_workdays(date(2016, 12, 16), 5) == date(2016, 12, 23)


def test_add_workdays_does_not_count_the_anchor_day() -> None:
    calendar = WorkdayCalendar()

    assert calendar.add_workdays(date(2016, 12, 19), 1) == date(2016, 12, 20)


def test_zero_working_days_from_a_working_day_is_the_anchor_itself() -> None:
    calendar = WorkdayCalendar()

    assert calendar.add_workdays(date(2019, 9, 29), 0) == date(2019, 9, 29)


def test_zero_working_days_from_a_holiday_is_the_next_working_day() -> None:
    calendar = WorkdayCalendar()

    assert calendar.add_workdays(date(2019, 10, 3), 0) == date(2019, 10, 8)


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (1, date(2019, 9, 30)),
        (2, date(2019, 10, 8)),
        (5, date(2019, 10, 11)),
        (6, date(2019, 10, 12)),  # the 调休 Saturday counts
        (7, date(2019, 10, 14)),
    ],
)
def test_add_workdays_from_the_tiaoxiu_sunday_skips_the_guoqing_week(
    count: int, expected: date
) -> None:
    calendar = WorkdayCalendar()

    assert calendar.add_workdays(date(2019, 9, 29), count) == expected


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (1, date(2017, 2, 3)),
        (2, date(2017, 2, 4)),  # 调休 Saturday
        (3, date(2017, 2, 6)),
    ],
)
def test_add_workdays_from_the_eve_of_chunjie_skips_the_break(count: int, expected: date) -> None:
    calendar = WorkdayCalendar()

    assert calendar.add_workdays(date(2017, 1, 26), count) == expected


def test_add_workdays_counts_an_override_holiday_as_off() -> None:
    calendar = WorkdayCalendar.with_days(holidays=[date(2016, 12, 20)])

    assert calendar.add_workdays(date(2016, 12, 19), 1) == date(2016, 12, 21)


def test_add_workdays_into_a_year_without_data_uses_the_fallback_and_records_it() -> None:
    calendar = WorkdayCalendar()

    result = calendar.add_workdays(date(2026, 12, 30), 3)

    # 2026-12-31 (Thu, data) then 2027-01-01 (Fri, fallback: working) and 2027-01-04 (Mon)
    assert result == date(2027, 1, 4)
    assert calendar.missing_years == {2027}


def test_one_working_day_before_the_end_of_guoqing_is_the_day_before_it_began() -> None:
    calendar = WorkdayCalendar()

    assert calendar.workdays_before(date(2019, 10, 8), 1) == date(2019, 9, 30)


def test_two_working_days_before_the_end_of_guoqing_is_the_tiaoxiu_sunday() -> None:
    calendar = WorkdayCalendar()

    assert calendar.workdays_before(date(2019, 10, 8), 2) == date(2019, 9, 29)


def test_one_working_day_before_the_first_day_after_chunjie_is_its_eve() -> None:
    calendar = WorkdayCalendar()

    assert calendar.workdays_before(date(2017, 2, 3), 1) == date(2017, 1, 26)


def test_zero_working_days_before_a_day_is_the_day_itself() -> None:
    calendar = WorkdayCalendar()

    assert calendar.workdays_before(date(2019, 10, 3), 0) == date(2019, 10, 3)
