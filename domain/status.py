"""Where each unit stands on each deadline: a pure function of deadlines, submissions, now."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class RevisionStatus(StrEnum):
    """A stored revision's status (`submissions.status`): as sent, or sent back."""

    AS_SENT = "submitted"
    RETURNED = "returned"  # the coordinator sent it back to be corrected (已退回)


class State(StrEnum):
    PENDING = "pending"  # 未提交, not yet due
    SUBMITTED = "submitted"  # 已提交 on time
    LATE = "late"  # 已提交, after the deadline (逾期提交)
    OVERDUE = "overdue"  # 逾期: due and nothing (valid) submitted
    RETURNED = "returned"  # 已退回: sent back by the coordinator, to be corrected
    EXEMPT = "exempt"  # 免报: the coordinator let this unit off this deadline

    @property
    def is_done(self) -> bool:
        return self in (State.SUBMITTED, State.LATE)

    @property
    def needs_action(self) -> bool:
        """Whether the unit still owes something (and may be nudged)."""
        return not self.is_done and self is not State.EXEMPT


class OverrideKind(StrEnum):
    EXEMPT = "exempt"  # 免报
    EXTENDED = "extended"  # 延期


@dataclass(frozen=True)
class Override:
    """The coordinator's exception for one unit on one deadline."""

    kind: OverrideKind
    due_at: datetime | None = None  # the later due time of an extension


def due_for(due: datetime, override: Override | None) -> datetime | None:
    """When this unit owes the deadline: the deadline's own time, an extension's later
    time, or None for a unit exempted from it. Every reader of "is it due / late / to be
    nudged" for one unit goes through here."""
    if override is None:
        return due
    if override.kind is OverrideKind.EXEMPT:
        return None
    return override.due_at or due


@dataclass(frozen=True)
class LatestSubmission:
    """The newest revision a unit made for a deadline."""

    submitted_at: datetime
    returned: bool
    nil: bool
    revision: int


def state_of(
    due: datetime, latest: LatestSubmission | None, now: datetime, override: Override | None = None
) -> State:
    mine = due_for(due, override)
    return state(
        exempt=mine is None,
        submitted=latest is not None,
        returned=latest is not None and latest.returned,
        late=latest is not None and mine is not None and latest.submitted_at > mine,
        passed=mine is not None and now > mine,
    )


def state(*, exempt: bool, submitted: bool, returned: bool, late: bool, passed: bool) -> State:
    """The same, from the comparisons already made against the unit's own due time (the
    board makes them in SQL)."""
    if exempt:  # a report sent anyway still counts, and is never late
        return State.SUBMITTED if submitted and not returned else State.EXEMPT
    if not submitted:
        return State.OVERDUE if passed else State.PENDING
    if returned:
        return State.RETURNED
    return State.LATE if late else State.SUBMITTED


@dataclass(frozen=True)
class Counts:
    """Per-deadline tallies for the coordinator's /status."""

    expected: int
    submitted: int  # on time, including 零报告
    late: int
    nil: int
    returned: int
    missing: int  # pending or overdue: nothing valid yet
    exempt: int = 0  # 免报: not counted in `expected`
    extended: int = 0  # 延期: units whose own due time is later (counted as usual too)

    @property
    def done(self) -> int:
        return self.submitted + self.late


def tally(states: Iterable[tuple[State, bool]], extended: int = 0) -> Counts:
    """Count (state, nil) pairs of every unit the deadline applies to (`extended`: how
    many of them have a later due time of their own)."""
    expected = submitted = late = nil = returned = missing = exempt = 0
    for state, is_nil in states:
        if state is State.EXEMPT:
            exempt += 1
            continue
        expected += 1
        if state is State.SUBMITTED:
            submitted += 1
        elif state is State.LATE:
            late += 1
        elif state is State.RETURNED:
            returned += 1
        else:
            missing += 1
        if is_nil and state.is_done:
            nil += 1
    return Counts(expected, submitted, late, nil, returned, missing, exempt, extended)
