"""A plan that names the coordinator's own workbook in `[export]`: checked with the plan,
stored with it, sent later in chat if need be, and filled by every export."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from bot.cli import main
from domain.plan_toml import PlanError, parse_plan
from services.access import Actor, Role, Seat
from services.campaign_reads import PlanRegistry
from services.export import ExportError, ExportRequest, ExportService
from services.plans import PlanService, TemplateFile, TemplateState, load_plan
from storage import models as m
from storage.database import Database
from storage.filestore import FileStore
from tests.storage.test_export import DAGUAN
from tests.storage.test_export_template import MAPPING, _template

CAMPAIGN = "daguan-2017-anticounterfeit"
LOADED = datetime(2016, 11, 1, tzinfo=UTC)
NOW = datetime(2016, 12, 9, 2, 0, tzinfo=UTC)


def _export_table(mapping: str = MAPPING) -> str:
    """The stand-alone mapping, rewritten as the plan's `[export]` table."""
    return "\n[export]\n" + mapping.replace("[[sheets]]", "[[export.sheets]]")


def _plan_text(mapping: str = MAPPING) -> str:
    return DAGUAN.read_text(encoding="utf-8") + _export_table(mapping)


class _Texts:
    """Just enough catalogue for the export (labels are not what these tests check)."""

    def text(self, key: str, language: str | None = None, /, **params: object) -> str:
        return key

    def date(self, day: object, language: str | None = None) -> str:
        return str(day)

    def when(self, instant: object, language: str | None = None) -> str:
        return str(instant)


def test_a_plan_names_its_template_in_an_export_table() -> None:
    plan = parse_plan(_plan_text(), "plan.toml")

    assert plan.export is not None
    assert plan.export.file_name == "模板.xlsx"
    assert plan.export.sheets[0].obligation == "weekly-report"
    assert plan.export.sheets[0].columns["seized"] == "E"


@pytest.mark.parametrize(
    ("old", "new", "code", "where"),
    [
        ('file = "模板.xlsx"', 'file = "../模板.xlsx"', "bad_template_file", "export.file"),
        ('file = "模板.xlsx"', 'file = "/tmp/模板.xlsx"', "bad_template_file", "export.file"),
        ('file = "模板.xlsx"', 'file = "模板.xls"', "template_not_xlsx", "export.file"),
        ('status = "B"', 'status = "A"', "duplicate_cell", "export.sheets[0].columns.status"),
        ('due = "D2"', 'due = "A1"', "duplicate_cell", "export.sheets[0].cells.due"),
        (
            'obligation = "weekly-report"',
            'obligation = "weekly"',
            "bad_choice",
            "export.sheets[0].obligation",
        ),
        ("seized = ", "weight = ", "bad_choice", "export.sheets[0].columns.weight"),
        ("first_row = 5", "first_row = 0", "out_of_range", "export.sheets[0].first_row"),
    ],
)
def test_a_bad_export_table_refuses_the_whole_plan_with_its_key_path(
    old: str, new: str, code: str, where: str
) -> None:
    with pytest.raises(PlanError) as refused:
        parse_plan(_plan_text(MAPPING.replace(old, new)), "plan.toml")

    assert (refused.value.code, refused.value.where) == (code, where)
    assert refused.value.source == "plan.toml"


async def _load(
    db: Database, template: bytes | None, text: str | None = None
) -> TemplateState | None:
    text = text or _plan_text()
    report = await load_plan(
        db.sessions,
        parse_plan(text, "plan.toml"),
        "plan.toml",
        text,
        LOADED,
        template=None if template is None else TemplateFile("模板.xlsx", template),
    )
    return report.template


async def _stored(db: Database) -> list[tuple[str, int]]:
    async with db.sessions() as s:
        rows = await s.execute(select(m.ExportTemplate.file_name, m.ExportTemplate.size))
        return [(name, size) for name, size in rows]


async def test_loading_the_plan_stores_the_template_and_a_reload_keeps_it(
    database: Database,
) -> None:
    assert await _load(database, _template()) is TemplateState.STORED
    assert await _load(database, None) is TemplateState.KEPT  # e.g. the plan sent in chat
    assert await _load(database, _template()) is TemplateState.KEPT  # the same bytes

    changed = _plan_text() + "\n"  # a new plan version, same workbook name
    assert await _load(database, None, changed) is TemplateState.KEPT
    assert await _stored(database) == [("模板.xlsx", len(_template()))]


async def test_a_plan_sent_without_its_workbook_reports_it_missing_until_it_is_sent(
    database: Database,
) -> None:
    plans = PlanService(database.sessions)
    text = _plan_text()
    report = await plans.load_text(text, "plan.toml", LOADED)
    assert not isinstance(report, PlanError)
    assert report.template is TemplateState.MISSING
    export = ExportService(database.sessions, PlanRegistry(), FileStore(Path("unused")))
    request = ExportRequest(CAMPAIGN, NOW, "zh-CN")
    with pytest.raises(ExportError) as missing:
        await export.export_plan_template(request, _Texts())
    assert missing.value.code == "template_missing"
    assert missing.value.params["file"] == "模板.xlsx"

    async with database.sessions() as s:
        campaign_id = await s.scalar(select(m.Campaign.id))
    assert campaign_id is not None
    coordinator = Actor(1, "1", None, (Seat(campaign_id, CAMPAIGN, "", Role.COORDINATOR),))
    stranger = Actor(2, "2", None, (Seat(campaign_id + 1, "other", "", Role.COORDINATOR),))
    async with database.sessions.begin() as s:
        s.add_all(
            [
                m.Person(id=1, external_id="1", created_at=NOW),
                m.Person(id=2, external_id="2", created_at=NOW),
            ]
        )

    not_theirs = await plans.attach_template(stranger, "模板.xlsx", _template(), NOW)
    wrong_name = await plans.attach_template(coordinator, "周报.xlsx", _template(), NOW)
    broken = await plans.attach_template(coordinator, "模板.xlsx", b"PK\x03\x04 no", NOW)
    assert not_theirs.campaigns == wrong_name.campaigns == broken.campaigns == ()
    assert broken.problem is not None and broken.problem.code == "template_read.not_xlsx"
    assert await _stored(database) == []

    attached = await plans.attach_template(coordinator, "模板.xlsx", _template(), NOW)
    assert attached.campaigns == ("2017年元旦春节期间打假专项行动",)
    filled = await export.export_plan_template(request, _Texts())
    assert filled is not None
    assert load_workbook(io.BytesIO(filled.data))["汇总表"]["A5"].value == "德宽路市场监管所"


async def test_a_workbook_without_the_mapped_sheet_is_refused_and_nothing_is_stored(
    database: Database,
) -> None:
    plans = PlanService(database.sessions)
    text = _plan_text(MAPPING.replace('sheet = "汇总表"', 'sheet = "周报"'))
    await plans.load_text(text, "plan.toml", LOADED)
    async with database.sessions.begin() as s:
        s.add(m.Person(id=1, external_id="1", created_at=NOW))

    refused = await plans.attach_template(
        Actor(1, "1", None, (), global_coordinator=True), "模板.xlsx", _template(), NOW
    )

    assert refused.problem is not None
    assert (refused.problem.code, refused.problem.params["where"]) == (
        "template_no_such_sheet",
        "周报",
    )
    assert await _stored(database) == []


def _folder(tmp_path: Path, mapping: str = MAPPING, workbook: bytes | None = None) -> Path:
    plan = tmp_path / "plan" / "daguan.toml"
    plan.parent.mkdir()
    plan.write_text(_plan_text(mapping), encoding="utf-8")
    if workbook is not None:
        (plan.parent / "模板.xlsx").write_bytes(workbook)
    return plan


def test_plan_check_refuses_a_plan_whose_template_is_not_beside_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = _folder(tmp_path)

    assert main(["plan", "check", str(plan)]) == 1

    err = capsys.readouterr().err.strip()
    assert err.startswith(f"{plan}: export.file")
    assert "找不到文件" in err and "模板.xlsx" in err


@pytest.mark.parametrize(
    ("old", "new", "where", "said"),
    [
        ('period = "A2"', 'period = "B1"', "export.sheets[0]", "汇总表!B1"),
        ('sheet = "汇总表"', 'sheet = "汇总"', "export.sheets[0].sheet", "汇总表、说明"),
        ("first_row = 5", "first_row = 1048572", "export.sheets[0].first_row", "1048572"),
    ],
)
def test_plan_check_refuses_a_template_the_mapping_does_not_fit_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, where: str, said: str
) -> None:
    plan = _folder(tmp_path, MAPPING.replace(old, new), _template())

    assert main(["plan", "check", str(plan)]) == 1

    err = capsys.readouterr().err.strip()
    assert err.startswith(f"{plan}: {where}:")
    assert said in err
    assert "\n" not in err


def test_plan_load_stores_the_template_and_export_fills_it_unless_asked_for_the_standard(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = _folder(tmp_path, workbook=_template())
    config = tmp_path / "config.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "db.sqlite3"}"\n'
        f'[files]\ndir = "{tmp_path / "files"}"\n',
        encoding="utf-8",
    )
    (plan.parent / "模板.xlsx").unlink()  # stored in the database: no longer needed here
    assert main(["plan", "load", str(plan), "--config", str(config)]) == 1
    assert "找不到文件" in capsys.readouterr().err
    (plan.parent / "模板.xlsx").write_bytes(_template())

    assert main(["plan", "load", str(plan), "--config", str(config)]) == 0
    assert "导出模板 模板.xlsx 已保存" in capsys.readouterr().out
    (plan.parent / "模板.xlsx").unlink()
    filled, standard = tmp_path / "filled.xlsx", tmp_path / "standard.xlsx"
    common = [
        "export",
        "--config",
        str(config),
        "--campaign",
        CAMPAIGN,
        "--now",
        "2016-12-09T10:00:00+08:00",
    ]

    assert main([*common, "--out", str(filled)]) == 0
    assert main([*common, "--standard", "--out", str(standard)]) == 0

    assert load_workbook(filled).sheetnames == ["汇总表", "说明"]
    assert load_workbook(filled)["汇总表"]["A5"].value == "德宽路市场监管所"
    assert load_workbook(standard).sheetnames[:2] == ["提交情况", "累计"]


async def test_a_workbook_is_attached_to_a_plan_stored_before_a_check_it_would_fail(
    database: Database,
) -> None:
    plans = PlanService(database.sessions)
    await plans.load_text(_plan_text(), "plan.toml", LOADED)
    stale = _plan_text().replace(
        'time = "15:00"', 'time = "15:00"\nreminders = ["-31wd@09:00"]', 1
    )
    with pytest.raises(PlanError):
        parse_plan(stale, "plan.toml")  # refused today, but a stored version stays usable
    async with database.sessions.begin() as s:
        version = await s.scalar(select(m.PlanVersion))
        assert version is not None
        version.source_text = stale
        s.add(m.Person(id=1, external_id="1", created_at=NOW))

    attached = await plans.attach_template(
        Actor(1, "1", None, (), global_coordinator=True), "模板.xlsx", _template(), NOW
    )

    assert attached.problem is None
    assert attached.campaigns == ("2017年元旦春节期间打假专项行动",)
