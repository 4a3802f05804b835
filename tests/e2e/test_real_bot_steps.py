"""The README's "Running the bot for real", as a coordinator on a fresh clone does it, with
the installed `cuibao` script as a subprocess and the fake Bot API in place of Telegram
(`[bot] api_base_url`): run mode, not the demo.

The configured coordinator has never opened the bot (Telegram answers setMyCommands for
their chat with "chat not found"): the bot starts anyway, says so in one line, and sets
their menu when they first write. Each mistake of issue 12 stops `cuibao run` with one
line and exit 1, never a traceback.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import socket
import sys
from pathlib import Path

import pytest

from fakegram import FakeTelegram

ROOT = Path(__file__).resolve().parents[2]
CUIBAO = str(Path(sys.executable).with_name("cuibao"))
NEWCOMER = 700_001  # the coordinator's id, put in the config before they opened the bot
PROXIES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXIES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("CUIBAO_CONFIG", raising=False)


def _setup(folder: Path, fake: FakeTelegram, edits: dict[str, str] | None = None) -> None:
    """Step 2: `cp config.example.toml config.toml`, the coordinator's id, our Bot API."""
    shutil.copy(ROOT / "config.example.toml", folder / "config.toml")
    text = (folder / "config.toml").read_text(encoding="utf-8")
    replacements = {
        "coordinators = []": f"coordinators = [{NEWCOMER}]",
        'api_base_url = "https://api.telegram.org/bot"': f'api_base_url = "{fake.base_url}"',
        'api_file_url = "https://api.telegram.org/file/bot"': (
            f'api_file_url = "{fake.base_file_url}"'
        ),
        **(edits or {}),
    }
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new)
    (folder / "config.toml").write_text(text, encoding="utf-8")


async def _cuibao(folder: Path, token: str, *argv: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        CUIBAO,
        *argv,
        cwd=folder,
        env=_env(token),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def _env(token: str) -> dict[str, str]:
    import os

    return {
        **{k: v for k, v in os.environ.items() if k not in PROXIES},
        "TELEGRAM_BOT_TOKEN": token,
    }


async def test_the_readme_steps_run_the_bot_and_a_new_coordinator_gets_the_menu_on_start(
    tmp_path: Path,
) -> None:
    async with FakeTelegram() as fake:
        _setup(tmp_path, fake)
        plan = str(ROOT / "examples" / "plans" / "daguan-2017-anticounterfeit.toml")
        code, out, err = await _cuibao(tmp_path, fake.token, "plan", "load", plan)
        assert (code, "Traceback" in err) == (0, False), err

        process = await asyncio.create_subprocess_exec(
            CUIBAO,
            "run",
            cwd=tmp_path,
            env=_env(fake.token),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            # Polling started: the liaisons' menu is set, the coordinator's could not be.
            await _polling(fake)
            coordinator_scope = {"type": "chat", "chat_id": NEWCOMER}
            assert fake.commands(coordinator_scope) == []

            fake.add_user(NEWCOMER, "王协调")
            fake.send_command(NEWCOMER, "start")
            menu = await fake.wait_until(
                lambda: fake.commands(coordinator_scope), 10.0, describe="the coordinator's menu"
            )
            assert [c["command"] for c in menu][:3] == ["status", "missing", "remind"]
            await fake.wait_until(lambda: fake.sent(NEWCOMER), 10.0)
        finally:
            process.send_signal(signal.SIGINT)
            _, err_bytes = await asyncio.wait_for(process.communicate(), 60)
        log = err_bytes.decode()
        assert "Traceback" not in log, log
        said = [
            line for line in log.splitlines() if f"协调人 {NEWCOMER} 还没有打开过本机器人" in line
        ]
        assert len(said) == 1, log
        assert "请让其先向机器人发送 /start" in said[0]

        code, out, err = await _cuibao(
            tmp_path, fake.token, "invite", "--campaign", "daguan-2017-anticounterfeit"
        )
        assert (code, out.count("https://t.me/cuibao_test_bot?start=")) == (0, 6), err


async def _polling(fake: FakeTelegram) -> None:
    """Wait until the bot has started (post_init done) and asks for updates."""
    for _ in range(1200):
        if fake.stats.calls["getUpdates"]:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("cuibao run never started polling")


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


MISTAKES = [
    pytest.param(
        {'quiet_start = "21:00"': "quiet_start = 21"},
        "reminders.quiet_start: 21 不是有效时间",
        id="bare-number-time",
    ),
    pytest.param(
        {'url = "sqlite:///cuibao.sqlite3"': 'url = "/srv/cuibao/cuibao.sqlite3"'},
        'database.url: "/srv/cuibao/cuibao.sqlite3" 是文件路径',
        id="plain-path",
    ),
    pytest.param(
        {'url = "sqlite:///cuibao.sqlite3"': 'url = "mysql://u:p@db/cuibao"'},
        "cuibao 只支持 SQLite",
        id="mysql",
    ),
    pytest.param(
        {
            'url = "sqlite:///cuibao.sqlite3"': 'url = "postgresql://cuibao:pw@127.0.0.1:{port}/cuibao"'
        },
        "无法打开数据库 postgresql://cuibao:***@127.0.0.1:{port}/cuibao",
        id="postgres-down",
    ),
    pytest.param(
        {'url = "sqlite:///cuibao.sqlite3"': 'url = "sqlite:///data/cuibao.sqlite3"'},
        "数据库所在的文件夹",
        id="missing-folder",
    ),
    pytest.param(
        {'mode = "polling"': 'mode = "webhook"'},
        '[bot] mode = "webhook" 需要',
        id="webhook-without-url",
    ),
]


@pytest.mark.parametrize(("edits", "expected"), MISTAKES)
async def test_each_setup_mistake_stops_cuibao_run_with_one_line(
    tmp_path: Path, edits: dict[str, str], expected: str
) -> None:
    port = _closed_port()
    async with FakeTelegram() as fake:
        _setup(tmp_path, fake, {k: v.format(port=port) for k, v in edits.items()})
        code, out, err = await _cuibao(tmp_path, fake.token, "run")

    assert (code, out, err.count("\n")) == (1, "", 1), err
    assert expected.format(port=port) in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]
