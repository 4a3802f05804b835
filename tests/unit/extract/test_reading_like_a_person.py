"""Issue 14: the kinds of language a careful reader dates right, each as a rule of its kind.

Snippets are written in the style of the notices in tests/data/notices; each test names the
kind of language, not one sentence.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from domain.extract import Kind, Period, extract_obligations
from domain.plan import Relative, Weekly
from domain.plan_draft import DraftOptions, draft_plan
from domain.plan_toml import parse_plan
from scheduler.deadlines import expand_plan
from tests.unit.extract.conftest import only

NOW = datetime(2026, 1, 1, tzinfo=UTC)
ISSUED = "\n省水利厅\n2026年3月10日\n"
CAMPAIGN = "自2026年3月15日起至12月31日在全省开展专项行动。\n"
PHASES = (
    "(一)排查摸底阶段(3月15日至3月31日)。建立问题台账。\n"
    "(二)集中整治阶段(4月1日至11月30日)。开展整治。\n"
)


def _draft(text: str) -> str:
    extraction = extract_obligations(text)
    return draft_plan(extraction, DraftOptions("c", "fallback name", date(2026, 1, 1)))


def _plan(text: str):  # type: ignore[no-untyped-def]
    return parse_plan(_draft(text), "draft.toml")


# 1. Relative to an event --------------------------------------------------------------------


def test_an_anchor_the_plan_knows_is_resolved_to_the_campaign_end_or_a_phase_end() -> None:
    text = (
        "关于开展专项行动的通知\n"
        + CAMPAIGN
        + PHASES
        + "1.各市应于排查摸底阶段结束后5个工作日内报送问题台账。\n"
        "2.专项行动结束后10个工作日内报送工作总结。\n" + ISSUED
    )
    plan = _plan(text)
    anchors = [o.schedule.anchor for o in plan.obligations if isinstance(o.schedule, Relative)]
    assert anchors == [date(2026, 3, 31), date(2026, 12, 31)]
    due = sorted(d.due.date() for d in expand_plan(plan, NOW).deadlines)
    # Not one week into the campaign: five working days after the phase, ten after the end.
    assert due[0] == date(2026, 4, 8)
    assert due[1] > date(2027, 1, 1)


def test_the_start_of_a_named_concentrated_action_anchors_a_deadline_after_it() -> None:
    text = (
        "关于开展整治行动的通知\n专项整治行动自2026年4月15日起至10月31日止。"
        "其中4月20日至9月30日为集中行动期。\n"
        "各乡镇于集中行动开始后5个工作日内报送行动部署情况。\n\n县农业农村局\n2026年4月8日\n"
    )
    plan = _plan(text)
    assert [d.due.date() for d in expand_plan(plan, NOW).deadlines] == [date(2026, 4, 27)]


def test_an_anchor_the_plan_cannot_know_is_never_dated_and_plan_check_says_so() -> None:
    text = (
        "关于做好食品安全风险监测工作的通知\n"
        + CAMPAIGN
        + "承检机构取得检验报告后2个工作日内将问题样品信息报送市卫生健康委食品处。\n"
        + ISSUED
    )
    plan = _plan(text)
    (obligation,) = plan.obligations
    assert isinstance(obligation.schedule, Relative)
    assert obligation.schedule.anchor is None
    expansion = expand_plan(plan, NOW)
    assert expansion.deadlines == ()
    assert [(w.code, w.params["event"]) for w in expansion.warnings] == [
        ("event_anchor", "承检机构取得检验报告后")
    ]


def test_an_anchor_label_carries_no_list_number() -> None:
    assert only("4.专项行动结束后10个工作日内报送工作总结。").anchor == "专项行动结束后"
    assert only("4.发生火灾的,属地村(社区)须在1小时内向镇安办报告。").anchor == "发生火灾"


# 2. Phase-limited windows -------------------------------------------------------------------


def test_a_weekly_report_set_up_for_a_phase_runs_only_within_that_phase() -> None:
    text = (
        CAMPAIGN
        + PHASES
        + "集中整治阶段实行周报制度,每周五下班前各市水利局将本周整治进展情况表报送省河长办。\n"
        + ISSUED
    )
    found = only(text)
    assert found.kind is Kind.WEEKLY
    assert found.window == (date(2026, 4, 1), date(2026, 11, 30))


# 3. Statistics periods ----------------------------------------------------------------------


def test_a_previous_month_quarter_year_or_week_is_the_period_each_occurrence_reports() -> None:
    assert only("各市每月5日前报送上月问题整改统计表。").period == Period("prev-1", "prev-last")
    assert only("中心每季度第一个月15日前报送上季度分析报告。").period == Period(
        "prev-quarter-start", "prev-quarter-end"
    )
    assert only("各地每年3月底之前报送上一年度划界数据。").period == Period(
        "prev-year-start", "prev-year-end"
    )
    weekly = only("执法大队每周一12时前报送上周治超检测数据。")
    assert weekly.period == Period("prev-w1", "prev-w7")


def test_a_previous_month_period_reaches_the_plan_and_its_deadlines() -> None:
    plan = _plan(CAMPAIGN + "各市水利局每月5日前报送上月问题整改统计表。\n" + ISSUED)
    first = expand_plan(plan, NOW).deadlines[0]
    assert first.due.date() == date(2026, 4, 5)
    assert first.period == (date(2026, 3, 1), date(2026, 3, 31))


# 4. Calendar-aware month ends ---------------------------------------------------------------


def test_the_last_working_day_of_a_month_is_read_and_falls_on_a_working_day() -> None:
    text = (
        "治理工作自2026年10月1日开始,至2026年11月30日结束。\n"
        "执法大队于每月最后一个工作日前将本月月报表报区交通运输局。\n" + ISSUED
    )
    found = only(text)
    assert (found.kind, found.day_of_month, found.last_workday) == (Kind.MONTHLY, -1, True)
    due = [d.due.date() for d in expand_plan(_plan(text), NOW).deadlines]
    # 2026-10-31 is a Saturday: the last working day is Friday the 30th.
    assert due == [date(2026, 10, 30), date(2026, 11, 30)]


# 5. Cadence carried across chained sentences ------------------------------------------------


def test_a_cadence_stated_once_governs_the_bare_deadlines_after_it_in_the_passage() -> None:
    found = extract_obligations(
        "每月4日前,各县(区)报送上月监测样品采集情况;市疾控中心汇总整理,8日前报送市卫生健康委。\n"
        "各校每月25日前报送本月读书活动开展情况,制定下月宣传计划,并于15日前报学区办公室。\n"
    ).obligations
    assert [(o.kind, o.day_of_month) for o in found] == [
        (Kind.MONTHLY, 4),
        (Kind.MONTHLY, 8),
        (Kind.MONTHLY, 25),
        (Kind.MONTHLY, 15),
    ]
    assert found[1].period == found[0].period


def test_a_weekly_cadence_carries_its_phase_window_to_the_next_clause() -> None:
    text = (
        "5月10日起至9月30日,分两个阶段进行。\n"
        "(一)自查自改阶段(5月10日至6月30日)。各企业开展自查。\n"
        "自查自改阶段,各企业每周四下班前将自查情况报所在村(社区);"
        "各村(社区)汇总后,周五12时前报镇安办。\n\n青石镇人民政府办公室\n2026年5月6日\n"
    )
    found = extract_obligations(text).obligations
    assert [(o.weekday, o.time, o.window) for o in found] == [
        (4, None, (date(2026, 5, 10), date(2026, 6, 30))),
        (5, "12:00", (date(2026, 5, 10), date(2026, 6, 30))),
    ]


def test_a_bare_day_with_no_cadence_around_it_is_not_a_deadline() -> None:
    assert extract_obligations("各单位8日前报送名单。\n").obligations == ()


# 6. Completion deadlines that govern the submissions after them ------------------------------


def test_a_completion_date_governs_the_submissions_named_in_the_next_sentence() -> None:
    first = only("以上工作于2011年3月19日前完成。工作总结、典型材料电子版发至信箱abc@163.com。\n")
    assert (first.kind, first.date) == (Kind.ONCE, date(2011, 3, 19))
    assert first.quote.startswith("以上工作于2011年3月19日前完成。工作总结")
    second = only("各街道要在7月15日前完成摸底排查。摸排台账报区交通运输局。\n" + ISSUED)
    assert (second.kind, second.date) == (Kind.ONCE, date(2026, 7, 15))


def test_a_completion_date_alone_is_not_a_submission() -> None:
    assert extract_obligations("各地各校应于10月31日前完成资金发放。\n" + ISSUED).obligations == ()


# 7. Deadlines without 前 --------------------------------------------------------------------


def test_a_date_followed_by_handing_over_or_reporting_is_a_deadline_without_qian() -> None:
    text = "各校制定活动方案,于9月20日交学区办公室。\n工作总结于9月25日交镇安办。\n" + ISSUED
    found = extract_obligations(text).obligations
    assert [o.date for o in found] == [date(2026, 9, 20), date(2026, 9, 25)]
    assert only("各村(社区)5月15日报镇安办联络员名单。" + ISSUED).date == date(2026, 5, 15)


# 8. Yearly duties ---------------------------------------------------------------------------


def test_a_yearly_duty_by_a_month_end_is_yearly() -> None:
    found = only("各市水利局每年3月底之前在信息系统中录入上一年度划界数据。")
    assert (found.kind, found.month_day) == (Kind.YEARLY, "03-31")


# 9. The draft plan itself -------------------------------------------------------------------


def test_the_draft_takes_name_office_start_and_end_from_the_notice() -> None:
    text = (
        "省水利厅关于印发《全省河湖专项行动方案》的通知\n\n各市水利局:\n"
        + CAMPAIGN
        + "请各市水利局于3月25日前将联络员名单报送省河湖长制办公室。\n"
        + ISSUED
    )
    plan = _plan(text)
    assert (plan.name, plan.office) == ("全省河湖专项行动方案", "省水利厅")
    assert (plan.period.start, plan.period.end) == (date(2026, 3, 15), date(2026, 12, 31))


def test_the_issuer_comes_from_the_signature_when_the_title_does_not_name_it() -> None:
    text = (
        "关于开展读书月活动的通知\n\n学区各中小学:\n"
        "各校于9月20日前将活动方案报学区办公室。\n\n城关镇中心学区\n2025年9月5日\n"
    )
    assert _plan(text).office == "城关镇中心学区"


# 10. Weekly deadlines on holidays -----------------------------------------------------------


def test_weekly_deadlines_on_statutory_holidays_are_listed_in_one_warning() -> None:
    text = (
        "行动自2026年4月15日起至10月31日止。\n"
        "各乡镇每周五16:00前报送检查情况统计表至县执法大队。\n\n县农业农村局\n2026年4月8日\n"
    )
    warnings = [w for w in expand_plan(_plan(text), NOW).warnings if w.code == "weekly_on_holiday"]
    assert len(warnings) == 1
    # 劳动节, 端午, 中秋 and 国庆 in 2026 each take a Friday.
    assert warnings[0].params["count"] == 4
    assert "2026-05-01" in warnings[0].params["deadlines"]
    assert "2026-10-02" in warnings[0].params["deadlines"]


def test_a_declared_holiday_rule_moves_weekly_deadlines_and_silences_the_warning() -> None:
    draft = _draft(
        "行动自2026年4月15日起至5月31日止。\n"
        "各乡镇每周五16:00前报送检查情况统计表至县执法大队。\n\n县农业农村局\n2026年4月8日\n"
    ).replace("weekday = 5,", 'weekday = 5, on_holiday = "before",')
    plan = parse_plan(draft, "draft.toml")
    (obligation,) = plan.obligations
    assert isinstance(obligation.schedule, Weekly)
    expansion = expand_plan(plan, NOW)
    days = [d.due.date() for d in expansion.deadlines]
    assert date(2026, 5, 1) not in days
    assert date(2026, 4, 30) in days  # the working day before 劳动节
    assert "weekly_on_holiday" not in [w.code for w in expansion.warnings]
