"""A liaison fills in cuibao's 指标/数值 blank instead of typing: values are checked exactly
as typed answers, and any problem (with the file or a value) changes nothing."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from conversation.i18n import Catalogue
from domain.drafting import FILES_STEP
from domain.forms import Invalid
from domain.plan_toml import parse_plan
from services.access import Actor, Role, Seat
from services.campaign_reads import PlanRegistry
from services.intake import Blank, Filled, IntakeService, Refused
from services.plans import load_plan
from services.reports import ReportService, UploadLimits
from storage import models as m
from storage.database import Database
from storage.filestore import FileStore

ROOT = Path(__file__).resolve().parents[2]
DAGUAN = ROOT / "examples" / "plans" / "daguan-2017-anticounterfeit.toml"
NOW = datetime(2016, 12, 1, 2, 0, tzinfo=UTC)  # the morning the first weekly report is due
MAX_BYTES = 2 * 1024 * 1024


@dataclass
class Setting:
    db: Database
    actor: Actor
    other: Actor
    intake: IntakeService
    reports: ReportService
    draft_id: int

    async def state(self) -> dict[str, Any]:
        async with self.db.sessions() as s:
            return dict((await s.get_one(m.Draft, self.draft_id)).state)


async def _person(db: Database, campaign_id: int, unit_code: str, external: str) -> Actor:
    async with db.sessions.begin() as s:
        unit = await s.scalar(select(m.Unit).where(m.Unit.code == unit_code))
        assert unit is not None
        person = m.Person(external_id=external, display_name=external, created_at=NOW)
        s.add(person)
        await s.flush()
        s.add(
            m.Membership(
                campaign_id=campaign_id,
                person_id=person.id,
                unit_id=unit.id,
                role="liaison",
                created_at=NOW,
            )
        )
        seat = Seat(
            campaign_id, "daguan-2017-anticounterfeit", "打假", Role.LIAISON, unit.id, unit.name
        )
        return Actor(person.id, external, None, (seat,))


@pytest.fixture
async def setting(database: Database, tmp_path: Path) -> Setting:
    text = DAGUAN.read_text(encoding="utf-8")
    await load_plan(
        database.sessions,
        parse_plan(text, DAGUAN.name),
        DAGUAN.name,
        text,
        datetime(2016, 11, 1, tzinfo=UTC),
    )
    async with database.sessions() as s:
        campaign_id = await s.scalar(select(m.Campaign.id))
        deadline_id = await s.scalar(
            select(m.Deadline.id)
            .join(m.Obligation, m.Obligation.id == m.Deadline.obligation_id)
            .where(m.Obligation.code == "weekly-report", m.Deadline.seq == 1)
        )
    assert campaign_id is not None and deadline_id is not None
    actor = await _person(database, campaign_id, "dekuan", "2001")
    other = await _person(database, campaign_id, "yulin", "2002")
    plans = PlanRegistry()
    reports = ReportService(
        database.sessions,
        plans,
        FileStore(tmp_path / "files"),
        UploadLimits(MAX_BYTES, frozenset({"xlsx", "pdf"})),
    )
    draft = await reports.begin(actor, deadline_id, NOW)
    assert not isinstance(draft, str)
    return Setting(
        database,
        actor,
        other,
        IntakeService(database.sessions, plans, MAX_BYTES),
        reports,
        draft.draft_id,
    )


async def _blank(st: Setting) -> Blank:
    blank = await st.intake.blank(st.actor, st.draft_id, Catalogue(), "zh-CN")
    assert isinstance(blank, Blank)
    return blank


def _filled(blank: Blank, values: dict[str, Any]) -> bytes:
    """The blank as a unit sends it back: values typed into column B, saved by Excel."""
    book = load_workbook(io.BytesIO(blank.data))
    ws = book.worksheets[0]
    for row in ws.iter_rows():
        label = row[0].value
        if label in values:
            row[1].value = values[label]
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


TYPED = {
    "出动执法人员": 36,
    "检查经营户": 128.0,
    "受理举报投诉": "5",
    "立案查处案件数": "2件",
    "案值": 1.35,
    "罚没款": "0.8万",
    "挽回经济损失": None,
    "收缴物资": "-假冒白酒120瓶",
}


async def test_the_blank_lists_every_typed_field_with_its_unit_and_a_hint(
    setting: Setting,
) -> None:
    blank = await _blank(setting)

    ws = load_workbook(io.BytesIO(blank.data)).worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    assert blank.file_name == "打假统计报表-德宽路市场监管所-填报表.xlsx"
    assert rows[0][0] == "打假统计报表 · 信息周报第1期"
    assert rows[0][4] == "cuibao-blank:v1:stats"
    header = rows.index(("指标", "数值", "单位", "填写说明", None))
    lines = rows[header + 1 :]
    assert [(r[0], r[2], r[4]) for r in lines] == [
        ("出动执法人员", "人次", "inspectors"),
        ("检查经营户", "户次", "inspected"),
        ("受理举报投诉", "件", "complaints"),
        ("立案查处案件数", "件", "cases"),
        ("案值", "万元", "case_value"),
        ("罚没款", "万元", "fines"),
        ("挽回经济损失", "万元", "losses_recovered"),
        ("收缴物资", None, "seized"),
    ]
    assert lines[4][3] == "数字,最多 4 位小数"
    assert lines[7][3] == "品名及数量,如:假冒白酒120瓶;可不填"
    assert ws.column_dimensions["E"].hidden
    assert ws.freeze_panes == f"A{header + 2}"


async def test_a_filled_blank_is_read_as_typed_answers_and_the_draft_moves_on(
    setting: Setting,
) -> None:
    data = _filled(await _blank(setting), TYPED)

    filled = await setting.intake.fill(setting.actor, setting.draft_id, data, NOW)

    assert filled == Filled(setting.draft_id, answered=7, skipped=1)
    state = await setting.state()
    assert state["answers"] == {
        "inspectors": 36,
        "inspected": 128,
        "complaints": 5,
        "cases": 2,
        "case_value": "1.35",
        "fines": "0.8",
        "losses_recovered": None,
        "seized": "-假冒白酒120瓶",
    }
    assert state["skipped"] == ["losses_recovered"]
    draft = await setting.reports.resume(setting.actor, NOW)
    assert draft is not None and draft.step == FILES_STEP  # then the preview, then confirm


async def test_a_draft_already_answered_comes_prefilled_in_its_blank(setting: Setting) -> None:
    await setting.intake.fill(
        setting.actor, setting.draft_id, _filled(await _blank(setting), TYPED), NOW
    )

    ws = load_workbook(io.BytesIO((await _blank(setting)).data)).worksheets[0]

    values = {r[4]: r[1] for r in ws.iter_rows(values_only=True) if r[4]}
    assert values["inspectors"] == 36 and values["case_value"] == 1.35
    assert values["seized"] == "-假冒白酒120瓶"
    assert ws["B12"].data_type == "s"  # 收缴物资: text


async def test_every_value_is_checked_as_if_typed_and_one_bad_value_saves_nothing(
    setting: Setting,
) -> None:
    before = await setting.state()
    data = _filled(
        await _blank(setting),
        {
            **TYPED,
            "出动执法人员": -3,
            "检查经营户": 12.5,
            "受理举报投诉": "五件",
            "案值": 0.12345,
            "罚没款": "35000元",
        },
    )

    refused = await setting.intake.fill(setting.actor, setting.draft_id, data, NOW)

    assert isinstance(refused, Refused) and refused.code == "invalid"
    assert [(p.label, p.value, p.invalid) for p in refused.problems] == [
        ("出动执法人员", "-3", Invalid("negative")),
        ("检查经营户", "12.5", Invalid("not_whole")),
        ("受理举报投诉", "五件", Invalid("not_a_number")),
        ("案值", "0.12345", Invalid("too_many_places", {"places": 4})),
        ("罚没款", "35000元", Invalid("wrong_unit", {"unit": "万元"})),
    ]
    assert [p.row for p in refused.problems] == [5, 6, 7, 9, 10]
    assert await setting.state() == before


async def test_a_deleted_line_of_a_required_field_is_reported_and_saves_nothing(
    setting: Setting,
) -> None:
    book = load_workbook(io.BytesIO(_filled(await _blank(setting), TYPED)))
    ws = book.worksheets[0]
    ws.delete_rows(5)  # 出动执法人员
    out = io.BytesIO()
    book.save(out)

    refused = await setting.intake.fill(setting.actor, setting.draft_id, out.getvalue(), NOW)

    assert isinstance(refused, Refused)
    assert [(p.field_id, p.row, p.invalid.code) for p in refused.problems] == [
        ("inspectors", 0, "required")
    ]


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return out.getvalue()


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: z.read(n) for n in z.namelist()}


def _plain_workbook() -> bytes:
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.append(["项目", "数量"])
    ws.append(["出动执法人员", 36])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _with_dtd(blank: bytes) -> bytes:
    members = _members(blank)
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
    )
    members["xl/sharedStrings.xml"] = bomb + b"<sst/>"
    return _zip(members)


def _with_macros(blank: bytes) -> bytes:
    return _zip({**_members(blank), "xl/vbaProject.bin": b"\x00" * 100})


def _zip_bomb(blank: bytes) -> bytes:
    return _zip({**_members(blank), "xl/media/zeros.bin": b"\x00" * (30 * 1024 * 1024)})


def _damaged(blank: bytes) -> bytes:
    members = _members(blank)
    members["xl/workbook.xml"] = b"<workbook><sheets><sheet name="
    return _zip(members)


BAD_FILES: dict[str, Callable[[bytes], bytes]] = {
    "not_xlsx": lambda blank: b"%PDF-1.4 not a spreadsheet",
    "truncated": lambda blank: blank[: len(blank) // 2],
    "encrypted": lambda blank: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512,
    "macros": _with_macros,
    "too_large": lambda blank: blank + b"\x00" * MAX_BYTES,
    "zip_bomb": _zip_bomb,
    "dtd": _with_dtd,
    "damaged": _damaged,
    "not_a_blank": lambda blank: _plain_workbook(),
}
EXPECTED = {
    "not_xlsx": "read.not_xlsx",
    "truncated": "read.not_xlsx",
    "encrypted": "read.encrypted",
    "macros": "read.macros",
    "too_large": "read.too_large",
    "zip_bomb": "read.too_large",
    "dtd": "read.corrupt",
    "damaged": "read.corrupt",
    "not_a_blank": "read.not_a_blank",
}


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
async def test_a_bad_file_gets_a_clear_refusal_and_changes_nothing(
    setting: Setting, kind: str
) -> None:
    before = await setting.state()
    data = BAD_FILES[kind](_filled(await _blank(setting), TYPED))

    refused = await setting.intake.fill(setting.actor, setting.draft_id, data, NOW)

    assert isinstance(refused, Refused)
    assert refused.code == EXPECTED[kind]
    assert Catalogue().has(f"intake.{refused.code}")
    assert await setting.state() == before


async def test_a_blank_of_another_form_or_someone_elses_draft_is_refused(setting: Setting) -> None:
    data = _filled(await _blank(setting), TYPED)
    book = load_workbook(io.BytesIO(data))
    book.worksheets[0]["E1"] = "cuibao-blank:v1:summary"
    out = io.BytesIO()
    book.save(out)
    foreign = out.getvalue()

    wrong = await setting.intake.fill(setting.actor, setting.draft_id, foreign, NOW)
    theirs = await setting.intake.fill(setting.other, setting.draft_id, data, NOW)
    blank = await setting.intake.blank(setting.other, setting.draft_id, Catalogue(), None)

    assert wrong == Refused("wrong_form", {"form": "打假统计报表"})
    assert theirs == blank == Refused("not_found", {})
