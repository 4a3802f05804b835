"""The kinds of language a blind check on unseen notices misread, each as a rule of its kind."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from domain.extract import Kind, Period, extract_obligations
from domain.plan import Relative
from domain.plan_draft import DraftOptions, draft_plan
from domain.plan_errors import PlanError
from domain.plan_toml import parse_plan
from scheduler.deadlines import expand_plan

HEAD = "关于做好防汛工作的通知\n自2026年4月1日起至12月31日开展。\n"
TAIL = "\n县水利局\n2026年3月20日\n"
CAMPAIGN = (date(2026, 4, 1), date(2026, 12, 31))
PREVIOUS_QUARTER = Period("prev-quarter-start", "prev-quarter-end")


def _found(body: str):  # type: ignore[no-untyped-def]
    return extract_obligations(HEAD + body + TAIL).obligations


def test_a_window_written_for_one_item_does_not_govern_the_next_item_in_the_sentence() -> None:
    weekly, quarterly = _found(
        "1.汛期(4月1日至9月30日)各乡镇每周五报送雨情,每季度结束后10日内报送上一季度水毁台账。\n"
    )
    assert weekly.window == (date(2026, 4, 1), date(2026, 9, 30))
    assert quarterly.window == CAMPAIGN
    assert quarterly.period == PREVIOUS_QUARTER


def test_a_phase_window_on_an_earlier_line_does_not_govern_a_later_item() -> None:
    daily, monthly = _found(
        "1.汛期(4月1日至9月30日)各站每日8时前报送水情。\n"
        "2.各乡镇每月最后一个工作日报送本月工作情况。\n"
    )
    assert daily.window == (date(2026, 4, 1), date(2026, 9, 30))
    assert monthly.window == CAMPAIGN
    assert monthly.last_workday


def test_a_leading_range_sets_the_scene_for_every_item_of_its_sentence() -> None:
    weekly, monthly = _found("4月1日至9月30日期间,各站每周一报送水情,每月5日前报送上月统计。\n")
    assert weekly.window == monthly.window == (date(2026, 4, 1), date(2026, 9, 30))


def test_a_phase_heading_governs_the_items_written_after_it_on_its_line() -> None:
    (weekly,) = _found("(二)集中整治阶段(7月1日至10月31日)。各县每周五16时前报送本周整治进展。\n")
    assert weekly.window == (date(2026, 7, 1), date(2026, 10, 31))


def test_the_current_month_quarter_and_week_are_the_period_the_deadline_falls_in() -> None:
    monthly, quarterly, weekly = _found(
        "各县每月25日前报送当月统计表;每季度末月20日前报送本季度分析;每周五报送本周进展。\n"
    )
    assert monthly.period == Period("cur-1", "cur-last")
    assert quarterly.period == Period("cur-quarter-start", "cur-quarter-end")
    assert weekly.period == Period("cur-w1", "cur-w7")


def test_the_previous_period_written_with_yi_is_still_the_previous_period() -> None:
    quarterly, yearly = _found(
        "各乡镇每季度结束后10日内报送上一季度台账;每年3月底前录入上一年度数据。\n"
    )
    assert quarterly.period == PREVIOUS_QUARTER
    assert yearly.period == Period("prev-year-start", "prev-year-end")


def test_a_period_named_for_one_item_is_not_given_to_its_neighbour() -> None:
    first, second = _found("各县每月5日前报送上月统计表,每月25日前报送当月进度。\n")
    assert first.period == Period("prev-1", "prev-last")
    assert second.period == Period("cur-1", "cur-last")


def test_a_list_number_glued_to_a_month_is_still_a_deadline() -> None:
    found = _found("1.各县报送名单。\n2.9月10日报送中期评估报告。\n12.11月20日前报送总结。\n")
    assert [(o.kind, o.date) for o in found] == [
        (Kind.ONCE, date(2026, 9, 10)),
        (Kind.ONCE, date(2026, 11, 20)),
    ]


# plan check: what the draft makes of them --------------------------------------------------

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _plan(body: str):  # type: ignore[no-untyped-def]
    extraction = extract_obligations(HEAD + body + TAIL)
    draft = draft_plan(extraction, DraftOptions("c", "fallback name", date(2026, 1, 1)))
    return parse_plan(draft, "draft.toml")


def test_a_duty_hours_after_an_event_is_an_obligation_plan_check_says_depends_on_an_event() -> (
    None
):
    plan = _plan("发生事故后,事发单位应于2小时内电话报告县应急局,24小时内报送书面报告。\n")
    schedules = [o.schedule for o in plan.obligations]
    assert [(s.offset, s.hours, s.anchor) for s in schedules if isinstance(s, Relative)] == [
        (2, True, None),
        (24, True, None),
    ]
    warnings = [w for w in expand_plan(plan, NOW).warnings if w.code == "event_anchor"]
    assert len(warnings) == 2
    assert "事故" in warnings[0].params["event"]


def test_hours_after_a_dated_anchor_are_refused_by_the_plan_format() -> None:
    extraction = extract_obligations(
        HEAD + "发生事故后,事发单位应于2小时内报告县应急局。\n" + TAIL
    )
    draft = draft_plan(extraction, DraftOptions("c", "fallback name", date(2026, 1, 1)))
    assert 'anchor = "event"' in draft
    with pytest.raises(PlanError):
        parse_plan(draft.replace('anchor = "event"', "anchor = 2026-05-01"), "draft.toml")


def test_monthly_and_one_off_deadlines_on_a_weekend_or_holiday_are_listed_in_one_warning() -> None:
    plan = _plan(
        "1.各乡镇每月15日前报送上月统计表。\n2.9月12日前报送检查情况分析。\n"
        "3.10月1日前报送自查表。\n4.各乡镇每月最后一个工作日报送本月进度。\n"
    )
    warnings = [w for w in expand_plan(plan, NOW).warnings if w.code == "dated_on_day_off"]
    assert len(warnings) == 1
    listed = warnings[0].params["deadlines"]
    assert "2026-08-15" in listed  # a Saturday
    assert "2026-09-12" in listed  # a Saturday
    assert "2026-10-01" in listed  # 国庆
    assert "-30" not in listed and "-31" not in listed  # the last working day never is


# titles and the draft's header ---------------------------------------------------------------


def test_a_report_made_by_telephone_is_titled_as_that_report() -> None:
    phoned, written = _found("发生事故后,事发单位应于2小时内电话报告县应急局,24小时内书面报告。\n")
    assert (phoned.what, written.what) == ("电话报告", "书面报告")


def test_a_self_inspection_thing_keeps_its_self() -> None:
    listed, rated = _found(
        "3.重点企业自查表及整改台账10月1日前报县局。\n4.各校自评报告于9月1日前报学区。\n"
    )
    assert (listed.what, rated.what) == ("自查表及整改台账", "自评报告")


def test_the_draft_starts_when_the_notice_says_and_names_who_collects_the_dated_reports() -> None:
    text = (
        "关于开展检查的通知\n各乡镇:\n决定自6月10日起至9月30日开展专项检查。\n"
        "1.各乡镇于6月8日前将联络员名单发至县安委办邮箱aqb@163.com。\n"
        "2.各乡镇每周五报送进展情况至县安委办。\n"
        "3.发生事故后,事发单位应于2小时内报告属地应急管理部门。\n"
        "4.发生险情后,事发单位应于1小时内报告属地应急管理部门。\n"
        "\n县应急管理局\n2026年6月3日\n"
    )
    draft = draft_plan(extract_obligations(text), DraftOptions("c", "n", date(2026, 1, 1)))
    assert "start = 2026-06-10" in draft
    assert 'coordinator = "县安委办"' in draft
