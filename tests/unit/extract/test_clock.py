from domain.extract.clock import read_clock


def test_an_afternoon_clock_time_becomes_24_hour() -> None:
    assert read_clock("下午3点前", 0).time == "15:00"


def test_an_afternoon_time_with_minutes_keeps_them() -> None:
    assert read_clock("下午3时30分前", 0).time == "15:30"


def test_a_24_hour_time_after_afternoon_is_not_shifted_again() -> None:
    assert read_clock("下午15:00前", 0).time == "15:00"


def test_half_past_is_thirty_minutes() -> None:
    assert read_clock("17点半前", 0).time == "17:30"


def test_noon_is_twelve_oclock() -> None:
    assert read_clock("中午12点前", 0).time == "12:00"


def test_the_end_of_the_morning_shift_has_no_clock_time() -> None:
    clock = read_clock("上午下班前", 0)
    assert clock.found and clock.time is None
    assert clock.end == len("上午下班")


def test_a_bare_clock_time_is_read() -> None:
    assert read_clock("12:00前", 0).time == "12:00"


def test_no_clock_time_is_found_before_a_verb() -> None:
    assert not read_clock("前报送", 0).found


def test_midnight_at_the_end_of_the_day_is_the_last_minute() -> None:
    assert read_clock("24时前", 0).time == "23:59"
