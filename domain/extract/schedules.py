"""Schedules as notices write them: 每周四, 每月28日, 每季度第一个月10日, 5个工作日内."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from domain.extract.dates import DateGroup, DateMention
from domain.extract.model import Kind, Period
from domain.extract.numerals import weekday_number

WD = r"[一二三四五六日天1-7]"
_EVERY = r"(?:每|每个|每一)"
_FIRST_MONTH = r"(?:第1个月|第1月|首月|头1个月)"
_LAST_MONTH = r"(?:最后1个月|末月|第3个月)"
_DAY = r"(?P<d>\d{1,2})\s*[日号]"
_DAYS_LIST = r"(?P<ds>\d{1,2}(?:\s*[日号]?\s*[、和及]\s*\d{1,2}){0,4})\s*[日号]"
_QUARTER_FIRST = (1, 4, 7, 10)
_QUARTER_LAST = (3, 6, 9, 12)
_PART_DAY = {"上旬": 10, "中旬": 20, "下旬": -1}
_DAILY_CONTEXT = re.compile(r"日报|每日|每天|逐日")
_MONTHLY_CONTEXT = re.compile(r"每个?月|月报|按月|逐月")
_WEEKLY_CONTEXT = re.compile(r"每个?周|周报|每个?星期|按周")


@dataclass(frozen=True)
class Trigger:
    """Where a schedule is written; one trigger per schedule value (each weekday, each day)."""

    kind: Kind
    start: int
    end: int
    time: str | None = None
    group: DateGroup | None = None
    weekday: int | None = None
    day_of_month: int | None = None
    months: tuple[int, ...] | None = None
    month_day: str | None = None
    offset: int | None = None
    strict: bool = False
    marked: bool = False
    # The cadence came from an earlier deadline in the passage (每月4日前…;…8日前报送).
    carried: bool = False
    last_workday: bool = False


Builder = Callable[[re.Match[str]], list[Trigger]]


def _weekly(match: re.Match[str]) -> list[Trigger]:
    days = [match.group("w"), match.groupdict().get("w2")]
    # 每周一报 is "one report a week", not "every Monday".
    rest = match.string[match.end() : match.end() + 2]
    if match.group("w") == "一" and rest.startswith("报") and rest not in ("报送", "报告"):
        return [Trigger(Kind.WEEKLY, match.start(), match.end(), marked=True)]
    return [
        Trigger(Kind.WEEKLY, match.start(), match.end(), weekday=weekday_number(d))
        for d in days
        if d is not None
    ]


def _weekly_in_scheme(match: re.Match[str]) -> list[Trigger]:
    # 周五前 is weekly only where the sentence sets up a weekly report (周报 / 每周).
    sentence = match.string[match.pos : match.endpos]
    return _weekly(match) if _WEEKLY_CONTEXT.search(sentence) else []


def _days(match: re.Match[str], kind: Kind, months: tuple[int, ...] | None) -> list[Trigger]:
    listed = match.groupdict().get("ds")
    values = re.findall(r"\d{1,2}", listed) if listed else [match.group("d")]
    return [
        Trigger(kind, match.start(), match.end(), day_of_month=int(v), months=months)
        for v in values
        if 1 <= int(v) <= 31
    ]


def _monthly(match: re.Match[str]) -> list[Trigger]:
    return _days(match, Kind.MONTHLY, None)


def _next_month(match: re.Match[str]) -> list[Trigger]:
    # 次月5日 is monthly only where the sentence speaks of every month or a monthly report.
    sentence = match.string[match.pos : match.endpos]
    return _monthly(match) if _MONTHLY_CONTEXT.search(sentence) else []


def _month_end(kind: Kind, months: tuple[int, ...] | None) -> Builder:
    def build(match: re.Match[str]) -> list[Trigger]:
        return [Trigger(kind, match.start(), match.end(), day_of_month=-1, months=months)]

    return build


def _last_workday(match: re.Match[str]) -> list[Trigger]:
    return [Trigger(Kind.MONTHLY, match.start(), match.end(), day_of_month=-1, last_workday=True)]


def _month_part(match: re.Match[str]) -> list[Trigger]:
    day = _PART_DAY[match.group("part")]
    return [Trigger(Kind.MONTHLY, match.start(), match.end(), day_of_month=day)]


def _quarter(months: tuple[int, ...]) -> Builder:
    def build(match: re.Match[str]) -> list[Trigger]:
        return _days(match, Kind.QUARTERLY, months)

    return build


def _listed_months(match: re.Match[str]) -> list[Trigger]:
    months = tuple(int(m) for m in re.findall(r"\d{1,2}", match.group("ms")))
    day = int(match.group("d"))
    if len(months) == 4:
        return [Trigger(Kind.QUARTERLY, match.start(), match.end(), day_of_month=day,
                        months=months)]  # fmt: skip
    return [
        Trigger(Kind.YEARLY, match.start(), match.end(), month_day=f"{m:02d}-{day:02d}")
        for m in months
        if 1 <= m <= 12
    ]


def _yearly(match: re.Match[str]) -> list[Trigger]:
    month = int(match.group("m"))
    if not 1 <= month <= 12:
        return []
    mention = DateMention(match.start(), match.end(), None, month, None, True)
    if match.group("d"):
        day = int(match.group("d"))
        month_day = f"{month:02d}-{day:02d}"
    elif match.group("part") in ("上旬", "中旬"):
        month_day = f"{month:02d}-{_PART_DAY[match.group('part')]:02d}"
    else:
        month_day = mention.month_day
    return [Trigger(Kind.YEARLY, match.start(), match.end(), month_day=month_day)]


def _simple(kind: Kind, *, strict: bool = False, marked: bool = False) -> Builder:
    def build(match: re.Match[str]) -> list[Trigger]:
        return [Trigger(kind, match.start(), match.end(), strict=strict, marked=marked)]

    return build


def _year_end(match: re.Match[str]) -> list[Trigger]:
    return [Trigger(Kind.YEARLY, match.start(), match.end(), month_day="12-31")]


def _daily_today(match: re.Match[str]) -> list[Trigger]:
    # 当日 is a daily deadline only inside a daily-report scheme (实行日报制,于当日12:00前).
    sentence = match.string[match.pos : match.endpos]
    return [Trigger(Kind.DAILY, match.start(), match.end())] if "日报" in sentence else []


def _daily_next_day(match: re.Match[str]) -> list[Trigger]:
    # 次日9时前 is a daily deadline only where the sentence sets up a daily report.
    sentence = match.string[match.pos : match.endpos]
    if _DAILY_CONTEXT.search(sentence):
        return [Trigger(Kind.DAILY, match.start(), match.end())]
    return []


def _relative(match: re.Match[str]) -> list[Trigger]:
    unit = match.group("u")
    kind = (
        Kind.RELATIVE_WORKDAYS
        if unit == "工作日"
        else Kind.RELATIVE_HOURS
        if unit == "小时"
        else Kind.RELATIVE_DAYS
    )
    # 1周内 is counted in days: a week is seven calendar days.
    offset = int(match.group("n")) * (7 if unit in ("周", "星期") else 1)
    return [Trigger(kind, match.start(), match.end(), offset=offset, marked=True)]


# Ordered: earlier patterns claim their span first, so 每季度结束后10日内 is quarterly,
# not a relative deadline, and 每年3月31日 is yearly, not a date.
_RECURRING: tuple[tuple[re.Pattern[str], Builder], ...] = (
    (re.compile(rf"{_EVERY}?季度(?:的)?{_FIRST_MONTH}(?:的)?{_DAYS_LIST}"),
     _quarter(_QUARTER_FIRST)),
    (re.compile(rf"{_EVERY}?季度(?:的)?{_LAST_MONTH}(?:的)?{_DAYS_LIST}"),
     _quarter(_QUARTER_LAST)),
    (re.compile(rf"(?:次|下1?个?)季度(?:的)?{_FIRST_MONTH}?(?:的)?{_DAYS_LIST}"),
     _quarter(_QUARTER_FIRST)),
    (re.compile(r"(?:每个?)?季度(?:结束|末|终了)(?:后|之后)(?:的)?(?P<d>\d{1,2})\s*个?\s*"
                r"(?:工作日|日|天)(?:之内|以内|内)?"),
     _quarter(_QUARTER_FIRST)),
    (re.compile(rf"(?:每个?)?季度(?:结束|末|终了)?(?:后|之后)(?:的)?(?:次月|下月|第1个月){_DAYS_LIST}"),
     _quarter(_QUARTER_FIRST)),
    (re.compile(rf"{_EVERY}季度(?:末|最后1天|最后1日)"), _month_end(Kind.QUARTERLY,
                                                                _QUARTER_LAST)),
    (re.compile(r"每年(?:的)?(?P<ms>\d{1,2}(?:\s*[、,和]\s*\d{1,2}){1,3})\s*月(?:份)?(?:的)?"
                rf"{_DAY}"), _listed_months),
    (re.compile(r"每年(?:的)?(?P<m>\d{1,2})\s*月(?:份)?(?:的)?(?:(?P<d>\d{1,2})\s*[日号]"
                r"|(?P<part>底|末|上旬|中旬|下旬))"), _yearly),
    (re.compile(r"每年(?:的)?(?:年底|年末|底|末)"), _year_end),
    (re.compile(rf"{_EVERY}月(?:的)?\d{{1,2}}\s*[日号]?\s*(?:至|到|-|~|—)\s*{_DAY}"), _monthly),
    (re.compile(rf"{_EVERY}月(?:的)?{_DAYS_LIST}"), _monthly),
    (re.compile(rf"{_EVERY}月(?:的)?最后1个工作日"), _last_workday),
    (re.compile(rf"{_EVERY}月(?:的)?(?:月底|月末|底|末|最后1天|最后1日)"),
     _month_end(Kind.MONTHLY, None)),
    (re.compile(rf"{_EVERY}月(?:的)?(?P<part>上旬|中旬|下旬)"), _month_part),
    (re.compile(rf"{_EVERY}月(?:的)?前(?P<d>\d{{1,2}})\s*个?\s*(?:工作日|日|天)(?:之内|以内|内)?"),
     _monthly),
    (re.compile(rf"(?:次月|下月|下个月|下1个月|当月|本月)(?:的)?{_DAYS_LIST}"), _next_month),
    (re.compile(rf"(?:每周|每星期|每个星期|每礼拜)(?:的)?(?:星期|周)?(?P<w>{WD})"
                rf"(?:\s*[、和]\s*(?:周|星期)?(?P<w2>{WD}))?"), _weekly),
    (re.compile(rf"(?<![每上下(日])(?:周|星期)(?P<w>{WD})(?:\s*[、和]\s*(?:周|星期)?(?P<w2>{WD}))?"),
     _weekly_in_scheme),
    (re.compile(r"(?:每日|每天|逐日|每个?工作日)"), _simple(Kind.DAILY)),
    (re.compile(r"1日1报|一日一报"), _simple(Kind.DAILY, marked=True)),
    (re.compile(r"(?:当日|当天)"), _daily_today),
    (re.compile(r"(?:次日|第2天|第2日)"), _daily_next_day),
    (re.compile(r"(?:1周1报|一周一报)"), _simple(Kind.WEEKLY, marked=True)),
    (re.compile(r"(?:1月1报|一月一报)"), _simple(Kind.MONTHLY, marked=True)),
    (re.compile(r"(?:1季1报|一季一报)"), _simple(Kind.QUARTERLY, marked=True)),
    (re.compile(r"(?<![\d月])(?P<n>\d{1,3})\s*个?\s*(?P<u>工作日|自然日|日|天|小时|周|星期)"
                r"\s*(?:之内|以内|内)"),
     _relative),
    (re.compile(r"(?:每周|每星期|按周)"), _simple(Kind.WEEKLY, strict=True)),
    (re.compile(r"(?:每个?月|按月)"), _simple(Kind.MONTHLY, strict=True)),
    (re.compile(r"(?:每个?季度|按季度?)"), _simple(Kind.QUARTERLY, strict=True)),
)  # fmt: skip


_PERIOD = re.compile(
    r"(?P<a>上|本|当|下|次)个?月(?:的)?(?P<d1>\d{1,2})\s*[日号]\s*(?:至|到|-|~|—)\s*"
    r"(?:(?P<b>上|本|当|下|次)个?月(?:的)?)?(?P<d2>\d{1,2})\s*[日号]"
)
_WEEK_PERIOD = re.compile(
    rf"(?P<a>上|本)(?:周|星期)(?P<w1>{WD})\s*(?:至|到|-|~|—)\s*(?:(?P<b>上|本)?(?:周|星期))?"
    rf"(?P<w2>{WD})"
)
# 报送上月… / 上季度… / 上1年度… / 上周…: the whole previous period, by name.
_NAMED_PERIODS = (
    (re.compile(r"上[1一]?个?月(?![\d份])"), Period("prev-1", "prev-last")),
    (re.compile(r"上[1一]?个?季度?(?!\d)"), Period("prev-quarter-start", "prev-quarter-end")),
    (re.compile(r"(?:上[1一]?个?年度|上年度?)(?!\d)"), Period("prev-year-start", "prev-year-end")),
    (re.compile(rf"上[1一]?个?(?:周|星期)(?!{WD})"), Period("prev-w1", "prev-w7")),
    # 报送当月… / 本季度…: the period the deadline falls in (本月25日 is a date, not a period).
    (re.compile(r"(?:本|当)月(?![\d份底末初])"), Period("cur-1", "cur-last")),
    (re.compile(r"(?:本|当)季度?(?![\d末初])"), Period("cur-quarter-start", "cur-quarter-end")),
    (re.compile(r"(?:本|当)年度(?!\d)"), Period("cur-year-start", "cur-year-end")),
    (re.compile(rf"(?:本|当)(?:周|星期)(?!{WD})"), Period("cur-w1", "cur-w7")),
)
_RELATIVE_MONTH = {"上": "prev", "本": "cur", "当": "cur", "下": "next", "次": "next"}


@dataclass(frozen=True)
class PeriodMention:
    start: int
    end: int
    period: Period


def find_periods(text: str, start: int, end: int) -> list[PeriodMention]:
    """Statistics periods such as 上月26日至本月25日 or 上周五至本周四."""
    found: list[PeriodMention] = []
    for match in _PERIOD.finditer(text, start, end):
        first = _RELATIVE_MONTH[match.group("a")]
        second = _RELATIVE_MONTH[match.group("b")] if match.group("b") else "cur"
        period = Period(f"{first}-{int(match.group('d1'))}", f"{second}-{int(match.group('d2'))}")
        found.append(PeriodMention(match.start(), match.end(), period))
    for match in _WEEK_PERIOD.finditer(text, start, end):
        first = _RELATIVE_MONTH[match.group("a")]
        second = _RELATIVE_MONTH[match.group("b")] if match.group("b") else "cur"
        period = Period(
            f"{first}-w{weekday_number(match.group('w1'))}",
            f"{second}-w{weekday_number(match.group('w2'))}",
        )
        found.append(PeriodMention(match.start(), match.end(), period))
    for pattern, named in _NAMED_PERIODS:
        for match in pattern.finditer(text, start, end):
            if not overlaps([(p.start, p.end) for p in found], match.start(), match.end()):
                found.append(PeriodMention(match.start(), match.end(), named))
    return found


def overlaps(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    return any(s < end and start < e for s, e in spans)


# A bare day (8日前) or weekday (周五12时前) once a cadence is set in the passage.
_BARE_DAY = re.compile(
    r"(?<![\d月年日号至到\-~—])(?P<d>\d{1,2})\s*[日号](?=\s*(?:\d{1,2}[时:点]\S{0,4})?(?:之前|以前|前))"
)
_BARE_WEEKDAY = re.compile(rf"(?<![每上下本(日])(?:周|星期)(?P<w>{WD})")


def find_schedules(
    text: str, start: int, end: int, taken: list[tuple[int, int]], cadence: Kind | None = None
) -> list[Trigger]:
    """Schedules written in text[start:end]; `cadence` is one an earlier sentence set."""
    found: list[Trigger] = []
    for pattern, build in _RECURRING:
        for match in pattern.finditer(text, start, end):
            if overlaps(taken, match.start(), match.end()):
                continue
            triggers = build(match)
            if triggers:
                taken.append(match.span())
                found.extend(triggers)
    monthly = cadence is Kind.MONTHLY or (
        bool(found) and all(t.kind is Kind.MONTHLY for t in found)
    )
    carried = found == []
    for match in _BARE_DAY.finditer(text, start, end) if monthly else ():
        if not overlaps(taken, match.start(), match.end()):
            taken.append(match.span())
            day = int(match.group("d"))
            found.append(Trigger(Kind.MONTHLY, match.start(), match.end(), day_of_month=day,
                                 carried=carried))  # fmt: skip
    for match in _BARE_WEEKDAY.finditer(text, start, end) if cadence is Kind.WEEKLY else ():
        if not overlaps(taken, match.start(), match.end()):
            taken.append(match.span())
            weekday = weekday_number(match.group("w"))
            found.append(Trigger(Kind.WEEKLY, match.start(), match.end(), weekday=weekday,
                                 carried=True))  # fmt: skip
    return found
