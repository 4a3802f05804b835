"""check_answer and friends: what a liaison may type into each kind of form field."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from domain.forms import (
    Field,
    FieldType,
    Form,
    Invalid,
    Valid,
    check_answer,
    check_choice_index,
    missing_required,
)

TODAY = date(2016, 12, 20)

CASES = Field("cases", "立案查处案件数", FieldType.INTEGER, unit="件", min=Decimal(0))
VISITS = Field("inspectors", "出动执法人员", FieldType.INTEGER, unit="人次", min=Decimal(0))
ANY_INTEGER = Field("delta", "增减", FieldType.INTEGER)
BOUNDED = Field("score", "评分", FieldType.INTEGER, min=Decimal(1), max=Decimal(100))
VALUE = Field("case_value", "案值", FieldType.DECIMAL, unit="万元", min=Decimal(0), places=4)
RATE = Field("rate", "比例", FieldType.DECIMAL, min=Decimal("0.5"), max=Decimal("99.5"))
RECOVERED = Field(
    "recovered", "挽回经济损失", FieldType.DECIMAL, unit="万元", required=False, min=Decimal(0)
)
SEIZED = Field("seized", "收缴物资", FieldType.TEXT)
OPTIONAL_TEXT = Field("title", "职务", FieldType.TEXT, required=False)
SHORT_TEXT = Field("name", "联络员姓名", FieldType.TEXT, max_length=20)
EXPERIENCE = Field("experience", "经验做法", FieldType.LONGTEXT)
STATUS = Field("status", "整改情况", FieldType.CHOICE, options=("已整改", "整改中", "未整改"))
STATUS_CN = Field(
    "status", "整改情况", FieldType.CHOICE, options=("已整改", "整改中（限期）", "未整改")
)
KINDS = Field(
    "kinds",
    "问题类型",
    FieldType.MULTICHOICE,
    options=("假冒伪劣", "商标侵权", "无证经营", "其他"),
)
OPTIONAL_KINDS = Field(
    "kinds", "问题类型", FieldType.MULTICHOICE, required=False, options=("假冒伪劣", "商标侵权")
)
WHEN = Field("when", "检查日期", FieldType.DATE)
DOCUMENT = Field("document", "总结材料", FieldType.FILE)


# ---- integers ---------------------------------------------------------------------------


def test_an_integer_answer_is_stored_as_an_int() -> None:
    assert check_answer(CASES, "12", TODAY) == Valid(12)


def test_letters_for_a_number_are_not_a_number() -> None:
    assert check_answer(CASES, "十二件", TODAY) == Invalid("not_a_number")
    assert check_answer(CASES, "abc", TODAY) == Invalid("not_a_number")


def test_a_negative_count_is_refused_as_negative() -> None:
    assert check_answer(CASES, "-3", TODAY) == Invalid("negative")


def test_a_negative_number_is_accepted_where_no_minimum_is_set() -> None:
    assert check_answer(ANY_INTEGER, "-3", TODAY) == Valid(-3)


def test_a_number_below_a_positive_minimum_names_the_minimum() -> None:
    assert check_answer(BOUNDED, "0", TODAY) == Invalid("below_min", {"min": "1"})


def test_a_number_above_the_maximum_names_the_maximum() -> None:
    assert check_answer(BOUNDED, "101", TODAY) == Invalid("above_max", {"max": "100"})


def test_the_bounds_themselves_are_accepted() -> None:
    assert check_answer(BOUNDED, "1", TODAY) == Valid(1)
    assert check_answer(BOUNDED, "100", TODAY) == Valid(100)


@pytest.mark.parametrize("raw", ["1e309", "NaN", "nan", "Infinity", "-Infinity", "inf", "0x10"])
def test_special_float_spellings_are_not_an_integer(raw: str) -> None:
    assert check_answer(CASES, raw, TODAY) == Invalid("not_a_number")


def test_a_fraction_for_a_count_is_not_whole() -> None:
    assert check_answer(CASES, "3.5", TODAY) == Invalid("not_whole")


def test_full_width_digits_are_read_as_digits() -> None:
    assert check_answer(CASES, "１２", TODAY) == Valid(12)


def test_a_full_width_minus_is_still_a_negative_count() -> None:
    assert check_answer(CASES, "－３", TODAY) == Invalid("negative")


def test_thousands_separators_are_ignored() -> None:
    assert check_answer(CASES, "1,234", TODAY) == Valid(1234)
    assert check_answer(CASES, "1，234", TODAY) == Valid(1234)  # full-width comma


def test_the_fields_own_unit_and_a_counting_word_may_follow_the_number() -> None:
    assert check_answer(CASES, "12件", TODAY) == Valid(12)
    assert check_answer(VISITS, "35人次", TODAY) == Valid(35)


def test_surrounding_spaces_are_trimmed() -> None:
    assert check_answer(CASES, "  12 \n", TODAY) == Valid(12)


def test_an_absurdly_large_count_is_too_large() -> None:
    assert check_answer(CASES, "10000000000000", TODAY) == Invalid("too_large")


def test_a_count_just_below_the_limit_is_accepted() -> None:
    assert check_answer(CASES, "9999999999999", TODAY) == Valid(9_999_999_999_999)


def test_a_pasted_five_thousand_digit_number_is_refused_not_a_crash() -> None:
    assert check_answer(CASES, "1" * 5000, TODAY) == Invalid("too_large")


# ---- decimals ---------------------------------------------------------------------------


def test_a_decimal_with_its_unit_suffix_is_stored_as_a_plain_string() -> None:
    assert check_answer(VALUE, "3.5万元", TODAY) == Valid("3.5")


def test_a_decimal_keeps_no_trailing_zeros_and_no_exponent() -> None:
    assert check_answer(VALUE, "12.5000", TODAY) == Valid("12.5")
    assert check_answer(VALUE, "100", TODAY) == Valid("100")
    assert check_answer(VALUE, ".25", TODAY) == Valid("0.25")


def test_a_decimal_with_too_many_places_names_the_allowed_places() -> None:
    assert check_answer(VALUE, "3.14159", TODAY) == Invalid("too_many_places", {"places": 4})


def test_a_decimal_with_exactly_the_allowed_places_is_accepted() -> None:
    assert check_answer(VALUE, "3.1416", TODAY) == Valid("3.1416")


@pytest.mark.parametrize("raw", ["1e309", "NaN", "Infinity", "-Infinity", "sNaN", "1E5"])
def test_special_float_spellings_are_not_a_decimal(raw: str) -> None:
    assert check_answer(VALUE, raw, TODAY) == Invalid("not_a_number")


def test_a_negative_amount_is_refused_as_negative() -> None:
    assert check_answer(VALUE, "-0.5", TODAY) == Invalid("negative")


def test_a_decimal_bound_is_reported_in_plain_digits() -> None:
    assert check_answer(RATE, "0.4", TODAY) == Invalid("below_min", {"min": "0.5"})
    assert check_answer(RATE, "100", TODAY) == Invalid("above_max", {"max": "99.5"})


def test_a_decimal_with_thousands_separators_and_full_width_digits_is_accepted() -> None:
    assert check_answer(VALUE, "１,２３４.５万元", TODAY) == Valid("1234.5")


def test_an_absurdly_large_amount_is_too_large() -> None:
    assert check_answer(VALUE, "10000000000000", TODAY) == Invalid("too_large")


def test_an_amount_in_yuan_is_not_silently_stored_as_wan_yuan() -> None:
    # 35000元 is 3.5万元; storing "35000" in a 万元 field inflates it ten thousand times.
    result = check_answer(VALUE, "35000元", TODAY)

    assert isinstance(result, Invalid)


# ---- text -------------------------------------------------------------------------------


def test_text_is_stored_as_typed_without_surrounding_spaces() -> None:
    result = check_answer(SEIZED, "  假冒白酒120瓶（茅台）  ", TODAY)

    assert result == Valid("假冒白酒120瓶（茅台）")


def test_control_characters_are_stripped_from_text_but_line_breaks_kept() -> None:
    raw = "假冒\x00白酒\x07120瓶\x1b\n香烟\t30条\x7f"

    assert check_answer(EXPERIENCE, raw, TODAY) == Valid("假冒白酒120瓶\n香烟\t30条")


def test_a_ten_thousand_character_text_is_too_long() -> None:
    assert check_answer(SEIZED, "假" * 10_000, TODAY) == Invalid(
        "too_long", {"max": 200, "length": 10_000}
    )


def test_a_ten_thousand_character_longtext_is_too_long_for_its_larger_limit() -> None:
    assert check_answer(EXPERIENCE, "经" * 10_000, TODAY) == Invalid(
        "too_long", {"max": 4000, "length": 10_000}
    )


def test_a_text_at_its_own_max_length_is_accepted_and_one_more_is_not() -> None:
    assert check_answer(SHORT_TEXT, "张" * 20, TODAY) == Valid("张" * 20)
    assert check_answer(SHORT_TEXT, "张" * 21, TODAY) == Invalid(
        "too_long", {"max": 20, "length": 21}
    )


def test_a_required_text_of_only_control_characters_is_missing() -> None:
    assert check_answer(SEIZED, "\x00\x01\x07", TODAY) == Invalid("required")


# ---- required and optional --------------------------------------------------------------


@pytest.mark.parametrize("raw", ["", "   ", "\n"])
def test_an_empty_answer_to_a_required_field_is_required(raw: str) -> None:
    assert check_answer(CASES, raw, TODAY) == Invalid("required")


@pytest.mark.parametrize("raw", ["无", "-", "略", "skip", "None", " 无 ", ""])
def test_an_optional_field_is_skipped_with_a_skip_word(raw: str) -> None:
    assert check_answer(RECOVERED, raw, TODAY) == Valid(None)
    assert check_answer(OPTIONAL_TEXT, raw, TODAY) == Valid(None)


def test_a_skip_word_is_no_answer_to_a_required_number() -> None:
    assert check_answer(CASES, "无", TODAY) == Invalid("not_a_number")


def test_a_skip_word_is_kept_as_the_answer_to_a_required_text() -> None:
    assert check_answer(SEIZED, "无", TODAY) == Valid("无")


# ---- choices ----------------------------------------------------------------------------


def test_a_choice_is_picked_by_its_label() -> None:
    assert check_answer(STATUS, "整改中", TODAY) == Valid("整改中")


def test_a_choice_is_picked_by_its_one_based_number() -> None:
    assert check_answer(STATUS, "1", TODAY) == Valid("已整改")
    assert check_answer(STATUS, "3", TODAY) == Valid("未整改")
    assert check_answer(STATUS, "３", TODAY) == Valid("未整改")


@pytest.mark.parametrize("raw", ["0", "4", "-1", "整改", "已整改了"])
def test_a_choice_outside_the_options_is_not_an_option(raw: str) -> None:
    assert check_answer(STATUS, raw, TODAY) == Invalid("not_an_option")


def test_a_choice_typed_exactly_as_its_full_width_label_is_accepted() -> None:
    assert check_answer(STATUS_CN, "整改中（限期）", TODAY) == Valid("整改中（限期）")


def test_a_multichoice_takes_labels_and_numbers_in_typed_order_without_repeats() -> None:
    result = check_answer(KINDS, "3、假冒伪劣，3 商标侵权", TODAY)

    assert result == Valid(["无证经营", "假冒伪劣", "商标侵权"])


def test_a_multichoice_with_one_unknown_part_is_refused_whole() -> None:
    assert check_answer(KINDS, "1,5", TODAY) == Invalid("not_an_option")


def test_a_multichoice_of_separators_only_is_required() -> None:
    assert check_answer(KINDS, "，、；", TODAY) == Invalid("required")


def test_an_optional_multichoice_is_skipped_with_a_skip_word() -> None:
    assert check_answer(OPTIONAL_KINDS, "无", TODAY) == Valid(None)


@pytest.mark.parametrize("raw", ["፩", "١", "߁", "1" * 5000])
def test_a_choice_typed_as_a_non_ascii_digit_or_an_endless_number_is_re_asked(raw: str) -> None:
    assert check_answer(STATUS, raw, TODAY) == Invalid("not_an_option")
    assert check_answer(KINDS, f"1、{raw}", TODAY) == Invalid("not_an_option")


@pytest.mark.parametrize("raw", ["-0", "－0", "+0"])
def test_a_negative_zero_count_is_stored_as_zero(raw: str) -> None:
    assert check_answer(CASES, raw, TODAY) == Valid(0)


@pytest.mark.parametrize("raw", ["-0", "-0.0", "－0.00", "-.0"])
def test_a_negative_zero_amount_is_stored_as_zero(raw: str) -> None:
    assert check_answer(VALUE, raw, TODAY) == Valid("0")


def test_a_tapped_option_index_gives_the_option() -> None:
    assert check_choice_index(STATUS, 0) == Valid("已整改")
    assert check_choice_index(STATUS, 2) == Valid("未整改")


@pytest.mark.parametrize("index", [-1, 3, 99, -4])
def test_a_forged_option_index_is_not_an_option(index: int) -> None:
    assert check_choice_index(STATUS, index) == Invalid("not_an_option")


# ---- dates ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "2016-12-15",
        "2016/12/15",
        "2016.12.15",
        "2016年12月15日",
        "2016年12月15号",
        "2016年12月15",
        "２０１６年１２月１５日",
    ],
)
def test_a_full_date_is_read_in_several_formats(raw: str) -> None:
    assert check_answer(WHEN, raw, TODAY) == Valid("2016-12-15")


def test_a_date_with_single_digit_month_and_day_is_read() -> None:
    assert check_answer(WHEN, "2017-1-5", TODAY) == Valid("2017-01-05")


@pytest.mark.parametrize("raw", ["12月15日", "12月15号", "12月15", "12-15", "12/15", "12.15"])
def test_a_date_without_a_year_takes_the_year_from_today(raw: str) -> None:
    assert check_answer(WHEN, raw, TODAY) == Valid("2016-12-15")
    assert check_answer(WHEN, raw, date(2017, 2, 1)) == Valid("2017-12-15")


@pytest.mark.parametrize("raw", ["2017-02-30", "2017年2月30日", "2月30日", "2017-13-01"])
def test_a_date_that_does_not_exist_is_no_such_date(raw: str) -> None:
    assert check_answer(WHEN, raw, TODAY) == Invalid("no_such_date")


def test_february_29_exists_only_in_a_leap_year_of_today() -> None:
    assert check_answer(WHEN, "2月29日", date(2024, 1, 10)) == Valid("2024-02-29")
    assert check_answer(WHEN, "2月29日", date(2023, 1, 10)) == Invalid("no_such_date")


@pytest.mark.parametrize("raw", ["15/12/2016", "昨天", "20161215", "12月"])
def test_something_that_is_not_a_date_is_not_a_date(raw: str) -> None:
    assert check_answer(WHEN, raw, TODAY) == Invalid("not_a_date")


# ---- files and the whole form -----------------------------------------------------------


def test_typing_into_a_file_field_asks_for_a_file() -> None:
    assert check_answer(DOCUMENT, "见附件", TODAY) == Invalid("file_expected")


def test_missing_required_lists_unanswered_required_typed_fields_in_form_order() -> None:
    form = Form("stats", "打假统计报表", (CASES, RECOVERED, VALUE, DOCUMENT, SEIZED))

    missing = missing_required(form, {"unrelated": "1", "recovered": None, "seized": None})

    assert missing == ["cases", "case_value", "seized"]


def test_missing_required_is_empty_once_every_required_field_is_answered() -> None:
    form = Form("stats", "打假统计报表", (CASES, RECOVERED, DOCUMENT))

    assert missing_required(form, {"cases": 0}) == []


def test_a_zero_answer_counts_as_answered() -> None:
    form = Form("stats", "打假统计报表", (CASES, VALUE))

    assert missing_required(form, {"cases": 0, "case_value": "0"}) == []
