"""The board's cells and the ranking a 通报 is made of."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.board import Board, BoardDeadline, BoardUnit, Cell, cell_of, ranking

DUE = datetime(2026, 12, 4, 7, 0, tzinfo=UTC)
BEFORE, AFTER = DUE - timedelta(hours=1), DUE + timedelta(hours=1)


def test_a_cell_is_on_time_late_nil_returned_missing_not_due_or_exempt() -> None:
    def cell(at: datetime | None, now: datetime = AFTER, **kw: bool) -> Cell:
        return cell_of(
            DUE,
            now,
            submitted_at=at,
            returned=kw.get("returned", False),
            nil=kw.get("nil", False),
            exempt=kw.get("exempt", False),
        )

    assert cell(BEFORE) is Cell.ON_TIME
    assert cell(AFTER) is Cell.LATE
    assert cell(BEFORE, nil=True) is Cell.NIL
    assert cell(AFTER, nil=True) is Cell.LATE  # a late nil report is still 迟报
    assert cell(BEFORE, returned=True) is Cell.RETURNED
    assert cell(None) is Cell.MISSING
    assert cell(None, now=BEFORE) is Cell.NOT_DUE
    assert cell(None, exempt=True) is Cell.EXEMPT


def test_the_ranking_puts_the_best_on_time_rate_first_and_leaves_out_what_is_not_owed() -> None:
    o, late, miss, nil = Cell.ON_TIME, Cell.LATE, Cell.MISSING, Cell.NIL
    board = Board(
        "c",
        "o",
        DUE,
        tuple(BoardUnit(n, "") for n in "甲乙丙丁戊"),
        (BoardDeadline(1, "周报", 1, True, DUE), BoardDeadline(2, "周报", 2, True, DUE)),
        ((late, o), (o, nil), (miss, o), (late, late), (None, Cell.EXEMPT)),
    )

    ranked = ranking(board)

    assert [r.name for r in ranked] == ["乙", "甲", "丙", "丁"]  # 戊 owes nothing
    assert (ranked[0].on_time, ranked[0].nil, ranked[0].on_time_rate) == (1, 1, 1.0)
    assert ranked[1].on_time_rate == ranked[2].on_time_rate == 0.5  # fewer 未报 first
    assert (ranked[3].late, ranked[3].on_time_rate) == (2, 0.0)


def test_the_completion_rate_of_a_deadline_leaves_out_exempt_and_unconcerned_units() -> None:
    board = Board(
        "c",
        "o",
        DUE,
        tuple(BoardUnit(n, "") for n in "甲乙丙丁"),
        (BoardDeadline(1, "周报", 1, False, DUE),),
        ((Cell.ON_TIME,), (Cell.MISSING,), (Cell.EXEMPT,), (None,)),
    )

    assert board.rate(0) == 0.5
