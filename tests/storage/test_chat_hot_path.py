"""What one liaison message costs the database, and what the bot may keep in memory: only
what a campaign's plan version fixes (forms, which obligations repeat), never a person's
draft. Runs on every configured backend."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from domain.drafting import FILES_STEP, PREVIEW_STEP
from domain.plan_toml import parse_plan
from services.access import AccessService, Actor, Redeemed
from services.campaign_reads import DeadlineView, PlanRegistry
from services.plans import load_plan
from services.ports import Address
from services.reports import DraftView, Problem, ReportService, Submitted, UploadLimits
from storage import models as m
from storage.database import Database
from storage.filestore import FileStore
from storage.repositories import DraftRepo
from tests.storage.conftest import recorded_statements, writes

ROOT = Path(__file__).resolve().parents[2]
DAGUAN = ROOT / "examples" / "plans" / "daguan-2017-anticounterfeit.toml"
LOADED = datetime(2016, 11, 1, tzinfo=UTC)
NOW = datetime(2016, 12, 1, 2, 0, tzinfo=UTC)  # the morning the first weekly report is due
WEEKLY = ("36", "128", "5", "2", "1.35", "0.8", "0.5", "假冒白酒120瓶")
LIAISON = "2001"


@dataclass
class Chat:
    db: Database
    access: AccessService
    reports: ReportService
    actor: Actor

    async def deadline(self, obligation: str, seq: int = 1) -> int:
        async with self.db.sessions() as s:
            found = await s.scalar(
                select(m.Deadline.id)
                .join(m.Obligation, m.Obligation.id == m.Deadline.obligation_id)
                .where(m.Obligation.code == obligation, m.Deadline.seq == seq)
            )
        assert found is not None
        return found

    async def identify(self, name: str = "王联络员") -> Actor:
        return await self.access.identify(LIAISON, name, None, NOW)


async def _load(db: Database, text: str) -> None:
    await load_plan(db.sessions, parse_plan(text, DAGUAN.name), DAGUAN.name, text, LOADED)


@pytest.fixture
async def chat(database: Database, tmp_path: Path) -> Chat:
    await _load(database, DAGUAN.read_text(encoding="utf-8"))
    access = AccessService(database.sessions)
    [invite] = await access.create_invites("daguan-2017-anticounterfeit", NOW, 14, ["dekuan"])
    newcomer = await access.identify(LIAISON, "王联络员", None, NOW)
    assert isinstance(await access.redeem(invite.token, newcomer, NOW), Redeemed)
    reports = ReportService(
        database.sessions,
        PlanRegistry(),
        FileStore(tmp_path / "files"),
        UploadLimits(1024 * 1024, frozenset({"pdf"})),
    )
    return Chat(database, access, reports, await access.identify(LIAISON, "王联络员", None, NOW))


async def test_a_typed_answer_costs_one_select_to_identify_and_a_select_and_an_update_to_save(
    chat: Chat,
) -> None:
    await chat.reports.begin(chat.actor, await chat.deadline("weekly-report"), NOW)

    with recorded_statements(chat.db.engine) as identifying:
        actor = await chat.identify()
    with recorded_statements(chat.db.engine) as answering:
        answered = await chat.reports.answer(actor, None, "36", NOW)

    assert actor == chat.actor
    assert [sql.split()[0] for sql in identifying] == ["SELECT"]
    assert [sql.split()[0] for sql in answering] == ["SELECT", "UPDATE"]
    assert isinstance(answered, DraftView)
    assert answered.state.answers == {"inspectors": 36}
    assert answered.step == "inspected"
    async with chat.db.sessions() as s:  # written, not just shown
        draft = await s.get_one(m.Draft, answered.draft_id)
    assert draft.state["answers"] == {"inspectors": 36}


async def test_a_whole_weekly_report_is_one_select_and_one_write_per_answer_then_three_to_submit(
    chat: Chat,
) -> None:
    opened = await chat.reports.begin(chat.actor, await chat.deadline("weekly-report"), NOW)
    assert isinstance(opened, DraftView)

    with recorded_statements(chat.db.engine) as typing:
        for answer in WEEKLY:
            shown = await chat.reports.answer(chat.actor, None, answer, NOW)
        assert isinstance(shown, DraftView) and shown.step == FILES_STEP
        done = await chat.reports.files_done(chat.actor, opened.draft_id, NOW)
    with recorded_statements(chat.db.engine) as submitting:
        submitted = await chat.reports.submit(chat.actor, opened.draft_id, NOW)

    assert isinstance(done, DraftView) and done.step == PREVIEW_STEP
    assert [sql.split()[0] for sql in typing] == ["SELECT", "UPDATE"] * 9
    assert [sql.split()[0] for sql in submitting] == ["SELECT", "INSERT", "DELETE"]
    assert isinstance(submitted, Submitted)
    assert (submitted.revision, submitted.late, submitted.nil, submitted.attachments) == (
        1,
        False,
        False,
        0,
    )
    assert submitted.deadline.state.value == "submitted"
    async with chat.db.sessions() as s:
        stored = await s.scalar(select(m.Submission))
        left = await s.scalar(select(m.Draft))
    assert stored is not None and stored.answers["seized"] == "假冒白酒120瓶"
    assert left is None


async def test_a_reloaded_plan_is_read_once_and_its_new_form_shown_at_the_next_answer(
    chat: Chat,
) -> None:
    opened = await chat.reports.begin(chat.actor, await chat.deadline("weekly-report"), NOW)
    assert isinstance(opened, DraftView)
    assert opened.form.field("inspected").label == "检查经营户"
    edited = DAGUAN.read_text(encoding="utf-8").replace(
        'label = "检查经营户"', 'label = "检查经营户(含网店)"'
    )

    await _load(chat.db, edited)
    with recorded_statements(chat.db.engine) as first:
        answered = await chat.reports.answer(chat.actor, None, "36", NOW)
    with recorded_statements(chat.db.engine) as second:
        again = await chat.reports.answer(chat.actor, None, "128", NOW)

    assert isinstance(answered, DraftView) and isinstance(again, DraftView)
    assert answered.form.field("inspected").label == "检查经营户(含网店)"
    assert any("PLAN_VERSIONS" in sql for sql in first)  # the new version, parsed once
    assert [sql.split()[0] for sql in second] == ["SELECT", "UPDATE"]


async def test_an_obligation_a_plan_edit_makes_repeat_is_numbered_from_then_on(chat: Chat) -> None:
    _, before = await chat.reports.submit_menu(chat.actor, NOW)
    twice = DAGUAN.read_text(encoding="utf-8").replace(
        'schedule = { kind = "once", date = 2016-12-15 }',
        'schedule = { kind = "once", dates = [2016-12-15, 2016-12-20] }',
    )

    await _load(chat.db, twice)
    _, after = await chat.reports.submit_menu(chat.actor, NOW)

    def liaison_lists(views: list[DeadlineView]) -> list[tuple[int, bool]]:
        return [(v.seq, v.repeats) for v in views if v.obligation_code == "liaison-list"]

    assert liaison_lists(before) == [(1, False)]
    assert liaison_lists(after) == [(1, True), (2, True)]


async def test_identifying_writes_only_for_a_newcomer_a_new_name_or_someone_who_had_blocked_us(
    chat: Chat,
) -> None:
    with recorded_statements(chat.db.engine) as known:
        await chat.identify()
    with recorded_statements(chat.db.engine) as renamed:
        await chat.identify("王小明")
    await chat.access.mark_unreachable(Address("telegram", LIAISON))
    with recorded_statements(chat.db.engine) as back:
        await chat.identify("王小明")
    with recorded_statements(chat.db.engine) as stranger:
        newcomer = await chat.access.identify("2999", "路人", None, NOW)

    assert writes(known) == []
    assert [sql.split()[0] for sql in writes(renamed)] == ["UPDATE"]
    assert [sql.split()[0] for sql in writes(back)] == ["UPDATE"]
    assert [sql.split()[0] for sql in writes(stranger)] == ["INSERT"]
    assert not newcomer.is_known
    async with chat.db.sessions() as s:
        person = await s.scalar(select(m.Person).where(m.Person.external_id == LIAISON))
    assert person is not None and (person.display_name, person.reachable) == ("王小明", True)


async def test_another_units_draft_is_refused_without_a_word_about_it(chat: Chat) -> None:
    opened = await chat.reports.begin(chat.actor, await chat.deadline("weekly-report"), NOW)
    assert isinstance(opened, DraftView)
    stranger = await chat.access.identify("2999", "路人", None, NOW)

    refused = await chat.reports.choose(stranger, opened.draft_id, "inspectors", 0, NOW)
    nothing = await chat.reports.answer(stranger, None, "36", NOW)

    assert refused is Problem.NOT_FOUND
    assert nothing is None


async def test_a_draft_changed_since_it_was_read_is_not_written_over(chat: Chat) -> None:
    """Two handlers of one person's messages at once (two processes, on PostgreSQL): the
    one that read the draft before the other wrote it writes nothing; its answer is
    re-asked, never put in another field or lost while being acknowledged."""
    opened = await chat.reports.begin(chat.actor, await chat.deadline("weekly-report"), NOW)
    assert isinstance(opened, DraftView)
    async with chat.db.sessions.begin() as s:
        stale = await DraftRepo(s).by_id(opened.draft_id)
    assert stale is not None
    assert isinstance(await chat.reports.answer(chat.actor, None, "36", NOW), DraftView)

    async with chat.db.sessions.begin() as s:
        written = await DraftRepo(s).set_state(
            opened.draft_id,
            {"answers": {"inspectors": 99}},
            "inspected",
            NOW,
            stale.draft_version or 0,
        )
    assert written is False
    async with chat.db.sessions() as s:
        draft = await s.get_one(m.Draft, opened.draft_id)
    assert draft.state["answers"] == {"inspectors": 36}


async def test_answers_handled_at_once_each_land_once_or_are_re_asked(chat: Chat) -> None:
    opened = await chat.reports.begin(chat.actor, await chat.deadline("weekly-report"), NOW)
    assert isinstance(opened, DraftView)
    results = await asyncio.gather(
        *(chat.reports.answer(chat.actor, None, a, NOW) for a in WEEKLY[:4])
    )
    accepted = [r for r in results if isinstance(r, DraftView)]
    async with chat.db.sessions() as s:
        draft = await s.get_one(m.Draft, opened.draft_id)
    answers = draft.state["answers"]
    # Every acknowledged answer is stored, each in a field of its own; the others were
    # re-asked (or, on SQLite, whose writers take turns, all were taken in order).
    assert len(answers) == len(accepted) >= 1


async def test_status_counts_without_building_a_submission_or_reading_an_answer(
    chat: Chat,
) -> None:
    from sqlalchemy import event

    from services.coordination import CoordinationService

    opened = await chat.reports.begin(chat.actor, await chat.deadline("weekly-report"), NOW)
    assert isinstance(opened, DraftView)
    for answer in WEEKLY:
        await chat.reports.answer(chat.actor, None, answer, NOW)
    await chat.reports.files_done(chat.actor, opened.draft_id, NOW)
    assert isinstance(await chat.reports.submit(chat.actor, opened.draft_id, NOW), Submitted)

    loaded: list[object] = []

    def count(target: object, _context: object) -> None:
        loaded.append(target)

    event.listen(m.Submission, "load", count)
    try:
        coordination = CoordinationService(chat.db.sessions)
        async with chat.db.sessions() as s:
            campaign_id = await s.scalar(select(m.Campaign.id))
        assert campaign_id is not None
        lines = await coordination.overview(campaign_id, NOW)
        coordinator = Actor(0, "9", None, (), global_coordinator=True)
        found = await coordination.units_of_deadline(
            coordinator, await chat.deadline("weekly-report"), NOW
        )
    finally:
        event.remove(m.Submission, "load", count)

    assert loaded == []
    weekly = next(x for x in lines if x.deadline.obligation_code == "weekly-report")
    assert weekly.counts.done >= 1
    assert found is not None and any(x.submission_id for x in found[1])
