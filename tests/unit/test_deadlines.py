"""expand_plan: every schedule kind, working-day rules, warnings, keys and ordering.

Plans are built in code (pure data); `now` is always injected. Working-day facts come from
the official schedules: 2017 春节 01-27..02-02 off with 01-22 (Sun) and 02-04 (Sat) working;
2019 国庆 10-01..10-07 off with 09-29 (Sun) and 10-12 (Sat) working.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from domain.forms import Field, FieldType, Form
from domain.plan import (
    LAST_DAY,
    CalendarOverrides,
    Daily,
    Monthly,
    Obligation,
    Once,
    PeriodRule,
    Plan,
    Quarterly,
    Relative,
    Schedule,
    Unit,
    Weekly,
    Window,
    Yearly,
)
from domain.plan_toml import parse_plan
from scheduler.calendar import WorkdayCalendar
from scheduler.deadlines import Deadline, Expansion, Notice, expand_plan, statistics_period

SHANGHAI = ZoneInfo("Asia/Shanghai")
EIGHT_HOURS = timedelta(hours=8)
NOW = datetime(2016, 12, 1, 9, 0, tzinfo=SHANGHAI)
FORM = Form("report", "报表", (Field("note", "情况", FieldType.TEXT),))
DAGUAN = (
    Path(__file__).resolve().parents[2] / "examples" / "plans" / "daguan-2017-anticounterfeit.toml"
)


def a_plan(
    *obligations: Obligation,
    start: date = date(2016, 12, 1),
    end: date | None = date(2030, 12, 31),
    calendar: CalendarOverrides | None = None,
) -> Plan:
    return Plan(
        id="test-plan",
        name="测试方案",
        office="大观区市场监督管理局",
        coordinator="12315投诉举报中心",
        issued=start,
        timezone="Asia/Shanghai",
        period=Window(start, end),
        default_time=time(17, 30),
        phases=(),
        units=(Unit("dekuan", "德宽路市场监管所"),),
        forms={"report": FORM},
        obligations=obligations,
        calendar=calendar or CalendarOverrides(),
    )


def an_obligation(schedule: Schedule, ob_id: str = "ob", at: time = time(17, 30)) -> Obligation:
    return Obligation(id=ob_id, title="报送", form="report", schedule=schedule, time=at)


def expand(
    schedule: Schedule,
    start: date = date(2016, 12, 1),
    end: date | None = date(2030, 12, 31),
    calendar: CalendarOverrides | None = None,
) -> Expansion:
    plan = a_plan(an_obligation(schedule), start=start, end=end, calendar=calendar)
    return expand_plan(plan, NOW)


def days_of(expansion: Expansion) -> list[date]:
    return [d.due.date() for d in expansion.deadlines]


def periods_of(expansion: Expansion) -> list[tuple[date, date] | None]:
    return [d.period for d in expansion.deadlines]


# ---- once -------------------------------------------------------------------------------


def test_a_once_rule_with_one_date_gives_one_deadline_keyed_single() -> None:
    expansion = expand(Once((date(2016, 12, 15),)))

    assert expansion.deadlines == (
        Deadline("ob", 1, "single", datetime(2016, 12, 15, 17, 30, tzinfo=SHANGHAI)),
    )
    assert expansion.warnings == ()


def test_a_once_rule_with_several_dates_keys_each_by_its_iso_date() -> None:
    expansion = expand(Once((date(2016, 12, 27), date(2017, 1, 17))))

    assert [(d.seq, d.key) for d in expansion.deadlines] == [
        (1, "2016-12-27"),
        (2, "2017-01-17"),
    ]


def test_a_once_date_on_a_holiday_is_kept_as_written() -> None:
    expansion = expand(Once((date(2017, 1, 28),)))  # 春节 Saturday

    assert days_of(expansion) == [date(2017, 1, 28)]


# ---- weekly -----------------------------------------------------------------------------


def test_a_weekly_rule_starting_on_its_weekday_includes_the_start() -> None:
    expansion = expand(Weekly(4, Window(date(2016, 12, 1), date(2016, 12, 22))))

    assert days_of(expansion) == [
        date(2016, 12, 1),
        date(2016, 12, 8),
        date(2016, 12, 15),
        date(2016, 12, 22),
    ]


def test_a_weekly_window_starting_mid_week_first_falls_on_the_next_matching_weekday() -> None:
    expansion = expand(Weekly(4, Window(date(2016, 12, 2), date(2016, 12, 20))))  # Fri..Tue

    assert days_of(expansion) == [date(2016, 12, 8), date(2016, 12, 15)]


def test_a_weekly_sunday_rule_starting_on_a_monday_first_falls_six_days_later() -> None:
    expansion = expand(Weekly(7, Window(date(2016, 12, 5), date(2016, 12, 18))))

    assert days_of(expansion) == [date(2016, 12, 11), date(2016, 12, 18)]


def test_a_weekly_window_crossing_new_year_continues_into_the_next_year() -> None:
    expansion = expand(Weekly(5, Window(date(2016, 12, 20), date(2017, 1, 10))))

    assert days_of(expansion) == [date(2016, 12, 23), date(2016, 12, 30), date(2017, 1, 6)]


def test_a_weekly_window_too_short_for_its_weekday_gives_a_no_deadlines_warning() -> None:
    expansion = expand(Weekly(4, Window(date(2016, 12, 2), date(2016, 12, 7))))

    assert expansion.deadlines == ()
    assert expansion.warnings == (Notice("no_deadlines", {"obligation": "ob"}),)


def test_weekly_occurrences_are_keyed_by_iso_date_and_numbered_from_one() -> None:
    expansion = expand(Weekly(4, Window(date(2016, 12, 1), date(2016, 12, 15))))

    assert [(d.seq, d.key) for d in expansion.deadlines] == [
        (1, "2016-12-01"),
        (2, "2016-12-08"),
        (3, "2016-12-15"),
    ]


# ---- daily ------------------------------------------------------------------------------


def test_a_daily_rule_with_several_windows_covers_each_window_day_by_day() -> None:
    windows = (
        Window(date(2016, 12, 19), date(2016, 12, 21)),
        Window(date(2017, 1, 9), date(2017, 1, 10)),
    )

    expansion = expand(Daily(windows))

    assert days_of(expansion) == [
        date(2016, 12, 19),
        date(2016, 12, 20),
        date(2016, 12, 21),
        date(2017, 1, 9),
        date(2017, 1, 10),
    ]


def test_overlapping_daily_windows_give_each_day_once() -> None:
    windows = (
        Window(date(2016, 12, 19), date(2016, 12, 21)),
        Window(date(2016, 12, 20), date(2016, 12, 22)),
    )

    expansion = expand(Daily(windows))

    assert days_of(expansion) == [
        date(2016, 12, 19),
        date(2016, 12, 20),
        date(2016, 12, 21),
        date(2016, 12, 22),
    ]


def test_daily_windows_listed_out_of_order_are_numbered_in_date_order() -> None:
    windows = (
        Window(date(2017, 2, 10), date(2017, 2, 11)),
        Window(date(2016, 12, 19), date(2016, 12, 20)),
    )

    expansion = expand(Daily(windows))

    assert [(d.seq, d.key) for d in expansion.deadlines] == [
        (1, "2016-12-19"),
        (2, "2016-12-20"),
        (3, "2017-02-10"),
        (4, "2017-02-11"),
    ]


def test_a_daily_window_crossing_new_year_runs_through_it() -> None:
    expansion = expand(Daily((Window(date(2016, 12, 30), date(2017, 1, 2)),)))

    assert days_of(expansion) == [
        date(2016, 12, 30),
        date(2016, 12, 31),
        date(2017, 1, 1),
        date(2017, 1, 2),
    ]


def test_a_workdays_only_daily_rule_skips_new_year_and_the_weekend_across_the_year_end() -> None:
    window = Window(date(2016, 12, 29), date(2017, 1, 4))

    expansion = expand(Daily((window,), workdays_only=True))

    # 12-31, 01-01 weekend; 01-02 元旦 observed
    assert days_of(expansion) == [
        date(2016, 12, 29),
        date(2016, 12, 30),
        date(2017, 1, 3),
        date(2017, 1, 4),
    ]


def test_a_workdays_only_daily_rule_includes_the_tiaoxiu_sunday_and_skips_chunjie() -> None:
    window = Window(date(2017, 1, 20), date(2017, 2, 6))

    expansion = expand(Daily((window,), workdays_only=True))

    assert days_of(expansion) == [
        date(2017, 1, 20),
        date(2017, 1, 22),  # Sunday, 调休 working day
        date(2017, 1, 23),
        date(2017, 1, 24),
        date(2017, 1, 25),
        date(2017, 1, 26),
        date(2017, 2, 3),
        date(2017, 2, 4),  # Saturday, 调休 working day
        date(2017, 2, 6),
    ]


def test_a_daily_rule_without_workdays_only_keeps_weekends_and_holidays() -> None:
    expansion = expand(Daily((Window(date(2017, 1, 27), date(2017, 1, 29)),)))

    assert days_of(expansion) == [date(2017, 1, 27), date(2017, 1, 28), date(2017, 1, 29)]


# ---- monthly ----------------------------------------------------------------------------


def test_a_monthly_rule_falls_on_its_day_in_every_month_of_the_window() -> None:
    expansion = expand(Monthly(25, Window(date(2016, 12, 1), date(2017, 3, 31))))

    assert days_of(expansion) == [
        date(2016, 12, 25),
        date(2017, 1, 25),
        date(2017, 2, 25),
        date(2017, 3, 25),
    ]


def test_a_monthly_window_starting_after_the_day_begins_in_the_next_month() -> None:
    expansion = expand(Monthly(10, Window(date(2017, 1, 11), date(2017, 3, 9))))

    assert days_of(expansion) == [date(2017, 2, 10)]


@pytest.mark.parametrize(
    ("year", "february_end"),
    [
        (2020, date(2020, 2, 29)),
        (2024, date(2024, 2, 29)),
        (2017, date(2017, 2, 28)),
        (2023, date(2023, 2, 28)),
        (2100, date(2100, 2, 28)),
    ],
)
def test_a_last_day_monthly_rule_falls_on_the_real_end_of_february(
    year: int, february_end: date
) -> None:
    expansion = expand(Monthly(LAST_DAY, Window(date(year, 1, 1), date(year, 4, 30))), end=None)

    assert days_of(expansion) == [
        date(year, 1, 31),
        february_end,
        date(year, 3, 31),
        date(year, 4, 30),
    ]


def test_day_31_falls_on_the_30th_in_thirty_day_months_and_on_february_end() -> None:
    expansion = expand(Monthly(31, Window(date(2024, 1, 1), date(2024, 12, 31))))

    assert days_of(expansion) == [
        date(2024, 1, 31),
        date(2024, 2, 29),
        date(2024, 3, 31),
        date(2024, 4, 30),
        date(2024, 5, 31),
        date(2024, 6, 30),
        date(2024, 7, 31),
        date(2024, 8, 31),
        date(2024, 9, 30),
        date(2024, 10, 31),
        date(2024, 11, 30),
        date(2024, 12, 31),
    ]


def test_day_30_in_a_non_leap_february_falls_on_the_28th() -> None:
    expansion = expand(Monthly(30, Window(date(2023, 2, 1), date(2023, 3, 31))))

    assert days_of(expansion) == [date(2023, 2, 28), date(2023, 3, 30)]


def test_a_monthly_cutoff_period_runs_from_the_26th_of_last_month_across_new_year() -> None:
    rule = PeriodRule("cutoff", 26, 25)

    expansion = expand(Monthly(25, Window(date(2016, 12, 1), date(2017, 3, 31)), rule))

    assert periods_of(expansion) == [
        (date(2016, 11, 26), date(2016, 12, 25)),
        (date(2016, 12, 26), date(2017, 1, 25)),  # January due: December 26 .. January 25
        (date(2017, 1, 26), date(2017, 2, 25)),
        (date(2017, 2, 26), date(2017, 3, 25)),
    ]


def test_a_cutoff_period_starting_on_the_31st_is_clamped_to_a_short_previous_month() -> None:
    rule = PeriodRule("cutoff", 31, 30)

    assert statistics_period(rule, date(2024, 3, 30)) == (date(2024, 2, 29), date(2024, 3, 30))


def test_a_cutoff_period_from_the_first_to_month_end_stays_in_the_due_month() -> None:
    rule = PeriodRule("cutoff", 1, LAST_DAY)  # TOML: period = { start_day = 1, end_day = "last" }

    assert statistics_period(rule, date(2017, 3, 31)) == (date(2017, 3, 1), date(2017, 3, 31))


def test_a_cutoff_period_within_one_month_stays_in_the_due_month() -> None:
    rule = PeriodRule("cutoff", 1, 20)

    assert statistics_period(rule, date(2017, 1, 25)) == (date(2017, 1, 1), date(2017, 1, 20))


def test_a_previous_month_period_in_january_is_last_december() -> None:
    rule = PeriodRule("previous_month")

    expansion = expand(Monthly(5, Window(date(2017, 1, 1), date(2017, 3, 31)), rule))

    assert periods_of(expansion) == [
        (date(2016, 12, 1), date(2016, 12, 31)),
        (date(2017, 1, 1), date(2017, 1, 31)),
        (date(2017, 2, 1), date(2017, 2, 28)),
    ]


def test_a_current_month_period_is_the_whole_due_month() -> None:
    rule = PeriodRule("current_month")

    assert statistics_period(rule, date(2024, 2, 20)) == (date(2024, 2, 1), date(2024, 2, 29))


def test_an_unknown_period_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown period rule 'weekly'"):
        statistics_period(PeriodRule("weekly"), date(2017, 1, 1))


def test_a_rule_without_a_period_has_none() -> None:
    expansion = expand(Monthly(25, Window(date(2016, 12, 1), date(2016, 12, 31))))

    assert periods_of(expansion) == [None]


def test_an_open_ended_monthly_window_stops_a_horizon_after_now_with_a_warning() -> None:
    plan = a_plan(an_obligation(Monthly(15, Window(date(2024, 1, 1))), "monthly"), end=None)
    now = datetime(2024, 1, 10, 9, 0, tzinfo=SHANGHAI)

    expansion = expand_plan(plan, now)

    assert days_of(expansion) == [date(2024, m, 15) for m in range(1, 13)]
    # (2024-06-15 is a Saturday: that has its own warning, dated_on_day_off.)
    assert [w for w in expansion.warnings if w.code != "dated_on_day_off"] == [
        Notice("open_ended", {"obligation": "monthly", "until": "2024-12-15"}),
    ]


def test_the_open_ended_horizon_is_counted_from_now_in_the_plans_zone() -> None:
    plan = a_plan(an_obligation(Monthly(20, Window(date(2024, 1, 1))), "monthly"), end=None)
    # 2024-01-19 17:00 UTC is already 2024-01-20 01:00 in Shanghai: the horizon is 2025-01-20
    now = datetime(2024, 1, 19, 17, 0, tzinfo=ZoneInfo("UTC"))

    expansion = expand_plan(plan, now)

    assert days_of(expansion)[-1] == date(2025, 1, 20)
    assert len(expansion.deadlines) == 13


def test_a_monthly_window_without_end_is_bounded_by_the_campaign_end_without_warning() -> None:
    expansion = expand(Monthly(15, Window(date(2017, 1, 1))), end=date(2017, 3, 31))

    assert days_of(expansion) == [date(2017, 1, 15), date(2017, 2, 15), date(2017, 3, 15)]
    # (2017-01-15 is a Sunday: that has its own warning, dated_on_day_off.)
    assert "open_ended" not in [w.code for w in expansion.warnings]


def test_an_open_ended_daily_rule_is_flagged_like_any_other_open_ended_rule() -> None:
    plan = a_plan(an_obligation(Daily((Window(date(2024, 1, 1)),)), "daily"), end=None)
    now = datetime(2024, 1, 1, 9, 0, tzinfo=SHANGHAI)

    expansion = expand_plan(plan, now)

    assert days_of(expansion)[-1] == date(2025, 1, 1)
    assert Notice("open_ended", {"obligation": "daily", "until": "2025-01-01"}) in (
        expansion.warnings
    )


# ---- quarterly and yearly ---------------------------------------------------------------


def test_a_quarterly_rule_reports_the_previous_quarter_across_the_year_boundary() -> None:
    rule = PeriodRule("previous_quarter")

    expansion = expand(
        Quarterly((1, 4, 7, 10), 10, Window(date(2017, 1, 1), date(2017, 12, 31)), rule)
    )

    assert [(d.due.date(), d.period) for d in expansion.deadlines] == [
        (date(2017, 1, 10), (date(2016, 10, 1), date(2016, 12, 31))),
        (date(2017, 4, 10), (date(2017, 1, 1), date(2017, 3, 31))),
        (date(2017, 7, 10), (date(2017, 4, 1), date(2017, 6, 30))),
        (date(2017, 10, 10), (date(2017, 7, 1), date(2017, 9, 30))),
    ]


def test_a_quarterly_rule_in_the_last_month_of_each_quarter_on_its_last_day() -> None:
    expansion = expand(
        Quarterly((3, 6, 9, 12), LAST_DAY, Window(date(2016, 12, 1), date(2017, 6, 30)))
    )

    assert days_of(expansion) == [date(2016, 12, 31), date(2017, 3, 31), date(2017, 6, 30)]


def test_a_yearly_rule_falls_once_a_year_and_reports_the_previous_year() -> None:
    rule = PeriodRule("previous_year")

    expansion = expand(Yearly(1, 31, Window(date(2017, 3, 1), date(2019, 12, 31)), rule))

    assert [(d.due.date(), d.period) for d in expansion.deadlines] == [
        (date(2018, 1, 31), (date(2017, 1, 1), date(2017, 12, 31))),
        (date(2019, 1, 31), (date(2018, 1, 1), date(2018, 12, 31))),
    ]


def test_a_yearly_rule_on_february_29_falls_on_the_28th_in_common_years() -> None:
    expansion = expand(Yearly(2, 29, Window(date(2023, 1, 1), date(2024, 12, 31))))

    assert days_of(expansion) == [date(2023, 2, 28), date(2024, 2, 29)]


# ---- relative ---------------------------------------------------------------------------


def test_n_working_days_from_the_tiaoxiu_sunday_before_guoqing_skip_the_holiday_week() -> None:
    expansion = expand(Relative(5, True, date(2019, 9, 29)))

    # 09-30 (1), 10-01..10-07 off, 10-08 (2), 10-09 (3), 10-10 (4), 10-11 (5)
    assert days_of(expansion) == [date(2019, 10, 11)]


def test_six_working_days_from_the_same_anchor_land_on_the_tiaoxiu_saturday() -> None:
    expansion = expand(Relative(6, True, date(2019, 9, 29)))

    assert days_of(expansion) == [date(2019, 10, 12)]


def test_n_working_days_across_chunjie_skip_the_break_and_count_its_tiaoxiu_saturday() -> None:
    expansion = expand(Relative(2, True, date(2017, 1, 26)))

    assert days_of(expansion) == [date(2017, 2, 4)]


def test_n_calendar_days_count_weekends_and_holidays_alike() -> None:
    expansion = expand(Relative(10, False, date(2016, 12, 15)))

    assert days_of(expansion) == [date(2016, 12, 25)]  # a Sunday, kept as is


def test_a_relative_rule_has_one_deadline_keyed_single() -> None:
    expansion = expand(Relative(5, True, date(2016, 12, 15), "下发之日"))

    assert [(d.seq, d.key) for d in expansion.deadlines] == [(1, "single")]


# ---- calendar data: missing years and overrides -----------------------------------------


def test_a_year_without_calendar_data_falls_back_with_a_warning_instead_of_failing() -> None:
    window = Window(date(2027, 1, 1), date(2027, 1, 10))

    expansion = expand(Daily((window,), workdays_only=True), start=date(2027, 1, 1))

    assert days_of(expansion) == [
        date(2027, 1, 1),
        date(2027, 1, 4),
        date(2027, 1, 5),
        date(2027, 1, 6),
        date(2027, 1, 7),
        date(2027, 1, 8),
    ]
    assert expansion.warnings == (Notice("calendar_missing_year", {"year": 2027}),)


def test_relative_working_days_into_a_missing_year_warn_once_for_that_year() -> None:
    expansion = expand(Relative(3, True, date(2026, 12, 30)), start=date(2026, 12, 1))

    assert days_of(expansion) == [date(2027, 1, 4)]
    assert expansion.warnings == (Notice("calendar_missing_year", {"year": 2027}),)


def test_missing_years_are_warned_in_ascending_order_after_other_warnings() -> None:
    plan = a_plan(
        an_obligation(Daily((Window(date(2028, 1, 3), date(2028, 1, 3)),), True), "a"),
        an_obligation(Relative(1, True, date(2027, 1, 1)), "b"),
        an_obligation(Weekly(4, Window(date(2027, 1, 1), date(2027, 1, 6))), "c"),
    )

    expansion = expand_plan(plan, NOW)

    assert expansion.warnings == (
        Notice("no_deadlines", {"obligation": "c"}),
        Notice("calendar_missing_year", {"year": 2027}),
        Notice("calendar_missing_year", {"year": 2028}),
    )


def test_plan_overrides_beat_the_package_data() -> None:
    overrides = CalendarOverrides(
        workdays=frozenset({date(2017, 1, 28)}),  # a 春节 Saturday made working
        holidays=frozenset({date(2017, 1, 22)}),  # the 调休 Sunday made off
    )
    window = Window(date(2017, 1, 20), date(2017, 1, 29))

    expansion = expand(Daily((window,), workdays_only=True), calendar=overrides)

    assert days_of(expansion) == [
        date(2017, 1, 20),
        date(2017, 1, 23),
        date(2017, 1, 24),
        date(2017, 1, 25),
        date(2017, 1, 26),
        date(2017, 1, 28),
    ]


def test_plan_overrides_move_a_relative_working_day_deadline() -> None:
    overrides = CalendarOverrides(holidays=frozenset({date(2019, 9, 30)}))

    expansion = expand(Relative(1, True, date(2019, 9, 29)), calendar=overrides)

    assert days_of(expansion) == [date(2019, 10, 8)]


def test_an_explicit_calendar_is_used_instead_of_the_plans_own() -> None:
    overrides = CalendarOverrides(holidays=frozenset({date(2019, 9, 30)}))
    plan = a_plan(an_obligation(Relative(1, True, date(2019, 9, 29))), calendar=overrides)

    with_plan_days = expand_plan(plan, NOW)
    with_package_only = expand_plan(plan, NOW, WorkdayCalendar())

    assert days_of(with_plan_days) == [date(2019, 10, 8)]
    assert days_of(with_package_only) == [date(2019, 9, 30)]


# ---- due instants and ordering ----------------------------------------------------------


def test_due_instants_are_aware_in_the_plans_zone_at_the_obligations_time() -> None:
    expansion = expand_plan(
        a_plan(an_obligation(Once((date(2016, 12, 15),)), at=time(15, 0))), NOW
    )

    due = expansion.deadlines[0].due
    assert due.tzinfo == SHANGHAI
    assert due.utcoffset() == EIGHT_HOURS
    assert due.isoformat() == "2016-12-15T15:00:00+08:00"


def test_deadlines_are_ordered_by_due_instant_then_by_obligation_order() -> None:
    plan = a_plan(
        an_obligation(Once((date(2016, 12, 15),)), "late-in-day", at=time(17, 30)),
        an_obligation(Once((date(2016, 12, 15),)), "same-time-b", at=time(15, 0)),
        an_obligation(Once((date(2016, 12, 15),)), "same-time-a", at=time(15, 0)),
        an_obligation(Once((date(2016, 12, 14),)), "day-before", at=time(18, 0)),
    )

    expansion = expand_plan(plan, NOW)

    assert [d.obligation_id for d in expansion.deadlines] == [
        "day-before",
        "same-time-b",
        "same-time-a",
        "late-in-day",
    ]


def test_the_same_plan_and_now_always_give_the_same_expansion() -> None:
    plan = a_plan(
        an_obligation(Weekly(4, Window(date(2016, 12, 1), date(2017, 2, 28))), "w"),
        an_obligation(Daily((Window(date(2017, 1, 20), date(2017, 2, 6)),), True), "d"),
    )

    assert expand_plan(plan, NOW) == expand_plan(plan, NOW)


# ---- the Daguan example -----------------------------------------------------------------


def _daguan_expected() -> list[tuple[str, str, str]]:
    weekly = [date(2016, 12, 1) + timedelta(weeks=i) for i in range(13)]
    daily = [date(2016, 12, d) for d in range(19, 24)]
    daily += [date(2017, 1, d) for d in range(9, 14)]
    daily += [date(2017, 2, d) for d in range(10, 15)]
    rows = [("weekly-report", f"{d}T15:00:00+08:00", d.isoformat()) for d in weekly]
    rows += [("daily-report", f"{d}T12:00:00+08:00", d.isoformat()) for d in daily]
    rows += [
        ("liaison-list", "2016-12-15T17:30:00+08:00", "single"),
        ("stage-summary", "2016-12-27T17:30:00+08:00", "2016-12-27"),
        ("stage-summary", "2017-01-17T17:30:00+08:00", "2017-01-17"),
        ("final-summary", "2017-02-23T17:30:00+08:00", "single"),
    ]
    return sorted(rows, key=lambda r: r[1])


def test_the_daguan_example_gives_exactly_its_32_deadlines_in_order() -> None:
    plan = parse_plan(DAGUAN.read_text(encoding="utf-8"), DAGUAN.name)

    expansion = expand_plan(plan, NOW)

    assert [(d.obligation_id, d.due.isoformat(), d.key) for d in expansion.deadlines] == (
        _daguan_expected()
    )
    assert len(expansion.deadlines) == 32
    # The notice was issued on 2016-12-15, two weeks into the campaign it announces; its
    # weekly Thursday 2017-02-02 falls in the Spring Festival holiday, and is kept as written.
    assert [(w.code, w.params["count"]) for w in expansion.warnings] == [
        ("before_issued", 2),
        ("weekly_on_holiday", 1),
    ]
    assert "2017-02-02" in expansion.warnings[1].params["deadlines"]


def test_the_daguan_weekly_report_has_13_thursdays_from_december_1_to_february_23() -> None:
    plan = parse_plan(DAGUAN.read_text(encoding="utf-8"), DAGUAN.name)

    expansion = expand_plan(plan, NOW)

    weekly = [d for d in expansion.deadlines if d.obligation_id == "weekly-report"]
    assert [d.seq for d in weekly] == list(range(1, 14))
    assert {d.due.isoweekday() for d in weekly} == {4}
    assert (weekly[0].due.date(), weekly[-1].due.date()) == (date(2016, 12, 1), date(2017, 2, 23))


def test_the_daguan_expansion_does_not_depend_on_now() -> None:
    plan = parse_plan(DAGUAN.read_text(encoding="utf-8"), DAGUAN.name)

    early = expand_plan(plan, datetime(2016, 1, 1, tzinfo=SHANGHAI))
    late = expand_plan(plan, datetime(2030, 1, 1, tzinfo=SHANGHAI))

    assert early == late


def test_deadlines_before_the_issue_date_are_warned_about_not_dropped() -> None:
    text = DAGUAN.read_text(encoding="utf-8").replace("issued = 2016-12-15", "issued = 2017-03-15")
    plan = parse_plan(text, DAGUAN.name)

    expansion = expand_plan(plan, NOW)

    assert len(expansion.deadlines) == 32
    assert {w.params["obligation"] for w in expansion.warnings if w.code == "before_issued"} == {
        o.id for o in plan.obligations
    }
