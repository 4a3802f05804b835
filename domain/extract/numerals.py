"""Chinese and Arabic numerals as they appear in dates, counts and clock times."""

from __future__ import annotations

import re

import cn2an

_DIGITS = {
    "〇": 0, "○": 0, "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4,
    "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
}  # fmt: skip
CN_NUMERAL_CHARS = "〇○零一二两三四五六七八九十百"

# A numeral run is rewritten only before a unit that makes it a quantity or a date part;
# elsewhere (一是, 十九大, 三个代表 ...) Chinese numerals are words, not numbers.
_RUN = re.compile(rf"[{CN_NUMERAL_CHARS}]+(?=[年月日号个天时点周小])")
# 周一 / 星期日 are weekdays, and 一日一报 / 一周一报 name a reporting rhythm, not a date.
_WEEKDAY_PREFIX = ("周", "期", "拜")
_RHYTHM = re.compile(r"[日周月]一")

_WEEKDAYS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "日": 7, "天": 7, "七": 7}


def chinese_to_int(run: str) -> int | None:
    """Value of a Chinese numeral such as 二十八, 十二 or 二〇一七; None if it is not one."""
    if run and all(ch in _DIGITS for ch in run) and len(run) > 1:
        # Years are read digit by digit (二〇一七), which cn2an's smart mode would also do,
        # but 两 is not a digit to cn2an.
        return int("".join(str(_DIGITS[ch]) for ch in run))
    try:
        value = cn2an.cn2an(run.replace("○", "〇"), "smart")
    except (ValueError, KeyError, IndexError):
        return None
    return int(value) if float(value).is_integer() else None


def to_int(token: str) -> int | None:
    """Value of an Arabic or Chinese numeral token."""
    if token.isdigit():
        return int(token)
    return chinese_to_int(token)


def weekday_number(token: str) -> int | None:
    """ISO weekday (1 = Monday .. 7 = Sunday) of 一..日 / 天 or a digit."""
    if token.isdigit():
        value = int(token)
        return value if 1 <= value <= 7 else None
    return _WEEKDAYS.get(token)


def numeral_runs(text: str) -> list[tuple[int, int, str]]:
    """(start, end, arabic) for every Chinese numeral run worth rewriting as digits."""
    runs: list[tuple[int, int, str]] = []
    for match in _RUN.finditer(text):
        start, end = match.span()
        if len(match.group()) == 1 and start > 0 and text[start - 1] in _WEEKDAY_PREFIX:
            continue
        if match.group() == "一" and _RHYTHM.match(text, end):
            continue
        value = chinese_to_int(match.group())
        if value is not None:
            runs.append((start, end, str(value)))
    return runs
