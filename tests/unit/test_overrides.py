"""The one rule for 免报 / 延期 (`domain.status`), and how `/exempt` reads its words."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from domain.status import LatestSubmission, Override, OverrideKind, State, due_for, state_of, tally
from services.overrides import ChatRequest, OverrideProblem, Until, parse_chat_request

DUE = datetime(2016, 12, 15, 9, 30, tzinfo=UTC)
LATER = datetime(2016, 12, 20, 7, 0, tzinfo=UTC)
BETWEEN = datetime(2016, 12, 18, 2, 0, tzinfo=UTC)
EXEMPT, EXTENDED = Override(OverrideKind.EXEMPT), Override(OverrideKind.EXTENDED, LATER)


def sent(at: datetime, returned: bool = False) -> LatestSubmission:
    return LatestSubmission(at, returned, False, 1)


def test_an_extension_moves_overdue_and_lateness_to_the_unit_s_own_time() -> None:
    assert due_for(DUE, EXTENDED) == LATER
    assert state_of(DUE, None, BETWEEN, EXTENDED) is State.PENDING
    assert state_of(DUE, None, BETWEEN) is State.OVERDUE
    assert state_of(DUE, sent(BETWEEN), BETWEEN, EXTENDED) is State.SUBMITTED
    assert state_of(DUE, sent(BETWEEN), BETWEEN) is State.LATE


def test_an_exempt_unit_owes_nothing_but_a_report_it_sent_anyway_still_counts() -> None:
    assert due_for(DUE, EXEMPT) is None
    assert state_of(DUE, None, BETWEEN, EXEMPT) is State.EXEMPT
    assert not State.EXEMPT.needs_action and not State.EXEMPT.is_done
    assert state_of(DUE, sent(BETWEEN), BETWEEN, EXEMPT) is State.SUBMITTED
    assert state_of(DUE, sent(BETWEEN, returned=True), BETWEEN, EXEMPT) is State.EXEMPT


def test_exempt_units_are_counted_apart_from_the_expected_ones() -> None:
    counts = tally(
        [
            (State.EXEMPT, False),
            (State.OVERDUE, False),
            (State.PENDING, False),
            (State.SUBMITTED, True),
        ],
        extended=1,
    )

    assert (counts.expected, counts.missing, counts.done, counts.exempt, counts.extended) == (
        3,
        2,
        1,
        1,
        1,
    )


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["德宽路所", "停业", "整顿"], ChatRequest("德宽路所", None, "停业 整顿")),
        (
            ["德宽路所", "2026-12-20", "15:00", "人员外出"],
            ChatRequest("德宽路所", "2026-12-20 15:00", "人员外出"),
        ),
        (
            ["德宽路所", "2026-12-20", "人员外出"],
            ChatRequest("德宽路所", "2026-12-20", "人员外出"),
        ),
        (["德宽路所", "2026-12-40", "人员外出"], OverrideProblem.BAD_TIME),
        (["德宽路所", "2026-12-20", "15:00"], OverrideProblem.NO_REASON),
        (["德宽路所"], None),
    ],
)
def test_the_exempt_command_reads_unit_optional_time_and_reason(
    words: list[str], expected: ChatRequest | OverrideProblem | None
) -> None:
    assert parse_chat_request(words) == expected


def test_a_day_alone_keeps_the_deadline_s_time_of_day() -> None:
    bj = ZoneInfo("Asia/Shanghai")
    assert Until(date(2016, 12, 20), None).instant(DUE, bj) == datetime(
        2016, 12, 20, 17, 30, tzinfo=bj
    )
    assert Until(date(2016, 12, 20), time(9)).instant(DUE, bj) == datetime(
        2016, 12, 20, 9, tzinfo=bj
    )
