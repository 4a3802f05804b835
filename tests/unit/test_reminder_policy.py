"""The reminder policy: which nudges each deadline gets and when, with `now` passed in.

Working days are the State Council's: 2017 元旦 12-31..01-02 off; 春节 01-27..02-02 off,
01-22 (Sun) and 02-04 (Sat) working. Times are Beijing time.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from domain.plan import Cadence
from domain.plan_toml import parse_plan
from scheduler.calendar import WorkdayCalendar
from scheduler.deadlines import expand_plan
from scheduler.nudge_policy import (
    DEFAULTS,
    Placement,
    QuietHours,
    ReminderSyntaxError,
    Step,
    current,
    default_policy,
    due_now,
    for_role,
    next_instant,
    parse_policy,
    policy_for,
    schedule,
)

DAGUAN = (
    Path(__file__).resolve().parents[2]
    / "examples"
    / "plans"
    / ("daguan-2017-anticounterfeit.toml")
)
BJ = ZoneInfo("Asia/Shanghai")
PLACEMENT = Placement(WorkdayCalendar())


def bj(month: int, day: int, hour: int, minute: int = 0, year: int = 2017) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BJ)


def plan(
    entries: list[str] | tuple[str, ...], due: datetime, placement: Placement = PLACEMENT
) -> list[tuple[str, str]]:
    """The steps as (name, "MM-DD HH:MM") pairs: easy to read in a failing assertion."""
    return [
        (s.name, f"{s.at:%m-%d %H:%M}") for s in schedule(parse_policy(entries), due, placement)
    ]


def default(cadence: Cadence, due: datetime) -> list[tuple[str, str]]:
    return plan(DEFAULTS[cadence], due)


# ---- defaults by cadence ---------------------------------------------------------------


def test_a_one_off_deadline_is_nudged_3_and_1_workdays_and_2h_before_then_5_days_late() -> None:
    # 阶段工作小结 due Tuesday 2017-01-17 17:30; the fourth overdue day is the 调休 Sunday.
    assert default(Cadence.ONCE, bj(1, 17, 17, 30)) == [
        ("before-3wd", "01-12 09:00"),
        ("before-1wd", "01-16 09:00"),
        ("before-2h", "01-17 15:30"),
        ("due", "01-17 17:30"),
        ("overdue-1", "01-18 09:00"),
        ("overdue-2", "01-19 09:00"),
        ("overdue-3", "01-20 09:00"),
        ("overdue-4", "01-22 09:00"),
        ("overdue-5", "01-23 09:00"),
    ]


@pytest.mark.parametrize(
    "cadence", [Cadence.MONTHLY, Cadence.QUARTERLY, Cadence.YEARLY, Cadence.RELATIVE]
)
def test_monthly_quarterly_yearly_and_relative_deadlines_are_nudged_like_one_off_ones(
    cadence: Cadence,
) -> None:
    assert default(cadence, bj(1, 17, 17, 30)) == default(Cadence.ONCE, bj(1, 17, 17, 30))


def test_a_weekly_deadline_gets_the_working_day_before_two_hours_before_and_the_due_notice() -> (
    None
):
    # 信息周报, Thursday 2017-01-05 15:00.
    assert default(Cadence.WEEKLY, bj(1, 5, 15)) == [
        ("before-1wd", "01-04 09:00"),
        ("before-2h", "01-05 13:00"),
        ("due", "01-05 15:00"),
    ]


def test_a_daily_deadline_gets_two_hours_before_and_the_due_notice() -> None:
    assert default(Cadence.DAILY, bj(1, 10, 12)) == [
        ("before-2h", "01-10 10:00"),
        ("due", "01-10 12:00"),
    ]


def test_the_working_day_before_a_monday_is_the_friday() -> None:
    assert default(Cadence.WEEKLY, bj(1, 9, 15))[0] == ("before-1wd", "01-06 09:00")


def test_working_days_skip_new_year_and_count_the_make_up_sunday() -> None:
    # Due Wednesday 2017-01-04: 1-3 working days before are 01-03, 12-30, 12-29.
    assert default(Cadence.ONCE, bj(1, 4, 17, 30))[:2] == [
        ("before-3wd", "12-29 09:00"),
        ("before-1wd", "01-03 09:00"),
    ]
    # Due Monday 2017-01-23: the working day before is the 调休 Sunday 01-22.
    assert default(Cadence.WEEKLY, bj(1, 23, 15))[0] == ("before-1wd", "01-22 09:00")


# ---- quiet hours and days off ------------------------------------------------------------


def test_a_nudge_in_the_early_morning_waits_for_the_end_of_quiet_hours() -> None:
    assert plan(["-3h"], bj(1, 10, 10)) == [("before-3h", "01-10 08:00")]


def test_a_due_notice_late_in_the_evening_goes_out_the_next_working_morning() -> None:
    # Friday 2017-01-06 22:00: Saturday and Sunday are off.
    assert plan(["0"], bj(1, 6, 22)) == [("due", "01-09 08:00")]


def test_the_ends_of_quiet_hours_are_allowed() -> None:
    quiet = QuietHours()

    assert quiet.allows(time(21, 0)) and quiet.allows(time(8, 0))
    assert not quiet.allows(time(21, 1)) and not quiet.allows(time(7, 59))
    assert plan(["0"], bj(1, 10, 21)) == [("due", "01-10 21:00")]


def test_quiet_hours_are_configurable_and_may_be_switched_off() -> None:
    late = Placement(WorkdayCalendar(), QuietHours(time(22, 30), time(7, 0)))
    none = Placement(WorkdayCalendar(), QuietHours(time(0), time(0)))

    assert plan(["-3h"], bj(1, 10, 10), late) == [("before-3h", "01-10 07:00")]
    assert plan(["-3h"], bj(1, 10, 10), none) == [("before-3h", "01-10 07:00")]
    assert plan(["0"], bj(1, 10, 22, 45), late) == [("due", "01-11 07:00")]
    assert plan(["0"], bj(1, 10, 23, 45), none) == [("due", "01-10 23:45")]


def test_a_weekly_deadline_on_the_spring_festival_holiday_is_nudged_before_and_after_it() -> None:
    # Thursday 2017-02-02 is the last day of 春节. Two hours before falls on the holiday
    # and the next allowed time is after the deadline: it moves back to 01-26 21:00,
    # a day that already had a nudge, so it is skipped. The due notice waits for 02-03.
    assert default(Cadence.WEEKLY, bj(2, 2, 15)) == [
        ("before-1wd", "01-26 09:00"),
        ("due", "02-03 08:00"),
    ]


def test_no_nudge_ever_falls_on_spring_festival_saturday_2017_01_28() -> None:
    found: list[tuple[str, datetime]] = []
    for cadence in Cadence:
        day = date(2017, 1, 20)
        while day <= date(2017, 2, 10):
            for clock in (time(8), time(12), time(17, 30), time(22)):
                due = datetime.combine(day, clock, tzinfo=BJ)
                found += [
                    (s.name, due)
                    for s in schedule(default_policy(cadence), due, PLACEMENT)
                    if s.at.date() == date(2017, 1, 28)
                ]
            day += timedelta(days=1)

    assert found == []


def test_a_deadline_sooner_than_the_shifted_time_is_nudged_at_the_latest_time_before_it() -> None:
    # A daily report due Saturday 2017-02-11 12:00: two hours before is a day off, the
    # next allowed time (Monday 08:00) is too late, so it goes out Friday at 21:00.
    assert default(Cadence.DAILY, bj(2, 11, 12)) == [
        ("before-2h", "02-10 21:00"),
        ("due", "02-13 08:00"),
    ]


def test_a_moved_back_nudge_is_skipped_on_a_day_that_already_had_one() -> None:
    # Due Monday 2017-01-09 08:00: two hours before is Monday 06:00, quiet; moving it
    # back lands on Friday 21:00, the day of the working-day-before nudge.
    assert default(Cadence.WEEKLY, bj(1, 9, 8)) == [
        ("before-1wd", "01-06 09:00"),
        ("due", "01-09 08:00"),
    ]


def test_a_nudge_landing_on_an_earlier_one_is_dropped() -> None:
    assert plan(["-2h", "-150m"], bj(1, 10, 10)) == [("before-150m", "01-10 08:00")]


def test_an_overdue_day_that_already_had_the_due_notice_is_dropped() -> None:
    # A one-off due Saturday 2017-02-11 12:00: the due notice waits for Monday 08:00, and
    # the first overdue day is that same Monday, so it gives way (once a day).
    assert default(Cadence.ONCE, bj(2, 11, 12))[2:] == [
        ("due", "02-13 08:00"),
        ("overdue-2", "02-14 09:00"),
        ("overdue-3", "02-15 09:00"),
        ("overdue-4", "02-16 09:00"),
        ("overdue-5", "02-17 09:00"),
    ]


# ---- validity and collapse after downtime ---------------------------------------------


STAGE_2 = schedule(default_policy(Cadence.ONCE), bj(1, 17, 17, 30), PLACEMENT)


def test_each_step_is_valid_until_the_next_and_the_last_until_the_next_working_day_ends() -> None:
    assert [(s.name, f"{s.until:%m-%d %H:%M}") for s in STAGE_2] == [
        ("before-3wd", "01-16 09:00"),
        ("before-1wd", "01-17 15:30"),
        ("before-2h", "01-17 17:30"),
        ("due", "01-18 09:00"),
        ("overdue-1", "01-19 09:00"),
        ("overdue-2", "01-20 09:00"),
        ("overdue-3", "01-22 09:00"),
        ("overdue-4", "01-23 09:00"),
        ("overdue-5", "01-24 21:00"),
    ]


def test_a_before_step_is_never_valid_after_the_deadline() -> None:
    steps = schedule(default_policy(Cadence.WEEKLY), bj(2, 2, 15), PLACEMENT)

    assert current(steps, bj(2, 2, 16)) is None
    assert all(s.until <= bj(2, 2, 15) for s in steps if not s.overdue)


def test_after_downtime_only_the_step_that_still_matters_is_sent() -> None:
    # Nobody dispatched from 01-11 until Monday 01-16 10:00: "three days left" is stale.
    assert due_now(STAGE_2, bj(1, 16, 10), done=set()) == STAGE_2[1]
    assert due_now(STAGE_2, bj(1, 16, 10), done={"before-1wd"}) is None
    # Down over the deadline: the due notice, not the two before-steps.
    step = due_now(STAGE_2, bj(1, 17, 20), done={"before-3wd"})
    assert step is not None and step.name == "due"


def test_nothing_is_due_before_the_first_step_or_after_the_last_has_expired() -> None:
    assert due_now(STAGE_2, bj(1, 12, 8, 59), done=set()) is None
    assert due_now(STAGE_2, bj(1, 24, 21, 1), done=set()) is None
    step = due_now(STAGE_2, bj(1, 24, 20), done=set())
    assert step is not None and step.name == "overdue-5"


def test_the_next_instant_is_the_next_step_after_now() -> None:
    assert next_instant(STAGE_2, bj(1, 16, 9)) == bj(1, 17, 15, 30)
    assert next_instant(STAGE_2, bj(1, 23, 9)) is None


def test_a_deputy_gets_only_the_steps_at_or_after_the_deadline() -> None:
    assert [s.name for s in for_role(STAGE_2, deputy=True)] == [
        "due",
        "overdue-1",
        "overdue-2",
        "overdue-3",
        "overdue-4",
        "overdue-5",
    ]
    assert for_role(STAGE_2, deputy=False) == STAGE_2
    assert all(isinstance(s, Step) for s in STAGE_2)


# ---- the plan's own list ----------------------------------------------------------------


def test_an_override_replaces_the_default_for_the_cadence() -> None:
    assert policy_for(Cadence.WEEKLY, None) == default_policy(Cadence.WEEKLY)
    assert plan(["-1d@18:00", "0", "+2h", "+2wd@10:00x3"], bj(1, 10, 12)) == [
        ("before-1d", "01-09 18:00"),
        ("due", "01-10 12:00"),
        ("after-2h", "01-10 14:00"),
        ("overdue-1", "01-12 10:00"),
        ("overdue-2", "01-16 10:00"),
        ("overdue-3", "01-18 10:00"),
    ]


def test_an_empty_list_means_no_nudges() -> None:
    assert plan([], bj(1, 10, 12)) == []


def test_entries_accept_spaces_capitals_and_due_for_zero() -> None:
    assert plan([" -3WD @ 09:00", "due", "+1wd@9:30"], bj(1, 17, 17, 30)) == [
        ("before-3wd", "01-12 09:00"),
        ("due", "01-17 17:30"),
        ("overdue-1", "01-18 09:30"),
    ]


def test_step_names_leave_out_the_clock_so_moving_a_nudge_does_not_send_it_again() -> None:
    early = plan(["-1wd@09:00"], bj(1, 10, 12))
    late = plan(["-1wd@10:00"], bj(1, 10, 12))

    assert early[0][0] == late[0][0] == "before-1wd"
    assert early[0][1] != late[0][1]


@pytest.mark.parametrize(
    ("entries", "index", "code"),
    [
        (["3wd@09:00"], 0, "syntax"),
        (["-3 days"], 0, "syntax"),
        ([""], 0, "syntax"),
        (["-3wd"], 0, "clock_missing"),
        (["+1d"], 0, "clock_missing"),
        (["-2h@09:00"], 0, "clock_not_allowed"),
        (["+2hx3"], 0, "repeat_not_allowed"),
        (["-1wd@09:00x2"], 0, "repeat_not_allowed"),
        (["0", "+1wd@24:00"], 1, "clock"),
        (["-31wd@09:00"], 0, "range"),
        (["-0h"], 0, "range"),
        (["-73h"], 0, "range"),
        (["+1wd@09:00x11"], 0, "range"),
        (["-2h", "0", "-2h"], 2, "duplicate"),
        (["-1wd@09:00", "-1wd@15:00"], 1, "duplicate"),
        (["+1wd@09:00x2", "+1d@18:00"], 1, "two_series"),
    ],
)
def test_a_bad_entry_is_refused_with_its_position_and_the_problem(
    entries: list[str], index: int, code: str
) -> None:
    with pytest.raises(ReminderSyntaxError) as caught:
        parse_policy(entries)

    assert (caught.value.index, caught.value.code) == (index, code)
    assert str(caught.value).startswith(f"reminders[{index}] {entries[index]!r}: ")


def test_every_deadline_of_the_daguan_plan_gets_nudges_in_order_and_outside_quiet_hours() -> None:
    daguan = parse_plan(DAGUAN.read_text(encoding="utf-8"), DAGUAN.name)
    expansion = expand_plan(daguan, bj(12, 1, 0, year=2016))
    quiet = QuietHours()

    for d in expansion.deadlines:
        steps = schedule(
            default_policy(daguan.obligation(d.obligation_id).cadence), d.due, PLACEMENT
        )
        assert steps, d
        assert [s.at for s in steps] == sorted({s.at for s in steps})
        assert all(
            quiet.allows(s.at.time()) and PLACEMENT.calendar.is_workday(s.at.date()) for s in steps
        )
