from domain.extract import Kind

from .conftest import only


def test_working_days_after_issue_are_relative_workdays() -> None:
    found = only("结合实际制定工作方案,于本工作方案下发之日起5个工作日内报镇经科信局。")
    assert (found.kind, found.offset) == (Kind.RELATIVE_WORKDAYS, 5)
    assert found.anchor == "本工作方案下发之日起"


def test_days_after_receiving_the_notice_are_relative_days() -> None:
    found = only("请各单位收到通知后3日内将联络员名单报送县局。")
    assert (found.kind, found.offset, found.anchor) == (Kind.RELATIVE_DAYS, 3, "收到通知后")


def test_chinese_numeral_working_days_are_read() -> None:
    assert only("请于收到通知后五个工作日内报送名单。").offset == 5


def test_hours_after_an_event_are_relative_hours() -> None:
    found = only("事发单位要在事故发生后1小时内向县应急管理局报告。")
    assert (found.kind, found.offset, found.anchor) == (Kind.RELATIVE_HOURS, 1, "事故发生后")


def test_a_conditional_clause_is_the_anchor() -> None:
    found = only("发现疑似聚集性疫情的,应于2小时内电话报告镇卫生院。")
    assert found.anchor == "发现疑似聚集性疫情"


def test_a_week_is_seven_days() -> None:
    found = only("活动结束后一周内报送活动总结。")
    assert (found.kind, found.offset) == (Kind.RELATIVE_DAYS, 7)
