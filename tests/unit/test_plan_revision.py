"""The difference a plan makes to a stored campaign, computed before anything is written."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

from domain.plan import Plan
from domain.plan_revision import (
    PlannedDeadline,
    PlanRevision,
    StoredCampaign,
    StoredDeadline,
    StoredObligation,
    StoredUnit,
    new_campaign_id,
    plan_revision,
)
from domain.plan_toml import parse_plan
from scheduler.calendar import WorkdayCalendar
from scheduler.deadlines import expand_plan

ROOT = Path(__file__).resolve().parents[2]
DAGUAN_TEXT = (ROOT / "examples" / "plans" / "daguan-2017-anticounterfeit.toml").read_text(
    encoding="utf-8"
)
NOW = datetime(2017, 1, 11, 2, 0, tzinfo=UTC)  # mid-campaign


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _planned(plan: Plan) -> list[PlannedDeadline]:
    expansion = expand_plan(plan, NOW, WorkdayCalendar(plan.calendar))
    return [PlannedDeadline(d.obligation_id, d.key, d.due) for d in expansion.deadlines]


def _stored(
    text: str = DAGUAN_TEXT,
    *,
    people: dict[str, int] | None = None,
    reports: dict[str, int] | None = None,
    work: dict[tuple[str, str], int] | None = None,
) -> StoredCampaign:
    """The campaign as a first load of `text` leaves it, with people and reports added."""
    plan = parse_plan(text, "daguan.toml")
    people, reports, work = people or {}, reports or {}, work or {}
    return StoredCampaign(
        plan.id,
        plan.name,
        1,
        _sha(text),
        tuple(
            StoredUnit(u.id, u.name, True, people.get(u.id, 0), reports.get(u.id, 0))
            for u in plan.units
        ),
        tuple(StoredObligation(o.id, o.title, True) for o in plan.obligations),
        tuple(
            StoredDeadline(d.obligation, d.key, d.due, False, work.get((d.obligation, d.key), 0))
            for d in _planned(plan)
        ),
    )


def _revise(stored: StoredCampaign, text: str) -> PlanRevision:
    plan = parse_plan(text, "daguan.toml")
    return plan_revision(stored, plan, _sha(text), _planned(plan), NOW)


def _edit(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def test_the_very_same_text_is_unchanged_and_lists_nothing() -> None:
    revision = _revise(_stored(), DAGUAN_TEXT)

    assert revision.unchanged
    assert not revision.structural
    assert (revision.campaign, revision.base_version) == ("daguan-2017-anticounterfeit", 1)


def test_a_renamed_unit_with_a_bound_liaison_and_reports_is_listed_as_in_use() -> None:
    stored = _stored(people={"yulin": 1}, reports={"yulin": 3})
    text = _edit(DAGUAN_TEXT, 'name = "玉琳路市场监管所"', 'name = "甲所"')
    text = _edit(text, 'name = "集贤路市场监管所"', 'name = "乙所"')

    revision = _revise(stored, text)

    assert not revision.unchanged
    assert [
        (c.code, c.old_name, c.name, c.people, c.submissions, c.in_use)
        for c in revision.units_renamed
    ] == [
        ("yulin", "玉琳路市场监管所", "甲所", 1, 3, True),
        ("jixian", "集贤路市场监管所", "乙所", 0, 0, False),
    ]
    assert revision.units_added == revision.units_retired == ()
    assert revision.deadlines_moved == revision.deadlines_cancelled == ()


def test_units_added_and_retired_are_told_apart_from_renamed_ones() -> None:
    stored = _stored(people={"haikou": 2})
    text = _edit(DAGUAN_TEXT, 'id = "haikou"', 'id = "newport"')

    revision = _revise(stored, text)

    assert [(c.code, c.name) for c in revision.units_added] == [("newport", "海口市场监管所")]
    assert [(c.code, c.people, c.in_use) for c in revision.units_retired] == [("haikou", 2, True)]
    assert revision.units_renamed == ()


def test_only_future_deadlines_move_and_dropped_ones_with_reports_are_flagged() -> None:
    stored = _stored(work={("stage-summary", "2017-01-17"): 4})
    # 2017-01-17 -> 01-18 (future: moves); 2016-12-27 -> 12-28 (past: history, not touched)
    text = _edit(
        DAGUAN_TEXT, "dates = [2016-12-27, 2017-01-17]", "dates = [2016-12-28, 2017-01-18]"
    )
    text = _edit(text, "date = 2017-02-23 }", "date = 2017-02-24 }")

    revision = _revise(stored, text)

    assert [(c.obligation, c.key) for c in revision.deadlines_added] == [
        ("stage-summary", "2016-12-28"),
        ("stage-summary", "2017-01-18"),
    ]
    moved = revision.deadlines_moved
    assert [
        (c.obligation, c.key, c.old_due.date() if c.old_due else None, c.due.date()) for c in moved
    ] == [("final-summary", "single", date(2017, 2, 23), date(2017, 2, 24))]
    assert [(c.key, c.submissions, c.in_use) for c in revision.deadlines_cancelled] == [
        ("2017-01-17", 4, True)
    ]


def test_a_retitled_and_a_retired_obligation_are_listed() -> None:
    text = _edit(DAGUAN_TEXT, 'title = "信息周报"', 'title = "每周情况"')
    start = text.index('[[obligations]]\nid = "daily-report"')
    text = text[:start] + text[text.index("[[obligations]]", start + 1) :]

    revision = _revise(_stored(), text)

    assert [(c.code, c.old_title, c.title) for c in revision.obligations_retitled] == [
        ("weekly-report", "信息周报", "每周情况")
    ]
    assert [c.code for c in revision.obligations_retired] == ["daily-report"]
    # Its future deadlines go with it; the past ones stay as history.
    assert {c.obligation for c in revision.deadlines_cancelled} == {"daily-report"}
    assert all(c.due > NOW for c in revision.deadlines_cancelled)
    assert len(revision.deadlines_cancelled) == 8  # 2 left in January + 5 in February + 1


def test_changes_touching_work_come_first_so_a_cut_list_still_shows_them() -> None:
    plan = parse_plan(DAGUAN_TEXT, "daguan.toml")
    renamed = replace(plan, units=tuple(replace(u, name=u.name + "新") for u in plan.units))
    stored = _stored(people={"haikou": 1})

    revision = plan_revision(stored, renamed, "other", _planned(renamed), NOW)

    assert revision.units_renamed[0].code == "haikou"
    assert [c.in_use for c in revision.units_renamed] == [True] + [False] * 5


def test_a_campaign_id_comes_from_the_file_names_ascii_part() -> None:
    assert (
        new_campaign_id("daguan-notice", "大关打假通知", date(2016, 12, 14), set())
        == "daguan-notice"
    )
    assert new_campaign_id("2016年Daguan 通知", "大关", date(2016, 12, 14), set()) == "2016-daguan"


def test_a_chinese_or_pasted_notice_gets_a_stable_hash_of_its_title_never_a_constant() -> None:
    first = new_campaign_id("", "关于开展打假专项行动的通知", date(2016, 12, 14), set())
    again = new_campaign_id("通知", "关于开展打假专项行动的通知", date(2016, 12, 14), set())
    other = new_campaign_id("", "关于报送年度统计数据的通知", date(2016, 12, 14), set())

    assert first == again
    assert first.startswith("c-") and len(first) == 10
    assert other != first
    assert "notice" not in (first, other) and "campaign" not in (first, other)


def test_a_taken_id_gets_the_day_then_a_counter() -> None:
    taken = {"n2"}
    assert new_campaign_id("n2", "x", date(2016, 12, 14), taken) == "n2-20161214"
    taken |= {"n2-20161214", "n2-20161214-2"}
    assert new_campaign_id("n2", "x", date(2016, 12, 14), taken) == "n2-20161214-3"
