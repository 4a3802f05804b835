"""Reminder policy: when each unit is nudged about a deadline. Pure: `now` is passed in.

A policy is a list of entries, one per nudge (or per series of nudges). The plan's
`reminders` key on an obligation replaces the default list for its cadence:

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

Placement rules, applied to every deadline:

- a nudge never goes out in quiet hours (default 21:00-08:00, both ends allowed) or on a
  non-working day: it moves to the next allowed instant;
- if that is not before the deadline (a "before" nudge only), it moves back instead to the
  latest allowed instant before the deadline, and is skipped when that falls on a day that
  already has an earlier nudge of the same deadline;
- nudges keep their order: one that would land at or before an earlier one is dropped, and
  a day-based overdue nudge ("+…wd"/"+…d") is dropped on a day that already has a nudge
  at or after the deadline (once a day means once a day);
- each nudge is valid until the next one's instant ("before" nudges at most until the
  deadline); the last one until the end of the next working day. A dispatcher that was
  down sends only the nudge that is valid now, never a burst of stale ones.

Steps at or after the deadline ("due", "after-…", "overdue-…") are the overdue steps: the
unit's deputy gets those too; the liaison gets every step.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Literal, cast

from domain.plan import Cadence
from scheduler.calendar import WorkdayCalendar

Unit = Literal["wd", "d", "h", "m"]

DEFAULTS: dict[Cadence, tuple[str, ...]] = {
    Cadence.ONCE: ("-3wd@09:00", "-1wd@09:00", "-2h", "0", "+1wd@09:00x5"),
    Cadence.MONTHLY: ("-3wd@09:00", "-1wd@09:00", "-2h", "0", "+1wd@09:00x5"),
    Cadence.QUARTERLY: ("-3wd@09:00", "-1wd@09:00", "-2h", "0", "+1wd@09:00x5"),
    Cadence.YEARLY: ("-3wd@09:00", "-1wd@09:00", "-2h", "0", "+1wd@09:00x5"),
    Cadence.RELATIVE: ("-3wd@09:00", "-1wd@09:00", "-2h", "0", "+1wd@09:00x5"),
    Cadence.WEEKLY: ("-1wd@09:00", "-2h", "0"),
    Cadence.DAILY: ("-2h", "0"),
}

_LIMITS: dict[str, int] = {"wd": 30, "d": 30, "h": 72, "m": 4320}
_MAX_REPEAT = 10
_ENTRY = re.compile(
    r"(?P<sign>[-+])(?P<amount>\d{1,5})(?P<unit>wd|d|h|m)"
    r"(?:@(?P<hour>\d{1,2}):(?P<minute>\d{2}))?(?:x(?P<repeat>\d{1,3}))?")
# How far the placement rules search for an allowed instant before giving up.
_SEARCH_DAYS = 60


class ReminderSyntaxError(ValueError):
    """A `reminders` entry that cannot be read; `code` names the problem for the catalogue."""

    def __init__(self, index: int, entry: str, code: str, detail: str) -> None:
        super().__init__(f"reminders[{index}] {entry!r}: {detail}")
        self.index = index
        self.entry = entry
        self.code = code
        self.detail = detail


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
            return timedelta(hours=self.amount) if self.unit == "h" else timedelta(
                minutes=self.amount)
        count = self.amount * self.repeat
        # Working days: weekends plus the longest holiday (春节, 国庆: 7-9 days off).
        days = count * 7 // 5 + 12 if self.unit == "wd" else count
        return timedelta(days=days + 1)


@dataclass(frozen=True)
class Policy:
    rules: tuple[Rule, ...]

    @property
    def lead(self) -> timedelta:
        """How long before a deadline its first nudge can come (placement included)."""
        reach = [r.reach for r in self.rules if r.sign < 0]
        return max(reach, default=timedelta(0)) + timedelta(days=_SEARCH_DAYS // 4)

    @property
    def lag(self) -> timedelta:
        """How long after a deadline its last nudge can still be valid."""
        reach = [r.reach for r in self.rules if r.sign > 0]
        return max(reach, default=timedelta(0)) + timedelta(days=14)


@dataclass(frozen=True)
class QuietHours:
    """No nudges strictly between `start` and `end` (wrapping midnight if start > end).
    Equal times mean no quiet hours."""

    start: time = time(21, 0)
    end: time = time(8, 0)

    def allows(self, clock: time) -> bool:
        if self.start == self.end:
            return True
        if self.start > self.end:
            return self.end <= clock <= self.start
        return clock <= self.start or clock >= self.end


@dataclass(frozen=True)
class Step:
    """One nudge of one deadline, placed."""

    name: str
    at: datetime  # when it goes out (aware, in the deadline's zone)
    until: datetime  # after this it is stale and never sent
    overdue: bool  # at or after the deadline: the deputy gets it too


def parse_entry(entry: str, index: int = 0) -> Rule:
    text = entry.replace(" ", "").lower()
    if text in ("0", "due", "+0", "-0"):
        return Rule(0)
    m = _ENTRY.fullmatch(text)
    if m is None:
        raise ReminderSyntaxError(index, entry, "syntax",
                                  'expected "0", "-2h", "-3wd@09:00" or "+1wd@09:00x5"')
    sign = -1 if m["sign"] == "-" else 1
    amount, unit = int(m["amount"]), m["unit"]
    if not 1 <= amount <= _LIMITS[unit]:
        raise ReminderSyntaxError(index, entry, "range",
                                  f"{unit} must be between 1 and {_LIMITS[unit]}")
    at: time | None = None
    if m["hour"] is not None:
        hour, minute = int(m["hour"]), int(m["minute"])
        if hour > 23 or minute > 59:
            raise ReminderSyntaxError(index, entry, "clock", "not a clock time (00:00-23:59)")
        at = time(hour, minute)
    day_based = unit in ("wd", "d")
    if day_based and at is None:
        raise ReminderSyntaxError(index, entry, "clock_missing",
                                  f'"{unit}" needs a clock time, e.g. @09:00')
    if not day_based and at is not None:
        raise ReminderSyntaxError(index, entry, "clock_not_allowed",
                                  f'"{unit}" counts from the deadline\'s own time: no @')
    repeat = 1
    if m["repeat"] is not None:
        repeat = int(m["repeat"])
        if sign < 0 or not day_based:
            raise ReminderSyntaxError(index, entry, "repeat_not_allowed",
                                      'only "+…wd@HH:MM" and "+…d@HH:MM" repeat')
        if not 1 <= repeat <= _MAX_REPEAT:
            raise ReminderSyntaxError(index, entry, "range",
                                      f"x must be between 1 and {_MAX_REPEAT}")
    return Rule(sign, amount, cast(Unit, unit), at, repeat)


def parse_policy(entries: Sequence[str]) -> Policy:
    """Read a plan's `reminders` list; raises ReminderSyntaxError on the first bad entry."""
    rules: list[Rule] = []
    names: set[str] = set()
    series = False
    for index, entry in enumerate(entries):
        rule = parse_entry(str(entry), index)
        if rule.sign > 0 and rule.day_based:
            if series:
                raise ReminderSyntaxError(index, entry, "two_series",
                                          "only one overdue series per obligation")
            series = True
        clash = names.intersection(rule.names)
        if clash:
            raise ReminderSyntaxError(index, entry, "duplicate",
                                      f"step {sorted(clash)[0]} is already in the list")
        names.update(rule.names)
        rules.append(rule)
    return Policy(tuple(rules))


def default_policy(cadence: Cadence) -> Policy:
    return parse_policy(DEFAULTS[cadence])


def policy_for(cadence: Cadence, override: Sequence[str] | None) -> Policy:
    """The plan's own list when it gives one, else the default for the cadence."""
    return default_policy(cadence) if override is None else parse_policy(override)


class Placement:
    """Allowed instants: working days, outside quiet hours, in one time zone."""

    def __init__(self, calendar: WorkdayCalendar, quiet: QuietHours = QuietHours()) -> None:
        self.calendar = calendar
        self.quiet = quiet

    def windows(self, day: date, tz: tzinfo | None) -> list[tuple[datetime, datetime]]:
        """The allowed intervals of a local day, both ends included; none on days off."""
        if not self.calendar.is_workday(day):
            return []
        q = self.quiet

        def at(clock: time) -> datetime:
            return datetime.combine(day, clock, tzinfo=tz)

        last = at(time(23, 59, 59, 999999))
        if q.start == q.end:
            return [(at(time(0)), last)]
        if q.start > q.end:
            return [(at(q.end), at(q.start))]
        return [(at(time(0)), at(q.start)), (at(q.end), last)]

    def allows(self, instant: datetime) -> bool:
        return (self.calendar.is_workday(instant.date())
                and self.quiet.allows(instant.time()))

    def next_allowed(self, instant: datetime) -> datetime:
        """`instant` if a nudge may go out then, else the first instant after it that may."""
        tz = instant.tzinfo
        for offset in range(_SEARCH_DAYS):
            day = instant.date() + timedelta(days=offset)
            for start, end in self.windows(day, tz):
                if instant <= end:
                    return max(instant, start)
        raise ValueError(f"no working day within {_SEARCH_DAYS} days of {instant}")

    def latest_allowed_before(self, instant: datetime) -> datetime | None:
        tz = instant.tzinfo
        for offset in range(_SEARCH_DAYS):
            day = instant.date() - timedelta(days=offset)
            for start, end in reversed(self.windows(day, tz)):
                if start < instant:
                    return min(end, instant - timedelta(minutes=1))
        return None

    def end_of_next_workday(self, day: date, tz: tzinfo | None) -> datetime:
        """When the last nudge of a deadline goes stale: the next working day's close."""
        following = self.calendar.next_workday(day + timedelta(days=1))
        return self.windows(following, tz)[-1][1]


def nominal(rule: Rule, due: datetime, calendar: WorkdayCalendar
            ) -> list[tuple[str, datetime]]:
    """Where an entry would put its nudges before quiet hours and days off are considered."""
    tz = due.tzinfo
    if rule.sign == 0:
        return [("due", due)]
    if rule.unit in ("h", "m"):
        delta = timedelta(hours=rule.amount) if rule.unit == "h" else timedelta(
            minutes=rule.amount)
        return [(rule.names[0], due + rule.sign * delta)]
    assert rule.at is not None
    if rule.sign < 0:
        day = (calendar.workdays_before(due.date(), rule.amount) if rule.unit == "wd"
               else due.date() - timedelta(days=rule.amount))
        return [(rule.names[0], datetime.combine(day, rule.at, tzinfo=tz))]
    out = []
    for i, name in enumerate(rule.names, start=1):
        day = (calendar.add_workdays(due.date(), rule.amount * i) if rule.unit == "wd"
               else due.date() + timedelta(days=rule.amount * i))
        out.append((name, datetime.combine(day, rule.at, tzinfo=tz)))
    return out


def schedule(policy: Policy, due: datetime, placement: Placement) -> tuple[Step, ...]:
    """Every nudge of one deadline (`due` aware, in the plan's zone), in order."""
    wanted: list[tuple[datetime, int, str, Rule]] = []
    for order, rule in enumerate(policy.rules):
        for name, instant in nominal(rule, due, placement.calendar):
            wanted.append((instant, order, name, rule))
    wanted.sort(key=lambda x: (x[0], x[1]))
    placed: list[tuple[str, datetime, Rule]] = []
    for instant, _order, name, rule in wanted:
        at: datetime | None = placement.next_allowed(instant)
        moved_back = False
        if rule.sign < 0 and at is not None and at >= due:
            at, moved_back = placement.latest_allowed_before(due), True
        if at is None:
            continue
        if placed and at <= placed[-1][1]:
            continue
        if moved_back and placed and placed[-1][1].date() == at.date():
            continue
        if rule.sign > 0 and rule.day_based and any(
                r.sign >= 0 and t.date() == at.date() for _, t, r in placed):
            continue
        placed.append((name, at, rule))
    steps: list[Step] = []
    for i, (name, at, rule) in enumerate(placed):
        if i + 1 < len(placed):
            until = placed[i + 1][1]
        else:
            until = placement.end_of_next_workday(at.date(), at.tzinfo)
        if rule.sign < 0:
            until = min(until, due)
        steps.append(Step(name, at, until, rule.sign >= 0))
    return tuple(steps)


def for_role(steps: Iterable[Step], deputy: bool) -> tuple[Step, ...]:
    """The liaison gets every step; a deputy only the overdue ones."""
    return tuple(s for s in steps if s.overdue or not deputy)


def current(steps: Sequence[Step], now: datetime) -> Step | None:
    """The step that is valid now: after downtime, the one that still matters."""
    found = None
    for step in steps:
        if step.at <= now < step.until:
            found = step
    return found


def due_now(steps: Sequence[Step], now: datetime, done: Collection[str]) -> Step | None:
    """The step to send now, if any: the valid one, unless it already went out. Earlier
    steps missed while nobody was dispatching are skipped for good."""
    step = current(steps, now)
    return None if step is None or step.name in done else step


def next_instant(steps: Sequence[Step], now: datetime) -> datetime | None:
    """When the next step after `now` becomes due."""
    return min((s.at for s in steps if s.at > now), default=None)
