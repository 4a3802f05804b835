"""Clock times attached to a deadline: 下午3点, 15:00, 12时30分, 上午下班前."""

from __future__ import annotations

import re
from dataclasses import dataclass

from domain.extract.numerals import CN_NUMERAL_CHARS, to_int

_PART = r"(?P<part>上午|下午|中午|晚上|晚|早上|傍晚|凌晨)"
_HOUR = r"(?P<h>\d{1,2})"
_MINUTE = rf"(?P<m>\d{{1,2}}|[{CN_NUMERAL_CHARS}]{{1,3}})"
_CLOCK = re.compile(
    rf"\s*{_PART}?\s*(?:{_HOUR}\s*(?::\s*(?P<mm>\d{{2}})|[点时](?:{_MINUTE}分|(?P<half>半)|整)?)"
    r"|(?P<off>下班))?"
)
# Hours that follow these words are afternoon or evening hours written on a 12-hour dial.
_AFTERNOON = {"下午", "晚上", "晚", "傍晚"}


@dataclass(frozen=True)
class Clock:
    """A clock time found at some position; time is None for 下班前 and bare 上午/下午."""

    time: str | None
    end: int
    found: bool


def read_clock(text: str, pos: int) -> Clock:
    """The clock time written at text[pos:], if any."""
    match = _CLOCK.match(text, pos)
    if (
        match is None
        or match.end() == pos
        or not (match.group("h") or match.group("off") or match.group("part"))
    ):
        return Clock(None, pos, False)
    if match.group("h") is None:
        return Clock(None, match.end(), True)
    hour = int(match.group("h"))
    minute = 0
    if match.group("mm"):
        minute = int(match.group("mm"))
    elif match.group("m"):
        minute = to_int(match.group("m")) or 0
    elif match.group("half"):
        minute = 30
    part = match.group("part")
    # 中午1点 is 13:00; 中午12点 stays noon.
    if (part in _AFTERNOON and hour < 12) or (part == "中午" and hour < 3):
        hour += 12
    if hour > 24 or minute > 59:
        return Clock(None, pos, False)
    if hour == 24:
        # 24时前 means by the end of that day; keep it a valid clock time.
        hour, minute = 23, 59
    return Clock(f"{hour:02d}:{minute:02d}", match.end(), True)
