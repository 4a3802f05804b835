"""The progress board: units × deadlines with one cell state each, and the ranking a 通报
is made of. Pure data: the pictures, the 通报 and the CLI all read these."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum


class Cell(StrEnum):
    """One unit on one deadline, as the board and the 通报 show it."""

    ON_TIME = "on_time"  # 已交: submitted by the deadline
    LATE = "late"  # 迟报: submitted after the deadline
    NIL = "nil"  # 零报告: a nil report, on time
    RETURNED = "returned"  # 已退回: sent back, to be corrected
    MISSING = "missing"  # 未报 (逾期未报): due and nothing valid
    NOT_DUE = "not_due"  # 未到期: not yet due, nothing valid yet
    EXEMPT = "exempt"  # 免报: excused from this deadline (an override)

    @property
    def is_done(self) -> bool:
        return self in (Cell.ON_TIME, Cell.LATE, Cell.NIL)

    @property
    def on_time(self) -> bool:
        return self in (Cell.ON_TIME, Cell.NIL)


def cell_of(
    due: datetime,
    now: datetime,
    *,
    submitted_at: datetime | None,
    returned: bool,
    nil: bool,
    exempt: bool = False,
) -> Cell:
    """The cell of a unit's newest revision (none: submitted_at is None). A late nil report
    counts as 迟报: lateness is what a 通报 names."""
    late = submitted_at is not None and submitted_at > due
    return cell(
        passed=now > due,
        submitted=submitted_at is not None,
        late=late,
        returned=returned,
        nil=nil,
        exempt=exempt,
    )


def cell(
    *, passed: bool, submitted: bool, late: bool, returned: bool, nil: bool, exempt: bool = False
) -> Cell:
    """The same, from the comparisons already made (the board makes them in SQL)."""
    if not submitted:
        if exempt:
            return Cell.EXEMPT
        return Cell.MISSING if passed else Cell.NOT_DUE
    if returned:
        return Cell.RETURNED
    if late:
        return Cell.LATE
    return Cell.NIL if nil else Cell.ON_TIME


@dataclass(frozen=True)
class BoardUnit:
    name: str
    group: str  # 分组; "" for none


@dataclass(frozen=True)
class BoardDeadline:
    deadline_id: int
    title: str
    seq: int
    repeats: bool
    due: datetime  # in the plan's zone
    period: tuple[date, date] | None = None


@dataclass(frozen=True)
class Board:
    """Cells by unit then deadline; None where the deadline does not apply to the unit."""

    campaign: str
    office: str
    as_of: datetime  # in the plan's zone
    units: tuple[BoardUnit, ...]
    deadlines: tuple[BoardDeadline, ...]
    cells: tuple[tuple[Cell | None, ...], ...]

    def column(self, j: int) -> list[Cell]:
        return [c for row in self.cells if (c := row[j]) is not None]

    def rate(self, j: int, rows: Sequence[int] | None = None) -> float | None:
        """Completion rate of one deadline (done / expected, 免报 left out); None if no
        unit owes it."""
        picked = self.cells if rows is None else [self.cells[i] for i in rows]
        owed = [c for row in picked if (c := row[j]) is not None and c is not Cell.EXEMPT]
        return sum(c.is_done for c in owed) / len(owed) if owed else None

    def groups(self) -> list[tuple[str, list[int]]]:
        """Unit indexes by 分组, groups in the order they first appear."""
        found: dict[str, list[int]] = {}
        for i, u in enumerate(self.units):
            found.setdefault(u.group, []).append(i)
        return list(found.items())

    def only(self, deadline_ids: set[int]) -> Board:
        """The same board with the named deadlines only."""
        keep = [j for j, d in enumerate(self.deadlines) if d.deadline_id in deadline_ids]
        return Board(
            self.campaign,
            self.office,
            self.as_of,
            self.units,
            tuple(self.deadlines[j] for j in keep),
            tuple(tuple(row[j] for j in keep) for row in self.cells),
        )


@dataclass(frozen=True)
class UnitRecord:
    """One line of a 通报's table."""

    name: str
    group: str
    on_time: int  # 按时 (not counting 零报告)
    late: int  # 迟报
    nil: int  # 零报告 (on time)
    returned: int  # 退回
    missing: int  # 未报

    @property
    def owed(self) -> int:
        return self.on_time + self.late + self.nil + self.returned + self.missing

    @property
    def on_time_rate(self) -> float:
        """按时报送率: on time (零报告 included) over what was owed."""
        return (self.on_time + self.nil) / self.owed if self.owed else 1.0

    @property
    def clean(self) -> bool:
        return self.late == self.returned == self.missing == 0


def ranking(board: Board) -> list[UnitRecord]:
    """Units ranked for a 通报 over the deadlines already due: highest 按时报送率 first,
    then fewest 未报, fewest 退回 (nothing valid yet), fewest 迟报; ties keep the plan's
    order. 免报 and deadlines not yet due count for nothing."""
    records = []
    for unit, row in zip(board.units, board.cells, strict=True):
        cells = [c for c in row if c is not None]
        records.append(
            UnitRecord(
                unit.name,
                unit.group,
                cells.count(Cell.ON_TIME),
                cells.count(Cell.LATE),
                cells.count(Cell.NIL),
                cells.count(Cell.RETURNED),
                cells.count(Cell.MISSING),
            )
        )
    order = sorted(
        range(len(records)),
        key=lambda i: (
            -records[i].on_time_rate,
            records[i].missing,
            records[i].returned,
            records[i].late,
            i,
        ),
    )
    return [records[i] for i in order if records[i].owed]
