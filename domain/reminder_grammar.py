"""The grammar of a plan's `reminders` list: pure parsing, shared by the plan reader (which
rejects a bad entry with its key path) and the reminder scheduler (which places the nudges).

    reminders = ["-3wd@09:00", "-1wd@09:00", "-2h", "0", "+1wd@09:00x5"]

Entry syntax (spaces are ignored, letters are case-insensitive):

    "0" or "due"      at the deadline itself: the 逾期 notice                  step "due"
    "-N<unit>"        N hours ("h") or minutes ("m") before the deadline      step "before-Nh"
    "-N<unit>@HH:MM"  at HH:MM, N working days ("wd") or calendar days ("d")
                      before the deadline's date                              step "before-Nwd"
    "+N<unit>"        N hours or minutes after the deadline                   step "after-Nh"
    "+N<unit>@HH:MMxK"  K nudges at HH:MM, the i-th N×i working days ("wd") or
                      calendar days ("d") after the deadline's date; "xK" may
                      be left out (K = 1)                          steps "overdue-1".."overdue-K"

Limits: N is 1-30 for "wd"/"d", 1-72 for "h", 1-4320 for "m"; K is 1-10; a clock time is
required with "wd"/"d" and not allowed with "h"/"m"; a policy has at most one "+…wd"/"+…d"
series, and no two entries with the same step name. An empty list means no nudges at all.
Step names leave out the clock time on purpose: moving a nudge from 09:00 to 10:00 in an
edited plan does not send it again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import time, timedelta
from typing import Any, Literal, cast

Unit = Literal["wd", "d", "h", "m"]

LIMITS: dict[str, int] = {"wd": 30, "d": 30, "h": 72, "m": 4320}
MAX_REPEAT = 10
# Every `ReminderSyntaxError.code`; the catalogue has a text "plan.reminder_<code>" for each.
ERROR_CODES = (
    "syntax",
    "range",
    "clock",
    "clock_missing",
    "clock_not_allowed",
    "repeat_not_allowed",
    "two_series",
    "duplicate",
)
_ENTRY = re.compile(
    r"(?P<sign>[-+])(?P<amount>\d{1,5})(?P<unit>wd|d|h|m)"
    r"(?:@(?P<hour>\d{1,2}):(?P<minute>\d{2}))?(?:x(?P<repeat>\d{1,3}))?"
)


class ReminderSyntaxError(ValueError):
    """A `reminders` entry that cannot be read; `code` (one of ERROR_CODES) names the
    problem for the catalogue and `params` fills its placeholders."""

    def __init__(self, index: int, entry: str, code: str, detail: str, **params: Any) -> None:
        super().__init__(f"reminders[{index}] {entry!r}: {detail}")
        self.index = index
        self.entry = entry
        self.code = code
        self.detail = detail
        self.params = params


@dataclass(frozen=True)
class Rule:
    """One entry of a policy."""

    sign: int  # -1 before the deadline, 0 at it, +1 after it
    amount: int = 0
    unit: Unit | None = None
    at: time | None = None  # the clock time of a day-based entry
    repeat: int = 1

    @property
    def day_based(self) -> bool:
        return self.unit in ("wd", "d")

    @property
    def names(self) -> tuple[str, ...]:
        if self.sign == 0:
            return ("due",)
        if self.sign < 0:
            return (f"before-{self.amount}{self.unit}",)
        if self.day_based:
            return tuple(f"overdue-{i}" for i in range(1, self.repeat + 1))
        return (f"after-{self.amount}{self.unit}",)

    @property
    def reach(self) -> timedelta:
        """How far from the deadline this entry's last nudge can fall, generously."""
        if self.unit in ("h", "m"):
            return (
                timedelta(hours=self.amount)
                if self.unit == "h"
                else timedelta(minutes=self.amount)
            )
        count = self.amount * self.repeat
        # Working days: weekends plus the longest holiday (春节, 国庆: 7-9 days off).
        days = count * 7 // 5 + 12 if self.unit == "wd" else count
        return timedelta(days=days + 1)


def parse_entry(entry: str, index: int = 0) -> Rule:
    text = entry.replace(" ", "").lower()
    if text in ("0", "due", "+0", "-0"):
        return Rule(0)
    m = _ENTRY.fullmatch(text)
    if m is None:
        raise ReminderSyntaxError(
            index, entry, "syntax", 'expected "0", "-2h", "-3wd@09:00" or "+1wd@09:00x5"'
        )
    sign = -1 if m["sign"] == "-" else 1
    amount, unit = int(m["amount"]), m["unit"]
    if not 1 <= amount <= LIMITS[unit]:
        raise ReminderSyntaxError(
            index,
            entry,
            "range",
            f"{unit} must be between 1 and {LIMITS[unit]}",
            low=1,
            high=LIMITS[unit],
        )
    at: time | None = None
    if m["hour"] is not None:
        hour, minute = int(m["hour"]), int(m["minute"])
        if hour > 23 or minute > 59:
            raise ReminderSyntaxError(index, entry, "clock", "not a clock time (00:00-23:59)")
        at = time(hour, minute)
    day_based = unit in ("wd", "d")
    if day_based and at is None:
        raise ReminderSyntaxError(
            index, entry, "clock_missing", f'"{unit}" needs a clock time, e.g. @09:00'
        )
    if not day_based and at is not None:
        raise ReminderSyntaxError(
            index,
            entry,
            "clock_not_allowed",
            f'"{unit}" counts from the deadline\'s own time: no @',
        )
    repeat = 1
    if m["repeat"] is not None:
        repeat = int(m["repeat"])
        if sign < 0 or not day_based:
            raise ReminderSyntaxError(
                index, entry, "repeat_not_allowed", 'only "+…wd@HH:MM" and "+…d@HH:MM" repeat'
            )
        if not 1 <= repeat <= MAX_REPEAT:
            raise ReminderSyntaxError(
                index,
                entry,
                "range",
                f"x must be between 1 and {MAX_REPEAT}",
                low=1,
                high=MAX_REPEAT,
            )
    return Rule(sign, amount, cast(Unit, unit), at, repeat)


def parse_rules(entries: Sequence[str]) -> tuple[Rule, ...]:
    """Read a plan's `reminders` list; raises ReminderSyntaxError on the first bad entry."""
    rules: list[Rule] = []
    names: set[str] = set()
    series = False
    for index, entry in enumerate(entries):
        rule = parse_entry(str(entry), index)
        if rule.sign > 0 and rule.day_based:
            if series:
                raise ReminderSyntaxError(
                    index, entry, "two_series", "only one overdue series per obligation"
                )
            series = True
        clash = names.intersection(rule.names)
        if clash:
            step = sorted(clash)[0]
            raise ReminderSyntaxError(
                index, entry, "duplicate", f"step {step} is already in the list", step=step
            )
        names.update(rule.names)
        rules.append(rule)
    return tuple(rules)
