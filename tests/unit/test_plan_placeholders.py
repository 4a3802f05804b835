"""A drafted plan's 待填写 placeholders: `plan check` warns loudly, `plan load` refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from domain.plan_toml import placeholders

ROOT = Path(__file__).resolve().parents[2]
NOTICE = ROOT / "tests" / "data" / "notices" / "water_province_river_cleanup.txt"


def _draft(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    draft = tmp_path / "draft.toml"
    assert main(["plan", "extract", str(NOTICE), "--toml-out", str(draft)]) == 0
    capsys.readouterr()
    return draft


def test_placeholders_are_found_by_key_path() -> None:
    text = '[campaign]\nname = "x"\n[[units]]\nid = "u"\nname = "待填写:报送单位"\n'
    assert placeholders(text) == ("units[0].name",)
    assert placeholders(text.replace("待填写:报送单位", "城关镇")) == ()


def test_plan_check_warns_loudly_about_placeholders_left_in_a_draft(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    draft = _draft(tmp_path, capsys)

    assert main(["plan", "check", str(draft)]) == 0

    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("!! 注意:方案中还有 1 处“待填写”未填:units[0].name")


def test_plan_load_refuses_a_draft_with_placeholders_in_one_line_and_accepts_it_filled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    draft = _draft(tmp_path, capsys)
    config = tmp_path / "config.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "db.sqlite3"}"\n'
        f'[files]\ndir = "{tmp_path / "files"}"\n',
        encoding="utf-8",
    )

    assert main(["plan", "load", str(draft), "--config", str(config), "--lang", "en"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == (
        f'{draft}: 1 placeholder(s) "待填写" still to fill in (units[0].name): '
        "fill them in before loading"
    )

    draft.write_text(
        draft.read_text(encoding="utf-8").replace("待填写:报送单位", "杭州市水利局"),
        encoding="utf-8",
    )
    assert main(["plan", "load", str(draft), "--config", str(config)]) == 0
