"""Loading and reloading a plan: the Daguan campaign, stored and then edited mid-way."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from domain.plan import Obligation, Once, Plan
from domain.plan_toml import parse_plan
from services.plans import LoadReport, load_plan
from storage import models as m
from storage.database import Database
from storage.repositories import DeadlineRepo
from tests.storage.conftest import recorded_statements, writes

ROOT = Path(__file__).resolve().parents[2]
DAGUAN = ROOT / "examples" / "plans" / "daguan-2017-anticounterfeit.toml"
DAGUAN_TEXT = DAGUAN.read_text(encoding="utf-8")
SOURCE = DAGUAN.name

FIRST_LOAD = datetime(2016, 11, 30, 8, 0, tzinfo=UTC)  # before the campaign starts
UNITS = ["dekuan", "yulin", "jixian", "linghu", "huashan", "haikou"]
OBLIGATIONS = ["liaison-list", "weekly-report", "daily-report", "stage-summary", "final-summary"]


def _utc(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


def _days(start: date, count: int, step: int = 1) -> list[date]:
    return [start + timedelta(days=i * step) for i in range(count)]


# What the notice says, in UTC (Beijing is UTC+8 with no summer time):
# 17:30 -> 09:30Z, 15:00 -> 07:00Z, 12:00 -> 04:00Z.
WEEKLY_DAYS = _days(date(2016, 12, 1), 13, step=7)  # every Thursday, Dec 1 .. Feb 23
DAILY_DAYS = (
    _days(date(2016, 12, 19), 5) + _days(date(2017, 1, 9), 5) + _days(date(2017, 2, 10), 5)
)
EXPECTED: dict[tuple[str, str], tuple[int, datetime]] = {
    ("liaison-list", "single"): (1, _utc(date(2016, 12, 15), 9, 30)),
    **{
        ("weekly-report", d.isoformat()): (i, _utc(d, 7))
        for i, d in enumerate(WEEKLY_DAYS, start=1)
    },
    **{
        ("daily-report", d.isoformat()): (i, _utc(d, 4)) for i, d in enumerate(DAILY_DAYS, start=1)
    },
    ("stage-summary", "2016-12-27"): (1, _utc(date(2016, 12, 27), 9, 30)),
    ("stage-summary", "2017-01-17"): (2, _utc(date(2017, 1, 17), 9, 30)),
    ("final-summary", "single"): (1, _utc(date(2017, 2, 23), 9, 30)),
}


def _edit(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def _edited(text: str = DAGUAN_TEXT) -> str:
    """Daguan with a later weekly time, two moved dates, one unit and one obligation less."""
    text = _edit(text, 'time = "15:00"', 'time = "16:00"')
    text = _edit(text, "date = 2017-02-23 }", "date = 2017-02-24 }")
    text = _edit(text, "dates = [2016-12-27, 2017-01-17]", "dates = [2016-12-27, 2017-01-18]")
    text = _edit(
        text, '[[units]]\nid = "haikou"\nname = "海口市场监管所"\ngroup = "市场监管所"\n', ""
    )
    start = text.index('[[obligations]]\nid = "daily-report"')
    end = text.index("[[obligations]]", start + 1)
    return text[:start] + text[end:]


EDITED_TEXT = _edited()


async def _load(db: Database, text: str, now: datetime, plan: Plan | None = None) -> LoadReport:
    return await load_plan(db.sessions, plan or parse_plan(text, SOURCE), SOURCE, text, now)


Snapshot = dict[str, list[tuple[Any, ...]]]


async def _snapshot(db: Database) -> Snapshot:
    """Every row of every table, in primary key order."""
    result: Snapshot = {}
    async with db.engine.connect() as conn:
        for name, table in m.Base.metadata.tables.items():
            rows = await conn.execute(select(table).order_by(*table.primary_key.columns))
            result[name] = [tuple(r) for r in rows]
    return result


async def _deadlines(db: Database) -> dict[tuple[str, str], m.Deadline]:
    async with db.sessions() as s:
        rows = await s.execute(
            select(m.Obligation.code, m.Deadline).join(
                m.Obligation, m.Deadline.obligation_id == m.Obligation.id
            )
        )
        return {(code, d.key): d for code, d in rows}


async def _submit(db: Database, deadline_id: int, unit_code: str, at: datetime) -> int:
    """A unit's report, written straight into the table as the submit use case would."""
    async with db.sessions.begin() as s:
        unit_id = await s.scalar(select(m.Unit.id).where(m.Unit.code == unit_code))
        assert unit_id is not None
        submission = m.Submission(
            deadline_id=deadline_id,
            unit_id=unit_id,
            revision=1,
            status="submitted",
            nil=False,
            answers={"cases": 2},
            submitted_at=at,
            late=False,
        )
        s.add(submission)
        await s.flush()
        return submission.id


async def _count(db: Database, model: type[m.Base]) -> int:
    async with db.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def test_loading_daguan_stores_six_units_five_obligations_and_32_deadlines_in_utc(
    database: Database, now: datetime
) -> None:
    report = await _load(database, DAGUAN_TEXT, FIRST_LOAD)

    assert (report.campaign, report.version, report.unchanged) == (
        "daguan-2017-anticounterfeit",
        1,
        False,
    )
    assert (report.units_added, report.deadlines_added) == (6, 32)
    assert (
        report.units_retired,
        report.deadlines_updated,
        report.deadlines_removed,
        report.deadlines_cancelled,
    ) == (0, 0, 0, 0)
    async with database.sessions() as s:
        campaign = await s.scalar(select(m.Campaign))
        units = (await s.scalars(select(m.Unit).order_by(m.Unit.position))).all()
        obligations = (await s.scalars(select(m.Obligation).order_by(m.Obligation.position))).all()
        versions = (await s.scalars(select(m.PlanVersion))).all()
    assert campaign is not None
    assert (campaign.code, campaign.timezone, campaign.start, campaign.end) == (
        "daguan-2017-anticounterfeit",
        "Asia/Shanghai",
        date(2016, 12, 1),
        date(2017, 2, 28),
    )
    assert (campaign.current_version, campaign.created_at, campaign.updated_at) == (
        1,
        FIRST_LOAD,
        FIRST_LOAD,
    )
    assert [u.code for u in units] == UNITS
    assert [u.position for u in units] == list(range(6))
    assert all(
        u.active and u.group == "市场监管所" and u.campaign_id == campaign.id for u in units
    )
    assert [o.code for o in obligations] == OBLIGATIONS
    assert [o.cadence for o in obligations] == ["once", "weekly", "daily", "once", "once"]
    assert [o.local_time for o in obligations] == [
        time(17, 30),
        time(15),
        time(12),
        time(17, 30),
        time(17, 30),
    ]
    assert all(o.active and o.unit_codes is None for o in obligations)
    assert [(v.version, v.source_name, v.loaded_at) for v in versions] == [(1, SOURCE, FIRST_LOAD)]
    assert versions[0].source_text == DAGUAN_TEXT
    assert versions[0].sha256 == hashlib.sha256(DAGUAN_TEXT.encode()).hexdigest()

    deadlines = await _deadlines(database)
    assert {k: (d.seq, d.due_at) for k, d in deadlines.items()} == EXPECTED
    for d in deadlines.values():
        assert d.due_at.utcoffset() == timedelta(0)
        assert (d.cancelled, d.plan_version, d.period_start, d.period_end) == (
            False,
            1,
            None,
            None,
        )
        assert d.campaign_id == campaign.id
    async with database.sessions() as s:
        assert await DeadlineRepo(s).count(campaign.id) == 32


async def test_an_obligation_for_every_unit_stores_sql_null_unit_codes_so_a_query_finds_it(
    database: Database,
) -> None:
    # The model's comment: unit_codes None means every unit; the column is nullable.
    await _load(database, DAGUAN_TEXT, FIRST_LOAD)
    async with database.sessions() as s:
        every_unit = (
            await s.scalars(
                select(m.Obligation.code)
                .where(m.Obligation.unit_codes.is_(None))
                .order_by(m.Obligation.position)
            )
        ).all()
    assert every_unit == OBLIGATIONS


async def test_loading_the_same_text_again_is_reported_unchanged_and_writes_nothing(
    database: Database, now: datetime
) -> None:
    await _load(database, DAGUAN_TEXT, FIRST_LOAD)
    before = await _snapshot(database)

    with recorded_statements(database.engine) as sent:
        report = await _load(database, DAGUAN_TEXT, now)

    assert report.unchanged
    assert report.version == 1
    assert (report.units_added, report.deadlines_added, report.deadlines_updated) == (0, 0, 0)
    assert writes(sent) == []
    assert sent  # it did look
    assert await _snapshot(database) == before


async def test_an_edited_plan_mid_campaign_changes_only_future_deadlines_and_keeps_history(
    database: Database, now: datetime
) -> None:
    await _load(database, DAGUAN_TEXT, FIRST_LOAD)
    old = await _deadlines(database)
    # Reports already in: a past weekly one, and two on deadlines the edit drops.
    stage_jan17 = old["stage-summary", "2017-01-17"]
    daily_jan12 = old["daily-report", "2017-01-12"]
    early = now - timedelta(hours=1)
    await _submit(database, old["weekly-report", "2017-01-05"].id, "dekuan", early)
    await _submit(database, stage_jan17.id, "yulin", early)
    await _submit(database, daily_jan12.id, "haikou", early)
    before = await _snapshot(database)

    report = await _load(database, EDITED_TEXT, now)

    future_weekly = [d for d in WEEKLY_DAYS if _utc(d, 7) > now]
    future_daily = [d for d in DAILY_DAYS if _utc(d, 4) > now]
    assert len(future_weekly) == 7 and len(future_daily) == 8
    assert (report.version, report.unchanged) == (2, False)
    assert (report.units_added, report.units_retired) == (0, 1)
    assert report.deadlines_added == 1  # stage summary of Jan 18
    assert report.deadlines_updated == 7 + 1  # future weekly ones, the final summary
    assert report.deadlines_removed == 8 - 1  # future daily ones without a report
    assert report.deadlines_cancelled == 2  # Jan 17 stage summary, Jan 12 daily report

    new = await _deadlines(database)
    # The past is history: every deadline due by `now` is exactly as it was.
    past_before = [r for r in before["deadlines"] if r[5] <= now]
    after = await _snapshot(database)
    assert [r for r in after["deadlines"] if r[5] <= now] == past_before
    assert len(past_before) == 6 + 7 + 1 + 1  # weekly, daily, liaison list, stage Dec 27
    for d in WEEKLY_DAYS:
        moved = new["weekly-report", d.isoformat()]
        assert moved.id == old["weekly-report", d.isoformat()].id  # edited in place
        if d in future_weekly:
            assert (moved.due_at, moved.plan_version) == (_utc(d, 8), 2)
        else:
            assert (moved.due_at, moved.plan_version) == (_utc(d, 7), 1)
    final = new["final-summary", "single"]
    assert final.id == old["final-summary", "single"].id
    assert (final.due_at, final.plan_version) == (_utc(date(2017, 2, 24), 9, 30), 2)
    jan18 = new["stage-summary", "2017-01-18"]
    assert (jan18.seq, jan18.due_at, jan18.plan_version, jan18.cancelled) == (
        2,
        _utc(date(2017, 1, 18), 9, 30),
        2,
        False,
    )
    # Dropped but already reported on: cancelled and kept, with the report.
    for kept in (stage_jan17, daily_jan12):
        row = next(d for d in new.values() if d.id == kept.id)
        assert (row.cancelled, row.plan_version, row.due_at) == (True, 2, kept.due_at)
    assert after["submissions"] == before["submissions"]
    # Dropped, in the future, nothing reported: gone.
    daily_left = sorted(k for (ob, k) in new if ob == "daily-report")
    assert daily_left == sorted(
        [d.isoformat() for d in DAILY_DAYS if d not in future_daily] + ["2017-01-12"]
    )
    assert len(new) == 32 + 1 - 7
    async with database.sessions() as s:
        campaign = await s.scalar(select(m.Campaign))
        assert campaign is not None
        assert await DeadlineRepo(s).count(campaign.id) == len(new) - 2
        units = {u.code: u.active for u in await s.scalars(select(m.Unit))}
        obligations = {o.code: o.active for o in await s.scalars(select(m.Obligation))}
    assert units == {code: code != "haikou" for code in UNITS}
    assert obligations == {code: code != "daily-report" for code in OBLIGATIONS}
    assert (campaign.current_version, campaign.created_at, campaign.updated_at) == (
        2,
        FIRST_LOAD,
        now,
    )


async def test_every_plan_version_is_kept_and_reloading_the_original_restores_it(
    database: Database, now: datetime
) -> None:
    await _load(database, DAGUAN_TEXT, FIRST_LOAD)
    stage_jan17 = (await _deadlines(database))["stage-summary", "2017-01-17"]
    await _submit(database, stage_jan17.id, "yulin", now - timedelta(hours=1))
    await _load(database, EDITED_TEXT, now)
    later = now + timedelta(minutes=5)

    report = await _load(database, DAGUAN_TEXT, later)

    assert (report.version, report.unchanged) == (3, False)
    assert report.units_retired == 0
    async with database.sessions() as s:
        versions = (await s.scalars(select(m.PlanVersion).order_by(m.PlanVersion.version))).all()
        campaign = await s.scalar(select(m.Campaign))
        units = {u.code: u.active for u in await s.scalars(select(m.Unit))}
        obligations = {o.code: o.active for o in await s.scalars(select(m.Obligation))}
    assert [(v.version, v.source_text, v.loaded_at) for v in versions] == [
        (1, DAGUAN_TEXT, FIRST_LOAD),
        (2, EDITED_TEXT, now),
        (3, DAGUAN_TEXT, later),
    ]
    assert [v.sha256 for v in versions] == [
        hashlib.sha256(t.encode()).hexdigest() for t in (DAGUAN_TEXT, EDITED_TEXT, DAGUAN_TEXT)
    ]
    assert campaign is not None and campaign.current_version == 3
    assert all(units.values()) and all(obligations.values())
    deadlines = await _deadlines(database)
    # The future is the original plan again; the cancelled stage summary is back, same row.
    assert {k: (d.seq, d.due_at) for k, d in deadlines.items() if d.due_at > later} == {
        k: v for k, v in EXPECTED.items() if v[1] > later
    }
    assert deadlines["stage-summary", "2017-01-17"].id == stage_jan17.id
    assert not deadlines["stage-summary", "2017-01-17"].cancelled
    assert ("stage-summary", "2017-01-18") not in deadlines
    assert await _count(database, m.Submission) == 1

    assert (await _load(database, DAGUAN_TEXT, later)).unchanged
    assert await _count(database, m.PlanVersion) == 3


def _broken(plan: Plan) -> Plan:
    """The plan plus an obligation due twice on one day: its second deadline row breaks
    the (obligation, key) unique constraint, the last write of the load."""
    twice = Once((date(2017, 2, 1), date(2017, 2, 1)))
    broken = Obligation("broken", "坏义务", "summary", twice, time(17, 30))
    return dataclasses.replace(plan, obligations=(*plan.obligations, broken))


async def test_a_failed_first_load_leaves_the_database_empty(database: Database) -> None:
    before = await _snapshot(database)

    with pytest.raises(IntegrityError):
        await _load(database, DAGUAN_TEXT, FIRST_LOAD, _broken(parse_plan(DAGUAN_TEXT)))

    assert await _snapshot(database) == before
    assert all(rows == [] for rows in before.values())


async def test_a_failed_reload_leaves_the_database_exactly_as_it_was(
    database: Database, now: datetime
) -> None:
    await _load(database, DAGUAN_TEXT, FIRST_LOAD)
    stage_jan17 = (await _deadlines(database))["stage-summary", "2017-01-17"]
    await _submit(database, stage_jan17.id, "yulin", now - timedelta(hours=1))
    before = await _snapshot(database)

    with pytest.raises(IntegrityError):
        await _load(database, EDITED_TEXT, now, _broken(parse_plan(EDITED_TEXT)))

    assert await _snapshot(database) == before
    # Nothing half-done is in the way: the good edit then loads as version 2.
    report = await _load(database, EDITED_TEXT, now)
    assert (report.version, report.units_retired, report.deadlines_cancelled) == (2, 1, 1)
