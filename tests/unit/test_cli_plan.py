"""`cuibao plan check`: deadlines on stdout, or exit 1 with one line on stderr.

Runs `bot.cli.main` in-process with capsys; one test runs the installed console script.
Broken plans are the Daguan example with one edit, written to a temporary file.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from bot.cli import main

ROOT = Path(__file__).resolve().parents[2]
DAGUAN = ROOT / "examples" / "plans" / "daguan-2017-anticounterfeit.toml"
TEXT = DAGUAN.read_text(encoding="utf-8")
FINAL_SCHEDULE = 'schedule = { kind = "once", date = 2017-02-23 }'
CAMPAIGN_END = "end = 2017-02-28                           # 至2017年2月28日结束\n"


def _expected_deadlines() -> list[tuple[str, str]]:
    weekly = [date(2016, 12, 1) + timedelta(weeks=i) for i in range(13)]
    daily = [date(2016, 12, d) for d in range(19, 24)]
    daily += [date(2017, 1, d) for d in range(9, 14)]
    daily += [date(2017, 2, d) for d in range(10, 15)]
    rows = [("weekly-report", f"{d}T15:00:00+08:00") for d in weekly]
    rows += [("daily-report", f"{d}T12:00:00+08:00") for d in daily]
    rows += [
        ("liaison-list", "2016-12-15T17:30:00+08:00"),
        ("stage-summary", "2016-12-27T17:30:00+08:00"),
        ("stage-summary", "2017-01-17T17:30:00+08:00"),
        ("final-summary", "2017-02-23T17:30:00+08:00"),
    ]
    return sorted(rows, key=lambda r: r[1])


DAGUAN_DEADLINES = _expected_deadlines()
TITLES = {
    "liaison-list": "信息联络员名单",
    "weekly-report": "信息周报",
    "daily-report": "集中行动日报",
    "stage-summary": "阶段工作小结",
    "final-summary": "工作总结和典型案例",
}


def edited(old: str, new: str) -> str:
    assert TEXT.count(old) == 1, old
    return TEXT.replace(old, new)


def write_plan(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "daguan.toml"
    path.write_text(text, encoding="utf-8")
    return path


# ---- the Daguan example -----------------------------------------------------------------


def test_plan_check_json_prints_the_32_daguan_deadlines_with_iso_offsets(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["plan", "check", str(DAGUAN), "--json"])

    out, err = capsys.readouterr()
    result = json.loads(out)
    assert (code, err) == (0, "")
    assert result["campaign"] == "daguan-2017-anticounterfeit"
    assert [(d["obligation"], d["due"]) for d in result["deadlines"]] == DAGUAN_DEADLINES
    assert all(d["title"] == TITLES[d["obligation"]] for d in result["deadlines"])
    assert all(d["period"] is None for d in result["deadlines"])
    # The notice was issued two weeks into the campaign it announces; one Thursday falls in
    # the Spring Festival holiday.
    assert result["warnings"][0] == (
        "“weekly-report”有 2 个截止时间早于方案印发日期 2016-12-15"
        "(最早 2016-12-01):联络员一加入就是逾期,请核对日期或 start"
    )
    holiday = "1 个每周截止日落在法定节假日:weekly-report 2017-02-02"
    assert result["warnings"][1].startswith(holiday)
    assert len(result["warnings"]) == 2


def test_the_installed_console_script_prints_the_same_json(
    capsys: pytest.CaptureFixture[str],
) -> None:
    script = Path(sys.executable).with_name("cuibao")
    argv = ["plan", "check", "examples/plans/daguan-2017-anticounterfeit.toml", "--json"]
    main(argv)
    in_process = json.loads(capsys.readouterr().out)

    run = subprocess.run(
        [str(script), *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )

    assert (run.returncode, run.stderr) == (0, "")
    assert json.loads(run.stdout) == in_process
    assert len(in_process["deadlines"]) == 32


def test_plan_check_prints_a_table_headed_in_chinese_by_default(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["plan", "check", str(DAGUAN)])

    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    assert lines[:2] == [
        "活动 daguan-2017-anticounterfeit:2017年元旦春节期间打假专项行动(大观区市场监督管理局)",
        "共 32 个截止时间",
    ]
    assert lines[3].split() == ["序号", "截止时间", "报送事项", "统计期间", "报送单位"]
    assert lines[7].split() == ["4", "2016-12-15", "17:30", "信息联络员名单", "#1", "全部(6)"]
    assert len(lines) == 4 + 32 + 4  # a blank line, 注意:, and the two warnings
    assert lines[-2].startswith("  ! “weekly-report”有 2 个截止时间早于方案印发日期")
    assert lines[-1].startswith("  ! 1 个每周截止日落在法定节假日:weekly-report 2017-02-02")


def test_plan_check_prints_the_table_in_english_with_lang_en(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["plan", "check", str(DAGUAN), "--lang", "en"])

    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    assert lines[:2] == [
        (
            "Campaign daguan-2017-anticounterfeit: "
            "2017年元旦春节期间打假专项行动 (大观区市场监督管理局)"
        ),
        "32 deadlines",
    ]
    assert lines[3].split() == ["No.", "Due", "What", "Period", "Units"]
    assert lines[7].split() == ["4", "2016-12-15", "17:30", "信息联络员名单", "#1", "all", "(6)"]


def test_an_open_ended_rule_is_expanded_from_now_and_warned_about(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = edited(CAMPAIGN_END, "").replace(
        FINAL_SCHEDULE,
        'schedule = { kind = "monthly", day = 25, period = { start_day = 26, end_day = 25 } }',
    )
    path = write_plan(tmp_path, text)

    code = main(["plan", "check", str(path), "--json", "--now", "2017-01-10T09:00:00+08:00"])

    result = json.loads(capsys.readouterr().out)
    monthly = [d for d in result["deadlines"] if d["obligation"] == "final-summary"]
    assert code == 0
    assert [d["due"] for d in monthly] == [
        f"{y}-{m:02d}-25T17:30:00+08:00"
        for y, m in [(2016, 12)] + [(2017, m) for m in range(1, 13)]
    ]
    assert monthly[1]["period"] == ["2016-12-26", "2017-01-25"]
    assert (
        "“final-summary”没有截止日期的终点,暂时展开到 2017-12-25;"
        "方案或活动结束日期确定后请补上 end" in result["warnings"]
    )


# ---- broken plans: exit 1, one line on stderr -------------------------------------------

BROKEN = [
    pytest.param(
        ('form = "stats"\ntime = "15:00"', 'form = "stat"\ntime = "15:00"'),
        "obligations[1].form: 表单“stat”未定义(已定义:liaison, stats, summary)",
        'obligations[1].form: form "stat" is not defined (defined: liaison, stats, summary)',
        id="unknown-form",
    ),
    pytest.param(
        ('coordinator = "12315投诉举报中心"          # 牵头单位: receives every report\n', ""),
        "campaign.coordinator: 缺少必填项",
        "campaign.coordinator: required key is missing",
        id="missing-key",
    ),
    pytest.param(
        ("weekday = 4", 'weekday = "4"'),
        "obligations[1].schedule.weekday: 类型不对:应为 整数,实际是 带引号的文字",
        "obligations[1].schedule.weekday: wrong type: expected integer, got string",
        id="wrong-type",
    ),
    pytest.param(
        (FINAL_SCHEDULE, 'schedule = { kind = "once", date = 2017-02-30 }'),
        "line 234: “2017-02-30”不是存在的日期(格式 YYYY-MM-DD)",
        'line 234: "2017-02-30" is not a real date (format YYYY-MM-DD)',
        id="impossible-date",
    ),
    pytest.param(
        (
            'recipient = "12315投诉举报中心"\nnote = "安排',
            'recipent = "12315投诉举报中心"\nnote = "安排',
        ),
        "obligations[0].recipent: 无法识别的键(拼写错了吗?)",
        "obligations[0].recipent: unknown key (a typo?)",
        id="unknown-key",
    ),
    pytest.param(
        ('form = "liaison"\n', 'form = "liaison"\nunits = ["dekuan", "yulinlu"]\n'),
        "obligations[0].units: 单位“yulinlu”未在 [[units]] 中定义",
        'obligations[0].units: unit "yulinlu" is not defined in [[units]]',
        id="unknown-unit",
    ),
    pytest.param(
        ("weekday = 4", "weekday = 8"),
        "obligations[1].schedule.weekday: 8 超出范围 1–7",
        "obligations[1].schedule.weekday: 8 is outside 1–7",
        id="bad-weekday",
    ),
    pytest.param(
        (CAMPAIGN_END, CAMPAIGN_END.replace("2017-02-28", "2016-11-28")),
        "campaign.end: 结束日期早于开始日期",
        "campaign.end: the end date is before the start date",
        id="end-before-start",
    ),
    pytest.param(
        ('timezone = "Asia/Shanghai" ', 'timezone = "Asia/Shanghai '),
        "line 12: TOML 语法错误:Illegal character '\\n'",
        "line 12: TOML syntax error: Illegal character '\\n'",
        id="toml-syntax",
    ),
]


@pytest.mark.parametrize(("edit", "chinese", "english"), BROKEN)
def test_a_broken_plan_exits_1_with_one_chinese_line_naming_file_place_and_problem(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    edit: tuple[str, str],
    chinese: str,
    english: str,
) -> None:
    path = write_plan(tmp_path, edited(*edit))

    code = main(["plan", "check", str(path), "--json"])

    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    assert err == f"{path}: {chinese}\n"


@pytest.mark.parametrize(("edit", "chinese", "english"), BROKEN)
def test_a_broken_plan_exits_1_with_one_english_line_with_lang_en(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    edit: tuple[str, str],
    chinese: str,
    english: str,
) -> None:
    path = write_plan(tmp_path, edited(*edit))

    code = main(["plan", "check", str(path), "--lang", "en"])

    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    assert err == f"{path}: {english}\n"


def test_lang_en_before_the_command_also_gives_english(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_plan(tmp_path, edited("weekday = 4", "weekday = 8"))

    code = main(["--lang", "en", "plan", "check", str(path)])

    assert code == 1
    assert capsys.readouterr().err == (
        f"{path}: obligations[1].schedule.weekday: 8 is outside 1–7\n"
    )


def test_a_missing_plan_file_exits_1_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "no-such-plan.toml"

    code = main(["plan", "check", str(path)])

    out, err = capsys.readouterr()
    assert (code, out, err) == (1, "", f"找不到文件:{path}\n")


def test_a_missing_plan_file_is_reported_in_english_with_lang_en(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "no-such-plan.toml"

    code = main(["plan", "check", str(path), "--lang", "en"])

    assert (code, capsys.readouterr().err) == (1, f"file not found: {path}\n")


def test_a_plan_saved_in_gbk_exits_1_with_one_line_saying_it_cannot_be_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "daguan.toml"
    path.write_bytes(TEXT.encode("gb18030"))

    code = main(["plan", "check", str(path)])

    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    assert err.startswith(f"{path}: 无法读取文件:'utf-8' codec can't decode byte 0x")
    assert err.count("\n") == 1 and err.endswith("\n")


def test_a_directory_instead_of_a_plan_exits_1_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["plan", "check", str(tmp_path)])

    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    assert err == f"{tmp_path}: 无法读取文件:[Errno 21] Is a directory: '{tmp_path}'\n"
