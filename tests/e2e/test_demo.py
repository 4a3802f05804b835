"""`cuibao demo`: the whole scenario in-process, then the CLI against what it left behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from docx import Document
from openpyxl import load_workbook

from bot.cli import main
from bot.demo import (
    CAMPAIGN,
    CONFIG_NAME,
    DB_NAME,
    MANIFEST_NAME,
    PLAN_NAME,
    program,
    run_demo,
)


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def test_the_demo_plays_a_campaign_day_and_leaves_a_data_dir_the_cli_accepts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "demo-data"

    assert run_demo(data) == 0

    out = capsys.readouterr().out
    # The coordinator invites, three units bind through their deep links.
    assert "王协调(协调员) ▶ /invite" in out
    assert out.count("https://t.me/cuibao_demo_bot?start=") == 6
    assert out.count("绑定成功") == 3
    # The liaison list and the weekly report with its spreadsheet, then a 零报告.
    assert "已提交:信息联络员名单" in out
    assert "▶ 📎 德宽路市场监管所-信息周报-2016-12-15.xlsx" in out
    assert "已提交:信息周报第3期(12月15日 周四 15:00前)(第 1 版,附件 1 个)" in out
    assert "已提交零报告:信息周报第3期" in out
    # The coordinator: status, the weekly deadline's units, who is missing, the nudge.
    for step in ("▶ /status", "▶ [3]", "▶ /missing", "▶ /remind", "▶ [确认催报]"):
        assert step in out
    assert "· 集贤路市场监管所:逾期未报" in out
    assert "[确认催报] [取消]" in out
    assert "已发送催报 1 条" in out

    # The README's next step: the Excel summary of what the demo left behind.
    # As the demo's hint says, judged as of the demo's afternoon: only the deadlines
    # passed by then (weekly #1–#3) can be 未报, not the 29 that have passed since.
    assert "--out demo.xlsx --now 2016-12-15T15:30+08:00" in out
    workbook = tmp_path / "demo.xlsx"
    exported = _cli(
        capsys,
        "export",
        "--config",
        str(data / CONFIG_NAME),
        "--campaign",
        CAMPAIGN,
        "--out",
        str(workbook),
        "--now",
        "2016-12-15T15:30+08:00",
    )
    assert "3 份报送" in exported
    grid = load_workbook(workbook)["提交情况"]
    unreported = [
        c.column
        for row in grid.iter_rows()
        for c in row
        if c.value == "未报" and str(row[0].value).endswith("市场监管所")
    ]
    assert len(unreported) > 0 and len(set(unreported)) <= 3
    assert "催报 → 赵强(集贤路市场监管所) ◀ 【催报】集贤路市场监管所" in out
    assert "[立即填报]" in out
    # The closing table and the hints.
    table = out.split("── 报送情况", 1)[1]
    rows = {
        line.split()[0]: line.split()[1:] for line in table.splitlines() if "市场监管所" in line
    }
    assert rows["德宽路市场监管所"] == ["已提交", "已提交"]
    assert rows["玉琳路市场监管所"] == ["已提交·零报告", "未提交"]
    assert rows["集贤路市场监管所"] == ["逾期未报", "未提交"]
    assert f"cuibao invite --config {data / CONFIG_NAME}" in out
    # The progress picture and the week's 通报, kept in the data dir and named.
    assert f"(已保存 saved: {data / 'status.png'})" in out
    assert "王协调(协调员) ▶ /tongbao week" in out
    for name in ("status.png", "tongbao.docx", "tongbao.xlsx", "tongbao.png"):
        assert (data / name).stat().st_size > 1000, name
    tongbao = [p.text for p in Document(str(data / "tongbao.docx")).paragraphs]
    assert any("逾期未报的单位" in p and "集贤路市场监管所" in p for p in tongbao)

    # What it left: a config, a database holding the plan, the uploaded file.
    config = str(data / CONFIG_NAME)
    assert (data / DB_NAME).is_file()
    assert [p.suffix for p in (data / "files").rglob("*") if p.is_file()] == [".xlsx"]
    schedule = _cli(capsys, "plan", "check", str(data / PLAN_NAME), "--config", config)
    assert "共 32 个截止时间" in schedule
    assert "第 1 版与该文件相同" in _cli(
        capsys, "plan", "load", str(data / PLAN_NAME), "--config", config
    )
    links = _cli(
        capsys, "invite", "--config", config, "--campaign", CAMPAIGN, "--bot-username", "x"
    ).splitlines()
    assert len(links) == 6
    assert all("https://t.me/x?start=" in line for line in links)

    # Again over the same folder: a fresh start, and what the demo did not make stays.
    (data / "notes.txt").write_text("mine", encoding="utf-8")
    assert run_demo(data) == 0
    out = capsys.readouterr().out
    assert out.count("绑定成功") == 3
    assert (data / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert len(list((data / "files").rglob("*.xlsx"))) == 1


def test_the_demo_refuses_a_folder_holding_files_it_did_not_make(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / CONFIG_NAME).write_text("[bot]\n", encoding="utf-8")

    assert run_demo(tmp_path) == 1

    assert "不是演示创建的" in capsys.readouterr().err
    assert (tmp_path / CONFIG_NAME).read_text(encoding="utf-8") == "[bot]\n"


def test_a_config_edited_by_hand_since_the_last_demo_is_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / MANIFEST_NAME).write_text(
        json.dumps({"paths": [CONFIG_NAME, DB_NAME]}), encoding="utf-8"
    )
    (tmp_path / CONFIG_NAME).write_text("# my own settings\n", encoding="utf-8")
    (tmp_path / DB_NAME).write_bytes(b"")

    assert run_demo(tmp_path) == 1

    assert CONFIG_NAME in capsys.readouterr().err
    assert (tmp_path / CONFIG_NAME).read_text(encoding="utf-8") == "# my own settings\n"
    assert (tmp_path / DB_NAME).exists()


def test_the_hints_name_cuibao_as_the_user_ran_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    venv = tmp_path / ".venv" / "bin"
    venv.mkdir(parents=True)
    (venv / "cuibao").write_text("#!/bin/sh\n", encoding="utf-8")
    (venv / "cuibao").chmod(0o755)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # the venv is not activated

    # The README's `.venv/bin/cuibao demo`: `cuibao` alone would not be found.
    assert program(".venv/bin/cuibao") == ".venv/bin/cuibao"
    monkeypatch.setenv("PATH", f"{venv}:/usr/bin:/bin")  # now it is
    assert program(".venv/bin/cuibao") == "cuibao"
    assert program("cuibao") == "cuibao"
    assert program("/usr/lib/python3/bot/__main__.py") == "cuibao"  # python -m bot


def test_the_demo_plays_the_same_day_on_a_fake_dingtalk_and_the_cli_accepts_its_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "demo-data"

    assert run_demo(data, platform="dingtalk") == 0

    out = capsys.readouterr().out
    assert "王协调(协调员) ▶ 邀请" in out
    assert out.count("绑定成功") == 3  # each unit bound by typing its 绑定码
    assert "已提交:信息联络员名单" in out
    assert "已提交:信息周报第3期(12月15日 周四 15:00前)(第 1 版,附件 1 个)" in out
    assert "已提交零报告:信息周报第3期" in out
    assert "应报6 已报2(迟报0、零报告1) 退回0 未报4" in out
    assert "已发送催报 1 条" in out
    assert "机器人 → 赵强(集贤路市场监管所) ◀ 【催报】集贤路市场监管所" in out
    assert (data / "status.png").read_bytes().startswith(b"\x89PNG")
    assert "集贤路市场监管所" in "\n".join(
        p.text for p in Document(str(data / "tongbao.docx")).paragraphs
    )
    assert f"--campaign {CAMPAIGN} --platform dingtalk" in out

    # The config it left serves DingTalk alone: invitations are 绑定码 words.
    printed = _cli(capsys, "invite", "--config", str(data / CONFIG_NAME), "--campaign", CAMPAIGN)
    assert printed.splitlines()[0].split("\t")[1].startswith("绑定 ")
