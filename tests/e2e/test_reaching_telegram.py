"""When Telegram cannot be reached, or refuses the token, `cuibao invite` and `cuibao run`
stop with one line on stderr, in the user's language, and exit 1: no traceback.

"Unreachable" is a closed port on 127.0.0.1 (no internet needed); a refused token is the
fake Bot API answering 401 to a token it does not know.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from fakegram import FakeTelegram

ROOT = Path(__file__).resolve().parents[2]
CAMPAIGN = "daguan-2017-anticounterfeit"
PROXIES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _config(tmp_path: Path, api: str) -> Path:
    """A config whose database exists (`invite` refuses to create one)."""
    config = tmp_path / "config.toml"
    config.write_text(
        f'[bot]\napi_base_url = "{api}"\n\n[database]\nurl = "sqlite:///cuibao.sqlite3"\n',
        encoding="utf-8",
    )
    assert main(["db", "upgrade", "--config", str(config)]) == 0
    return config


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXIES:  # a proxy in the test machine's environment would answer instead
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "zh-CN",
            (
                "无法连接 Telegram(http://127.0.0.1:{port}):请检查网络。在中国大陆通常需要代理:"
                "设置环境变量 HTTPS_PROXY(如 HTTPS_PROXY=http://127.0.0.1:7890),或在配置文件 "
                "[bot] api_base_url 中填写自建 Bot API 服务器的地址。\n"
            ),
        ),
        (
            "en",
            (
                "cannot reach Telegram at http://127.0.0.1:{port}: check the network. "
                "Where Telegram is blocked, set a proxy in HTTPS_PROXY "
                "(e.g. HTTPS_PROXY=http://127.0.0.1:7890), or "
                "point [bot] api_base_url in the config at a self-hosted Bot API server.\n"
            ),
        ),
    ],
)
def test_invite_without_a_route_to_telegram_says_so_in_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, language: str, expected: str
) -> None:
    port = _closed_port()
    config = _config(tmp_path, f"http://127.0.0.1:{port}/bot")

    capsys.readouterr()

    code = main(["invite", "--config", str(config), "--campaign", CAMPAIGN, "--lang", language])

    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    assert err == expected.format(port=port)


def test_run_without_a_route_to_telegram_ends_with_the_same_one_line(tmp_path: Path) -> None:
    port = _closed_port()
    config = _config(tmp_path, f"http://127.0.0.1:{port}/bot")
    env = {k: v for k, v in os.environ.items() if k not in PROXIES}

    run = subprocess.run(
        [sys.executable, "-m", "bot", "run", "--config", str(config)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )

    assert (run.returncode, run.stdout) == (1, "")
    assert run.stderr.splitlines() == [
        (
            f"无法连接 Telegram(http://127.0.0.1:{port}):请检查网络。在中国大陆通常需要代理:"
            "设置环境变量 HTTPS_PROXY(如 HTTPS_PROXY=http://127.0.0.1:7890),或在配置文件 "
            "[bot] api_base_url 中填写自建 Bot API 服务器的地址。"
        )
    ]


async def test_a_token_telegram_refuses_is_one_line_naming_the_token_variable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with FakeTelegram() as fake:  # knows its own token only, so 123:abc gets a 401
        config = await asyncio.to_thread(_config, tmp_path, fake.base_url)
        capsys.readouterr()
        # The CLI runs its own event loop: give it a thread while this one serves the fake.
        code = await asyncio.to_thread(
            main, ["invite", "--config", str(config), "--campaign", CAMPAIGN]
        )

    out, err = capsys.readouterr()
    origin = fake.base_url.removesuffix("/bot")
    assert (code, out) == (1, "")
    assert err == (
        f"{origin} 拒绝了机器人令牌:请核对环境变量 TELEGRAM_BOT_TOKEN 与 @BotFather "
        "给出的令牌完全一致(使用自建 Bot API 服务器时,也请核对 [bot] api_base_url)。\n"
    )
