from datetime import date

from domain.extract.dates import YearContext, find_groups, find_mentions
from domain.extract.document import (
    find_campaign,
    find_doc_date,
    find_phases,
    is_narrative,
    title_year,
)
from domain.extract.normalize import normalize


def _text(raw: str) -> str:
    return normalize(raw).text


def _campaign(text: str) -> tuple[date, date] | None:
    years = YearContext(None, None, None)
    return find_campaign(text, years, find_phases(text, years))


def test_a_date_with_a_year_keeps_it() -> None:
    (mention,) = find_mentions(_text("于2017年1月9日前"))
    assert (mention.year, mention.month, mention.day) == (2017, 1, 9)


def test_a_date_without_a_year_has_none() -> None:
    (mention,) = find_mentions(_text("12月15日前"))
    assert (mention.year, mention.month, mention.day) == (None, 12, 15)


def test_a_numeric_date_is_read() -> None:
    (mention,) = find_mentions(_text("发布时间:2016-12-15"))
    assert (mention.year, mention.month, mention.day) == (2016, 12, 15)


def test_a_month_end_is_the_last_day_of_that_month() -> None:
    (mention,) = find_mentions(_text("6月底前"))
    assert mention.month_end and mention.on(2024) == date(2024, 6, 30)


def test_a_range_end_inherits_month_and_year() -> None:
    (group,) = find_groups(_text("2017年1月9日至13日"))
    (item,) = group.items
    assert item.last is not None
    assert (item.last.year, item.last.month, item.last.day) == (2017, 1, 13)


def test_ranges_written_with_dashes_and_tildes_are_ranges() -> None:
    for joiner in ("—", "-", "～", "到", "至"):
        (group,) = find_groups(_text(f"3月1日{joiner}3月15日"))
        assert group.items[0].last is not None, joiner


def test_a_list_of_ranges_is_one_group_of_several_windows() -> None:
    text = _text("12月19日至23日、2017年1月9日至13日和2017年2月10日至14日")
    (group,) = find_groups(text)
    assert len(group.items) == 3
    assert all(item.last is not None for item in group.items)


def test_dates_listed_in_a_sentence_roll_into_the_next_year() -> None:
    years = YearContext(None, None, None)
    (mention,) = find_mentions(_text("1月17日"))
    assert years.year_for(mention, previous=date(2016, 12, 27)) == 2017


def test_a_year_less_date_well_before_the_notice_falls_next_year() -> None:
    years = YearContext(date(2016, 12, 15), None, None)
    (mention,) = find_mentions(_text("1月10日"))
    assert years.year_for(mention) == 2017


def test_a_year_less_date_after_the_notice_falls_in_its_year() -> None:
    years = YearContext(date(2020, 9, 17), None, None)
    (mention,) = find_mentions(_text("12月3日"))
    assert years.year_for(mention) == 2020


def test_without_a_notice_date_the_campaign_gives_the_year() -> None:
    years = YearContext(None, (date(2023, 12, 20), date(2024, 2, 25)), None)
    (mention,) = find_mentions(_text("2月3日"))
    assert years.year_for(mention) == 2024


def test_next_year_is_counted_from_the_notice() -> None:
    years = YearContext(date(2023, 3, 1), None, None)
    (mention,) = find_mentions(_text("次年1月20日前"))
    assert years.year_for(mention) == 2024


def test_nothing_tells_the_year_of_a_bare_date_in_an_undated_notice() -> None:
    (mention,) = find_mentions(_text("9月18日"))
    assert YearContext(None, None, None).year_for(mention) is None


def test_the_publication_label_gives_the_notice_date() -> None:
    assert find_doc_date(_text("浏览次数: 作者:  发布时间:2016-12-15\n正文")) == date(2016, 12, 15)


def test_a_line_holding_only_a_date_gives_the_notice_date() -> None:
    text = _text("请认真落实。\n\n二〇二〇年九月十七日\n\n附件")
    assert find_doc_date(text) == date(2020, 9, 17)


def test_a_notice_without_a_date_line_has_no_date() -> None:
    assert find_doc_date(_text("2017年,我局开展了打假工作。")) is None


def test_the_title_year_is_a_fallback_year() -> None:
    assert title_year(_text("清溪镇2018年打假工作方案\n\n为全面贯彻")) == 2018


def test_the_campaign_period_is_read_from_its_start_and_end() -> None:
    text = _text("此次专项行动自2016年12月1日开始,至2017年2月28日结束。")
    assert _campaign(text) == (date(2016, 12, 1), date(2017, 2, 28))


def test_a_bare_range_under_a_time_heading_is_the_campaign() -> None:
    text = _text("一、活动时间\n2024年3月1日—5月31日。\n")
    assert _campaign(text) == (
        date(2024, 3, 1),
        date(2024, 5, 31),
    )


def test_without_a_stated_period_the_phases_span_the_campaign() -> None:
    first = "(一)自查阶段(2022年5月1日—6月30日)。\n"
    text = _text(first + "(二)整治阶段(2022年7月1日—9月30日)。\n")
    assert _campaign(text) == (
        date(2022, 5, 1),
        date(2022, 9, 30),
    )


def test_a_stage_heading_with_bracketed_dates_is_a_named_phase() -> None:
    text = _text("一、时间安排\n(二)集中整治阶段(2016年12月11日到2017年2月15日)。要围绕重点。\n")
    (phase,) = find_phases(text, YearContext(None, None, None))
    assert (phase.label, phase.start, phase.end) == (
        "集中整治",
        date(2016, 12, 11),
        date(2017, 2, 15),
    )


def test_a_submission_window_is_not_a_phase() -> None:
    text = _text("报送时间:2023年3月1日至3月10日。\n")
    assert find_phases(text, YearContext(None, None, None)) == []


def test_a_year_end_summary_is_narrative() -> None:
    assert is_narrative("县卫生健康局2023年工作总结\n\n2023年,我局……")


def test_a_notice_asking_for_a_summary_is_not_narrative() -> None:
    assert not is_narrative("关于报送2023年工作总结的通知\n\n各单位:")


def test_a_news_story_with_a_byline_is_narrative() -> None:
    assert is_narrative("高新区扎实开展打假工作\n\n……成效明显。(区市场监管局 供稿)")
