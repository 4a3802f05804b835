"""A plan's own `reminders` lists are checked when the plan is read (`cuibao plan check`,
`plan load`, a plan sent in the chat): a bad entry rejects the plan whole, naming the key
path of the entry and the problem. Plans already stored are read as they were accepted."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from conversation.i18n import _messages
from domain.plan_toml import PlanError, parse_plan
from domain.reminder_grammar import ERROR_CODES, parse_rules

ROOT = Path(__file__).resolve().parents[2]
DAGUAN = ROOT / "examples" / "plans" / "daguan-2017-anticounterfeit.toml"
TEXT = DAGUAN.read_text(encoding="utf-8")
WEEKLY_TIME = 'form = "stats"\ntime = "15:00"\n'  # obligations[1], the weekly report


def with_reminders(entries: str) -> str:
    assert TEXT.count(WEEKLY_TIME) == 1
    return TEXT.replace(WEEKLY_TIME, f"{WEEKLY_TIME}reminders = {entries}\n")


def test_a_good_reminders_list_is_kept_as_written() -> None:
    plan = parse_plan(with_reminders('["-1d@18:00", "0", "+2wd@10:00x3"]'), "daguan.toml")

    assert plan.obligation("weekly-report").reminders == ("-1d@18:00", "0", "+2wd@10:00x3")
    assert plan.obligation("liaison-list").reminders is None


@pytest.mark.parametrize(
    ("entries", "where", "code", "params"),
    [
        (
            '["-1wd@09:00", "3wd@09:00"]',
            "obligations[1].reminders[1]",
            "reminder_syntax",
            {"value": "3wd@09:00"},
        ),
        (
            '["-31wd@09:00"]',
            "obligations[1].reminders[0]",
            "reminder_range",
            {"value": "-31wd@09:00", "low": 1, "high": 30},
        ),
        (
            '["+1wd@09:00x11"]',
            "obligations[1].reminders[0]",
            "reminder_range",
            {"value": "+1wd@09:00x11", "low": 1, "high": 10},
        ),
        (
            '["0", "+1wd@24:00"]',
            "obligations[1].reminders[1]",
            "reminder_clock",
            {"value": "+1wd@24:00"},
        ),
        ('["-3wd"]', "obligations[1].reminders[0]", "reminder_clock_missing", {"value": "-3wd"}),
        (
            '["-2h@09:00"]',
            "obligations[1].reminders[0]",
            "reminder_clock_not_allowed",
            {"value": "-2h@09:00"},
        ),
        (
            '["+2hx3"]',
            "obligations[1].reminders[0]",
            "reminder_repeat_not_allowed",
            {"value": "+2hx3"},
        ),
        (
            '["+1wd@09:00x2", "+1d@18:00"]',
            "obligations[1].reminders[1]",
            "reminder_two_series",
            {"value": "+1d@18:00"},
        ),
        (
            '["-2h", "0", "-2h"]',
            "obligations[1].reminders[2]",
            "reminder_duplicate",
            {"value": "-2h", "step": "before-2h"},
        ),
        (
            '["-2h", 0]',
            "obligations[1].reminders[1]",
            "wrong_type",
            {"expected": "string", "got": "integer"},
        ),
        (
            '"-2h"',
            "obligations[1].reminders",
            "wrong_type",
            {"expected": "array", "got": "string"},
        ),
    ],
)
def test_a_bad_reminders_entry_rejects_the_plan_naming_its_key_path(
    entries: str, where: str, code: str, params: dict[str, object]
) -> None:
    with pytest.raises(PlanError) as caught:
        parse_plan(with_reminders(entries), "daguan.toml")

    assert (caught.value.source, caught.value.where, caught.value.code) == (
        "daguan.toml",
        where,
        code,
    )
    assert caught.value.params == params


def test_a_stored_plan_with_a_bad_list_is_still_read_for_the_dispatcher_to_fall_back() -> None:
    plan = parse_plan(with_reminders('["3wd@09:00"]'), "daguan.toml", check_reminders=False)

    assert plan.obligation("weekly-report").reminders == ("3wd@09:00",)


def test_every_reminder_problem_has_a_text_in_both_languages() -> None:
    for language in ("zh-CN", "en"):
        assert {f"plan.reminder_{code}" for code in ERROR_CODES} <= set(_messages(language))


def test_the_domain_grammar_reads_the_defaults_the_scheduler_uses() -> None:
    from scheduler.nudge_policy import DEFAULTS

    for entries in DEFAULTS.values():
        assert len(parse_rules(entries)) == len(entries)


# ---- the command line -------------------------------------------------------------------


def write_plan(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "daguan.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_plan_check_rejects_a_bad_reminders_entry_in_one_chinese_line_with_its_key_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_plan(tmp_path, with_reminders('["-1wd@09:00", "-3wd"]'))

    code = main(["plan", "check", str(path), "--json"])

    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    assert err == (
        f"{path}: obligations[1].reminders[1]: “-3wd”按天计算,须写明几点提醒,例如 @09:00\n"
    )


def test_plan_check_says_it_in_english_with_lang_en(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_plan(tmp_path, with_reminders('["-99h"]'))

    code = main(["plan", "check", str(path), "--lang", "en"])

    assert code == 1
    assert capsys.readouterr().err == (
        f'{path}: obligations[1].reminders[0]: a number in "-99h" is out of range 1–72\n'
    )


def test_plan_load_rejects_the_same_plan_and_stores_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_plan(tmp_path, with_reminders('["0", "+1wd@9:00x3", "+2d@10:00"]'))
    config = tmp_path / "config.toml"
    config.write_text('[database]\nurl = "sqlite:///cuibao.sqlite3"\n', encoding="utf-8")

    code = main(["plan", "load", str(path), "--config", str(config)])

    assert code == 1
    assert capsys.readouterr().err == (
        f"{path}: obligations[1].reminders[2]: “+2d@10:00”:每个报送事项只能有一组截止后"
        "按天的提醒\n"
    )
    assert not (tmp_path / "cuibao.sqlite3").exists()
