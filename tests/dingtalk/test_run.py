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


async def _seat(db_url: str, people: list[tuple[str, str, str]]) -> None:
    """Seat (platform, external id, unit code) as liaisons of the Daguan campaign."""
    from datetime import UTC, datetime

    from sqlalchemy import select

    from storage import models as m
    from storage.database import Database

    now = datetime(2016, 12, 1, tzinfo=UTC)
    async with Database.open(db_url) as db, db.sessions.begin() as s:
        campaign = await s.scalar(select(m.Campaign))
        assert campaign is not None
        rows = await s.execute(
            select(m.Unit.code, m.Unit.id).where(m.Unit.campaign_id == campaign.id)
        )
        units = dict(rows.all())
        for platform, external_id, unit in people:
            person = m.Person(
                platform=platform,
                external_id=external_id,
                display_name=external_id,
                created_at=now,
            )
            s.add(person)
            await s.flush()
            s.add(
                m.Membership(
                    campaign_id=campaign.id,
                    person_id=person.id,
                    unit_id=units[unit],
                    role="liaison",
                    created_at=now,
                )
            )


async def test_one_process_serving_both_platforms_nudges_each_liaison_on_their_own(
    tmp_path: Path,
) -> None:
    from fakegram import FakeTelegram

    async with FakeDingTalk() as fake, FakeTelegram() as telegram:
        [liaison] = telegram.add_users(1)
        db_url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
        config = tmp_path / "config.toml"
        config.write_text(
            f'[database]\nurl = "{db_url}"\n\n'
            f'[bot]\napi_base_url = "{telegram.base_url}"\n'
            f'api_file_url = "{telegram.base_file_url}"\n\n'
            "[reminders]\nenabled = false\n\n"
            f'[dingtalk]\nclient_id = "{fake.client_id}"\ncoordinators = ["boss"]\n'
            f'api_base_url = "{fake.base_url}"\noapi_base_url = "{fake.base_url}"\n',
            encoding="utf-8",
        )
        assert (
            await asyncio.to_thread(main, ["plan", "load", str(DAGUAN), "--config", str(config)])
            == 0
        )
        await _seat(
            db_url, [("telegram", str(liaison.id), "dekuan"), ("dingtalk", "ym01", "yulin")]
        )
        env = {
            **os.environ,
            "DINGTALK_CLIENT_SECRET": fake.client_secret,
            "TELEGRAM_BOT_TOKEN": telegram.token,
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
            # The DingTalk coordinator nudges the missing units of the latest deadline.
            await fake.user_sends_text("boss", "催报")
            confirm = await fake.wait_until(lambda: fake.to("boss"), 15.0)
            await fake.user_sends_text("boss", confirm[-1].option("确认催报"))
            await fake.wait_until(lambda: len(fake.to("boss")) >= 2, 15.0)
            await telegram.wait_until(lambda: telegram.sent(liaison.id), 15.0)
        finally:
            process.send_signal(signal.SIGTERM)
            _out, err = await asyncio.wait_for(process.communicate(), 20.0)
        assert process.returncode == 0, err.decode()[-2000:]

        assert fake.to("boss")[-1].text.startswith("已发送催报 2 条。")
        [on_telegram] = telegram.sent(liaison.id)
        assert on_telegram.content.startswith("【催报】德宽路市场监管所")
        [on_dingtalk] = fake.to("ym01")
        assert on_dingtalk.text.startswith("【催报】玉琳路市场监管所")
        assert not fake.to(str(liaison.id))  # a Telegram id never sent to on DingTalk
