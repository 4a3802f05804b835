from datetime import date

from domain.extract import Kind, extract_obligations

from .conftest import only

DATED = "\n\n2023年3月8日\n"


def test_a_date_followed_by_before_and_a_verb_is_a_once_deadline() -> None:
    found = only("请于3月15日前将联络员名单报送县安委办。" + DATED)
    assert found.kind is Kind.ONCE
    assert found.date == date(2023, 3, 15)
    assert found.month_day == "03-15"
    assert found.year_inferred


def test_an_explicit_year_is_not_inferred() -> None:
    found = only("请于2023年4月10日前报送自查报告。")
    assert found.date == date(2023, 4, 10)
    assert not found.year_inferred


def test_without_any_year_only_month_and_day_are_known() -> None:
    found = only("请各单位于9月18日前报送联络名单。")
    assert found.date is None
    assert found.month_day == "09-18"


def test_a_date_directly_followed_by_bao_is_due_that_day() -> None:
    found = only("2017年2月23日报工作总结。")
    assert found.date == date(2017, 2, 23)


def test_each_date_in_a_list_is_its_own_deadline() -> None:
    found = extract_obligations("并于2016年12月27日、2017年1月17日报阶段工作小结。").obligations
    assert [o.date for o in found] == [date(2016, 12, 27), date(2017, 1, 17)]


def test_two_deadlines_run_together_without_a_comma_are_both_found() -> None:
    text = "12月3日前报送2020年总结和统计表2021年10月28日前上报2021年总结和统计表。\n2020年9月17日"
    found = extract_obligations(text).obligations
    assert [o.month_day for o in found] == ["12-03", "10-28"]
    assert found[1].quote == "2021年10月28日前上报2021年总结和统计表"


def test_a_month_end_deadline_is_the_last_day() -> None:
    assert only("请于6月底前将名单报送省厅。" + DATED).date == date(2023, 6, 30)


def test_chinese_numeral_dates_are_read() -> None:
    found = only("请于二〇二一年八月二十五日前将自查报告报送省教育厅。")
    assert found.date == date(2021, 8, 25)


def test_a_weekday_note_between_date_and_before_is_skipped() -> None:
    assert only("请于3月15日(星期三)前报送名单。" + DATED).date == date(2023, 3, 15)


def test_a_clock_time_on_a_deadline_is_kept() -> None:
    assert only("于11月30日17:30前报送全年工作总结。" + DATED).time == "17:30"


def test_the_end_of_the_morning_shift_leaves_the_time_empty() -> None:
    found = only("于9月22日上午下班前将网格员名单报镇环保办。" + DATED)
    assert found.time is None
    assert found.month_day == "09-22"


def test_a_labelled_submission_time_is_a_deadline() -> None:
    found = only("请填写报名表(附件1),报送时间:2月28日前,逾期视为放弃。" + DATED)
    assert found.month_day == "02-28"


def test_a_cut_off_label_after_a_submission_is_a_deadline() -> None:
    assert only("总结报告报送截止时间为10月15日。" + DATED).month_day == "10-15"


def test_a_deadline_in_brackets_after_the_verb_counts() -> None:
    assert only("将自查报告报送县局(3月20日前)。" + DATED).month_day == "03-20"


def test_a_submission_window_is_due_on_its_last_day() -> None:
    found = only("请于3月1日至3月10日报送申报材料。" + DATED)
    assert found.kind is Kind.ONCE
    assert found.month_day == "03-10"


def test_a_date_rolls_into_next_year_after_a_december_notice() -> None:
    found = only("请于1月10日前报送阶段小结。\n\n2023年12月18日\n")
    assert found.date == date(2024, 1, 10)


def test_this_year_and_next_year_are_resolved_from_the_notice_date() -> None:
    found = only("年度报告于次年1月20日前报送省商务厅。" + DATED)
    assert found.date == date(2024, 1, 20)
    assert found.year_inferred


def test_a_full_width_date_is_read() -> None:
    assert only("请于１０月２０日前报送工作总结。" + DATED).month_day == "10-20"


def test_a_deadline_the_same_day_as_the_notice_is_kept() -> None:
    found = only("名单12月15日前报送投诉举报中心。\n发布时间:2016-12-15\n")
    assert found.date == date(2016, 12, 15)


def test_a_restated_deadline_is_reported_once() -> None:
    text = "请于3月15日前报送自查报告。\n各单位于3月15日前报送自查报告。" + DATED
    assert len(extract_obligations(text).obligations) == 1


def test_listed_deadlines_each_with_before_share_the_verb() -> None:
    text = "分别于6月30日前、12月20日前报送半年和全年工作总结。" + DATED
    found = extract_obligations(text).obligations
    assert [o.month_day for o in found] == ["06-30", "12-20"]


def test_a_cut_off_date_label_after_the_verb_is_a_deadline() -> None:
    assert only("报送截止日期:2023年11月30日。").date == date(2023, 11, 30)


def test_a_verb_right_before_as_of_makes_it_a_deadline() -> None:
    assert only("材料报送截至3月15日。" + DATED).month_day == "03-15"


def test_no_later_than_a_date_is_a_deadline() -> None:
    found = only("各企业不迟于7月10日将自查报告报送镇安监站。" + DATED)
    assert found.month_day == "07-10"


def test_a_short_aside_between_date_and_before_is_skipped() -> None:
    found = only("要于2024年2月7日(正月初五)上午10点前报送总体情况。")
    assert (found.date, found.time) == (date(2024, 2, 7), "10:00")
