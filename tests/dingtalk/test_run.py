"""`cuibao run` with a `[dingtalk]` app and no Telegram token serves DingTalk alone: it
connects in Stream mode, answers people, and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from bot.cli import main
from fakedingtalk import FakeDingTalk

ROOT = Path(__file__).resolve().parents[2]
DAGUAN = ROOT / "examples" / "plans" / "daguan-2017-anticounterfeit.toml"


async def test_cuibao_run_serves_dingtalk_alone_and_stops_on_sigterm(tmp_path: Path) -> None:
    async with FakeDingTalk() as fake:
        config = tmp_path / "config.toml"
        config.write_text(
            f'[database]\nurl = "sqlite:///{tmp_path / "db.sqlite3"}"\n\n'
            f'[dingtalk]\nclient_id = "{fake.client_id}"\ncoordinators = ["boss"]\n'
            f'api_base_url = "{fake.base_url}"\noapi_base_url = "{fake.base_url}"\n',
            encoding="utf-8",
        )
        assert (
            await asyncio.to_thread(main, ["plan", "load", str(DAGUAN), "--config", str(config)])
            == 0
        )
        env = {
            **os.environ,
            "DINGTALK_CLIENT_SECRET": fake.client_secret,
            "TELEGRAM_BOT_TOKEN": "",
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            "--config",
            str(config),
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            await fake.wait_until(lambda: fake.connected, 30.0)
            fake.add_user("stranger", "路人")
            await fake.user_sends_text("stranger", "帮助")
            await fake.wait_until(lambda: fake.to("stranger"), 15.0)
            assert fake.to("stranger")[0].text.startswith("您好!本机器人仅供受邀的联络员")
            await fake.user_sends_text("boss", "帮助")
            await fake.wait_until(lambda: len(fake.to("boss")) >= 3, 15.0)
            assert "常用功能" in fake.to("boss")[-1].text
        finally:
            process.send_signal(signal.SIGTERM)
            _out, err = await asyncio.wait_for(process.communicate(), 20.0)
        assert process.returncode == 0, err.decode()[-2000:]


def test_a_dingtalk_app_without_its_secret_is_one_line_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[dingtalk]\nclient_id = "dingabc"\n', encoding="utf-8")
    monkeypatch.delenv("DINGTALK_CLIENT_SECRET", raising=False)
    assert main(["run", "--config", str(config)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        (
            "已配置 [dingtalk] client_id,但没有设置环境变量 DINGTALK_CLIENT_SECRET"
            "(应用的 Client Secret)。"
        )
    ]
