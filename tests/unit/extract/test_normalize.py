from domain.extract.normalize import normalize
from domain.extract.numerals import chinese_to_int, weekday_number


def test_full_width_digits_and_punctuation_become_ascii() -> None:
    assert normalize("１２月３日（周五）１５：００，").text == "12月3日(周五)15:00,"


def test_chinese_numerals_before_a_date_unit_become_digits() -> None:
    assert normalize("二〇一七年十二月二十八日").text == "2017年12月28日"


def test_a_count_of_working_days_in_chinese_becomes_digits() -> None:
    assert normalize("五个工作日内").text == "5个工作日内"


def test_numerals_that_are_words_stay_words() -> None:
    assert normalize("一是加强领导,十九大精神").text == "一是加强领导,十九大精神"


def test_weekday_names_are_not_rewritten_as_numbers() -> None:
    assert normalize("每周一上午,星期日").text == "每周一上午,星期日"


def test_a_one_report_a_day_rhythm_is_not_a_date() -> None:
    assert normalize("实行一日一报").text == "实行一日一报"


def test_a_normalised_span_maps_back_to_the_original_characters() -> None:
    original = "请于十二月三日（周五）前报送"
    norm = normalize(original)
    start = norm.text.index("12月")
    end = norm.text.index("报送") + 2
    assert norm.original_span(start, end) == "十二月三日（周五）前报送"


def test_a_year_is_read_digit_by_digit() -> None:
    assert chinese_to_int("二〇二〇") == 2020
    assert chinese_to_int("二零二三") == 2023


def test_tens_are_read_as_a_number() -> None:
    assert chinese_to_int("二十八") == 28
    assert chinese_to_int("十二") == 12
    assert chinese_to_int("两") == 2


def test_sunday_is_weekday_seven() -> None:
    assert weekday_number("日") == 7
    assert weekday_number("天") == 7
    assert weekday_number("一") == 1


def test_spaces_between_han_characters_are_dropped() -> None:
    norm = normalize("请 各 社 区 于 6 月 10 日 前 报 送")
    assert norm.text == "请各社区于6月10日前报送"
    assert norm.original_span(0, len(norm.text)) == "请 各 社 区 于 6 月 10 日 前 报 送"


def test_spaces_between_digits_and_indentation_are_kept() -> None:
    assert normalize("  发布时间:2016-12-15 10:30").text == "  发布时间:2016-12-15 10:30"
