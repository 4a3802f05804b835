"""A broken config file is refused in one line, in the user's language, saying what to write.

Runs `bot.cli.main` in-process (`db upgrade` reads the config first and refuses it before
touching any database); each case is a small config in a temporary folder.
"""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import _PYDANTIC_CODES, _TOML_CODES, ConfigError, load_settings
from conversation.i18n import LANGUAGES, _messages


def _refusal(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    text: str,
    *options: str,
    command: tuple[str, ...] = ("db", "upgrade"),
) -> str:
    config = tmp_path / "c.toml"
    config.write_text(text, encoding="utf-8")

    code = main([*command, "--config", str(config), *options])

    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    assert err.count("\n") == 1
    return err.strip().replace(str(config), "c.toml")


def test_a_misspelt_key_is_refused_in_chinese_with_the_key_it_resembles(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    line = _refusal(capsys, tmp_path, "[bot]\ncoordinator = [1]\n")

    assert line == (
        "配置文件有误:c.toml: bot.coordinator: 无法识别的配置项(是想写 coordinators 吗?)"
    )


def test_a_key_like_no_other_is_refused_with_the_keys_allowed_there(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    line = _refusal(capsys, tmp_path, '[database]\npassword = "x"\n', "--lang", "en")

    assert (
        line == "configuration error: c.toml: database.password: unknown key (a typo? "
        "allowed here: url)"
    )


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "zh-CN",
            [
                'bot.coordinators[0]: "@wang" 不是 Telegram 用户 ID',
                "不能填 @用户名",
                "@userinfobot",
                "cuibao invite --campaign 活动编号 --coordinator",
            ],
        ),
        (
            "en",
            [
                'bot.coordinators[0]: "@wang" is not a Telegram user id',
                "not @usernames",
                "@userinfobot",
                "cuibao invite --campaign CAMPAIGN --coordinator",
            ],
        ),
    ],
)
def test_a_username_among_the_coordinators_is_refused_saying_how_to_find_the_numeric_id(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, language: str, expected: list[str]
) -> None:
    line = _refusal(capsys, tmp_path, '[bot]\ncoordinators = ["@wang"]\n', "--lang", language)

    assert [part for part in expected if part not in line] == []
    assert "Input should" not in line


# (config text, the line after "配置文件有误:c.toml: ", the same in English)
CASES = [
    pytest.param(
        '[reminders]\ndigest_at = "8"\n',
        'reminders.digest_at: "8" 不是有效时间:应写作带引号的 "HH:MM",如 "08:30";'
        '不发每日汇总请写 "off"',
        'reminders.digest_at: "8" is not a time: write "HH:MM" in quotes, e.g. '
        '"08:30", or "off" for no daily digest',
        id="time",
    ),
    pytest.param(
        '[reminders]\nquiet_start = "9pm"\n',
        'reminders.quiet_start: "9pm" 不是有效时间:应写作带引号的 "HH:MM",如 "08:30"',
        'reminders.quiet_start: "9pm" is not a time: write "HH:MM" in quotes, e.g. "08:30"',
        id="time-no-off",
    ),
    pytest.param(
        "[reminders]\nquiet_start = 21\n",
        'reminders.quiet_start: 21 不是有效时间:应写作带引号的 "HH:MM",如 "08:30"',
        'reminders.quiet_start: 21 is not a time: write "HH:MM" in quotes, e.g. "08:30"',
        id="time-bare-number",
    ),
    pytest.param(
        "[reminders]\ndigest_at = 8\n",
        'reminders.digest_at: 8 不是有效时间:应写作带引号的 "HH:MM",如 "08:30";'
        '不发每日汇总请写 "off"',
        'reminders.digest_at: 8 is not a time: write "HH:MM" in quotes, e.g. '
        '"08:30", or "off" for no daily digest',
        id="time-bare-number-digest",
    ),
    pytest.param(
        '[reminders]\nquiet_end = "08:00+08:00"\n',
        'reminders.quiet_end: "08:00+08:00" 不是有效时间:应写作带引号的 "HH:MM",如 "08:30"',
        'reminders.quiet_end: "08:00+08:00" is not a time: write "HH:MM" in quotes, e.g. "08:30"',
        id="time-with-offset",
    ),
    pytest.param(
        '[bot]\nlocal_mode = "maybe"\n',
        'bot.local_mode: 应为 true 或 false(小写,不加引号),而不是 "maybe"',
        'bot.local_mode: must be true or false (lower case, no quotes), not "maybe"',
        id="bool",
    ),
    pytest.param(
        '[bot]\ninvite_days = "two weeks"\n',
        'bot.invite_days: 应为整数(不加引号),而不是 "two weeks"',
        'bot.invite_days: must be a whole number (no quotes), not "two weeks"',
        id="integer",
    ),
    pytest.param(
        "[files]\nmax_mb = 2.5\n",
        "files.max_mb: 应为整数(不加引号),而不是 2.5",
        "files.max_mb: must be a whole number (no quotes), not 2.5",
        id="fraction",
    ),
    pytest.param(
        '[rate_limit]\noverall_per_second = "fast"\n',
        'rate_limit.overall_per_second: 应为数字(不加引号),而不是 "fast"',
        'rate_limit.overall_per_second: must be a number (no quotes), not "fast"',
        id="number",
    ),
    pytest.param(
        "[rate_limit]\noverall_per_second = 0\n",
        "rate_limit.overall_per_second: 应大于 0,而不是 0",
        "rate_limit.overall_per_second: must be greater than 0, not 0",
        id="gt",
    ),
    pytest.param(
        "[bot]\ninvite_days = 0\n",
        "bot.invite_days: 不能小于 1(现为 0)",
        "bot.invite_days: must be at least 1, not 0",
        id="ge",
    ),
    pytest.param(
        "[reminders]\nmax_attempts = 99\n",
        "reminders.max_attempts: 不能大于 20(现为 99)",
        "reminders.max_attempts: must be at most 20, not 99",
        id="le",
    ),
    pytest.param(
        '[bot]\nmode = "poll"\n',
        'bot.mode: "poll" 不是允许的取值(可选:"polling", "webhook")',
        'bot.mode: "poll" is not allowed (choose one of: "polling", "webhook")',
        id="literal",
    ),
    pytest.param(
        '[calendar]\nholidays = ["2024-13-01"]\n',
        'calendar.holidays[0]: "2024-13-01" 不是有效日期:应写作 YYYY-MM-DD,如 2024-10-01',
        'calendar.holidays[0]: "2024-13-01" is not a date: write YYYY-MM-DD, e.g. 2024-10-01',
        id="date",
    ),
    pytest.param(
        "[bot]\ncoordinators = 123\n",
        "bot.coordinators: 应为方括号括起的列表,如 [1, 2],而不是 123",
        "bot.coordinators: must be a list in square brackets, e.g. [1, 2], not 123",
        id="array",
    ),
    pytest.param(
        'bot = "x"\n',
        'bot: 应为单独的一节(如 [bot]),而不是一个值 "x"',
        'bot: must be a section of its own (such as [bot]), not a single value "x"',
        id="table",
    ),
    pytest.param(
        "[reminder]\nenabled = false\n",
        "reminder: 无法识别的配置项(是想写 reminders 吗?)",
        "reminder: unknown key (did you mean reminders?)",
        id="section",
    ),
    pytest.param(
        '[bot]\ntoken = "123:abc"\n',
        "bot.token: 令牌等密钥不能写在配置文件里,请改用环境变量 TELEGRAM_BOT_TOKEN",
        "bot.token: secrets never go in the config file: set the environment "
        "variable TELEGRAM_BOT_TOKEN instead",
        id="secret",
    ),
    pytest.param(
        'token = "123:abc"\n',
        "token: 令牌等密钥不能写在配置文件里,请改用环境变量 TELEGRAM_BOT_TOKEN",
        "token: secrets never go in the config file: set the environment "
        "variable TELEGRAM_BOT_TOKEN instead",
        id="secret-top-level",
    ),
    pytest.param(
        "[database]\nurl = sqlite:///x\n",
        'line 2: 值的写法不对:文字要加英文双引号,如 url = "sqlite:///cuibao.sqlite3";'
        '时间也一样,如 digest_at = "08:30"',
        "line 2: not a valid TOML value: text needs straight double quotes, e.g. "
        'url = "sqlite:///cuibao.sqlite3", and so do times, e.g. digest_at = "08:30"',
        id="toml-unquoted",
    ),
    pytest.param(
        "[bot]\n[bot]\n",
        "line 2: 重复:同一个键或表写了两次",
        "line 2: written twice: the same key or table appears more than once",
        id="toml-twice",
    ),
    pytest.param(
        '[bot]\nlanguage = "en\n',
        'line 2: 引号没有闭合(请使用英文引号 ")',
        'line 2: a string is not closed (use straight quotes ")',
        id="toml-quote",
    ),
    pytest.param(
        "[bot]\ncoordinators = [1 2]\n",
        "line 2: 列表写法不对:元素之间用英文逗号分隔,并以 ] 结束,如 [1, 2]",
        "line 2: a list is not written right: separate the items with commas and "
        "end it with ], e.g. [1, 2]",
        id="toml-array",
    ),
    pytest.param(
        "[bot]\ncoordinators = [1,\n\n",
        "line 2: 文件在此意外结束:请检查方括号和引号是否都已闭合",
        "line 2: the file ends unexpectedly: check that every bracket and quote is closed",
        id="toml-unfinished",
    ),
    pytest.param(
        "[bot\n",
        "line 1: TOML 语法错误:Expected ']' at the end of a table declaration",
        "line 1: TOML syntax error: Expected ']' at the end of a table declaration",
        id="toml-rare",
    ),
]


@pytest.mark.parametrize(("text", "chinese", "english"), CASES)
def test_each_common_mistake_is_named_with_its_key_path_in_both_languages(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, chinese: str, english: str
) -> None:
    zh = _refusal(capsys, tmp_path, text)
    en = _refusal(capsys, tmp_path, text, "--lang", "en")

    assert zh == "配置文件有误:c.toml: " + chinese
    assert en == "configuration error: c.toml: " + english


def test_a_config_file_that_does_not_exist_is_refused_in_the_users_language(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = str(tmp_path / "confg.toml")

    assert main(["db", "upgrade", "--config", missing]) == 1
    zh = capsys.readouterr().err
    assert main(["db", "upgrade", "--config", missing, "--lang", "en"]) == 1
    en = capsys.readouterr().err

    assert zh.startswith(
        f"配置文件有误:{missing}: 找不到该文件(用 --config 或环境变量 CUIBAO_CONFIG 指定配置文件"
    )
    assert en.startswith(f"configuration error: {missing}: file not found (name the config")


def test_export_refuses_a_broken_config_in_the_same_words_as_the_other_commands(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    text = "[bot]\ncoordinator = [1]\n"
    upgrade = _refusal(capsys, tmp_path, text)

    export = _refusal(capsys, tmp_path, text, command=("export", "--campaign", "x"))

    assert export == upgrade


def test_the_exception_keeps_pydantics_words_for_logs_and_a_code_for_people(
    tmp_path: Path,
) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[reminders]\ndigest_at = "soon"\n', encoding="utf-8")

    with pytest.raises(ConfigError) as refused:
        load_settings(config, env={})

    assert (refused.value.code, refused.value.where) == ("not_time_or_off", "reminders.digest_at")
    assert refused.value.params["value"] == '"soon"'
    assert str(refused.value).startswith(f"{config}: reminders.digest_at: Input should be")


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_config_error_code_has_a_text(language: str) -> None:
    codes = {*_PYDANTIC_CODES.values(), *(code for _, code in _TOML_CODES)} | {
        "invalid",
        "file_not_found",
        "file_unreadable",
        "toml_syntax",
        "toml_unfinished",
        "unknown_key_like",
        "secret_in_file",
        "coordinator_id",
        "not_time_or_off",
    }

    missing = sorted(c for c in codes if f"config.{c}" not in _messages(language))

    assert missing == []


def test_times_are_read_as_written_with_or_without_a_leading_zero(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        '[reminders]\nquiet_start = "21:30"\nquiet_end = "8:05"\ndigest_at = 07:45:00\n',
        encoding="utf-8",
    )

    reminders = load_settings(config, env={}).reminders

    assert (reminders.quiet_start, reminders.quiet_end, reminders.digest_at) == (
        time(21, 30),
        time(8, 5),
        time(7, 45),
    )
