"""`cuibao plan load` over an existing campaign: the difference first, applied only with
--yes (or a y at the terminal)."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.cli import main
from storage import models as m
from storage.database import Database

ROOT = Path(__file__).resolve().parents[2]
DAGUAN_TEXT = (ROOT / "examples" / "plans" / "daguan-2017-anticounterfeit.toml").read_text(
    encoding="utf-8"
)
REVISED_TEXT = DAGUAN_TEXT.replace('name = "玉琳路市场监管所"', 'name = "甲所"')
CAMPAIGN = "daguan-2017-anticounterfeit"


class _Terminal(io.StringIO):
    """What a person types at the y/N question."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def setup(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, Path, str]:
    """A loaded Daguan campaign with a liaison bound to 玉琳路所, and the revised plan file."""
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")
    plan = tmp_path / "daguan.toml"
    plan.write_text(DAGUAN_TEXT, encoding="utf-8")
    assert main(["plan", "load", str(plan), "--config", str(config)]) == 0
    asyncio.run(_bind_liaison(url))
    plan.write_text(REVISED_TEXT, encoding="utf-8")
    capsys.readouterr()
    return config, plan, url


async def _bind_liaison(url: str) -> None:
    now = datetime(2016, 12, 14, 2, 0, tzinfo=UTC)
    async with Database.open(url) as db, db.sessions.begin() as s:
        unit = await s.scalar(select(m.Unit).where(m.Unit.code == "yulin"))
        assert unit is not None
        person = m.Person(external_id="3001", display_name="李明", created_at=now)
        s.add(person)
        await s.flush()
        s.add(
            m.Membership(
                campaign_id=unit.campaign_id,
                person_id=person.id,
                unit_id=unit.id,
                role="liaison",
                created_at=now,
            )
        )


def _stored(url: str) -> tuple[int, str]:
    async def read() -> tuple[int, str]:
        async with Database.open(url) as db, db.sessions() as s:
            version = await s.scalar(select(m.Campaign.current_version))
            name = await s.scalar(select(m.Unit.name).where(m.Unit.code == "yulin"))
            assert version is not None and name is not None
            return version, name

    return asyncio.run(read())


def test_plan_load_over_a_campaign_prints_the_difference_and_needs_yes(
    setup: tuple[Path, Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    config, plan, url = setup

    code = main(["plan", "load", str(plan), "--config", str(config)])

    out, err = capsys.readouterr()
    assert code == 1
    assert f"活动 {CAMPAIGN} 已存在(现为第 1 版)" in out
    assert "yulin 玉琳路市场监管所 → 甲所(⚠ 已绑定 1 人,已有报送 0 份)" in out
    assert err.strip() == "以上修改未生效:核对无误后加 --yes 重新运行 cuibao plan load。"
    assert _stored(url) == (1, "玉琳路市场监管所")


def test_plan_load_with_yes_applies_the_difference_it_prints(
    setup: tuple[Path, Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    config, plan, url = setup

    code = main(["plan", "load", str(plan), "--config", str(config), "--yes"])

    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    assert out.index("单位改名 1 个") < out.index(f"已载入 {CAMPAIGN} 第 2 版")
    assert _stored(url) == (2, "甲所")


def test_plan_load_at_a_terminal_asks_and_a_no_changes_nothing(
    setup: tuple[Path, Path, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config, plan, url = setup
    monkeypatch.setattr("sys.stdin", _Terminal("n\n"))

    assert main(["plan", "load", str(plan), "--config", str(config)]) == 1
    assert "应用以上修改?[y/N]" in capsys.readouterr().out
    assert _stored(url) == (1, "玉琳路市场监管所")

    monkeypatch.setattr("sys.stdin", _Terminal("y\n"))
    assert main(["plan", "load", str(plan), "--config", str(config)]) == 0
    assert _stored(url) == (2, "甲所")


def test_plan_load_of_the_same_file_again_is_unchanged_without_a_question(
    setup: tuple[Path, Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    config, plan, url = setup
    plan.write_text(DAGUAN_TEXT, encoding="utf-8")

    assert main(["plan", "load", str(plan), "--config", str(config)]) == 0
    assert capsys.readouterr().out.startswith(f"{CAMPAIGN} 第 1 版与该文件相同,未作改动")
    assert _stored(url) == (1, "玉琳路市场监管所")
