"""How long the progress picture takes.

    python -m bench.status_picture [--units 3000] [--deadlines 150] [--repeat 3]

- render: `render_board` drawing a synthetic 300-unit × 30-deadline board into its PNG
  pages (no database), and `chat_picture` of the same board (the summary by 分组 the chat
  gets past one page). Target: < 1 s.
- status picture: what /status adds for its picture on a campaign of `--units` units and
  `--deadlines` deadlines (seeded as bench/export.py does, in a fresh SQLite file): the
  board query (`BoardService.board`, the /status window of 12 deadlines) with its
  statement count, then `chat_picture`. Median of `--repeat` runs each.
- /status: its counts and its picture come from one board read (the counts made in the
  same pass as the cells); against it, in the same run, the way before (a separate
  `CoordinationService.overview` read for the counts, then the board), as a ratio. And
  the newest-submission read the narrow way (`latest_states`) against ORM objects.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, select

from bench.export import CODE, seed
from conversation.i18n import Catalogue
from domain.board import Board, BoardDeadline, BoardUnit, Cell
from services.board import BoardService
from services.campaign_reads import latest_states, latest_submissions
from services.coordination import CoordinationService
from services.pictures import board_texts, chat_picture, render_board
from storage import models as m
from storage.database import Database

NOW = datetime(2026, 12, 4, 4, 0, tzinfo=UTC)


def synthetic(units: int, deadlines: int) -> Board:
    heads = tuple(
        BoardDeadline(j + 1, "信息周报", j + 1, True, NOW + timedelta(days=7 * (j - 25)))
        for j in range(deadlines)
    )
    rows = tuple(
        BoardUnit(f"第{i + 1}街道办事处", f"第{i * 10 // units + 1}片区") for i in range(units)
    )
    states = list(Cell)
    cells = tuple(
        tuple(states[(i * 7 + j * 3) % len(states)] for j in range(deadlines))
        for i in range(units)
    )
    return Board("基准测试专项行动", "基准办", NOW, rows, heads, cells)


def median_of(repeat: int, run: Callable[[], Any]) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


async def status_picture(units: int, deadlines: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with Database.open(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}") as db:
            start = time.perf_counter()
            campaign = await seed(db, units, deadlines)
            print(
                f"seeded {units} units × {deadlines} deadlines in "
                f"{time.perf_counter() - start:.1f} s"
            )
            now = campaign.deadlines[len(campaign.deadlines) // 2][1] + timedelta(hours=1)
            service = BoardService(db.sessions)
            statements: list[str] = []

            def record(*_args: Any) -> None:
                statements.append("x")

            query_times, draw_times, stalls = [], [], []
            for _ in range(repeat):
                statements.clear()
                event.listen(db.engine.sync_engine, "before_cursor_execute", record)
                ticking = asyncio.create_task(_longest_stall())
                start = time.perf_counter()
                found = await service.board(None, CODE, now, window=12)
                query_times.append(time.perf_counter() - start)
                await asyncio.sleep(0.01)  # the ticker measures the stall it woke up from
                ticking.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ticking
                stalls.append(_STALL[0])
                event.remove(db.engine.sync_engine, "before_cursor_execute", record)
                assert found is not None
                texts = board_texts(found.board, Catalogue(), "zh-CN", CODE)
                start = time.perf_counter()
                png = chat_picture(found.board, texts)
                draw_times.append(time.perf_counter() - start)
            query, draw = statistics.median(query_times), statistics.median(draw_times)
            print(
                f"/status picture at {units} units: board query {query * 1000:.0f} ms "
                f"({len(statements)} statements), picture {draw * 1000:.0f} ms "
                f"({len(png) // 1024} KB), total {(query + draw) * 1000:.0f} ms; other chats "
                f"wait at most {statistics.median(stalls) * 1000:.0f} ms meanwhile (the "
                f"longest the event loop was busy, median of runs; the drawing is off it)"
            )
            text = await _status_text(db, now, repeat, statements, record)
            print(
                f"/status with its picture at {units} units: {(query + draw) * 1000:.0f} ms "
                f"(counts and picture from the one board read) — target < 500 ms; the way "
                f"before (a separate counts read): {(text + query + draw) * 1000:.0f} ms, "
                f"ratio {(query + draw) / (text + query + draw):.2f}"
            )


_STALL = [0.0]


async def _longest_stall() -> None:
    """The longest the event loop was busy while this ran (what another chat waited)."""
    _STALL[0] = 0.0
    while True:
        start = time.perf_counter()
        await asyncio.sleep(0.001)
        _STALL[0] = max(_STALL[0], time.perf_counter() - start - 0.001)


async def _status_text(
    db: Database, now: datetime, repeat: int, statements: list[str], record: Any
) -> float:
    """The median time of /status's counts; prints them against the old read."""
    coordination = CoordinationService(db.sessions)
    async with db.sessions() as s:
        campaign_id = await s.scalar(select(m.Campaign.id).where(m.Campaign.code == CODE))
        ids = list(
            (
                await s.scalars(
                    select(m.Deadline.id)
                    .where(m.Deadline.campaign_id == campaign_id, m.Deadline.due_at <= now)
                    .order_by(m.Deadline.due_at.desc())
                    .limit(12)
                )
            ).all()
        )
    assert campaign_id is not None
    times, narrow, full = [], [], []
    for _ in range(repeat):
        statements.clear()
        event.listen(db.engine.sync_engine, "before_cursor_execute", record)
        start = time.perf_counter()
        await coordination.overview(campaign_id, now)
        times.append(time.perf_counter() - start)
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)
        async with db.sessions() as s:
            start = time.perf_counter()
            await latest_states(s, deadline_ids=ids)
            narrow.append(time.perf_counter() - start)
        async with db.sessions() as s:
            start = time.perf_counter()
            await latest_submissions(s, deadline_ids=ids)
            full.append(time.perf_counter() - start)
    taken = statistics.median(times)
    new, old = statistics.median(narrow), statistics.median(full)
    print(
        f"/status counts (overview): {taken * 1000:.0f} ms in {len(statements)} statements; "
        f"the newest submissions of its 12 deadlines read narrow {new * 1000:.0f} ms against "
        f"{old * 1000:.0f} ms as ORM objects (ratio {new / old:.2f})"
    )
    return taken


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=3000)
    parser.add_argument("--deadlines", type=int, default=150)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    board = synthetic(300, 30)
    texts = board_texts(board, Catalogue(), "zh-CN", CODE)
    render_board(board, texts)  # warm: the font and the column labels
    seconds, pages = median_of(args.repeat, lambda: render_board(board, texts))
    print(
        f"render 300 units × 30 deadlines: {seconds * 1000:.0f} ms for {len(pages)} pages "
        f"({sum(map(len, pages)) // 1024} KB) — target < 1000 ms"
    )
    seconds, png = median_of(args.repeat, lambda: chat_picture(board, texts))
    print(
        f"chat picture (summary by 分组) of the same board: {seconds * 1000:.0f} ms "
        f"({len(png) // 1024} KB)"
    )
    asyncio.run(status_picture(args.units, args.deadlines, args.repeat))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
