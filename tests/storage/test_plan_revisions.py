"""A plan revision is applied against the version it was shown for, and only once."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from domain.plan_toml import parse_plan
from services.access import Actor
from services.plans import (
    Decision,
    LoadReport,
    PendingState,
    PlanService,
    Proposal,
    RevisionConflict,
    load_plan,
)
from storage import models as m
from storage.database import Database
from tests.storage.conftest import Target

ROOT = Path(__file__).resolve().parents[2]
DAGUAN_TEXT = (ROOT / "examples" / "plans" / "daguan-2017-anticounterfeit.toml").read_text(
    encoding="utf-8"
)
REVISED_TEXT = DAGUAN_TEXT.replace('name = "玉琳路市场监管所"', 'name = "甲所"')


async def _coordinator(db: Database, now: datetime) -> Actor:
    async with db.sessions.begin() as s:
        person = m.Person(external_id="900001", display_name="王协调", created_at=now)
        s.add(person)
        await s.flush()
        return Actor(person.id, "900001", None, (), global_coordinator=True)


async def _versions(db: Database) -> list[int]:
    async with db.sessions() as s:
        return list(
            (await s.scalars(select(m.PlanVersion.version).order_by(m.PlanVersion.version))).all()
        )


async def test_a_load_shown_against_an_older_version_writes_nothing(
    database: Database, now: datetime
) -> None:
    plans = PlanService(database.sessions)
    await plans.load_text(DAGUAN_TEXT, "daguan.toml", now)
    await plans.load_text(REVISED_TEXT, "daguan.toml", now)  # version 2 meanwhile

    with pytest.raises(RevisionConflict) as raised:
        await load_plan(
            database.sessions,
            parse_plan(DAGUAN_TEXT, "d.toml"),
            "d.toml",
            DAGUAN_TEXT + "\n# edited\n",
            now,
            expected_version=1,
        )
    with pytest.raises(RevisionConflict):  # "a new campaign" that exists already
        await load_plan(
            database.sessions,
            parse_plan(DAGUAN_TEXT, "d.toml"),
            "d.toml",
            DAGUAN_TEXT + "\n# again\n",
            now,
            expected_version=0,
        )

    assert raised.value.version == 2
    assert await _versions(database) == [1, 2]


async def test_two_confirms_at_once_from_two_processes_apply_the_revision_once(
    target: Target, now: datetime
) -> None:
    async with target.open() as first, target.open() as second:
        plans = PlanService(first.sessions)
        await plans.load_text(DAGUAN_TEXT, "daguan.toml", now)
        actor = await _coordinator(first, now)
        proposal = await plans.send_plan(actor, REVISED_TEXT, "daguan.toml", now)
        assert isinstance(proposal, Proposal)
        assert await _versions(first) == [1]

        decided = await asyncio.gather(
            plans.decide(actor, proposal.pending_id, True, now),
            PlanService(second.sessions).decide(actor, proposal.pending_id, True, now),
        )

        assert sorted(d.outcome for d in decided) == [Decision.ALREADY, Decision.APPLIED]
        [applied] = [d for d in decided if d.outcome is Decision.APPLIED]
        assert isinstance(applied.report, LoadReport) and applied.report.version == 2
        assert await _versions(first) == [1, 2]
        async with first.sessions() as s:
            assert await s.scalar(select(m.PendingRevision.state)) == PendingState.APPLIED
            assert (
                await s.scalar(
                    select(func.count()).select_from(m.Unit).where(m.Unit.name == "甲所")
                )
                == 1
            )
