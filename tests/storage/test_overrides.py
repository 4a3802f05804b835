"""免报 and 延期 per unit on a real database (SQLite, and PostgreSQL when configured): the
one rule "when does this unit owe this deadline" as nudges, /status, the workbook, the
digest and the liaison's own task list read it."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime, time
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from conversation.i18n import Catalogue
from domain.board import Cell
from domain.status import OverrideKind, State
from services.access import Actor, Role, Seat
from services.board import BoardService
from services.campaign_reads import PlanRegistry
from services.coordination import CoordinationService
from services.export import ExportRequest, ExportService
from services.nudges import (
    Digest,
    Message,
    Nudge,
    OverrideNotice,
    ReminderDispatcher,
)
from services.overrides import (
    OverrideProblem,
    OverrideRequest,
    OverrideService,
    OverrideView,
    parse_until,
)
from services.ports import Button
from services.reports import Problem, ReportService, Submitted, UploadLimits
from storage import models as m
from storage.database import Database
from storage.filestore import FileStore
from tests.storage.test_reminder_dispatch import (
    A_LIAISON,
    B_LIAISON,
    C_LIAISON,
    COORDINATOR,
    Campaign,
    Clock,
    PlainRenderer,
    bj,
    daguan,
)

ROSTER = "liaison-list"  # due 2016-12-15 17:30, once


class Renderer(PlainRenderer):
    """PlainRenderer, with each nudge's due time, the notices and the digest's exceptions."""

    def render(self, message: Message) -> tuple[str, Sequence[Sequence[Button]]]:
        if isinstance(message, Nudge):
            text, buttons = super().render(message)
            return f"{text}|{message.deadline.due:%m-%d %H:%M}", buttons
        if isinstance(message, OverrideNotice):
            kind = "undone" if message.undone else message.kind.value
            return (
                f"notice|{kind}|{message.unit_name}|{message.deadline.due:%m-%d %H:%M}"
                f"|{message.reason}"
            ), []
        if isinstance(message, Digest):
            lines = [
                f"{x.deadline.deadline_id}:missing={','.join(x.missing)}"
                f":exempt={','.join(x.exempt)}"
                f":extended={','.join(f'{u}@{d:%m-%d %H:%M}' for u, d in x.extended)}"
                for x in (*message.upcoming, *message.overdue)
            ]
            return "digest|" + ";".join(lines), []
        return super().render(message)


@pytest.fixture
async def campaign(database: Database) -> Campaign:
    return await daguan(database, Clock(bj(12, 14, 8, 0, year=2016)))


def dispatcher(c: Campaign, **config: object) -> ReminderDispatcher:
    found = c.dispatcher(**config)
    found.renderer = Renderer()
    return found


async def run_at(c: Campaign, *moments: datetime, **config: object) -> None:
    for moment in moments:
        c.clock.now = moment
        await dispatcher(c, **config).run()


async def set_exception(
    c: Campaign,
    unit: str,
    until: str | None = None,
    reason: str = "停业整顿",
    obligation: str = ROSTER,
    seq: int = 1,
) -> OverrideView | OverrideProblem:
    kind = OverrideKind.EXTENDED if until else OverrideKind.EXEMPT
    request = OverrideRequest(
        c.units[unit],
        c.deadline(obligation, seq),
        kind,
        parse_until(until) if until else None,
        reason,
    )
    return await OverrideService(c.db.sessions).apply(None, request, c.clock())


def roster_texts(c: Campaign, external_id: str) -> list[str]:
    return [
        t
        for t in c.notifier.to(external_id)
        if f"|{c.deadline(ROSTER)}|" in t or t.startswith("notice|")
    ]


async def test_an_exempt_unit_is_never_nudged_nor_missing_and_its_liaison_is_told_once(
    campaign: Campaign,
) -> None:
    done = await set_exception(campaign, "dekuan")
    assert isinstance(done, OverrideView) and done.changed

    await run_at(
        campaign,
        bj(12, 14, 9, year=2016),
        bj(12, 14, 9, 5, year=2016),
        bj(12, 15, 15, 30, year=2016),
        bj(12, 15, 17, 30, year=2016),
        bj(12, 16, 9, year=2016),
    )

    assert roster_texts(campaign, A_LIAISON) == [
        "notice|exempt|德宽路市场监管所|12-15 17:30|停业整顿"
    ]
    roster = campaign.deadline(ROSTER)
    assert [t.split("|")[0] for t in roster_texts(campaign, B_LIAISON)] == [
        "before-1wd",
        "before-2h",
        "due",
        "overdue-1",
    ]
    assert (
        f"missed|{roster}|玉琳路市场监管所,集贤路市场监管所,菱湖市场监管所,花山市场监管所,"
        f"海口市场监管所" in campaign.notifier.to(COORDINATOR)
    )


async def test_an_extended_unit_is_nudged_and_reported_missing_by_its_own_time(
    campaign: Campaign,
) -> None:
    await set_exception(campaign, "jixian", "2016-12-20 17:30", "人员外出培训")

    await run_at(
        campaign,
        bj(12, 14, 9, year=2016),
        bj(12, 15, 15, 30, year=2016),
        bj(12, 15, 17, 30, year=2016),
        bj(12, 16, 9, year=2016),
        bj(12, 19, 9, year=2016),
        bj(12, 20, 15, 30, year=2016),
        bj(12, 20, 17, 30, year=2016),
    )

    roster = campaign.deadline(ROSTER)
    assert roster_texts(campaign, C_LIAISON) == [
        "notice|extended|集贤路市场监管所|12-20 17:30|人员外出培训",
        f"before-3wd|{roster}|集贤路市场监管所|12-20 17:30",  # 12-15 09:00, sent at 15:30
        f"before-1wd|{roster}|集贤路市场监管所|12-20 17:30",
        f"before-2h|{roster}|集贤路市场监管所|12-20 17:30",
        f"due|{roster}|集贤路市场监管所|12-20 17:30",
    ]
    missed = [t for t in campaign.notifier.to(COORDINATOR) if t.startswith(f"missed|{roster}|")]
    assert missed == [
        (
            f"missed|{roster}|德宽路市场监管所,玉琳路市场监管所,菱湖市场监管所,花山市场监管所,"
            "海口市场监管所"
        ),
        f"missed|{roster}|集贤路市场监管所",
    ]


async def test_a_deadline_long_past_is_still_nudged_for_a_unit_whose_extension_is_near(
    campaign: Campaign,
) -> None:
    # The roster was due weeks ago, outside the window the dispatcher reads by due time.
    await set_exception(campaign, "jixian", "2017-01-20 17:30", "机构调整")

    await run_at(campaign, bj(1, 20, 15, 30))

    assert roster_texts(campaign, C_LIAISON)[-1] == (
        f"before-2h|{campaign.deadline(ROSTER)}|集贤路市场监管所|01-20 17:30"
    )


async def test_status_counts_exempt_units_apart_and_judges_extended_ones_by_their_time(
    campaign: Campaign,
) -> None:
    await set_exception(campaign, "dekuan")
    await set_exception(campaign, "jixian", "2016-12-20")  # the deadline's own 17:30
    async with campaign.db.sessions() as s:
        campaign_id = (await s.scalars(select(m.Campaign.id))).one()
    service = CoordinationService(campaign.db.sessions)
    coordinator = Actor(
        campaign.people[COORDINATOR],
        COORDINATOR,
        None,
        (Seat(campaign_id, "daguan", "", Role.COORDINATOR),),
    )
    now = bj(12, 16, 10, year=2016)

    lines = {x.deadline.deadline_id: x.counts for x in await service.overview(campaign_id, now)}
    found = await service.units_of_deadline(coordinator, campaign.deadline(ROSTER), now)
    missing = await service.missing(coordinator, campaign.deadline(ROSTER), now)

    counts = lines[campaign.deadline(ROSTER)]
    assert (counts.expected, counts.exempt, counts.extended, counts.missing) == (5, 1, 1, 5)
    assert found is not None and missing is not None
    states = {x.unit_code: (x.state, x.extended_to) for x in found[1]}
    assert states["dekuan"] == (State.EXEMPT, None)
    assert states["jixian"] == (State.PENDING, bj(12, 20, 17, 30, year=2016))
    assert states["yulin"] == (State.OVERDUE, None)
    assert "dekuan" not in {x.unit_code for x in missing[1]}


async def test_the_workbook_shows_exempt_units_and_judges_lateness_by_the_extension(
    campaign: Campaign, tmp_path: Path
) -> None:
    await set_exception(campaign, "dekuan")
    await set_exception(campaign, "jixian", "2016-12-20 17:30", "人员外出培训")
    campaign.clock.now = bj(12, 18, 10, year=2016)
    await campaign.submit("jixian", ROSTER)
    await campaign.submit("yulin", ROSTER)
    service = ExportService(campaign.db.sessions, PlanRegistry(), FileStore(tmp_path))

    exported = await service.export_bytes(
        ExportRequest("daguan-2017-anticounterfeit", bj(12, 21, 10, year=2016), "zh-CN"),
        Catalogue("zh-CN"),
    )

    ws = load_workbook(io.BytesIO(exported.data))["提交情况"]
    column = [c.value for c in ws[5]].index("2016-12-15\n17:30")
    cells = {row[0].value: row[column].value for row in ws.iter_rows(min_row=6)}
    assert cells["德宽路市场监管所"] == "免报"
    assert cells["集贤路市场监管所"] == "12-18 10:00"  # within its extension: not late
    assert cells["玉琳路市场监管所"] == "12-18 10:00 迟报"
    assert cells["应报单位数"] == 5


async def test_the_digest_names_exempt_and_extended_units_apart_from_missing_ones(
    campaign: Campaign,
) -> None:
    await set_exception(campaign, "dekuan")
    await set_exception(campaign, "jixian", "2016-12-20 17:30", "人员外出培训")

    await run_at(campaign, bj(12, 16, 8, 30, year=2016), digest_at=time(8, 30))

    [digest] = [t for t in campaign.notifier.to(COORDINATOR) if t.startswith("digest|")]
    roster = [
        x
        for x in digest.removeprefix("digest|").split(";")
        if x.startswith(f"{campaign.deadline(ROSTER)}:")
    ]
    assert roster == [
        (
            f"{campaign.deadline(ROSTER)}:missing=玉琳路市场监管所,菱湖市场监管所,"
            "花山市场监管所,海口市场监管所:exempt=德宽路市场监管所"
            ":extended=集贤路市场监管所@12-20 17:30"
        )
    ]


async def test_the_liaison_sees_the_new_due_time_and_an_exempt_deadline_leaves_the_list(
    campaign: Campaign, tmp_path: Path
) -> None:
    await set_exception(campaign, "dekuan")
    await set_exception(campaign, "jixian", "2016-12-20 17:30", "人员外出培训")
    reports = ReportService(
        campaign.db.sessions,
        PlanRegistry(),
        FileStore(tmp_path),
        UploadLimits(1 << 20, frozenset({"pdf"})),
    )

    def liaison(external_id: str, unit: str) -> Actor:
        return Actor(
            campaign.people[external_id],
            external_id,
            None,
            (Seat(1, "daguan", "", Role.LIAISON, campaign.units[unit], unit),),
        )

    now = bj(12, 16, 10, year=2016)
    jixian = {v.deadline_id: v for v in await reports.tasks(liaison(C_LIAISON, "jixian"), now)}
    dekuan = {v.deadline_id for v in await reports.tasks(liaison(A_LIAISON, "dekuan"), now)}

    roster = jixian[campaign.deadline(ROSTER)]
    assert (roster.due, roster.state, roster.extended) == (
        bj(12, 20, 17, 30, year=2016),
        State.PENDING,
        True,
    )
    assert campaign.deadline(ROSTER) not in dekuan


async def test_the_same_exception_twice_changes_nothing_and_undoing_it_restores_the_nudges(
    campaign: Campaign,
) -> None:
    first = await set_exception(campaign, "dekuan")
    again = await set_exception(campaign, "dekuan")
    assert isinstance(first, OverrideView) and isinstance(again, OverrideView)
    assert (first.changed, again.changed) == (True, False)
    await run_at(campaign, bj(12, 14, 9, year=2016))

    service = OverrideService(campaign.db.sessions)
    undone = await service.undo(None, first.override_id, bj(12, 14, 10, year=2016))
    twice = await service.undo(None, first.override_id, bj(12, 14, 10, 1, year=2016))
    await run_at(campaign, bj(12, 14, 10, 5, year=2016), bj(12, 15, 15, 30, year=2016))

    assert isinstance(undone, OverrideView) and isinstance(twice, OverrideView)
    assert (undone.changed, twice.changed) == (True, False)
    roster = campaign.deadline(ROSTER)
    assert roster_texts(campaign, A_LIAISON) == [
        "notice|exempt|德宽路市场监管所|12-15 17:30|停业整顿",
        f"before-1wd|{roster}|德宽路市场监管所|12-15 17:30",  # its step still runs at 10:05
        "notice|undone|德宽路市场监管所|12-15 17:30|停业整顿",
        f"before-2h|{roster}|德宽路市场监管所|12-15 17:30",
    ]
    async with campaign.db.sessions() as s:
        rows = (await s.scalars(select(m.UnitDeadlineOverride))).all()
    assert [(r.kind, r.reason, r.revoked_at is not None) for r in rows] == [
        ("exempt", "停业整顿", True)
    ]


async def test_a_bad_exception_is_refused_and_changes_nothing(campaign: Campaign) -> None:
    await campaign.submit("yulin", ROSTER)

    assert await set_exception(campaign, "jixian", "2016-12-15 17:00") is OverrideProblem.NOT_LATER
    assert await set_exception(campaign, "jixian", reason="  ") is OverrideProblem.NO_REASON
    assert await set_exception(campaign, "yulin") is OverrideProblem.DONE
    assert (
        await OverrideService(campaign.db.sessions).find_unit(None, "不存在的所")
        is OverrideProblem.UNKNOWN_UNIT
    )
    assert parse_until("2016-12-32") is None
    async with campaign.db.sessions() as s:
        assert (await s.scalars(select(m.UnitDeadlineOverride))).all() == []


async def test_a_report_sent_within_the_extension_is_not_marked_late(
    campaign: Campaign, tmp_path: Path
) -> None:
    # 信息周报 #3 is due 2016-12-15 15:00; 集贤路 has until 12-20, 玉琳路 has not.
    await set_exception(
        campaign, "jixian", "2016-12-20 15:00", "人员外出培训", obligation="weekly-report", seq=3
    )
    reports = ReportService(
        campaign.db.sessions,
        PlanRegistry(),
        FileStore(tmp_path),
        UploadLimits(1 << 20, frozenset({"pdf"})),
    )
    now = bj(12, 16, 10, year=2016)
    weekly = campaign.deadlines[("weekly-report", 3)].id
    late = {}
    for external_id, unit in ((C_LIAISON, "jixian"), (B_LIAISON, "yulin")):
        actor = Actor(
            campaign.people[external_id],
            external_id,
            None,
            (Seat(1, "daguan", "", Role.LIAISON, campaign.units[unit], unit),),
        )
        draft = await reports.begin(actor, weekly, now)
        assert not isinstance(draft, Problem)
        done = await reports.submit(actor, draft.draft_id, now, nil=True)
        assert isinstance(done, Submitted)
        late[unit] = (done.late, done.deadline.state)

    assert late == {"jixian": (False, State.SUBMITTED), "yulin": (True, State.LATE)}
    async with campaign.db.sessions() as s:
        stored = dict((await s.execute(select(m.Submission.unit_id, m.Submission.late))).all())
    assert stored == {campaign.units["jixian"]: False, campaign.units["yulin"]: True}


async def test_the_workbook_shows_an_extension_not_yet_due_instead_of_missing(
    campaign: Campaign, tmp_path: Path
) -> None:
    await set_exception(campaign, "jixian", "2016-12-20 17:30", "人员外出培训")
    service = ExportService(campaign.db.sessions, PlanRegistry(), FileStore(tmp_path))

    exported = await service.export_bytes(
        ExportRequest("daguan-2017-anticounterfeit", bj(12, 16, 10, year=2016), "zh-CN"),
        Catalogue("zh-CN"),
    )

    ws = load_workbook(io.BytesIO(exported.data))["提交情况"]
    column = [c.value for c in ws[5]].index("2016-12-15\n17:30")
    cells = {row[0].value: row[column].value for row in ws.iter_rows(min_row=6)}
    assert cells["集贤路市场监管所"] == "延期至 12-20 17:30"
    assert cells["玉琳路市场监管所"] == "未报"
    assert cells["未报"] == 5  # the count row: 集贤路 is not missing yet


async def test_the_progress_board_and_tongbao_follow_exemptions_and_extensions(
    campaign: Campaign,
) -> None:
    # 信息周报 #3 is due 2016-12-15 15:00. 集贤路 has until 12-20 and reports on 12-16;
    # 花山 is let off; 玉琳路 reports late; 海口 has until 12-20 and has not reported yet.
    await set_exception(campaign, "jixian", "2016-12-20 15:00", obligation="weekly-report", seq=3)
    await set_exception(campaign, "haikou", "2016-12-20 15:00", obligation="weekly-report", seq=3)
    await set_exception(campaign, "huashan", obligation="weekly-report", seq=3)
    campaign.clock.now = bj(12, 16, 10, year=2016)
    await campaign.submit("jixian", "weekly-report", 3)
    await campaign.submit("yulin", "weekly-report", 3)

    found = await BoardService(campaign.db.sessions).board(
        None, "daguan-2017-anticounterfeit", campaign.clock.now
    )

    assert found is not None
    board = found.board
    column = [d.deadline_id for d in board.deadlines].index(campaign.deadline("weekly-report", 3))
    cells = {u.name: row[column] for u, row in zip(board.units, board.cells, strict=True)}
    assert cells == {
        "德宽路市场监管所": Cell.MISSING,
        "玉琳路市场监管所": Cell.LATE,
        "集贤路市场监管所": Cell.ON_TIME,
        "菱湖市场监管所": Cell.MISSING,
        "花山市场监管所": Cell.EXEMPT,
        "海口市场监管所": Cell.NOT_DUE,
    }
