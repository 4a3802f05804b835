"""The reminder decisions on plain values, with no database: which nudge is due for whom
at a given instant, and that one already in the log (or a unit that reported) is not."""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from domain.plan import Cadence
from domain.plan_toml import parse_plan
from scheduler.calendar import WorkdayCalendar
from scheduler.nudge_policy import Placement, default_policy
from services.nudge_planner import (
    CampaignContext,
    Digest,
    Nudge,
    NudgePlanner,
    Recipient,
    ReminderConfig,
    World,
)
from storage import models as m

ROOT = Path(__file__).resolve().parents[2]
DAGUAN = ROOT / "examples" / "plans" / "daguan-2017-anticounterfeit.toml"
BJ = ZoneInfo("Asia/Shanghai")
DUE = datetime(2016, 12, 15, 15, 0, tzinfo=BJ)  # weekly report #3, a Thursday


def world(submitted: bool = False, logged: bool = False) -> World:
    text = DAGUAN.read_text(encoding="utf-8")
    plan = parse_plan(text, DAGUAN.name)
    campaign = m.Campaign(id=1, code=plan.id, name=plan.name, timezone="Asia/Shanghai")
    obligation = m.Obligation(
        id=10,
        campaign_id=1,
        code="weekly-report",
        title="信息周报",
        form_code="stats",
        cadence="weekly",
        local_time=time(15),
        unit_codes=None,
        position=0,
        active=True,
    )
    deadline = m.Deadline(
        id=100, campaign_id=1, obligation_id=10, seq=3, due_at=DUE.astimezone(UTC), cancelled=False
    )
    unit = m.Unit(
        id=1,
        campaign_id=1,
        code="dekuan",
        name="德宽路市场监管所",
        group="",
        position=0,
        active=True,
    )
    context = CampaignContext(
        campaign, plan, Placement(WorkdayCalendar()), BJ, {10: default_policy(Cadence.WEEKLY)}
    )
    latest: dict[tuple[int, int], m.Submission] = {}
    if submitted:
        latest[(100, 1)] = m.Submission(
            id=1,
            deadline_id=100,
            unit_id=1,
            revision=1,
            status="submitted",
            nil=False,
            answers={},
            submitted_at=DUE.astimezone(UTC),
            late=False,
        )
    log: dict[tuple[int, int | None, int, str], m.SentReminder] = {}
    if logged:
        log[(100, 1, 7, "due")] = m.SentReminder(
            id=1,
            deadline_id=100,
            unit_id=1,
            person_id=7,
            step="due",
            status="sent",
            claimed_at=DUE,
            claimed_by="x",
            attempts=1,
        )
    return World(
        {1: context},
        [(deadline, obligation)],
        {1: [unit]},
        {1: [Recipient(7, "2001", "李明", None)]},
        latest,
        log,
        set(),
    )


def test_at_the_deadline_a_missing_unit_gets_the_due_nudge() -> None:
    todo = NudgePlanner(ReminderConfig()).plan(world(), DUE)
    [job] = todo.new
    assert job.key == (100, 1, 7, "due") and job.external_id == "2001"
    assert isinstance(job.message, Nudge) and job.message.unit_name == "德宽路市场监管所"


def test_a_nudge_in_the_log_or_a_unit_that_reported_gets_nothing() -> None:
    planner = NudgePlanner(ReminderConfig())
    assert planner.plan(world(logged=True), DUE).new == []
    assert planner.plan(world(submitted=True), DUE).new == []


def test_the_digest_tells_units_that_read_their_nudge_from_those_that_did_not() -> None:
    seen = world()
    seen.campaigns[1].coordinators.append(Recipient(9, "9001", "王协调", None))
    seen.digest_at = {9: time(8, 30)}
    next_morning = datetime(2016, 12, 16, 8, 30, tzinfo=BJ)
    digests = [
        job.message
        for job in NudgePlanner(ReminderConfig()).plan(seen, next_morning).coordinator
        if isinstance(job.message, Digest)
    ]
    assert [(x.missing, x.read, x.unread) for d in digests for x in d.overdue] == [
        (("德宽路市场监管所",), (), ())  # nobody was nudged where read state is known
    ]
    for read, expected in [
        (True, (("德宽路市场监管所",), ())),
        (False, ((), ("德宽路市场监管所",))),
    ]:
        seen.reads = {1: read}
        [digest] = [
            job.message
            for job in NudgePlanner(ReminderConfig()).plan(seen, next_morning).coordinator
            if isinstance(job.message, Digest)
        ]
        assert [(x.read, x.unread) for x in digest.overdue] == [expected]
