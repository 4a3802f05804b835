"""A mixed deployment on one database: one process serves Telegram and two serve DingTalk,
all three sending the same campaign's nudges at once. Half the units' liaisons are on
Telegram, half on DingTalk; what the fakes received is counted, not the sent-log: every
liaison gets each deadline's nudge exactly once, on their own platform."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from sqlalchemy import select

from fakedingtalk import FakeDingTalk
from fakegram import FakeTelegram
from storage import models as m
from tests.e2e.reminders_worker import NOW, bind_people, bulk_plan
from tests.storage.conftest import Target

ROOT = Path(__file__).resolve().parents[2]
UNITS = 60


async def _seed(target: Target, telegram: list[int], dingtalk: list[str]) -> None:
    from domain.plan_toml import parse_plan
    from services.plans import load_plan

    text = bulk_plan(UNITS)
    async with target.open() as db:
        await load_plan(db.sessions, parse_plan(text, "bulk.toml"), "bulk.toml", text, NOW)
        seats = [("telegram", str(t)) for t in telegram] + [("dingtalk", d) for d in dingtalk]
        await bind_people(db, [[(platform, who, "liaison")] for platform, who in seats])


async def _start(target: Target, *args: str) -> asyncio.subprocess.Process:
    command = [sys.executable, "-m", "tests.e2e.reminders_worker", *args, "--db", target.url]
    if target.schema:
        command += ["--schema", target.schema]
    return await asyncio.create_subprocess_exec(
        *command,
        "--now",
        NOW.isoformat(),
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


async def test_telegram_and_dingtalk_processes_on_one_database_nudge_everyone_once(
    target: Target, tmp_path: Path
) -> None:
    async with FakeTelegram() as telegram, FakeDingTalk() as dingtalk:
        chats = [u.id for u in telegram.add_users(UNITS // 2)]
        staff = [f"staff{i:03d}" for i in range(UNITS // 2)]
        for user in staff:
            dingtalk.add_user(user, user)
        await _seed(target, chats, staff)

        processes = [
            await _start(
                target,
                "bot",
                "--base-url",
                telegram.base_url,
                "--file-url",
                telegram.base_file_url,
                "--token",
                telegram.token,
            ),
            *[
                await _start(
                    target,
                    "dingtalk",
                    "--base-url",
                    dingtalk.base_url,
                    "--client-id",
                    dingtalk.client_id,
                    "--secret",
                    dingtalk.client_secret,
                    "--files",
                    str(tmp_path / f"files{i}"),
                )
                for i in range(2)
            ],
        ]

        def on_telegram() -> Counter[tuple[int, str]]:
            return Counter(
                (chat, sent.buttons[0]["callback_data"])
                for chat in chats
                for sent in telegram.sent(chat)
                if sent.buttons
            )

        def on_dingtalk() -> Counter[tuple[str, str]]:
            return Counter((s.user, s.text.splitlines()[0]) for s in dingtalk.sent)

        waited = ""
        try:
            await telegram.wait_until(
                lambda: len(on_telegram()) == UNITS, 60.0, describe="Telegram nudges"
            )
            await dingtalk.wait_until(lambda: len(on_dingtalk()) == UNITS, 60.0)
            await asyncio.sleep(3)  # long enough for a duplicate to show
        except TimeoutError:
            waited = (
                f"timed out: {len(on_telegram())} on Telegram, {len(on_dingtalk())} on DingTalk"
            )
        finally:
            for p in processes:
                p.terminate()
            outcomes = [await p.communicate() for p in processes]
        errors = [err.decode()[-2000:] for _out, err in outcomes]
        assert not waited, (waited, errors)
        assert [p.returncode for p in processes] == [0, 0, 0], errors

        assert set(on_telegram().values()) == {1} and len(on_telegram()) == UNITS
        assert set(on_dingtalk().values()) == {1} and len(on_dingtalk()) == UNITS
        assert {s.user for s in dingtalk.sent} == set(staff)
        assert not any(s.user.isdigit() for s in dingtalk.sent)  # no Telegram id on DingTalk
        async with target.open(migrate=False) as db, db.sessions() as s:
            statuses = (await s.scalars(select(m.SentReminder.status))).all()
        assert statuses == ["sent"] * (2 * UNITS)
