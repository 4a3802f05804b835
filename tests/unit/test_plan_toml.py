"""parse_plan: the Daguan example reads whole; each realistic mistake in it is named exactly.

Broken plans are the Daguan example with one edit, so they look like what an office
would really send.
"""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from domain.forms import FieldType
from domain.plan import (
    LAST_DAY,
    CalendarOverrides,
    Contact,
    Daily,
    Monthly,
    Once,
    PeriodRule,
    Phase,
    Quarterly,
    Relative,
    Weekly,
    Window,
    Yearly,
)
from domain.plan_toml import PlanError, parse_plan

DAGUAN = (
    Path(__file__).resolve().parents[2] / "examples" / "plans" / "daguan-2017-anticounterfeit.toml"
)
TEXT = DAGUAN.read_text(encoding="utf-8")
SOURCE = "daguan.toml"

FINAL_SCHEDULE = 'schedule = { kind = "once", date = 2017-02-23 }'
WEEKLY_SCHEDULE = (
    'schedule = { kind = "weekly", weekday = 4, start = 2016-12-01, end = 2017-02-28 }'
)
DAILY_WINDOWS = "windows = [[2016-12-19, 2016-12-23], [2017-01-09, 2017-01-13]"
COORDINATOR = 'coordinator = "12315投诉举报中心"          # 牵头单位: receives every report\n'
FORMS_BANNER = "# ---- forms ----"


def edited(old: str, new: str) -> str:
    """The Daguan text with `old`, which must occur exactly once, replaced by `new`."""
    assert TEXT.count(old) == 1, old
    return TEXT.replace(old, new)


def final_schedule(schedule: str) -> str:
    return edited(FINAL_SCHEDULE, f"schedule = {schedule}")


def error_of(text: str) -> tuple[str, str, dict[str, Any]]:
    with pytest.raises(PlanError) as info:
        parse_plan(text, SOURCE)
    assert info.value.source == SOURCE
    return info.value.code, info.value.where, info.value.params


# ---- the example as written -------------------------------------------------------------


def test_the_daguan_example_reads_its_campaign() -> None:
    plan = parse_plan(TEXT, SOURCE)

    assert (plan.id, plan.name, plan.office, plan.coordinator) == (
        "daguan-2017-anticounterfeit",
        "2017年元旦春节期间打假专项行动",
        "大观区市场监督管理局",
        "12315投诉举报中心",
    )
    assert (plan.issued, plan.timezone, plan.default_time) == (
        date(2016, 12, 15),
        "Asia/Shanghai",
        time(17, 30),
    )
    assert plan.period == Window(date(2016, 12, 1), date(2017, 2, 28))
    assert plan.calendar == CalendarOverrides()
    assert plan.export is None


def test_the_daguan_example_reads_its_phases_and_units() -> None:
    plan = parse_plan(TEXT, SOURCE)

    assert plan.phases == (
        Phase("动员部署", Window(date(2016, 12, 1), date(2016, 12, 10))),
        Phase("集中整治", Window(date(2016, 12, 11), date(2017, 2, 15))),
        Phase("总结提高", Window(date(2017, 2, 16), date(2017, 2, 28))),
    )
    assert [u.id for u in plan.units] == [
        "dekuan",
        "yulin",
        "jixian",
        "linghu",
        "huashan",
        "haikou",
    ]
    assert plan.unit("linghu").name == "菱湖市场监管所"
    assert {u.group for u in plan.units} == {"市场监管所"}


def test_the_daguan_example_reads_its_forms_and_fields() -> None:
    plan = parse_plan(TEXT, SOURCE)

    stats = plan.forms["stats"]
    case_value = stats.field("case_value")
    assert list(plan.forms) == ["liaison", "stats", "summary"]
    assert (stats.title, stats.allow_nil) == ("打假统计报表", True)
    assert (case_value.type, case_value.unit, case_value.min, case_value.places) == (
        FieldType.DECIMAL,
        "万元",
        Decimal(0),
        4,
    )
    assert [f.id for f in stats.file_fields] == ["attachment"]
    assert plan.forms["liaison"].field("title").required is False
    assert plan.forms["liaison"].field("name").max_length == 20


def test_the_daguan_example_reads_every_obligations_schedule_and_time() -> None:
    plan = parse_plan(TEXT, SOURCE)

    assert [(o.id, o.form, o.schedule, o.time) for o in plan.obligations] == [
        ("liaison-list", "liaison", Once((date(2016, 12, 15),)), time(17, 30)),
        (
            "weekly-report",
            "stats",
            Weekly(4, Window(date(2016, 12, 1), date(2017, 2, 28))),
            time(15, 0),
        ),
        (
            "daily-report",
            "stats",
            Daily(
                (
                    Window(date(2016, 12, 19), date(2016, 12, 23)),
                    Window(date(2017, 1, 9), date(2017, 1, 13)),
                    Window(date(2017, 2, 10), date(2017, 2, 14)),
                )
            ),
            time(12, 0),
        ),
        ("stage-summary", "summary", Once((date(2016, 12, 27), date(2017, 1, 17))), time(17, 30)),
        ("final-summary", "summary", Once((date(2017, 2, 23),)), time(17, 30)),
    ]
    assert all(o.units is None for o in plan.obligations)
    assert plan.obligation("weekly-report").recipient == "12315投诉举报中心"


# ---- other schedule kinds, written into the final obligation -----------------------------


def test_a_relative_schedule_defaults_to_working_days_from_the_issue_date() -> None:
    plan = parse_plan(final_schedule('{ kind = "relative", offset = 5 }'), SOURCE)

    assert plan.obligations[-1].schedule == Relative(5, True, date(2016, 12, 15), "")


def test_a_relative_schedule_in_calendar_days_from_a_named_anchor() -> None:
    schedule = (
        '{ kind = "relative", offset = 10, unit = "days", anchor = 2017-02-14, '
        'anchor_label = "集中行动结束" }'
    )

    plan = parse_plan(final_schedule(schedule), SOURCE)

    assert plan.obligations[-1].schedule == Relative(10, False, date(2017, 2, 14), "集中行动结束")


@pytest.mark.parametrize("day", ['"last"', '"end"', '"月底"', "-1"])
def test_a_monthly_month_end_can_be_written_several_ways(day: str) -> None:
    plan = parse_plan(final_schedule(f'{{ kind = "monthly", day = {day} }}'), SOURCE)

    assert plan.obligations[-1].schedule == Monthly(
        LAST_DAY, Window(date(2016, 12, 1), date(2017, 2, 28))
    )


def test_a_monthly_cutoff_period_is_read_as_start_and_end_days() -> None:
    schedule = '{ kind = "monthly", day = 25, period = { start_day = 26, end_day = 25 } }'

    plan = parse_plan(final_schedule(schedule), SOURCE)

    assert plan.obligations[-1].schedule == Monthly(
        25, Window(date(2016, 12, 1), date(2017, 2, 28)), PeriodRule("cutoff", 26, 25)
    )


def test_a_quarterly_schedule_defaults_to_the_first_month_of_each_quarter() -> None:
    schedule = '{ kind = "quarterly", day = 10, period = "previous_quarter", end = 2018-12-31 }'

    plan = parse_plan(final_schedule(schedule), SOURCE)

    assert plan.obligations[-1].schedule == Quarterly(
        (1, 4, 7, 10),
        10,
        Window(date(2016, 12, 1), date(2018, 12, 31)),
        PeriodRule("previous_quarter"),
    )


def test_a_yearly_schedule_reads_its_month_and_day() -> None:
    schedule = '{ kind = "yearly", month = 1, day = 31, period = "previous_year" }'

    plan = parse_plan(final_schedule(schedule), SOURCE)

    assert plan.obligations[-1].schedule == Yearly(
        1, 31, Window(date(2016, 12, 1), date(2017, 2, 28)), PeriodRule("previous_year")
    )


def test_a_daily_schedule_may_be_limited_to_working_days() -> None:
    text = edited(DAILY_WINDOWS, "workdays_only = true, " + DAILY_WINDOWS)

    plan = parse_plan(text, SOURCE)

    schedule = plan.obligation("daily-report").schedule
    assert isinstance(schedule, Daily)
    assert schedule.workdays_only is True


def test_string_dates_are_accepted_and_once_dates_are_sorted_without_repeats() -> None:
    text = edited(
        "dates = [2016-12-27, 2017-01-17]", 'dates = ["2017-01-17", 2016-12-27, 2017-01-17]'
    )

    plan = parse_plan(text, SOURCE)

    assert plan.obligation("stage-summary").schedule == Once(
        (date(2016, 12, 27), date(2017, 1, 17))
    )


def test_an_obligation_for_some_units_lists_them_and_all_means_every_unit() -> None:
    text = edited('form = "liaison"\n', 'form = "liaison"\nunits = ["dekuan", "haikou"]\n')
    text = text.replace(
        'form = "stats"\ntime = "15:00"\n', 'form = "stats"\ntime = "15:00"\nunits = "all"\n'
    )

    plan = parse_plan(text, SOURCE)

    assert plan.obligation("liaison-list").units == ("dekuan", "haikou")
    assert plan.obligation("weekly-report").units is None
    assert [u.id for u in plan.units_for(plan.obligation("liaison-list"))] == ["dekuan", "haikou"]


def test_a_calendar_table_declares_extra_working_days_and_holidays() -> None:
    text = edited(
        FORMS_BANNER,
        "[calendar]\nworkdays = [2017-01-21]\n"
        "holidays = [2017-01-26, 2017-02-03]\n\n" + FORMS_BANNER,
    )

    plan = parse_plan(text, SOURCE)

    assert plan.calendar == CalendarOverrides(
        frozenset({date(2017, 1, 21)}), frozenset({date(2017, 1, 26), date(2017, 2, 3)})
    )


# ---- missing keys and wrong types -------------------------------------------------------


def test_a_missing_coordinator_is_named_by_its_key_path() -> None:
    assert error_of(edited(COORDINATOR, "")) == ("missing_key", "campaign.coordinator", {})


def test_an_obligation_without_a_form_is_named_by_index() -> None:
    text = edited('form = "liaison"\n', "")

    assert error_of(text) == ("missing_key", "obligations[0].form", {})


def test_a_misspelt_required_key_is_reported_as_the_missing_key() -> None:
    text = edited("weekday = 4", "weekdy = 4")

    assert error_of(text) == ("missing_key", "obligations[1].schedule.weekday", {})


def test_a_choice_field_without_options_is_missing_its_options() -> None:
    text = edited('label = "职务"\ntype = "text"', 'label = "职务"\ntype = "choice"')

    assert error_of(text) == ("missing_key", "forms.liaison.fields[1].options", {})


@pytest.mark.parametrize(
    ("old", "new", "where", "expected", "got"),
    [
        ("weekday = 4", 'weekday = "4"', "obligations[1].schedule.weekday", "integer", "string"),
        ("weekday = 4", "weekday = 4.0", "obligations[1].schedule.weekday", "integer", "number"),
        (
            "weekday = 4",
            "weekday = true",
            "obligations[1].schedule.weekday",
            "integer",
            "true/false",
        ),
        (COORDINATOR, "coordinator = 12315\n", "campaign.coordinator", "string", "integer"),
        ("allow_nil = true", 'allow_nil = "是"', "forms.stats.allow_nil", "true/false", "string"),
        (
            "issued = 2016-12-15",
            "issued = 2016-12-15T09:00:00",
            "campaign.issued",
            "date or string",
            "date-time",
        ),
        ('time = "15:00"', "time = 1500", "obligations[1].time", "string or time", "integer"),
        (
            "max_length = 30",
            'max_length = "30"',
            "forms.liaison.fields[1].max_length",
            "integer",
            "string",
        ),
    ],
)
def test_a_value_of_the_wrong_type_names_the_expected_and_actual_types(
    old: str, new: str, where: str, expected: str, got: str
) -> None:
    assert error_of(edited(old, new)) == ("wrong_type", where, {"expected": expected, "got": got})


def test_a_schedule_that_is_not_a_table_is_the_wrong_type() -> None:
    text = edited(FINAL_SCHEDULE, 'schedule = "2017年2月23日"')

    assert error_of(text) == (
        "wrong_type",
        "obligations[4].schedule",
        {"expected": "table", "got": "string"},
    )


def test_a_single_unit_written_as_a_string_is_refused() -> None:
    text = edited('form = "liaison"\n', 'form = "liaison"\nunits = "dekuan"\n')

    assert error_of(text) == ("bad_units", "obligations[0].units", {})


# ---- dates that do not exist ------------------------------------------------------------


def test_a_toml_date_that_does_not_exist_is_named_by_line() -> None:
    text = edited(FINAL_SCHEDULE, 'schedule = { kind = "once", date = 2017-02-30 }')

    assert error_of(text) == ("no_such_date", "line 234", {"value": "2017-02-30"})


def test_a_campaign_start_on_november_31_is_named_by_line() -> None:
    text = edited(
        "start = 2016-12-01                         # 自",
        "start = 2016-11-31                         # 自",
    )

    assert error_of(text) == ("no_such_date", "line 13", {"value": "2016-11-31"})


def test_an_impossible_date_inside_a_daily_window_is_named_by_line() -> None:
    text = edited("[2017-02-10, 2017-02-14]", "[2017-02-10, 2017-02-30]")

    assert error_of(text) == ("no_such_date", "line 218", {"value": "2017-02-30"})


def test_an_impossible_date_in_a_comment_is_not_blamed_for_a_syntax_error() -> None:
    text = edited("# 发布时间\n", "# 发布时间 (not 2016-02-30)\n")
    text = text.replace('timezone = "Asia/Shanghai" ', 'timezone = "Asia/Shanghai ')

    assert error_of(text) == ("toml_syntax", "line 12", {"detail": "Illegal character '\\n'"})


def test_an_impossible_date_written_as_a_string_is_named_by_key_path() -> None:
    assert error_of(edited("issued = 2016-12-15", 'issued = "2016-12-32"')) == (
        "no_such_date",
        "campaign.issued",
        {"value": "2016-12-32"},
    )


def test_an_impossible_string_date_in_a_dates_list_is_named_by_its_index() -> None:
    text = edited("dates = [2016-12-27, 2017-01-17]", 'dates = [2016-12-27, "2017-02-30"]')

    assert error_of(text) == (
        "no_such_date",
        "obligations[3].schedule.dates[1]",
        {"value": "2017-02-30"},
    )


# ---- unknown keys, forms, units and choices ---------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        (
            'recipient = "12315投诉举报中心"\nnote = "安排',
            'recipent = "12315投诉举报中心"\nnote = "安排',
            "obligations[0].recipent",
        ),
        ('timezone = "Asia/Shanghai"', 'timezon = "Asia/Shanghai"', "campaign.timezon"),
        (
            DAILY_WINDOWS,
            "workday_only = true, " + DAILY_WINDOWS,
            "obligations[2].schedule.workday_only",
        ),
        ("max_length = 30", "maxlength = 30", "forms.liaison.fields[1].maxlength"),
        ('name = "动员部署"', 'name = "动员部署"\nstage = 1', "phases[0].stage"),
        (
            'name = "花山市场监管所"',
            'name = "花山市场监管所"\nphone = "0556-5542026"',
            "units[4].phone",
        ),
        (FORMS_BANNER, "[calender]\nworkdays = [2017-01-21]\n\n" + FORMS_BANNER, "calender"),
    ],
)
def test_an_unknown_key_is_refused_so_a_typo_is_never_ignored(
    old: str, new: str, where: str
) -> None:
    assert error_of(edited(old, new)) == ("unknown_key", where, {})


def test_an_obligation_naming_an_unknown_form_lists_the_known_ones() -> None:
    text = edited('form = "stats"\ntime = "15:00"', 'form = "stat"\ntime = "15:00"')

    assert error_of(text) == (
        "unknown_form",
        "obligations[1].form",
        {"value": "stat", "known": "liaison, stats, summary"},
    )


def test_an_obligation_naming_an_unknown_unit_names_it() -> None:
    text = edited('form = "liaison"\n', 'form = "liaison"\nunits = ["dekuan", "yulinlu"]\n')

    assert error_of(text) == ("unknown_unit", "obligations[0].units", {"value": "yulinlu"})


def test_a_relative_offset_in_an_unknown_unit_lists_the_allowed_ones() -> None:
    text = final_schedule('{ kind = "relative", offset = 2, unit = "weeks" }')

    assert error_of(text) == (
        "bad_choice",
        "obligations[4].schedule.unit",
        {"value": "weeks", "allowed": "workdays, days"},
    )


def test_an_unknown_schedule_kind_lists_the_known_ones() -> None:
    text = edited(WEEKLY_SCHEDULE, WEEKLY_SCHEDULE.replace('"weekly"', '"biweekly"'))

    assert error_of(text) == (
        "bad_choice",
        "obligations[1].schedule.kind",
        {
            "value": "biweekly",
            "allowed": "once, weekly, daily, monthly, quarterly, yearly, relative",
        },
    )


def test_an_unknown_field_type_lists_the_known_ones() -> None:
    text = edited(
        'label = "出动执法人员"\ntype = "integer"', 'label = "出动执法人员"\ntype = "number"'
    )

    assert error_of(text) == (
        "bad_choice",
        "forms.stats.fields[0].type",
        {
            "value": "number",
            "allowed": "integer, decimal, text, longtext, choice, multichoice, date, file",
        },
    )


def test_an_unknown_period_name_is_refused() -> None:
    text = final_schedule('{ kind = "monthly", day = 5, period = "last_month" }')

    code, where, params = error_of(text)

    assert (code, where, params["value"]) == (
        "bad_choice",
        "obligations[4].schedule.period",
        "last_month",
    )


def test_an_unknown_key_inside_a_cutoff_period_is_refused() -> None:
    text = final_schedule(
        '{ kind = "monthly", day = 25, period = { start_day = 26, end_day = 25, start = 1 } }'
    )

    assert error_of(text) == ("unknown_key", "obligations[4].schedule.period.start", {})


def test_a_bad_time_zone_is_named() -> None:
    text = edited('timezone = "Asia/Shanghai"', 'timezone = "Asia/Beijing"')

    assert error_of(text) == ("bad_timezone", "campaign.timezone", {"value": "Asia/Beijing"})


# ---- out of range values ----------------------------------------------------------------


@pytest.mark.parametrize("weekday", [0, 8])
def test_a_weekday_outside_monday_to_sunday_is_out_of_range(weekday: int) -> None:
    text = edited("weekday = 4", f"weekday = {weekday}")

    assert error_of(text) == (
        "out_of_range",
        "obligations[1].schedule.weekday",
        {"low": 1, "high": 7, "value": weekday},
    )


@pytest.mark.parametrize("day", [0, 32, -2])
def test_a_day_of_month_outside_1_to_31_is_out_of_range(day: int) -> None:
    text = final_schedule(f'{{ kind = "monthly", day = {day} }}')

    assert error_of(text) == (
        "out_of_range",
        "obligations[4].schedule.day",
        {"low": 1, "high": 31, "value": day},
    )


def test_a_day_of_month_in_words_other_than_month_end_is_out_of_range() -> None:
    text = final_schedule('{ kind = "monthly", day = "15日" }')

    assert error_of(text) == (
        "out_of_range",
        "obligations[4].schedule.day",
        {"low": 1, "high": 31, "value": "15日"},
    )


def test_a_quarter_month_13_is_out_of_range() -> None:
    text = final_schedule('{ kind = "quarterly", months = [3, 13], day = 10 }')

    assert error_of(text) == (
        "out_of_range",
        "obligations[4].schedule.months",
        {"low": 1, "high": 12, "value": (3, 13)},
    )


def test_a_yearly_month_13_is_out_of_range() -> None:
    text = final_schedule('{ kind = "yearly", month = 13, day = 1 }')

    assert error_of(text) == (
        "out_of_range",
        "obligations[4].schedule.month",
        {"low": 1, "high": 12, "value": 13},
    )


def test_a_negative_relative_offset_is_out_of_range() -> None:
    text = final_schedule('{ kind = "relative", offset = -1 }')

    assert error_of(text) == (
        "out_of_range",
        "obligations[4].schedule.offset",
        {"low": 0, "high": "∞", "value": -1},
    )


@pytest.mark.parametrize("clock", ["25:00", "15:60", "下午3点", "1500"])
def test_a_clock_time_that_is_not_hh_mm_is_a_bad_time(clock: str) -> None:
    text = edited('time = "15:00"', f'time = "{clock}"')

    assert error_of(text) == ("bad_time", "obligations[1].time", {"value": clock})


# ---- end before start -------------------------------------------------------------------


def test_a_campaign_ending_before_it_starts_is_refused_at_its_end() -> None:
    text = edited(
        "end = 2017-02-28                           # 至",
        "end = 2016-11-28                           # 至",
    )

    assert error_of(text) == ("end_before_start", "campaign.end", {})


def test_a_weekly_schedule_ending_before_it_starts_is_refused_at_its_end() -> None:
    text = edited(WEEKLY_SCHEDULE, WEEKLY_SCHEDULE.replace("end = 2017-02-28", "end = 2016-11-30"))

    assert error_of(text) == ("end_before_start", "obligations[1].schedule.end", {})


def test_a_daily_window_written_backwards_is_refused_at_its_end() -> None:
    text = edited("[2016-12-19, 2016-12-23]", "[2016-12-23, 2016-12-19]")

    assert error_of(text) == ("end_before_start", "obligations[2].schedule.windows[0].end", {})


def test_a_daily_window_that_is_not_a_pair_is_a_bad_window() -> None:
    text = edited("[2017-01-09, 2017-01-13]", "[2017-01-09]")

    assert error_of(text) == ("bad_window", "obligations[2].schedule.windows[1]", {})


def test_a_phase_ending_before_it_starts_is_refused_at_its_end() -> None:
    text = edited("start = 2016-12-11\nend = 2017-02-15", "start = 2016-12-11\nend = 2016-12-01")

    assert error_of(text) == ("end_before_start", "phases[1].end", {})


# ---- identifiers and the calendar -------------------------------------------------------


def test_two_obligations_with_the_same_id_are_refused() -> None:
    text = edited('id = "weekly-report"', 'id = "liaison-list"')

    assert error_of(text) == ("duplicate_id", "obligations[1].id", {"value": "liaison-list"})


def test_two_units_with_the_same_id_are_refused() -> None:
    text = edited('id = "haikou"', 'id = "dekuan"')

    assert error_of(text) == ("duplicate_id", "units[5].id", {"value": "dekuan"})


def test_a_campaign_id_in_chinese_is_not_an_id() -> None:
    text = edited('id = "daguan-2017-anticounterfeit"', 'id = "大观区打假"')

    assert error_of(text) == ("bad_id", "campaign.id", {"value": "大观区打假"})


def test_a_day_both_working_and_off_is_refused() -> None:
    text = edited(
        FORMS_BANNER,
        "[calendar]\nworkdays = [2017-01-22]\nholidays = [2017-01-22]\n\n" + FORMS_BANNER,
    )

    assert error_of(text) == ("day_both_ways", "calendar.workdays", {"value": "2017-01-22"})


def test_a_calendar_day_written_as_a_string_is_the_wrong_type() -> None:
    text = edited(
        FORMS_BANNER, '[calendar]\nworkdays = [2017-01-22, "2017-02-04"]\n\n' + FORMS_BANNER
    )

    assert error_of(text) == (
        "wrong_type",
        "calendar.workdays[1]",
        {"expected": "date", "got": "string"},
    )


def test_a_field_maximum_below_its_minimum_is_refused() -> None:
    text = edited('unit = "人次"\nmin = 0', 'unit = "人次"\nmin = 10\nmax = 5')

    assert error_of(text) == ("max_below_min", "forms.stats.fields[0].max", {})


# ---- TOML syntax ------------------------------------------------------------------------


def test_an_unterminated_string_is_a_syntax_error_on_its_line() -> None:
    text = edited('timezone = "Asia/Shanghai" ', 'timezone = "Asia/Shanghai ')

    assert error_of(text) == ("toml_syntax", "line 12", {"detail": "Illegal character '\\n'"})


def test_a_key_without_an_equals_sign_is_a_syntax_error_on_its_line() -> None:
    text = edited("weekday = 4,", "weekday 4,")

    assert error_of(text) == (
        "toml_syntax",
        "line 209",
        {"detail": "Expected '=' after a key in a key/value pair"},
    )


def test_a_half_closed_array_of_tables_header_is_a_syntax_error_on_its_line() -> None:
    text = edited('[[phases]]\nname = "集中整治"', '[[phases]\nname = "集中整治"')

    assert error_of(text) == (
        "toml_syntax",
        "line 22",
        {"detail": "Expected ']]' at the end of an array declaration"},
    )


def test_a_plan_error_prints_as_source_place_and_code() -> None:
    text = edited('form = "stats"\ntime = "15:00"', 'form = "stat"\ntime = "15:00"')

    with pytest.raises(PlanError) as info:
        parse_plan(text, SOURCE)

    assert str(info.value) == (
        "daguan.toml: obligations[1].form: unknown_form "
        "{'value': 'stat', 'known': 'liaison, stats, summary'}"
    )


def test_a_date_in_another_shape_is_a_format_error_not_an_impossible_day() -> None:
    assert error_of(edited("issued = 2016-12-15", 'issued = "2016/12/15"')) == (
        "bad_date",
        "campaign.issued",
        {"value": "2016/12/15"},
    )


def test_a_unit_may_name_its_liaison_and_deputy_by_mobile_or_dingtalk_id() -> None:
    text = TEXT.replace(
        'name = "德宽路市场监管所"\n',
        'name = "德宽路市场监管所"\n'
        'liaison = { name = "李明", mobile = "+86 138-0000-0001" }\n'
        'deputy = { dingtalk = "zhanghua02" }\n',
        1,
    )
    [dekuan, *_] = parse_plan(text, "daguan.toml").units
    assert dekuan.contacts == (
        Contact("liaison", "李明", "", "13800000001"),
        Contact("deputy", "", "zhanghua02", ""),
    )


@pytest.mark.parametrize(
    ("contact", "code"),
    [
        ('{ name = "李明", mobile = "0556-5542026" }', "bad_mobile"),
        ('{ name = "李明" }', "contact_needs_id"),
        ('{ name = "李明", phone = "13800000001" }', "unknown_key"),
    ],
)
def test_a_contact_without_a_usable_id_is_refused_by_name(contact: str, code: str) -> None:
    text = TEXT.replace(
        'name = "德宽路市场监管所"\n', f'name = "德宽路市场监管所"\nliaison = {contact}\n', 1
    )
    with pytest.raises(PlanError) as caught:
        parse_plan(text, "daguan.toml")
    assert caught.value.code == code
