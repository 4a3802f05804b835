"""Where each unit stands on each deadline: a pure function of deadlines, submissions, now."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class State(StrEnum):
    PENDING = "pending"  # 未提交, not yet due
    SUBMITTED = "submitted"  # 已提交 on time
    LATE = "late"  # 已提交, after the deadline (逾期提交)
    OVERDUE = "overdue"  # 逾期: due and nothing (valid) submitted
    RETURNED = "returned"  # 已退回: sent back by the coordinator, to be corrected

    @property
    def is_done(self) -> bool:
        return self in (State.SUBMITTED, State.LATE)

    @property
    def needs_action(self) -> bool:
        """Whether the unit still owes something (and may be nudged)."""
        return not self.is_done


@dataclass(frozen=True)
class LatestSubmission:
    """The newest revision a unit made for a deadline."""

    submitted_at: datetime
    returned: bool
    nil: bool
    revision: int


def state_of(due: datetime, latest: LatestSubmission | None, now: datetime) -> State:
    if latest is None:
        return State.OVERDUE if now > due else State.PENDING
    if latest.returned:
        return State.RETURNED
    return State.LATE if latest.submitted_at > due else State.SUBMITTED


@dataclass(frozen=True)
class Counts:
    """Per-deadline tallies for the coordinator's /status."""

    expected: int
    submitted: int  # on time, including 零报告
    late: int
    nil: int
    returned: int
    missing: int  # pending or overdue: nothing valid yet

    @property
    def done(self) -> int:
        return self.submitted + self.late


def tally(states: Iterable[tuple[State, bool]]) -> Counts:
    """Count (state, nil) pairs of every unit expected to report on one deadline."""
    expected = submitted = late = nil = returned = missing = 0
    for state, is_nil in states:
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
    return Counts(expected, submitted, late, nil, returned, missing)
