"""The bundled example plans hold exactly the deadlines annotated by hand in the seeds."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from domain.plan import Plan
from domain.plan_toml import parse_plan
from scheduler.calendar import WorkdayCalendar
from scheduler.deadlines import expand_plan, month_day

ROOT = Path(__file__).resolve().parents[2]
PLANS = ROOT / "examples" / "plans"
SHARED = ROOT.parent / "shared" / "annotations"
ANNOTATIONS = SHARED if SHARED.is_dir() else ROOT / "tests" / "data" / "seeds"
EXAMPLES = {
    "daguan-2017-anticounterfeit.toml": "000_120f0acc1c4bbbb9.expected.json",
    "huimin-2020-market-rectification.toml": "003_92cce0ee415a548c.expected.json",
    "qingxi-2018-anticounterfeit.toml": "004_9598f0ebdc4447af.expected.json",
}
NOW = datetime(2016, 1, 1, tzinfo=UTC)


def _plan(name: str) -> Plan:
    return parse_plan((PLANS / name).read_text(encoding="utf-8"), name)


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _annotated(plan: Plan, ob: dict[str, Any]) -> list[tuple[date, time]]:
    """The dated deadlines an annotated obligation stands for, expanded over its window."""
    clock = time.fromisoformat(ob["time"]) if ob.get("time") else plan.default_time
    window = ob.get("window") or [None, None]
    start = date.fromisoformat(window[0]) if window[0] else plan.period.start
    end = date.fromisoformat(window[1]) if window[1] else plan.period.end
    assert end is not None
    match ob["kind"]:
        case "once":
            days = [date.fromisoformat(ob["date"])]
        case "weekly":
            days = [d for d in _days(start, end) if d.isoweekday() == ob["weekday"]]
        case "daily":
            days = _days(start, end)
        case "monthly":
            firsts = [d for d in _days(start, end) if d.day == 1] + [start]
            days = sorted({month_day(d.year, d.month, ob["day_of_month"]) for d in firsts})
            days = [d for d in days if start <= d <= end]
        case "relative_workdays":
            days = [WorkdayCalendar(plan.calendar).add_workdays(plan.issued, ob["offset"])]
        case other:
            raise AssertionError(f"no expansion for {other}")
    return [(d, clock) for d in days]


@pytest.mark.parametrize("plan_file", sorted(EXAMPLES))
def test_an_example_plan_holds_exactly_the_annotated_deadlines(plan_file: str) -> None:
    plan = _plan(plan_file)
    annotation = json.loads((ANNOTATIONS / EXAMPLES[plan_file]).read_text(encoding="utf-8"))
    expected: list[tuple[date, time]] = []
    for ob in annotation["obligations"]:
        if not ob.get("uncertain"):
            expected += _annotated(plan, ob)

    expansion = expand_plan(plan, NOW)
    optional = {o.id for o in plan.obligations if "assumed" in o.note}
    got = [
        (d.due.date(), d.due.timetz().replace(tzinfo=None))
        for d in expansion.deadlines
        if d.obligation_id not in optional
    ]

    assert sorted(got) == sorted(expected)
    # Daguan's notice came out two weeks into its campaign: its first two weeklies predate it;
    # its Thursday 2017-02-02 falls in the Spring Festival holiday. Huimin's 每月28日 and
    # Qingxi's month ends land on Saturdays and holidays (2018-04-30 is in 劳动节).
    assert [w.code for w in expansion.warnings] == (
        ["before_issued", "weekly_on_holiday"]
        if plan_file.startswith("daguan")
        else ["dated_on_day_off"]
    )


def test_the_daguan_example_has_the_32_deadlines_of_its_notice() -> None:
    expansion = expand_plan(_plan("daguan-2017-anticounterfeit.toml"), NOW)

    by_obligation: dict[str, list[str]] = {}
    for d in expansion.deadlines:
        by_obligation.setdefault(d.obligation_id, []).append(d.due.isoformat())

    assert len(expansion.deadlines) == 32
    assert by_obligation["liaison-list"] == ["2016-12-15T17:30:00+08:00"]
    assert len(by_obligation["weekly-report"]) == 13
    assert by_obligation["weekly-report"][0] == "2016-12-01T15:00:00+08:00"
    assert by_obligation["weekly-report"][-1] == "2017-02-23T15:00:00+08:00"
    assert len(by_obligation["daily-report"]) == 15
    assert by_obligation["stage-summary"] == [
        "2016-12-27T17:30:00+08:00",
        "2017-01-17T17:30:00+08:00",
    ]
    assert by_obligation["final-summary"] == ["2017-02-23T17:30:00+08:00"]


def test_the_examples_share_one_anticounterfeit_statistics_form() -> None:
    stats = [_plan(name).forms["stats"] for name in sorted(EXAMPLES)]
    shared = [f.id for f in stats[0].fields]

    for form in stats[1:]:
        assert [f for f in form.fields if f.id in shared] == list(stats[0].fields)
    assert {"cases", "case_value", "fines", "seized", "complaints", "inspectors"} <= set(shared)


def test_the_qingxi_monthly_report_covers_the_26th_to_the_25th() -> None:
    expansion = expand_plan(_plan("qingxi-2018-anticounterfeit.toml"), NOW)

    monthly = [d for d in expansion.deadlines if d.obligation_id == "monthly-stats"]

    assert monthly[0].due.date() == date(2018, 4, 30)
    assert monthly[0].period == (date(2018, 3, 26), date(2018, 4, 25))
    assert monthly[-1].due.date() == date(2018, 12, 31)
    assert monthly[-1].period == (date(2018, 11, 26), date(2018, 12, 25))
