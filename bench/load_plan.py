"""How close `load_plan` comes to a bare bulk insert of the same rows.

    python bench/load_plan.py [--units 3000] [--deadlines 150] [--postgres URL]
                              [--repeat 3] [--profile]

Builds a plan with many units (the TOML text is generated), then for SQLite (a fresh temp
file) and PostgreSQL (a fresh schema; URL from --postgres or CUIBAO_TEST_POSTGRES_URL)
measures, each time on a fresh, migrated database:

- load: wall time of `services.plans.load_plan` end to end (parsing the text is timed
  apart and reported once, it does not touch the database);
- floor: the same rows (campaign, plan version, units, obligations, deadlines) written
  with SQLAlchemy Core `insert()` executemany in one transaction, in the same process;
- peak: the peak Python memory (tracemalloc) of one more load, run apart from the timed
  ones because tracing slows everything down.

Prints the median of `--repeat` runs. The target is load/floor <= 2.0; with --profile (or
when a backend misses it) it prints where load_plan's time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import os
import pstats
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

from sqlalchemy import event, insert, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import NullPool

from domain.plan import CalendarOverrides, Plan
from domain.plan_toml import parse_plan
from scheduler.calendar import WorkdayCalendar
from scheduler.deadlines import expand_plan
from services.plans import load_plan
from storage import models as m
from storage.database import Database
from storage.db import create_engine

TARGET_RATIO = 2.0
START = date(2030, 1, 7)  # a Monday, far ahead: every deadline lies in the future
NOW = datetime(2029, 12, 1, tzinfo=UTC)
SOURCE = "bench-plan.toml"


# ---- the plan ----------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    weekly: int
    daily: int
    monthly: int
    once: int

    @classmethod
    def of(cls, deadlines: int) -> Shape:
        monthly = min(12, deadlines // 10)
        weekly = (deadlines - monthly) // 3
        daily = (deadlines - monthly) // 3
        once = deadlines - monthly - weekly - daily
        return cls(weekly, daily, monthly, once)

    @property
    def total(self) -> int:
        return self.weekly + self.daily + self.monthly + self.once


def plan_text(units: int, deadlines: int) -> str:
    """A campaign with `units` units and obligations (weekly, daily, monthly, once) that
    together fall due exactly `deadlines` times."""
    shape = Shape.of(deadlines)
    weekly_end = START + timedelta(weeks=max(shape.weekly - 1, 0))
    daily_start = START + timedelta(days=1)
    daily_end = daily_start + timedelta(days=max(shape.daily - 1, 0))
    months = START.month - 1 + shape.monthly  # the month after the last, counted from 0
    monthly_end = date(START.year + months // 12, months % 12 + 1, 1) - timedelta(days=1)
    # One-off dates on days no other rule uses would not matter (keys are per obligation),
    # but keep them inside the campaign: Tuesdays after the start.
    once_days = [START + timedelta(days=1 + 7 * i) for i in range(shape.once)]
    end = max([weekly_end, daily_end, monthly_end, *once_days])
    lines = [
        "[campaign]",
        'id = "bench-campaign"',
        'name = "基准测试专项行动"',
        'office = "某某区市场监督管理局"',
        'coordinator = "12315投诉举报中心"',
        f"issued = {START - timedelta(days=7)}",
        f"start = {START}",
        f"end = {end}",
        "",
        "[forms.stats]",
        'title = "统计报表"',
        "allow_nil = true",
        "[[forms.stats.fields]]",
        'id = "cases"',
        'label = "立案查处案件数"',
        'type = "integer"',
        "min = 0",
        "",
    ]
    for i in range(units):
        lines += [
            "[[units]]",
            f'id = "u{i:05d}"',
            f'name = "第{i + 1}市场监管所"',
            f'group = "片区{i % 20 + 1}"',
            "",
        ]
    obligations = [
        (
            "weekly",
            shape.weekly,
            f'{{ kind = "weekly", weekday = 1, start = {START}, end = {weekly_end} }}',
            "15:00",
        ),
        (
            "daily",
            shape.daily,
            f'{{ kind = "daily", start = {daily_start}, end = {daily_end} }}',
            "12:00",
        ),
        (
            "monthly",
            shape.monthly,
            f'{{ kind = "monthly", day = 25, start = {START}, end = {monthly_end} }}',
            "17:30",
        ),
        (
            "once",
            shape.once,
            '{ kind = "once", dates = [' + ", ".join(map(str, once_days)) + "] }",
            "17:30",
        ),
    ]
    for ob_id, count, schedule, clock in obligations:
        if count:
            lines += [
                "[[obligations]]",
                f'id = "{ob_id}"',
                f'title = "{ob_id} report"',
                'form = "stats"',
                f'time = "{clock}"',
                f"schedule = {schedule}",
                "",
            ]
    return "\n".join(lines)


# ---- the databases -----------------------------------------------------------------


@dataclass
class Backend:
    name: str
    fresh: Callable[[], Any]  # () -> async context manager yielding (url, engine kwargs)


@asynccontextmanager
async def fresh_sqlite() -> AsyncIterator[tuple[str, dict[str, Any]]]:
    with tempfile.TemporaryDirectory(prefix="cuibao-bench-") as tmp:
        yield f"sqlite:///{Path(tmp) / 'bench.db'}", {}


def fresh_postgres(url: str) -> Callable[[], Any]:
    @asynccontextmanager
    async def fresh() -> AsyncIterator[tuple[str, dict[str, Any]]]:
        schema = f"bench_{uuid4().hex}"
        admin = create_engine(url, poolclass=NullPool)
        try:
            async with admin.begin() as conn:
                await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            try:
                yield url, {"connect_args": {"server_settings": {"search_path": schema}}}
            finally:
                async with admin.begin() as conn:
                    await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        finally:
            await admin.dispose()

    return fresh


async def postgres_reachable(url: str) -> str | None:
    """None if we can connect, else why not."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return None
    except Exception as exc:  # any failure just means: no PostgreSQL run
        return f"{type(exc).__name__}: {exc}".splitlines()[0]
    finally:
        await engine.dispose()


@asynccontextmanager
async def fresh_database(backend: Backend) -> AsyncIterator[Database]:
    async with backend.fresh() as (url, kwargs), Database.open(url, **kwargs) as db:
        async with db.engine.connect() as conn:  # a warm pool for every contender
            await conn.execute(text("SELECT 1"))
        yield db


# ---- the contenders ----------------------------------------------------------------


@dataclass
class Rows:
    """Exactly what load_plan writes for a first load, as Core parameter dicts."""

    plan: Plan
    text: str
    digest: str
    units: list[dict[str, Any]] = field(default_factory=list)
    obligations: list[dict[str, Any]] = field(default_factory=list)
    deadlines: list[dict[str, Any]] = field(default_factory=list)


def rows_of(plan: Plan, text_: str) -> Rows:
    import hashlib

    rows = Rows(plan, text_, hashlib.sha256(text_.encode()).hexdigest())
    rows.units = [
        {"code": u.id, "name": u.name, "group": u.group, "position": i, "active": True}
        for i, u in enumerate(plan.units)
    ]
    rows.obligations = [
        {
            "code": o.id,
            "title": o.title,
            "form_code": o.form,
            "cadence": o.cadence.value,
            "local_time": o.time,
            "unit_codes": list(o.units) if o.units else None,
            "position": i,
            "active": True,
        }
        for i, o in enumerate(plan.obligations)
    ]
    calendar = WorkdayCalendar(CalendarOverrides(), plan.calendar)
    rows.deadlines = [
        {
            "obligation": d.obligation_id,
            "key": d.key,
            "seq": d.seq,
            "due_at": d.due,
            "cancelled": False,
            "plan_version": 1,
            "period_start": d.period[0] if d.period else None,
            "period_end": d.period[1] if d.period else None,
        }
        for d in expand_plan(plan, NOW, calendar).deadlines
    ]
    return rows


async def run_load(db: Database, rows: Rows) -> None:
    report = await load_plan(db.sessions, rows.plan, SOURCE, rows.text, NOW)
    assert report.deadlines_added == len(rows.deadlines), report
    assert report.units_added == len(rows.units), report


async def run_floor(db: Database, rows: Rows) -> None:
    plan = rows.plan
    tables = m.Base.metadata.tables
    async with db.engine.begin() as conn:
        campaign_id = await conn.scalar(
            insert(tables["campaigns"]).returning(tables["campaigns"].c.id),
            {
                "code": plan.id,
                "name": plan.name,
                "office": plan.office,
                "coordinator": plan.coordinator,
                "timezone": plan.timezone,
                "start": plan.period.start,
                "end": plan.period.end,
                "current_version": 1,
                "created_at": NOW,
                "updated_at": NOW,
            },
        )
        await conn.execute(
            insert(tables["plan_versions"]),
            [
                {
                    "campaign_id": campaign_id,
                    "version": 1,
                    "source_name": SOURCE,
                    "source_text": rows.text,
                    "sha256": rows.digest,
                    "loaded_at": NOW,
                }
            ],
        )
        await conn.execute(
            insert(tables["units"]), [{"campaign_id": campaign_id, **r} for r in rows.units]
        )
        table = tables["obligations"]
        result = await conn.execute(
            insert(table).returning(table.c.id, table.c.code, sort_by_parameter_order=True),
            [{"campaign_id": campaign_id, **r} for r in rows.obligations],
        )
        ids = {code: id_ for id_, code in result}
        await conn.execute(
            insert(tables["deadlines"]),
            [
                {
                    "campaign_id": campaign_id,
                    "obligation_id": ids[d["obligation"]],
                    **{k: v for k, v in d.items() if k != "obligation"},
                }
                for d in rows.deadlines
            ],
        )


async def timed(
    backend: Backend, rows: Rows, contender: Callable[[Database, Rows], Awaitable[None]]
) -> float:
    async with fresh_database(backend) as db:
        gc.collect()
        started = time.perf_counter()
        await contender(db, rows)
        return time.perf_counter() - started


async def peak_mib(
    backend: Backend, rows: Rows, contender: Callable[[Database, Rows], Awaitable[None]]
) -> float:
    async with fresh_database(backend) as db:
        tracemalloc.start()
        try:
            await contender(db, rows)
            return tracemalloc.get_traced_memory()[1] / 2**20
        finally:
            tracemalloc.stop()


# ---- where the time goes -----------------------------------------------------------


@contextmanager
def sql_timer(engine: AsyncEngine) -> Iterator[dict[str, list[float]]]:
    """Time spent in the driver per statement kind (the rest is Python)."""
    spent: dict[str, list[float]] = defaultdict(list)
    started: list[float] = []

    def before(*_args: Any) -> None:
        started.append(time.perf_counter())

    def after(
        _conn: Any, _cursor: Any, statement: str, _params: Any, _ctx: Any, executemany: bool
    ) -> None:
        words = statement.split()
        verb = words[0].upper() if words else "?"
        table = next((w.strip('"') for w in words[1:6] if w.strip('"') in TABLES), "")
        kind = f"{verb} {table}".strip() + (" (many)" if executemany else "")
        spent[kind].append(time.perf_counter() - started.pop())

    sync = engine.sync_engine
    event.listen(sync, "before_cursor_execute", before)
    event.listen(sync, "after_cursor_execute", after)
    try:
        yield spent
    finally:
        event.remove(sync, "before_cursor_execute", before)
        event.remove(sync, "after_cursor_execute", after)


TABLES = set(m.Base.metadata.tables)


async def profile(backend: Backend, rows: Rows) -> None:
    async with fresh_database(backend) as db:
        profiler = cProfile.Profile()
        with sql_timer(db.engine) as spent:
            started = time.perf_counter()
            profiler.enable()
            await run_load(db, rows)
            profiler.disable()
            total = time.perf_counter() - started
    print(
        f"\n--- {backend.name}: where load_plan's {total * 1000:.1f} ms go "
        "(profiled run, so slower than the table) ---"
    )
    in_sql = sum(sum(v) for v in spent.values())
    print(
        f"SQL statements (driver time incl. binding, as seen by SQLAlchemy events): "
        f"{in_sql * 1000:.1f} ms"
    )
    for kind, times in sorted(spent.items(), key=lambda kv: -sum(kv[1])):
        print(f"  {sum(times) * 1000:8.1f} ms  x{len(times):<4} {kind}")
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
    stats.print_stats(r"services/plans|storage/repositories|scheduler/deadlines", 15)
    stats.sort_stats("tottime").print_stats(15)
    print(out.getvalue())


# ---- main --------------------------------------------------------------------------


async def bench(args: argparse.Namespace) -> int:
    source = plan_text(args.units, args.deadlines)
    parse_times = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        plan = parse_plan(source, SOURCE)
        parse_times.append(time.perf_counter() - started)
    rows = rows_of(plan, source)
    assert len(rows.units) == args.units and len(rows.deadlines) == args.deadlines, (
        len(rows.units),
        len(rows.deadlines),
    )
    print(
        f"plan: {len(rows.units)} units, {len(rows.obligations)} obligations, "
        f"{len(rows.deadlines)} deadlines, {len(source) / 1024:.0f} KiB of TOML; "
        f"parse (not in load time): {statistics.median(parse_times) * 1000:.1f} ms "
        f"(median of {args.repeat})"
    )

    backends = [Backend("sqlite", fresh_sqlite)]
    pg_url = args.postgres or os.environ.get("CUIBAO_TEST_POSTGRES_URL")
    if not pg_url:
        print("postgresql: skipped (no --postgres URL and CUIBAO_TEST_POSTGRES_URL unset)")
    elif (why := await postgres_reachable(pg_url)) is not None:
        print(f"postgresql: skipped (cannot connect to {pg_url}: {why})")
    else:
        backends.append(Backend("postgresql", fresh_postgres(pg_url)))

    results = []
    for backend in backends:
        loads, floors = [], []
        for _ in range(args.repeat):  # interleaved, so drift hits both alike
            loads.append(await timed(backend, rows, run_load))
            floors.append(await timed(backend, rows, run_floor))
        load, floor = statistics.median(loads), statistics.median(floors)
        peak = await peak_mib(backend, rows, run_load)
        floor_peak = await peak_mib(backend, rows, run_floor)
        results.append((backend, load, floor, peak, floor_peak))

    print(
        f"\nmedian of {args.repeat} runs, each on a fresh database; target ratio <= {TARGET_RATIO}"
    )
    header = (
        f"{'backend':<11} {'load ms':>9} {'floor ms':>9} {'ratio':>6} "
        f"{'peak MiB':>9} {'floor MiB':>10}"
    )
    print(header)
    print("-" * len(header))
    for backend, load, floor, peak, floor_peak in results:
        ratio = load / floor
        flag = "" if ratio <= TARGET_RATIO else "  <- above target"
        print(
            f"{backend.name:<11} {load * 1000:9.1f} {floor * 1000:9.1f} {ratio:6.2f} "
            f"{peak:9.1f} {floor_peak:10.1f}{flag}"
        )
    for backend, load, floor, *_ in results:
        if args.profile or load / floor > TARGET_RATIO:
            await profile(backend, rows)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--units", type=int, default=3000)
    parser.add_argument("--deadlines", type=int, default=150)
    parser.add_argument(
        "--postgres",
        metavar="URL",
        default=None,
        help="PostgreSQL URL (default: $CUIBAO_TEST_POSTGRES_URL)",
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--profile",
        action="store_true",
        help="show where load_plan's time goes even when on target",
    )
    args = parser.parse_args(argv)
    if args.deadlines < 4 or args.units < 1 or args.repeat < 1:
        parser.error("need --deadlines >= 4, --units >= 1, --repeat >= 1")
    return asyncio.run(bench(args))


if __name__ == "__main__":
    sys.exit(main())
