"""The command line's everyday mistakes: each is one line on stderr in the user's language,
exit 1, no traceback, and nothing left behind (no database, no folder).

Runs `bot.cli.main` in-process in a temporary folder; PostgreSQL "down" is a closed port.
"""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from telegram import Update
from telegram.ext import ApplicationBuilder

from bot.cli import main
from bot.cli_common import parse_now
from bot.webhook import webhook_app
from conversation.i18n import Catalogue

ROOT = Path(__file__).resolve().parents[2]
DAGUAN = ROOT / "examples" / "plans" / "daguan-2017-anticounterfeit.toml"
QINGXI = ROOT / "examples" / "plans" / "qingxi-2018-anticounterfeit.toml"
CAMPAIGN = "daguan-2017-anticounterfeit"


@pytest.fixture(autouse=True)
def _in_a_fresh_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CUIBAO_CONFIG", raising=False)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)


def _one_line(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    assert err.count("\n") == 1 and "Traceback" not in err
    return err.strip()


def _config(tmp_path: Path, text: str) -> str:
    config = tmp_path / "config.toml"
    config.write_text(text, encoding="utf-8")
    return str(config)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -------------------------------------------------------------------- the database


def test_a_plain_path_as_database_url_is_refused_saying_how_to_write_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = _config(tmp_path, '[database]\nurl = "/var/lib/cuibao/cuibao.sqlite3"\n')

    line = _one_line(capsys, "db", "upgrade", "--config", config)

    assert line == (
        f'配置文件有误:{config}: database.url: "/var/lib/cuibao/cuibao.sqlite3" '
        '是文件路径,不是数据库地址:SQLite 请写成 url = "sqlite:///路径"'
        '(如 "sqlite:///cuibao.sqlite3"),PostgreSQL 写成 '
        '"postgresql://用户:密码@主机:5432/库名"'
    )


def test_a_mysql_url_is_refused_naming_the_databases_cuibao_runs_on(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = _config(tmp_path, '[database]\nurl = "mysql://cuibao:pw@db/cuibao"\n')

    line = _one_line(capsys, "plan", "load", str(DAGUAN), "--config", config, "--lang", "en")

    assert line == (
        f'configuration error: {config}: database.url: "mysql://cuibao:pw@db/cuibao"'
        ': cuibao runs on SQLite ("sqlite:///cuibao.sqlite3") and PostgreSQL '
        '("postgresql://USER:PASSWORD@HOST:5432/DATABASE") only'
    )


@pytest.mark.parametrize(
    "command",
    [
        ("db", "upgrade"),
        ("plan", "load", str(DAGUAN)),
        ("invite", "--campaign", CAMPAIGN, "--bot-username", "b"),
        ("export", "--campaign", CAMPAIGN),
    ],
)
def test_postgresql_out_of_reach_is_one_line_naming_the_key_and_hiding_the_password(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: tuple[str, ...]
) -> None:
    port = _closed_port()
    config = _config(
        tmp_path, f'[database]\nurl = "postgresql://cuibao:s3cret@127.0.0.1:{port}/cuibao"\n'
    )

    line = _one_line(capsys, *command, "--config", config)

    assert line.startswith(
        f"无法打开数据库 postgresql://cuibao:***@127.0.0.1:{port}/cuibao(配置项 [database] url):"
    )
    assert "请确认数据库服务已启动" in line and "s3cret" not in line


@pytest.mark.parametrize("command", [("db", "upgrade"), ("plan", "load", str(DAGUAN))])
def test_a_sqlite_file_in_a_folder_that_does_not_exist_is_refused_and_no_folder_is_made(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: tuple[str, ...]
) -> None:
    config = _config(tmp_path, '[database]\nurl = "sqlite:///data/cuibao.sqlite3"\n')

    line = _one_line(capsys, *command, "--config", config)

    assert line == (
        f"数据库所在的文件夹 {tmp_path / 'data'} 不存在(配置项 [database] url = "
        '"sqlite:///data/cuibao.sqlite3"):请检查路径是否写错,或先创建该文件夹。'
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]


@pytest.mark.parametrize(
    "command",
    [
        ("invite", "--campaign", CAMPAIGN, "--bot-username", "cuibao_bot"),
        ("export", "--campaign", CAMPAIGN),
    ],
)
def test_a_read_only_command_in_the_wrong_folder_creates_no_database(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: tuple[str, ...]
) -> None:
    line = _one_line(capsys, *command)

    assert line == (
        f"没有数据库 {tmp_path / 'cuibao.sqlite3'}:先用 cuibao plan load 载入计划;"
        "若机器人的数据在别处,请用 --config 指向它的配置文件。"
    )
    assert list(tmp_path.iterdir()) == []


def test_plan_load_and_db_upgrade_may_create_the_database(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["plan", "load", str(DAGUAN)]) == 0
    assert (tmp_path / "cuibao.sqlite3").is_file()
    capsys.readouterr()

    assert main(["invite", "--campaign", CAMPAIGN, "--bot-username", "cuibao_bot"]) == 0
    assert capsys.readouterr().out.count("https://t.me/cuibao_bot?start=") == 6


# -------------------------------------------------------------------- the config file


def _relative_due(*argv: str) -> str:
    """The due time of Qingxi's "5 working days after the plan was issued" deadline."""
    due: str = next(
        d["due"] for d in json.loads(_stdout(*argv))["deadlines"] if d["obligation"] == "work-plan"
    )
    return due


def _stdout(*argv: str) -> str:
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert main(list(argv)) == 0
    return buffer.getvalue()


@pytest.mark.parametrize("how", ["local", "environment", "option"])
def test_plan_check_reads_the_config_the_way_every_command_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    check = ("plan", "check", str(QINGXI), "--json", "--now", "2018-06-01T00:00")
    plain = _relative_due(*check)
    # A working day inside the five, declared a holiday: the deadline moves one day on.
    holiday = "[calendar]\nholidays = [2018-04-09]\n"
    if how == "local":
        (tmp_path / "config.toml").write_text(holiday, encoding="utf-8")
        argv: tuple[str, ...] = check
    else:
        other = tmp_path / "elsewhere"
        other.mkdir()
        (other / "c.toml").write_text(holiday, encoding="utf-8")
        if how == "environment":
            monkeypatch.setenv("CUIBAO_CONFIG", str(other / "c.toml"))
            argv = check
        else:
            argv = (*check, "--config", str(other / "c.toml"))

    assert (plain, _relative_due(*argv)) == (
        "2018-04-10T17:30:00+08:00",
        "2018-04-11T17:30:00+08:00",
    )


# -------------------------------------------------------------------- --now and argparse


def test_now_without_an_offset_is_wall_clock_time_in_the_campaigns_zone() -> None:
    catalogue = Catalogue()

    assert parse_now("2016-12-15T15:30", "Asia/Shanghai", catalogue) == datetime(
        2016, 12, 15, 7, 30, tzinfo=UTC
    )
    assert parse_now("2016-12-15T15:30+08:00", "Europe/Paris", catalogue) == datetime(
        2016, 12, 15, 7, 30, tzinfo=UTC
    )


def test_an_export_as_of_a_naive_time_equals_the_one_with_the_campaigns_offset(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from openpyxl import load_workbook

    assert main(["plan", "load", str(DAGUAN)]) == 0
    for name, now in (
        ("naive", "2016-12-15T15:30"),
        ("offset", "2016-12-15T15:30+08:00"),
        ("utc", "2016-12-15T15:30+00:00"),
    ):
        assert main(["export", "--campaign", CAMPAIGN, "--out", f"{name}.xlsx", "--now", now]) == 0
    capsys.readouterr()

    def cells(name: str) -> list[object]:
        book = load_workbook(tmp_path / f"{name}.xlsx")
        return [v for sheet in book for row in sheet.iter_rows(values_only=True) for v in row]

    assert cells("naive") == cells("offset")
    assert cells("naive") != cells("utc")  # 23:30 in Beijing: the weekly report is overdue


def test_a_bad_now_is_one_line_in_the_users_language(capsys: pytest.CaptureFixture[str]) -> None:
    line = _one_line(capsys, "plan", "check", str(DAGUAN), "--now", "yesterday")

    assert line.startswith('--now:"yesterday" 不是有效的日期时间')


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["invite"], "cuibao invite:缺少必需的参数:--campaign(用 cuibao invite --help 查看用法)"),
        (
            ["invite", "--lang", "en"],
            "cuibao invite: missing required arguments: --campaign (see cuibao invite --help)",
        ),
        (["run", "--verbose"], "cuibao:无法识别的参数:--verbose(用 cuibao --help 查看用法)"),
        (
            ["--lang", "fr", "run"],
            "cuibao:参数 --lang 的值 'fr' 无效(可选:'zh-CN', 'en')(用 cuibao --help 查看用法)",
        ),
    ],
)
def test_a_usage_error_is_one_localized_line_and_exit_code_1(
    capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    assert _one_line(capsys, *argv) == expected


def test_an_unknown_command_is_one_localized_line_listing_the_commands(
    capsys: pytest.CaptureFixture[str],
) -> None:
    line = _one_line(capsys, "serve")

    assert line.startswith("cuibao:无效的选项 'serve'(可选:'plan', 'run', 'invite', ")
    assert line.endswith(")(用 cuibao --help 查看用法)")


def test_the_help_is_in_chinese_unless_english_is_asked_for(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as done:
        main(["invite", "--help"])
    chinese = capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["invite", "--help", "--lang", "en"])
    english = capsys.readouterr().out

    assert done.value.code == 0
    assert chinese.startswith("用法:cuibao invite [-h]")
    assert "  -h, --help            显示本帮助并退出\n" in chinese
    assert "--campaign CAMPAIGN   活动编号" in chinese
    assert "options:" not in chinese and "usage:" not in chinese
    assert english.startswith("usage: cuibao invite [-h]") and "the campaign id" in english


def test_version_and_a_command_group_alone(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--version"])
    version = capsys.readouterr().out
    assert main(["plan"]) == 0
    plan_help = capsys.readouterr().out

    assert version.startswith("cuibao ") and version.strip() != "cuibao"
    assert plan_help.startswith("用法:cuibao plan [-h] {check,load,extract} ...")
    assert "检查计划文件并列出其全部截止时间" in plan_help


# -------------------------------------------------------------------- webhook


@pytest.mark.parametrize("path", ["/tg", "/cuibao/tg/", "/"])
async def test_the_webhook_server_takes_updates_on_the_public_url_s_path_or_any_other(
    path: str,
) -> None:
    app = ApplicationBuilder().token("123:abc").updater(None).build()
    update = {
        "update_id": 7,
        "message": {
            "message_id": 1,
            "date": 0,
            "text": "hi",
            "chat": {"id": 5, "type": "private"},
        },
    }
    async with TestClient(TestServer(webhook_app(app, None))) as client:
        response = await client.post(path, json=update)

    assert response.status == 200
    queued = app.update_queue.get_nowait()
    assert isinstance(queued, Update) and queued.update_id == 7


@pytest.mark.parametrize("url", ["", "http://bot.example.gov.cn/tg", "bot.example.gov.cn/tg"])
def test_webhook_mode_without_a_public_https_url_is_refused_at_start(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    config = _config(tmp_path, f'[bot]\nmode = "webhook"\nwebhook_url = "{url}"\n')

    line = _one_line(capsys, "run", "--config", config)

    assert line.startswith('[bot] mode = "webhook" 需要在 [bot] webhook_url 中填写')
    assert f'而不是 "{url}"' in line


def test_a_role_on_sqlite_is_refused_in_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    config = _config(tmp_path, "")

    line = _one_line(capsys, "run", "--role", "worker", "--config", config)

    assert line.startswith("--role worker 需要多个进程共用一个 PostgreSQL 数据库")
    assert "sqlite" in line


def test_a_role_without_webhook_mode_is_refused_in_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    config = _config(tmp_path, '[database]\nurl = "postgresql://postgres@127.0.0.1:1/x"\n')

    line = _one_line(capsys, "run", "--role", "all", "--config", config)

    assert line.startswith("--role all 需要 webhook 模式")


async def test_an_update_the_queue_cannot_store_is_not_acknowledged() -> None:
    app = ApplicationBuilder().token("123:abc").updater(None).build()

    async def unavailable(_data: dict[str, object], _update: Update) -> None:
        raise ConnectionError("database away")

    update = {
        "update_id": 8,
        "message": {
            "message_id": 1,
            "date": 0,
            "text": "hi",
            "chat": {"id": 5, "type": "private"},
        },
    }
    async with TestClient(TestServer(webhook_app(app, None, unavailable))) as client:
        response = await client.post("/tg", json=update)

    assert response.status == 500  # Telegram delivers it again later
