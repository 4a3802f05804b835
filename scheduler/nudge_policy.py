"""Reminder policy: when each unit is nudged about a deadline. Pure: `now` is passed in.

A policy is a list of entries, one per nudge (or per series of nudges). The plan's
`reminders` key on an obligation replaces the default list for its cadence; its grammar
(and the check `cuibao plan check` applies) is in domain/reminder_grammar.py:

    reminders = ["-3wd@09:00", "-1wd@09:00", "-2h", "0", "+1wd@09:00x5"]

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

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from domain.plan import Cadence
from domain.reminder_grammar import ReminderSyntaxError, Rule, parse_entry, parse_rules
from scheduler.calendar import WorkdayCalendar

__all__ = [
    "DEFAULTS",
    "Placement",
    "Policy",
    "QuietHours",
    "ReminderSyntaxError",
    "Rule",
    "Step",
    "current",
    "default_policy",
    "due_now",
    "for_role",
    "next_instant",
    "nominal",
    "parse_entry",
    "parse_policy",
    "policy_for",
    "schedule",
]

DEFAULTS: dict[Cadence, tuple[str, ...]] = {
    Cadence.ONCE: ("-3wd@09:00", "-1wd@09:00", "-2h", "0", "+1wd@09:00x5"),
    Cadence.MONTHLY: ("-3wd@09:00", "-1wd@09:00", "-2h", "0", "+1wd@09:00x5"),
    Cadence.QUARTERLY: ("-3wd@09:00", "-1wd@09:00", "-2h", "0", "+1wd@09:00x5"),
    Cadence.YEARLY: ("-3wd@09:00", "-1wd@09:00", "-2h", "0", "+1wd@09:00x5"),
    Cadence.RELATIVE: ("-3wd@09:00", "-1wd@09:00", "-2h", "0", "+1wd@09:00x5"),
    Cadence.WEEKLY: ("-1wd@09:00", "-2h", "0"),
    Cadence.DAILY: ("-2h", "0"),
}

# How far the placement rules search for an allowed instant before giving up.
_SEARCH_DAYS = 60


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


def parse_policy(entries: Sequence[str]) -> Policy:
    """Read a plan's `reminders` list; raises ReminderSyntaxError on the first bad entry."""
    return Policy(parse_rules(entries))


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
        return self.calendar.is_workday(instant.date()) and self.quiet.allows(instant.time())

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


def nominal(rule: Rule, due: datetime, calendar: WorkdayCalendar) -> list[tuple[str, datetime]]:
    """Where an entry would put its nudges before quiet hours and days off are considered."""
    tz = due.tzinfo
    if rule.sign == 0:
        return [("due", due)]
    if rule.unit in ("h", "m"):
        delta = (
            timedelta(hours=rule.amount) if rule.unit == "h" else timedelta(minutes=rule.amount)
        )
        return [(rule.names[0], due + rule.sign * delta)]
    assert rule.at is not None
    if rule.sign < 0:
        day = (
            calendar.workdays_before(due.date(), rule.amount)
            if rule.unit == "wd"
            else due.date() - timedelta(days=rule.amount)
        )
        return [(rule.names[0], datetime.combine(day, rule.at, tzinfo=tz))]
    out = []
    for i, name in enumerate(rule.names, start=1):
        day = (
            calendar.add_workdays(due.date(), rule.amount * i)
            if rule.unit == "wd"
            else due.date() + timedelta(days=rule.amount * i)
        )
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
        if (
            rule.sign > 0
            and rule.day_based
            and any(r.sign >= 0 and t.date() == at.date() for _, t, r in placed)
        ):
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


ESCALATE = "escalate"  # the step that tells a unit's leader (负责人) it is still missing


def escalation(entry: str, due: datetime, placement: Placement) -> tuple[Step, ...]:
    """The one step of the plan's `escalate` entry ("+2wd@09:00") for a deadline: at that
    instant (moved out of quiet hours and days off), valid until the next working day
    closes. None when the plan escalates nothing."""
    if not entry:
        return ()
    [(_name, instant)] = nominal(parse_entry(entry), due, placement.calendar)
    at = placement.next_allowed(instant)
    return (Step(ESCALATE, at, placement.end_of_next_workday(at.date(), at.tzinfo), True),)


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
