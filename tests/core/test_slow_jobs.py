"""Slow jobs as the core runs them (conversation.slow): plain data there and back, done in
a turn opened again for their person, their failures told to that person."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from conversation import slow_jobs
from conversation.replies import Sent
from conversation.slow import SlowJob
from conversation.slow_jobs import KINDS, InProcess, NotServed
from conversation.turn import Turn
from tests.core.memory import PLAIN, memory_platform

ROOT = Path(__file__).resolve().parents[2]
DAGUAN = ROOT / "examples" / "plans" / "daguan-2017-anticounterfeit.toml"
NOW = datetime(2016, 12, 14, 2, 0, tzinfo=UTC)
COORDINATOR, STRANGER = 900_001, 4242
NONE_FOUND = "这份通知中没有找到带时限的报送要求。可以手工编写方案文件(.toml)后发送给我。"
WORKING = (
    "正在生成“2017年元旦春节期间打假专项行动”汇总报表…… 完成后发给您,其间可以继续使用其他功能。"
)


def test_a_slow_job_comes_back_from_json_as_it_went_in() -> None:
    job = SlowJob(
        "notice",
        "dingtalk",
        "manager0001",
        "王协调",
        7,
        ("daguan",),
        {"b64": "5LiA", "name": "通知.txt", "stem": "通知"},
        "42",
        "正在读取通知……",
        exclusive=True,
        queued=True,
    )

    assert SlowJob.from_json(json.loads(json.dumps(job.to_json()))) == job


async def test_an_export_job_run_for_someone_without_the_right_sends_no_workbook(
    tmp_path: Path,
) -> None:
    """Rights are checked when the job runs, not only when it was asked for (a
    coordinator removed meanwhile gets no workbook)."""
    async with memory_platform(tmp_path, NOW, DAGUAN, COORDINATOR) as platform:
        assert platform.services is not None
        chat = platform.chat(STRANGER)
        job = SlowJob("export", "telegram", str(STRANGER), "路人", 99, ("daguan",))

        await slow_jobs.run(job, platform.services.reaches)

        assert [m.document for m in chat.messages] == [None] * len(chat.messages)
        assert chat.messages[-1].text == "此功能仅供牵头单位使用。"


async def test_a_job_that_fails_tells_its_person_on_a_platform_without_edits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def fails(t: Turn, job: SlowJob, progress: Sent | None) -> None:
        raise RuntimeError("the disk is full")

    monkeypatch.setitem(KINDS, "export", fails)
    async with memory_platform(tmp_path, NOW, DAGUAN, COORDINATOR, capabilities=PLAIN) as platform:
        sent = await platform.command(COORDINATOR, "export")

    assert [m.text for m in sent] == [
        WORKING,
        "抱歉,处理时出错了,请稍后再试。已提交的内容不受影响。",
    ]
    assert any(
        r.levelno == logging.ERROR and "slow job (export) failed" in r.getMessage()
        for r in caplog.records
    )


async def test_a_job_for_a_platform_this_process_does_not_serve_is_not_taken(
    tmp_path: Path,
) -> None:
    async with memory_platform(tmp_path, NOW, DAGUAN, COORDINATOR) as platform:
        assert platform.services is not None
        job = SlowJob("export", "dingtalk", "manager0001", "王协调", 1)

        with pytest.raises(NotServed):
            await slow_jobs.run(job, platform.services.reaches)


async def test_with_one_slot_a_second_job_waits_behind_the_first_and_both_are_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = asyncio.Event()

    async def waits(t: Turn, job: SlowJob, progress: Sent | None) -> None:
        await gate.wait()
        await t.say(f"done {job.args[0]}")

    monkeypatch.setitem(KINDS, "wait", waits)
    async with memory_platform(tmp_path, NOW, DAGUAN, COORDINATOR) as platform:
        assert platform.services is not None
        slow = InProcess(platform.services.reaches, platform.spawn, capacity=1)
        await slow.submit(SlowJob("wait", "telegram", str(COORDINATOR), "王协调", 1, ("a",)))
        first = (await slow.busy(1), await slow.busy(2), await slow.ahead())
        await slow.submit(SlowJob("wait", "telegram", str(STRANGER), "路人", 2, ("b",)))
        second = await slow.ahead()
        gate.set()
        await platform.tasks_done()

        assert first == (True, False, 1)
        assert second == 2
        assert slow.running == 0 and not await slow.busy(1)
        assert platform.chat(COORDINATOR).messages[-1].text == "done a"
        assert platform.chat(STRANGER).messages[-1].text == "done b"


async def test_a_notice_without_deadlines_ends_its_progress_message_saying_so(
    tmp_path: Path,
) -> None:
    async with memory_platform(tmp_path, NOW, DAGUAN, COORDINATOR) as platform:
        notice = "今天天气很好。".encode()
        sent = await platform.file(COORDINATOR, notice, "随便.txt", "text/plain")

    assert [m.text for m in sent] == [NONE_FOUND]
