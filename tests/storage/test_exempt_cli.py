"""`cuibao exempt` through the real entry point (`bot.cli.main`) on a SQLite file: it says
what it will do, asks, acts once, and every mistake is one line with exit code 1."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.cli import main
from domain.plan_toml import parse_plan
from services.plans import load_plan
from storage import models as m
from storage.database import Database

ROOT = Path(__file__).resolve().parents[2]
DAGUAN = ROOT / "examples" / "plans" / "daguan-2017-anticounterfeit.toml"
CAMPAIGN = "daguan-2017-anticounterfeit"
UNIT = "德宽路市场监管所"
ROSTER = "信息联络员名单(12月15日 周四 17:30前)"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    url = f"sqlite:///{tmp_path / 'cuibao.sqlite3'}"

    async def seed() -> None:
        async with Database.open(url) as db:
            text = DAGUAN.read_text(encoding="utf-8")
            await load_plan(
                db.sessions,
                parse_plan(text, DAGUAN.name),
                DAGUAN.name,
                text,
                datetime(2016, 11, 30, tzinfo=UTC),
            )

    asyncio.run(seed())
    path = tmp_path / "config.toml"
    path.write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")
    return path


def rows(config: Path) -> list[m.UnitDeadlineOverride]:
    async def read() -> list[m.UnitDeadlineOverride]:
        async with (
            Database.open(f"sqlite:///{config.parent / 'cuibao.sqlite3'}") as db,
            db.sessions() as s,
        ):
            return list((await s.scalars(select(m.UnitDeadlineOverride))).all())

    return asyncio.run(read())


def exempt(config: Path, *args: str) -> int:
    return main(
        [
            "exempt",
            "--config",
            str(config),
            "--campaign",
            CAMPAIGN,
            "--unit",
            UNIT,
            "--deadline",
            "liaison-list",
            *args,
        ]
    )


def test_the_command_says_what_it_will_do_asks_and_a_rerun_changes_nothing(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))

    first = exempt(config, "--reason", "停业整顿")
    asked = capsys.readouterr().out
    again = exempt(config, "--reason", "停业整顿", "--yes")

    assert first == again == 0
    assert asked.splitlines() == [
        f"将 {UNIT} 设为免报:{ROSTER}。理由:停业整顿。该单位不再被催报,也不计入未报。确认吗?",
        f"确认吗?[y/N] 已设为免报:{UNIT},{ROSTER}。理由:停业整顿。将通知该单位联络员。",
    ]
    assert capsys.readouterr().out.strip() == (
        f"{UNIT} 的 {ROSTER} 已是如此设置(理由:停业整顿),没有改动。"
    )
    assert [(r.kind, r.reason, r.due_at) for r in rows(config)] == [("exempt", "停业整顿", None)]


def test_until_extends_the_unit_and_undo_withdraws_it(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extended = exempt(config, "--until", "2016-12-20 15:00", "--reason", "人员外出", "--yes")
    printed = capsys.readouterr().out
    undone = exempt(config, "--undo", "--yes")

    assert (extended, undone) == (0, 0)
    assert printed.strip() == (
        f"已延期:{UNIT},信息联络员名单(12月20日 周二 15:00前)。理由:人员外出。将通知该单位联络员。"
    )
    assert capsys.readouterr().out.strip() == (
        f"已撤销:{UNIT} 的 {ROSTER} 恢复按原截止时间报送。已通知该单位联络员。"
    )
    [row] = rows(config)
    assert row.kind == "extended" and row.revoked_at is not None
    assert row.due_at == datetime(2016, 12, 20, 15, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("--reason", "停业整顿"), "n\n", "已取消,没有做任何改动。"),
        (("--reason", " "), "", "请写明理由,例如:/exempt 德宽路市场监管所 停业整顿。"),
        (
            ("--until", "12/20", "--reason", "x"),
            "",
            "延期时间应写作 YYYY-MM-DD HH:MM,如 2026-12-20 15:00(只写日期则沿用原截止时刻)。",
        ),
        (("--until", "2016-12-01", "--reason", "x"), "", "延期后的时间必须晚于原截止时间。"),
        (("--undo",), "", "该单位在这一项上没有免报或延期,无需撤销。"),
    ],
)
def test_a_mistake_or_a_no_is_one_line_exit_1_and_changes_nothing(
    config: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    stdin: str,
    message: str,
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))

    code = exempt(config, *args)

    assert code == 1
    assert capsys.readouterr().err.splitlines() == [message]
    assert rows(config) == []


def test_an_unknown_unit_or_deadline_names_what_was_not_found(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    unit = main(
        [
            "exempt",
            "--config",
            str(config),
            "--campaign",
            CAMPAIGN,
            "--unit",
            "不存在",
            "--deadline",
            "liaison-list",
            "--reason",
            "x",
            "--lang",
            "en",
        ]
    )
    deadline = main(
        [
            "exempt",
            "--config",
            str(config),
            "--campaign",
            CAMPAIGN,
            "--unit",
            UNIT,
            "--deadline",
            "weekly-report",
            "--reason",
            "x",
        ]
    )

    assert (unit, deadline) == (1, 1)
    assert capsys.readouterr().err.splitlines() == [
        'No unit "不存在": write the unit\'s full name or its id (see /units).',
        "“weekly-report”对应多个截止时间:请写 事项代码#序号 或 事项代码@YYYY-MM-DD。",
    ]
