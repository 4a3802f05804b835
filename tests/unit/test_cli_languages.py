"""What the command line says comes from the catalogue: Chinese by default, English with
--lang en. Notice summaries, draft plans, plan type errors, the demo's refusal, invitation
footers, and a closed pipe that is not an error at all."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from bot.cli import main
from bot.demo import CONFIG_NAME, run_demo
from conversation.i18n import Catalogue, plan_error_text, type_names
from conversation.notices import describe_deadline
from domain.export_template import parse_template
from domain.extract import ExtractedObligation, Kind
from domain.plan_errors import PlanError

ROOT = Path(__file__).resolve().parents[2]
NOTICE = ROOT / "tests" / "data" / "seeds" / "000_120f0acc1c4bbbb9.txt"
DAGUAN = ROOT / "examples" / "plans" / "daguan-2017-anticounterfeit.toml"
CAMPAIGN = "daguan-2017-anticounterfeit"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# ---- plan extract: the summary ----------------------------------------------------------


def test_plan_extract_prints_its_summary_in_chinese_by_default(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = _run(capsys, "plan", "extract", str(NOTICE))

    lines = out.splitlines()
    assert (code, err) == (0, "")
    assert lines[:7] == [
        "发文日期:2016-12-15",
        "报送要求:8 项",
        "",
        "1. 2016-12-15前(年份系推断)  名单",
        "   各所 → 12315投诉举报中心",
        "   原文:名单12月15日前报送12315投诉举报中心",
        "",
    ]
    assert "2. 每周四 15:00(2016-12-01至2017-02-28)  相关报表" in lines
    assert not any(word in out for word in ("Issued", "Obligations", "by 20", "weekly"))


def test_plan_extract_prints_its_summary_in_english_with_lang_en(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = _run(capsys, "plan", "extract", str(NOTICE), "--lang", "en")

    lines = out.splitlines()
    assert code == 0
    assert lines[:6] == [
        "Issued: 2016-12-15",
        "Obligations: 8",
        "",
        "1. by 2016-12-15 (year inferred)  名单",
        "   各所 → 12315投诉举报中心",
        "   Source: 名单12月15日前报送12315投诉举报中心",
    ]
    assert "2. weekly on Thu 15:00 [2016-12-01 .. 2017-02-28]  相关报表" in lines


DEADLINES = [
    pytest.param(
        ExtractedObligation(Kind.ONCE, "q", month_day="03-05", time="17:00"),
        "3月5日前(年份不明) 17:00",
        "by 3/5 (year unknown) 17:00",
        id="once-no-year",
    ),
    pytest.param(
        ExtractedObligation(Kind.MONTHLY, "q", day_of_month=-1),
        "每月月底",
        "monthly, last day",
        id="month-end",
    ),
    pytest.param(
        ExtractedObligation(Kind.MONTHLY, "q", day_of_month=28, time="12:00"),
        "每月28日 12:00",
        "monthly, day 28 12:00",
        id="monthly",
    ),
    pytest.param(
        ExtractedObligation(Kind.QUARTERLY, "q", day_of_month=8, months=(1, 4, 7, 10)),
        "每季度(1,4,7,10月)8日",
        "quarterly, day 8 in months 1,4,7,10",
        id="quarterly",
    ),
    pytest.param(
        ExtractedObligation(Kind.YEARLY, "q", month_day="01-10"),
        "每年1月10日",
        "yearly on 1/10",
        id="yearly",
    ),
    pytest.param(
        ExtractedObligation(Kind.RELATIVE_WORKDAYS, "q", offset=5, anchor="本通知印发之日起"),
        "本通知印发之日起5个工作日内",
        "within 5 working days of 本通知印发之日起",
        id="workdays",
    ),
    pytest.param(
        ExtractedObligation(Kind.RELATIVE_HOURS, "q", offset=2),
        "(起算点未写明)2小时内",
        "within 2 hours of ?",
        id="hours-no-anchor",
    ),
    pytest.param(
        ExtractedObligation(Kind.DAILY, "q", window=(date(2017, 1, 9), None)),
        "每日(2017-01-09至…)",
        "daily [2017-01-09 .. …]",
        id="daily-open",
    ),
]


@pytest.mark.parametrize(("obligation", "chinese", "english"), DEADLINES)
def test_every_kind_of_deadline_is_described_in_both_languages(
    obligation: ExtractedObligation, chinese: str, english: str
) -> None:
    described = [
        describe_deadline(obligation, Catalogue(language)) for language in ("zh-CN", "en")
    ]

    assert described == [chinese, english]


# ---- plan extract: the draft plan ---------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "header", "source"),
    [
        ("zh-CN", "# 由 `cuibao plan extract` 根据下面的通知生成的方案草稿", "# 原文:"),
        ("en", "# Draft written by `cuibao plan extract` from the notice below.", "# Source: "),
    ],
)
def test_the_draft_plan_is_commented_in_the_chosen_language_and_still_passes_plan_check(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, language: str, header: str, source: str
) -> None:
    draft = tmp_path / "draft.toml"

    _run(capsys, "plan", "extract", str(NOTICE), "--toml-out", str(draft), "--lang", language)

    text = draft.read_text(encoding="utf-8")
    assert text.startswith(header)
    assert source in text
    assert _run(capsys, "plan", "check", str(draft))[0] == 0


def test_a_reader_closing_the_pipe_early_gets_no_traceback() -> None:
    # The pipe is closed before the command has even started, so its first write fails.
    with subprocess.Popen(
        [sys.executable, "-m", "bot", "plan", "extract", str(NOTICE)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()

        err = process.stderr.read().decode("utf-8")
        code = process.wait(timeout=60)

    assert (code, err) == (141, "")


# ---- plan errors: type names ----------------------------------------------------------------


def test_a_wrong_type_in_a_plan_names_both_types_in_chinese(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plan = tmp_path / "daguan.toml"
    plan.write_text(
        DAGUAN.read_text(encoding="utf-8").replace("weekday = 4", 'weekday = "4"'),
        encoding="utf-8",
    )

    code, _, err = _run(capsys, "plan", "check", str(plan))

    assert code == 1
    assert err == (
        f"{plan}: obligations[1].schedule.weekday: 类型不对:应为 整数,实际是 带引号的文字\n"
    )


def test_a_wrong_type_in_an_export_mapping_names_pythons_types_in_words_too() -> None:
    with pytest.raises(PlanError) as refused:
        parse_template(
            'file = "t.xlsx"\n[[sheets]]\nobligation = "w"\nfirst_row = "5"\n'
            'columns = { unit = "A" }\n',
            "m.toml",
        )

    lines = [plan_error_text(Catalogue(language), refused.value) for language in ("zh-CN", "en")]

    assert refused.value.params["got"] == "str"
    assert lines == [
        "m.toml: sheets[0].first_row: 类型不对:应为 整数,实际是 带引号的文字",
        "m.toml: sheets[0].first_row: wrong type: expected integer, got string",
    ]


def test_alternatives_and_unknown_type_names_read_naturally() -> None:
    zh, en = Catalogue("zh-CN"), Catalogue("en")

    assert type_names(zh, "date or string") == "日期 或 带引号的文字"
    assert type_names(en, "string or time") == "string or time"
    assert type_names(zh, "true/false") == "true/false"
    assert type_names(zh, "Decimal") == "Decimal"


# ---- the demo ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("zh-CN", "中已有 config.toml,不是演示创建的,演示不会动它:请用 --data-dir 另选一个文件夹"),
        (
            "en",
            (
                "holds config.toml, which the demo did not create and will not touch: choose "
                "another --data-dir"
            ),
        ),
    ],
)
def test_the_demo_refuses_a_folder_it_did_not_make_in_the_users_language(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, language: str, expected: str
) -> None:
    (tmp_path / CONFIG_NAME).write_text("[bot]\n", encoding="utf-8")

    assert run_demo(tmp_path, language=language) == 1

    assert capsys.readouterr().err == f"cuibao demo: {tmp_path} {expected}\n"


# ---- invitations -----------------------------------------------------------------------------


def test_a_coordinator_link_ends_with_a_footer_about_coordinators_not_deputies(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[database]\nurl = "sqlite:///cuibao.sqlite3"\n', encoding="utf-8")
    assert _run(capsys, "plan", "load", str(DAGUAN), "--config", str(config))[0] == 0
    invite = ("invite", "--config", str(config), "--campaign", CAMPAIGN, "--bot-username", "b")

    code, out, err = _run(capsys, *invite, "--coordinator")
    _, units, unit_footer = _run(capsys, *invite)

    assert code == 0
    assert len(out.splitlines()) == 1
    assert out.startswith("牵头单位\thttps://t.me/b?start=")
    assert err == (
        "以上链接 14 天内有效,只能使用一次:第一位打开者成为该活动的牵头单位工作人员。"
        "请只发给要一起管理本活动的同事。\n"
    )
    assert len(units.splitlines()) == 6
    assert "第二位为副联络员" in unit_footer
