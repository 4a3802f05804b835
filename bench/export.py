"""How the Excel export compares with a bare writer writing the same cells and nothing else.

    python bench/export.py [--units 3000] [--deadlines 150] [--small 50] [--skip-memory]

Builds a campaign of `--units` units and `--deadlines` deadlines (weekly and monthly
statistics reports, two written summaries), every unit having filled almost every form
(a few late, nil, returned or missing), in a fresh SQLite file. Then, in one run:

- export: wall time of `ExportService.export_file` end to end (its SQL, the streamed rows,
  the worker thread, the styled workbook with its print layout, saving it);
- two floors, the same cell values into the same sheets and saved, with no database,
  no styles and no checks around them: openpyxl's write-only mode (`append`) and
  XlsxWriter's constant_memory mode (`write_string`, `write_number`, `write_datetime`);
- peak: the peak Python memory (tracemalloc) of the export for `--small` deadlines and
  for `--deadlines` deadlines (same units), run apart from the timed runs because
  tracing slows everything down. Flat means: more rows, the same peak.

Each is timed `--repeat` times, alternating, and the median counts. The target is
export / the faster floor <= 1.3.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import xlsxwriter
from openpyxl import Workbook
from sqlalchemy import Table, insert, select

from conversation.i18n import Catalogue
from domain.plan_toml import parse_plan
from services.campaign_reads import PlanRegistry
from services.export import ExportRequest, ExportService
from services.plans import load_plan
from storage import models as m
from storage.database import Database
from storage.filestore import FileStore

TARGET_RATIO = 1.3
START = date(2021, 1, 4)  # a Monday
LOADED = datetime(2020, 12, 1, tzinfo=UTC)
ZONE = ZoneInfo("Asia/Shanghai")
CODE = "bench-export"
STATS_FIELDS = (
    "inspectors",
    "inspected",
    "complaints",
    "cases",
    "case_value",
    "fines",
    "losses",
    "seized",
    "attachment",
)
SUMMARY_FIELDS = ("cases", "case_value", "experience", "document")

FORMS = """
[forms.stats]
title = "打假统计报表"
allow_nil = true
[[forms.stats.fields]]
id = "inspectors"
label = "出动执法人员"
type = "integer"
unit = "人次"
[[forms.stats.fields]]
id = "inspected"
label = "检查经营户"
type = "integer"
unit = "户次"
[[forms.stats.fields]]
id = "complaints"
label = "受理举报投诉"
type = "integer"
unit = "件"
[[forms.stats.fields]]
id = "cases"
label = "立案查处案件数"
type = "integer"
unit = "件"
[[forms.stats.fields]]
id = "case_value"
label = "案值"
type = "decimal"
unit = "万元"
places = 4
[[forms.stats.fields]]
id = "fines"
label = "罚没款"
type = "decimal"
unit = "万元"
places = 4
[[forms.stats.fields]]
id = "losses"
label = "挽回经济损失"
type = "decimal"
unit = "万元"
required = false
[[forms.stats.fields]]
id = "seized"
label = "收缴物资"
type = "text"
required = false
[[forms.stats.fields]]
id = "attachment"
label = "统计报表附件"
type = "file"
required = false

[forms.summary]
title = "工作总结"
[[forms.summary.fields]]
id = "cases"
label = "查办案件数"
type = "integer"
unit = "件"
[[forms.summary.fields]]
id = "case_value"
label = "案值"
type = "decimal"
unit = "万元"
[[forms.summary.fields]]
id = "experience"
label = "经验做法"
type = "longtext"
required = false
[[forms.summary.fields]]
id = "document"
label = "总结材料"
type = "file"
required = false
"""


def plan_text(units: int, deadlines: int) -> str:
    """Weekly reports, monthly reports and two summaries: `deadlines` in all."""
    summaries = 2
    monthly = max(1, (deadlines - summaries) // 6)
    weekly = deadlines - summaries - monthly
    weekly_end = START + timedelta(weeks=weekly - 1, days=3)  # the last Thursday
    months = START.month - 1 + monthly
    monthly_end = date(START.year + months // 12, months % 12 + 1, 1) - timedelta(days=1)
    end = max(weekly_end, monthly_end) + timedelta(days=30)
    lines = [
        "[campaign]",
        f'id = "{CODE}"',
        'name = "基准测试专项行动"',
        'office = "某区市场监督管理局"',
        'coordinator = "12315投诉举报中心"',
        f"issued = {START - timedelta(days=3)}",
        f"start = {START}",
        f"end = {end}",
        "",
    ]
    for i in range(units):
        lines += [
            "[[units]]",
            f'id = "u{i:05d}"',
            f'name = "第{i + 1}市场监管所"',
            f'group = "片区{i % 12 + 1}"',
            "",
        ]
    lines.append(FORMS)
    summary_days = ", ".join(str(end - timedelta(days=d)) for d in (20, 5))
    lines += [
        "[[obligations]]",
        'id = "weekly"',
        'title = "信息周报"',
        'form = "stats"',
        'time = "15:00"',
        f'schedule = {{ kind = "weekly", weekday = 4, start = {START}, end = {weekly_end} }}',
        "",
        "[[obligations]]",
        'id = "monthly"',
        'title = "月报"',
        'form = "stats"',
        (
            f'schedule = {{ kind = "monthly", day = 5, start = {START}, end = {monthly_end}, '
            'period = "previous_month" }'
        ),
        "",
        "[[obligations]]",
        'id = "summary"',
        'title = "工作总结"',
        'form = "summary"',
        f'schedule = {{ kind = "once", dates = [{summary_days}] }}',
        "",
    ]
    return "\n".join(lines)


# ---- what every unit sent: one deterministic function, used for the database and the floor


def outcome(u: int, d: int) -> str:
    """What unit u did for deadline d: ok, late, nil, returned or missing."""
    k = (u * 31 + d * 17) % 100
    return (
        "missing"
        if k < 3
        else "late"
        if k < 6
        else "nil"
        if k < 8
        else "returned"
        if k < 9
        else "ok"
    )


def answers(u: int, d: int, summary: bool) -> dict[str, Any]:
    if summary:
        return {
            "cases": (u + d) % 40,
            "case_value": f"{(u * 7 + d) % 9000 / 100:.2f}",
            "experience": f"第{u + 1}所:联合执法、源头治理,查处案件{(u + d) % 40}起。",
        }
    return {
        "inspectors": (u * 7 + d) % 60,
        "inspected": (u * 3 + d * 5) % 250,
        "complaints": (u + d) % 9,
        "cases": (u * 5 + d) % 7,
        "case_value": f"{(u * 13 + d) % 100000 / 10000:.4f}",
        "fines": f"{(u * 11 + d * 3) % 50000 / 10000:.4f}",
        "losses": None if (u + d) % 4 else f"{(u + d) % 300 / 100:.2f}",
        "seized": f"假冒白酒{(u * 3 + d) % 500}瓶" if (u + d) % 3 == 0 else None,
    }


def submitted_at(due: datetime, u: int, how: str) -> datetime:
    return due + (
        timedelta(hours=2 + u % 20)
        if how == "late"
        else -timedelta(hours=1 + u % 30, minutes=u % 60)
    )


class Campaign:
    def __init__(self, units: int, deadlines: list[tuple[int, datetime, bool]]) -> None:
        self.units = units
        self.deadlines = deadlines  # (id, due, summary form), in due order


async def seed(db: Database, units: int, deadlines: int) -> Campaign:
    text = plan_text(units, deadlines)
    await load_plan(db.sessions, parse_plan(text, "bench.toml"), "bench.toml", text, LOADED)
    async with db.sessions() as s:
        unit_ids = list((await s.scalars(select(m.Unit.id).order_by(m.Unit.position))).all())
        rows = (
            await s.execute(
                select(m.Deadline.id, m.Deadline.due_at, m.Obligation.form_code)
                .join(m.Obligation, m.Obligation.id == m.Deadline.obligation_id)
                .order_by(m.Deadline.due_at, m.Obligation.position)
            )
        ).all()
    found = [(i, due, form == "summary") for i, due, form in rows]
    assert len(found) == deadlines, (len(found), deadlines)
    submissions = cast(Table, m.Submission.__table__)
    attachments = cast(Table, m.Attachment.__table__)
    batch: list[dict[str, Any]] = []
    async with db.engine.begin() as conn:
        for d, (deadline_id, due, summary) in enumerate(found):
            for u, unit_id in enumerate(unit_ids):
                how = outcome(u, d)
                if how == "missing":
                    continue
                at = submitted_at(due, u, how)
                batch.append(
                    {
                        "deadline_id": deadline_id,
                        "unit_id": unit_id,
                        "revision": 1,
                        "status": "returned" if how == "returned" else "submitted",
                        "nil": how == "nil",
                        "answers": {} if how == "nil" else answers(u, d, summary),
                        "submitted_at": at,
                        "late": how == "late",
                        "review_comment": "请核对案值" if how == "returned" else None,
                    }
                )
                if len(batch) >= 5000:
                    await conn.execute(insert(submissions), batch)
                    batch.clear()
        if batch:
            await conn.execute(insert(submissions), batch)
        # Every 20th report of a few units carries a file.
        ids = (
            (await conn.execute(select(m.Submission.id).where(m.Submission.id % 20 == 0)))
            .scalars()
            .all()
        )
        files = [
            {
                "submission_id": i,
                "field_id": "attachment",
                "original_name": f"统计表{i}.xlsx",
                "size": 1,
                "mime_type": "x",
                "sha256": "0",
                "storage_key": f"none/{i}",
                "uploaded_at": LOADED,
            }
            for i in ids
        ]
        for start in range(0, len(files), 5000):
            await conn.execute(insert(attachments), files[start : start + 5000])
    return Campaign(units, found)


@dataclass(frozen=True)
class Timing:
    wall: float
    cpu: float  # all threads of the process: what a busy machine cannot inflate much


async def export_once(db: Database, out: Path) -> tuple[Timing, int]:
    service = ExportService(db.sessions, PlanRegistry(), FileStore(out.parent / "files"))
    now = datetime(2030, 1, 1, tzinfo=UTC)
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    summary = await service.export_file(ExportRequest(CODE, now), Catalogue(), out)
    return Timing(time.perf_counter() - wall, time.process_time() - cpu), summary.submissions


# ---- the floors: the same cells, straight into openpyxl or XlsxWriter ---------------------


def floor_rows(c: Campaign) -> Iterator[tuple[str, list[Any]]]:
    """(sheet, values) for every row the export writes, as plain values."""
    names = [f"第{u + 1}市场监管所" for u in range(c.units)]
    groups = [f"片区{u % 12 + 1}" for u in range(c.units)]
    for u in range(c.units):
        row: list[Any] = [names[u], groups[u]]
        for d, (_, due, _) in enumerate(c.deadlines):
            how = outcome(u, d)
            if how == "missing":
                row.append("未报")
                continue
            at = submitted_at(due, u, how).astimezone(ZONE)
            row.append(
                f"{at:%m-%d %H:%M}"
                + {"late": " 逾期", "nil": " 零报告", "returned": " 已退回"}.get(how, "")
            )
        row += [3, 3]
        yield "提交情况", row
    for u in range(c.units):
        yield (
            "累计",
            [
                names[u],
                groups[u],
                100,
                1234,
                5678,
                90,
                12,
                Decimal("12.3456"),
                Decimal("5.4321"),
                Decimal("1.2"),
                2,
                340,
                Decimal("56.78"),
            ],
        )
    for summary_sheet in (False, True):
        sheet = "工作总结" if summary_sheet else "信息周报"
        fields = SUMMARY_FIELDS if summary_sheet else STATS_FIELDS
        for d, (_, due, summary) in enumerate(c.deadlines):
            if summary != summary_sheet:
                continue
            yield sheet, [f"信息周报 第{d}期 · 截止 {due:%Y-%m-%d %H:%M}"]
            for u in range(c.units):
                how = outcome(u, d)
                filled = answers(u, d, summary) if how not in ("missing", "nil") else {}
                values: list[Any] = [
                    names[u],
                    groups[u],
                    how,
                    None
                    if how == "missing"
                    else submitted_at(due, u, how).astimezone(ZONE).replace(tzinfo=None),
                ]
                for f in fields:
                    v = filled.get(f)
                    values.append(
                        Decimal(v)
                        if isinstance(v, str)
                        and v[:1].isdigit()
                        and f in ("case_value", "fines", "losses")
                        else v
                    )
                values.append("退回原因:请核对案值" if how == "returned" else None)
                yield sheet, values
            yield sheet, ["合计", None, "已报", None, 1, 2, 3, 4, Decimal("5.5")]
            yield sheet, []


FLOOR_SHEETS = ("提交情况", "累计", "信息周报", "工作总结")


def floor_openpyxl(c: Campaign, out: Path) -> Timing:
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    book = Workbook(write_only=True)
    sheets = {name: book.create_sheet(name) for name in FLOOR_SHEETS}
    for name, values in floor_rows(c):
        sheets[name].append(values)
    book.save(out)
    return Timing(time.perf_counter() - wall, time.process_time() - cpu)


def floor_xlsxwriter(c: Campaign, out: Path) -> Timing:
    """Each value with its type's own writer: a little faster than `write_row`, which
    asks every string whether it is a formula or a link."""
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    book = xlsxwriter.Workbook(str(out), {"constant_memory": True})
    sheets = {name: book.add_worksheet(name) for name in FLOOR_SHEETS}
    rows = dict.fromkeys(FLOOR_SHEETS, 0)
    for name, values in floor_rows(c):
        sheet, row = sheets[name], rows[name]
        for column, v in enumerate(values):
            if isinstance(v, str):
                sheet.write_string(row, column, v)
            elif isinstance(v, datetime):
                sheet.write_datetime(row, column, v)
            elif v is not None:
                sheet.write_number(row, column, v)
        rows[name] += 1
    book.close()
    return Timing(time.perf_counter() - wall, time.process_time() - cpu)


# ---- the run ------------------------------------------------------------------------------


async def peak_of_export(units: int, deadlines: int, tmp: Path) -> tuple[int, int]:
    async with Database.open(f"sqlite:///{tmp / f'peak-{deadlines}.db'}") as db:
        c = await seed(db, units, deadlines)
        gc.collect()
        tracemalloc.start()
        try:
            await export_once(db, tmp / f"peak-{deadlines}.xlsx")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        return peak, sum(1 for _ in c.deadlines) * units


async def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=3000)
    parser.add_argument("--deadlines", type=int, default=150)
    parser.add_argument(
        "--small",
        type=int,
        default=50,
        help="deadlines of the smaller campaign for the memory comparison",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="timed runs of each, alternating; the median counts",
    )
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cuibao-export-bench-") as name:
        tmp = Path(name)
        async with Database.open(f"sqlite:///{tmp / 'bench.db'}") as db:
            started = time.perf_counter()
            c = await seed(db, args.units, args.deadlines)
            print(
                f"seeded {args.units} units x {args.deadlines} deadlines in "
                f"{time.perf_counter() - started:.1f} s",
                flush=True,
            )
            exports: list[Timing] = []
            floors: dict[str, list[Timing]] = {"openpyxl": [], "XlsxWriter": []}
            for _ in range(args.repeat):  # alternate, so that load spikes hit all alike
                timing, submissions = await export_once(db, tmp / "export.xlsx")
                exports.append(timing)
                floors["openpyxl"].append(floor_openpyxl(c, tmp / "floor-openpyxl.xlsx"))
                floors["XlsxWriter"].append(floor_xlsxwriter(c, tmp / "floor-xlsxwriter.xlsx"))
                print(
                    f"  run: export {exports[-1].wall:.2f} s ({exports[-1].cpu:.2f} s CPU), "
                    + ", ".join(f"{k} {v[-1].wall:.2f} s" for k, v in floors.items()),
                    flush=True,
                )
        size = (tmp / "export.xlsx").stat().st_size
        cells = args.units * args.deadlines
        export_s = statistics.median(t.wall for t in exports)
        export_cpu = statistics.median(t.cpu for t in exports)
        print(
            f"export     : {export_s:7.2f} s wall, {export_cpu:7.2f} s CPU  ({submissions} "
            f"submissions, {cells} unit-deadline cells, {size / 1e6:.1f} MB)"
        )
        medians = {}
        for what, timings in floors.items():
            wall_s = statistics.median(t.wall for t in timings)
            cpu_s = statistics.median(t.cpu for t in timings)
            medians[what] = (wall_s, cpu_s)
            how = "write-only append" if what == "openpyxl" else "constant_memory, typed writes"
            print(
                f"{what:<11}: {wall_s:7.2f} s wall, {cpu_s:7.2f} s CPU  ({how}, same cells, "
                f"nothing else; export / this: {export_s / wall_s:.2f})"
            )
        fastest = min(medians, key=lambda k: medians[k][0])
        floor_s, floor_cpu = medians[fastest]
        for what, ratio in (("wall", export_s / floor_s), ("CPU", export_cpu / floor_cpu)):
            print(
                f"ratio      : {ratio:7.2f} ({what}, against {fastest}, the faster floor; "
                f"target <= {TARGET_RATIO}: {'met' if ratio <= TARGET_RATIO else 'MISSED'})",
                flush=True,
            )
        if not args.skip_memory:
            for deadlines in (args.small, args.deadlines):
                peak, cells = await peak_of_export(args.units, deadlines, tmp)
                print(
                    f"peak       : {peak / 1e6:7.1f} MB for {args.units} units x {deadlines} "
                    f"deadlines ({cells} cells)",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
