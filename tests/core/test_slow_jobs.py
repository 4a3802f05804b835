"""Slow jobs as the core runs them (conversation.slow): plain data there and back, done in
a turn opened again for their person, their failures told to that person."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from conversation import export, pictures, slow_jobs
from conversation.replies import Sent
from conversation.slow import SlowJob
from conversation.slow_jobs import KINDS, InProcess, NotServed
from conversation.turn import Turn
from tests.core.memory import PLAIN, Chat, MemorySent, Shown, memory_platform
from tests.core.test_campaign_day_in_memory import (
    A_LIAISON,
    UNIT_A,
    WEEKLY_3,
    invitations,
    open_weekly_3,
)

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


async def _fails(t: Turn, job: SlowJob, progress: Sent | None) -> None:
    raise RuntimeError("the disk is full")


async def test_a_job_that_fails_tells_its_person_on_a_platform_without_edits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(KINDS, "export", _fails)
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


async def test_a_job_cut_off_too_often_says_so_on_its_progress_message_in_its_language(
    tmp_path: Path,
) -> None:
    async with memory_platform(tmp_path, NOW, DAGUAN, COORDINATOR) as platform:
        assert platform.services is not None
        chat = platform.chat(COORDINATOR)
        shown = platform.post(chat, text="Building the workbook…")
        job = SlowJob(
            "export",
            "telegram",
            str(COORDINATOR),
            "王协调",
            1,
            ("daguan",),
            progress=str(shown.id),
            language="en",
        )

        await slow_jobs.run(job, platform.services.reaches, give_up=True)

        assert [m.document for m in chat.messages] == [None]
        assert shown.text == (
            "This job was cut off several times (the service restarted) and could not be "
            "finished. Please send the command again."
        )


async def test_a_picture_nobody_asked_for_fails_without_a_word_to_its_person(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(KINDS, "picture", _fails)
    async with memory_platform(tmp_path, NOW, DAGUAN, COORDINATOR) as platform:
        assert platform.services is not None
        follow = pictures.after_digest(platform.services)
        await follow(1, str(COORDINATOR), None)
        await platform.tasks_done()

        assert platform.chat(COORDINATOR).messages == []
    assert any("slow job (picture) failed" in r.getMessage() for r in caplog.records)


async def test_an_export_waiting_behind_another_job_says_so_then_that_it_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate, said = asyncio.Event(), asyncio.Event()
    when_run: list[str] = []

    async def waits(t: Turn, job: SlowJob, progress: Sent | None) -> None:
        await gate.wait()

    async def exports(t: Turn, job: SlowJob, progress: Sent | None) -> None:
        assert isinstance(progress, MemorySent)
        when_run.append(progress.message.text)
        await export.finish(t, job, progress)

    monkeypatch.setitem(KINDS, "wait", waits)
    monkeypatch.setitem(KINDS, "export", exports)
    async with memory_platform(tmp_path, NOW, DAGUAN, COORDINATOR, slow_jobs=1) as platform:
        assert platform.services is not None
        post = platform.post

        def posted(chat: Chat, **content: Any) -> Shown:
            shown = post(chat, **content)
            said.set()
            return shown

        monkeypatch.setattr(platform, "post", posted)
        await platform.services.slow.submit(
            SlowJob("wait", "telegram", str(STRANGER), "路人", 999)
        )
        # The command returns once the work it started is done: it waits behind the gate.
        asking = asyncio.create_task(platform.command(COORDINATOR, "export"))
        await asyncio.wait_for(said.wait(), 30)
        waiting = platform.chat(COORDINATOR).messages[0].text
        gate.set()
        progress, workbook = await asking

    assert waiting == f"{WORKING}\n前面还有 1 项任务在排队,轮到时自动开始。"
    assert when_run == [WORKING]  # its turn came: the note is gone
    assert progress.text == "“2017年元旦春节期间打假专项行动”汇总报表已生成并发送。"
    assert workbook.document is not None and workbook.document[0].endswith(".xlsx")


async def test_a_job_leaves_the_coordinators_pending_return_waiting_for_its_reason(
    tmp_path: Path,
) -> None:
    """A 退回 waits for its reason; the picture or workbook a job sends meanwhile must
    not take it away (a command would: the job is not one)."""
    async with memory_platform(tmp_path, NOW, DAGUAN, COORDINATOR) as platform:
        assert platform.services is not None
        links = await invitations(platform)
        await platform.join(A_LIAISON, "李明", links[UNIT_A])
        [question] = await open_weekly_3(platform, A_LIAISON)
        await platform.press(A_LIAISON, question, "零报告")
        platform.clock.advance(hours=29.5)  # /review offers the deadline just passed
        [pick] = await platform.command(COORDINATOR, "review")
        await platform.press(COORDINATOR, pick, f"退回:{UNIT_A}")

        for kind in ("export", "picture"):
            job = SlowJob(kind, "telegram", str(COORDINATOR), "王协调", 1, ("daguan",))
            await slow_jobs.run(job, platform.services.reaches)
        [returned] = await platform.text(COORDINATOR, "请补报数据")

    assert returned.text == f"已退回 {UNIT_A} 的 {WEEKLY_3},已通知 1 人。"
