from datetime import date

from domain.extract import Kind, Period, extract_obligations

from .conftest import only


def test_a_weekday_deadline_is_weekly() -> None:
    found = only("每周四下午15:00前报送相关报表。")
    assert (found.kind, found.weekday, found.time) == (Kind.WEEKLY, 4, "15:00")


def test_sunday_is_weekday_seven_in_a_weekly_deadline() -> None:
    assert only("每周日18时前报送本周数据。").weekday == 7


def test_two_weekdays_make_two_weekly_deadlines() -> None:
    found = extract_obligations("每周二、周五下午6点前报送进展情况。").obligations
    assert [(o.weekday, o.time) for o in found] == [(2, "18:00"), (5, "18:00")]


def test_a_weekly_deadline_spans_the_campaign() -> None:
    text = "专项行动自2016年12月1日开始,至2017年2月28日结束。\n专项行动期间,每周四报送周报表。"
    (found,) = extract_obligations(text).obligations
    assert found.window == (date(2016, 12, 1), date(2017, 2, 28))


def test_a_day_of_the_month_is_monthly() -> None:
    found = only("各单位于每月5日前将上月进展情况报送市卫健委。")
    assert (found.kind, found.day_of_month) == (Kind.MONTHLY, 5)


def test_the_end_of_every_month_is_day_minus_one() -> None:
    assert only("每月月底前将统计数据报送镇经科信局。").day_of_month == -1
    assert only("请各校于每月最后一个工作日前将台账报送后勤办。").day_of_month == -1


def test_a_statistics_period_is_kept_on_a_monthly_deadline() -> None:
    found = only("每月月底前将上月26日至本月25日统计数据报送镇经科信局。")
    assert found.period == Period("prev-26", "cur-25")


def test_a_week_to_week_period_is_kept_on_a_weekly_deadline() -> None:
    found = only("每周三12:00前报送上周四至本周三的销售数据。")
    assert found.period == Period("prev-w4", "cur-w3")


def test_next_month_day_in_a_monthly_report_is_monthly() -> None:
    found = only("各地每月工作情况于次月5日前报送省应急管理厅。")
    assert (found.kind, found.day_of_month) == (Kind.MONTHLY, 5)


def test_monthly_after_an_earlier_deadline_starts_at_that_deadline() -> None:
    text = "联络名单9月18日前报办公室,之后每月28日前上报工作小结。\n\n2020年9月17日\n"
    monthly = extract_obligations(text).obligations[1]
    assert monthly.day_of_month == 28
    assert monthly.window == (date(2020, 9, 18), None)


def test_the_first_month_of_each_quarter_is_quarterly() -> None:
    found = only("每季度第一个月10日前报送上季度统计表。")
    assert (found.kind, found.day_of_month, found.months) == (Kind.QUARTERLY, 10, (1, 4, 7, 10))


def test_days_after_a_quarter_ends_are_quarterly() -> None:
    found = only("季度分析报告于每季度结束后15个工作日内报送。")
    assert (found.kind, found.day_of_month) == (Kind.QUARTERLY, 15)


def test_four_listed_months_are_quarterly() -> None:
    found = only("每年1、4、7、10月8日之前报送上一季度分析报告。")
    assert (found.kind, found.day_of_month, found.months) == (Kind.QUARTERLY, 8, (1, 4, 7, 10))


def test_a_yearly_date_is_yearly() -> None:
    found = only("各高校每年12月31日前报送本年度工作报告。")
    assert (found.kind, found.month_day) == (Kind.YEARLY, "12-31")


def test_a_daily_report_inside_ranges_gives_one_window_each() -> None:
    text = (
        "集中行动期间(12月19日至23日、2017年1月9日至13日)实行日报制,于当日12:00前上报相关报表。"
        "\n发布时间:2016-12-15\n"
    )
    found = extract_obligations(text).obligations
    assert [(o.kind, o.window, o.time) for o in found] == [
        (Kind.DAILY, (date(2016, 12, 19), date(2016, 12, 23)), "12:00"),
        (Kind.DAILY, (date(2017, 1, 9), date(2017, 1, 13)), "12:00"),
    ]


def test_a_daily_deadline_from_today_runs_to_the_stated_end() -> None:
    text = "自即日起至9月30日,实行日报制度,每日12时前报送当日汛情。\n\n2024年6月5日\n"
    found = only(text)
    assert (found.kind, found.window, found.time) == (
        Kind.DAILY,
        (date(2024, 6, 5), date(2024, 9, 30)),
        "12:00",
    )


def test_a_report_due_next_morning_in_a_daily_scheme_is_daily() -> None:
    found = only("实行日报制,每日情况于次日上午9时前报送。")
    assert (found.kind, found.time) == (Kind.DAILY, "09:00")


def test_a_bare_every_month_report_is_monthly_without_a_day() -> None:
    found = only("各单位每月报送一次工作进展。")
    assert (found.kind, found.day_of_month) == (Kind.MONTHLY, None)


def test_a_daily_report_during_a_named_phase_spans_that_phase() -> None:
    text = (
        "(二)集中整治阶段(2023年7月11日至8月31日)。开展联合检查。\n"
        "集中整治期间实行日报制,每日17时前报送当日检查情况。"
    )
    found = only(text)
    assert (found.kind, found.window) == (Kind.DAILY, (date(2023, 7, 11), date(2023, 8, 31)))


def test_a_day_of_this_month_in_a_monthly_scheme_is_monthly() -> None:
    found = only("实行月报制度,于当月25日前报送本月工作进展。")
    assert (found.kind, found.day_of_month) == (Kind.MONTHLY, 25)


def test_a_weekday_in_a_weekly_report_scheme_is_weekly() -> None:
    found = only("实行周报制度,于周五下午5点前报送本周情况。")
    assert (found.kind, found.weekday, found.time) == (Kind.WEEKLY, 5, "17:00")


def test_a_day_range_each_month_is_due_on_its_last_day() -> None:
    found = only("每月20日至25日报送上月数据。")
    assert (found.kind, found.day_of_month) == (Kind.MONTHLY, 25)


def test_a_daily_report_takes_its_window_from_the_sentence_before() -> None:
    text = "日报时间为2024年1月24日-2月11日。各企业要于每日上午10点前报送前一日数据。"
    found = only(text)
    assert (found.kind, found.window) == (Kind.DAILY, (date(2024, 1, 24), date(2024, 2, 11)))
    assert found.what == "前一日数据"
