"""Calendar dates written in a notice: single dates, ranges, lists, and where a year comes from."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

_YEAR = r"(?:(?P<y>(?:19|20)\d{2})\s*年\s*)"
_DAY_SUFFIX = r"(?:日|号)"
RANGE_JOIN = r"(?:至|到|~|—{1,2}|-)"
_RELATIVE_YEAR = {"今年": 0, "本年": 0, "当年": 0, "去年": -1, "上年": -1, "明年": 1,
                  "次年": 1, "下年": 1, "来年": 1}  # fmt: skip
_REL_YEAR = r"(?P<rel>今年|本年|当年|去年|上年|明年|次年|下年|来年)"
_MONTH_DAY = re.compile(
    rf"(?<![\d.])(?:{_REL_YEAR}|{_YEAR})?(?P<m>\d{{1,2}})\s*月(?:份)?\s*"
    rf"(?:(?P<d>\d{{1,2}})(?:\s*{_DAY_SUFFIX}|(?=\s*{RANGE_JOIN}\s*\d))"
    r"|(?P<part>底|末|上旬|中旬|下旬))"
)
_NUMERIC = re.compile(
    r"(?<![\d.])(?P<y>(?:19|20)\d{2})\s*(?P<sep>[-./])\s*(?P<m>\d{1,2})\s*(?P=sep)"
    r"\s*(?P<d>\d{1,2})(?!\d)(?:\s*日)?"
)
_DAY_ONLY = re.compile(rf"(?P<d>\d{{1,2}})\s*{_DAY_SUFFIX}")
_RANGE_GAP = re.compile(rf"\s*{RANGE_JOIN}\s*")
# Separators that chain dates into a list: 12月27日、1月17日和2月23日.
_LIST_GAP = re.compile(r"\s*(?:、|,|和|及|以及|与|或)\s*")
_PART_DAY = {"上旬": 10, "中旬": 20}
# A deadline falls after the notice is issued; one written well before it means next year.
_SLACK = timedelta(days=60)


@dataclass(frozen=True)
class DateMention:
    """A written date; day None with month_end True means the last day of the month."""

    start: int
    end: int
    year: int | None
    month: int
    day: int | None
    month_end: bool = False
    relative_year: int | None = None

    def on(self, year: int) -> date:
        """This month/day in a given year."""
        day = self.day if self.day is not None else calendar.monthrange(year, self.month)[1]
        return date(year, self.month, min(day, calendar.monthrange(year, self.month)[1]))

    @property
    def month_day(self) -> str:
        """MM-DD, taking a non-leap year for an unknown month end."""
        day = self.day if self.day is not None else calendar.monthrange(2001, self.month)[1]
        return f"{self.month:02d}-{day:02d}"


@dataclass(frozen=True)
class DateItem:
    """A single date or a range; the range end inherits the month and year it leaves out."""

    first: DateMention
    last: DateMention | None = None

    @property
    def start(self) -> int:
        return self.first.start

    @property
    def end(self) -> int:
        return (self.last or self.first).end

    @property
    def deadline(self) -> DateMention:
        return self.last or self.first


@dataclass(frozen=True)
class DateGroup:
    """Dates written one after another as a list (、 / 和 / ,)."""

    items: tuple[DateItem, ...]

    @property
    def start(self) -> int:
        return self.items[0].start

    @property
    def end(self) -> int:
        return self.items[-1].end


def _valid(month: int, day: int | None) -> bool:
    return 1 <= month <= 12 and (day is None or 1 <= day <= 31)


def _mention_at(text: str, pos: int, end: int) -> DateMention | None:
    for pattern in (_MONTH_DAY, _NUMERIC):
        match = pattern.match(text, pos, end)
        if match is None:
            continue
        year = int(match.group("y")) if match.group("y") else None
        month = int(match.group("m"))
        rel = match.groupdict().get("rel")
        shift = _RELATIVE_YEAR[rel] if rel else None
        part = match.groupdict().get("part")
        if part:
            day = _PART_DAY.get(part)
            mention = DateMention(pos, match.end(), year, month, day, day is None, shift)
        else:
            day = int(match.group("d"))
            mention = DateMention(pos, match.end(), year, month, day, False, shift)
        return mention if _valid(mention.month, mention.day) else None
    return None


def find_mentions(text: str, start: int = 0, end: int | None = None) -> list[DateMention]:
    """Every date written in text[start:end], leftmost first, without overlaps."""
    stop = len(text) if end is None else end
    found: list[DateMention] = []
    pos = start
    while pos < stop:
        candidates = [
            m.start() for p in (_MONTH_DAY, _NUMERIC) if (m := p.search(text, pos, stop))
        ]
        if not candidates:
            break
        first = min(candidates)
        mention = _mention_at(text, first, stop)
        if mention is None:
            pos = first + 1
            continue
        found.append(mention)
        pos = mention.end
    return found


def _range_end(text: str, first: DateMention, stop: int) -> DateMention | None:
    gap = _RANGE_GAP.match(text, first.end, stop)
    if gap is None:
        return None
    full = _mention_at(text, gap.end(), stop)
    if full is not None:
        return full
    day = _DAY_ONLY.match(text, gap.end(), stop)
    if day is None or not _valid(first.month, int(day.group("d"))):
        return None
    day_value = int(day.group("d"))
    return DateMention(
        gap.end(), day.end(), first.year, first.month, day_value, False, first.relative_year
    )


def find_groups(text: str, start: int = 0, end: int | None = None) -> list[DateGroup]:
    """Dates and ranges in text[start:end], chained into lists."""
    stop = len(text) if end is None else end
    mentions = find_mentions(text, start, stop)
    items: list[DateItem] = []
    index = 0
    while index < len(mentions):
        first = mentions[index]
        last = _range_end(text, first, stop)
        if last is not None:
            items.append(DateItem(first, last))
            while index < len(mentions) and mentions[index].start < last.end:
                index += 1
            continue
        items.append(DateItem(first))
        index += 1
    groups: list[list[DateItem]] = []
    for item in items:
        if groups:
            gap = _LIST_GAP.fullmatch(text, groups[-1][-1].end, item.start)
            if gap is not None:
                groups[-1].append(item)
                continue
        groups.append([item])
    return [DateGroup(tuple(group)) for group in groups]


@dataclass(frozen=True)
class YearContext:
    """What a notice says about which year its year-less dates fall in."""

    doc_date: date | None
    campaign: tuple[date, date] | None
    fallback_year: int | None

    def year_for(self, mention: DateMention, previous: date | None = None) -> int | None:
        """The year a year-less date most likely falls in, or None if nothing tells."""
        if mention.relative_year is not None:
            base = self.base_year
            return base + mention.relative_year if base is not None else None
        if previous is not None:
            # Dates listed in one sentence run forwards: 12月27日、1月17日 crosses a new year.
            candidate = mention.on(previous.year)
            chained = previous.year + (1 if candidate < previous else 0)
            if self.doc_date is None or mention.on(chained) >= self.doc_date - _SLACK:
                return chained
        if self.doc_date is not None:
            candidate = mention.on(self.doc_date.year)
            # A deadline is after the notice is issued; well before it means next year.
            if candidate < self.doc_date - _SLACK:
                return self.doc_date.year + 1
            return self.doc_date.year
        if self.campaign is not None:
            start, end = self.campaign
            for year in range(start.year, end.year + 1):
                if start <= mention.on(year) <= end:
                    return year
            return start.year
        return self.fallback_year

    @property
    def base_year(self) -> int | None:
        """The notice's own year, for 今年 / 次年."""
        if self.doc_date is not None:
            return self.doc_date.year
        if self.campaign is not None:
            return self.campaign[0].year
        return self.fallback_year
