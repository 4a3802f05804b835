"""One coordinator's big notice or export does not stall anyone else: the heavy work runs in
a worker process, within bounds, one job per coordinator at a time."""

from __future__ import annotations

import asyncio
import io
import zipfile

from docx import Document

from fakegram import ChatMessage
from handlers.context import services_of
from storage import models as m
from tests.e2e.harness import COORDINATOR, ROOT, Harness

NOTICE = ROOT / "tests" / "data" / "seeds" / "000_120f0acc1c4bbbb9.txt"
LIAISON = 2001


def _big_notice(characters: int) -> bytes:
    """A notice of about `characters` characters: real notices one after another."""
    texts = [
        p.read_text(encoding="utf-8")
        for p in sorted((ROOT / "tests" / "data" / "notices").glob("*.txt"))
    ]
    whole = "\n".join(texts)
    return (whole * (characters // len(whole) + 1))[:characters].encode("utf-8")


def _docx_of_paragraphs(count: int, text: str = "") -> bytes:
    """A small .docx whose body is `count` paragraphs (a zip compresses them to nothing)."""
    buffer = io.BytesIO()
    Document().save(buffer)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    paragraph = f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>" if text else "<w:p/>"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "word/document.xml":
                head, _, tail = data.decode().partition("<w:body>")
                data = (head + "<w:body>" + paragraph * count + tail).encode()
            target.writestr(info, data)
    return out.getvalue()


async def _poll(probe: object, seconds: float = 30.0) -> None:
    for _ in range(int(seconds / 0.01)):
        if probe():  # type: ignore[operator]
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met in time")


def _coordinator_messages(bot: Harness) -> list[ChatMessage]:
    return bot.fake.sent(COORDINATOR)


async def test_another_users_reply_arrives_while_a_big_notice_is_still_being_read(
    bot: Harness,
) -> None:
    links = await bot.invite_links()
    await bot.join(LIAISON, "李联络", links["德宽路市场监管所"])
    before = len(_coordinator_messages(bot))
    getfiles = sum(1 for c in bot.fake.calls if c.method == "getFile")

    bot.fake.send_document(COORDINATOR, _big_notice(150_000), "大通知.txt", "text/plain")
    # Once the bot has fetched the file, reading it is all that is left to do.
    await _poll(
        lambda: sum(1 for c in bot.fake.calls if c.method == "getFile" and c.status) > getfiles
    )
    mark = len(bot.fake.sent(LIAISON))
    bot.fake.send_command(LIAISON, "tasks")
    await _poll(lambda: len(bot.fake.sent(LIAISON)) > mark)

    # The notice is still being read: only the progress message is there.
    [progress] = _coordinator_messages(bot)[before:]
    assert (progress.text or "").startswith("正在读取通知")
    await _poll(lambda: len(_coordinator_messages(bot)) > before + 1, 60.0)
    await bot.idle()
    review = _coordinator_messages(bot)[before + 1]  # long: in several messages
    assert "项报送要求,请核对" in (review.text or "")
    assert bot.fake.message(COORDINATOR, progress.message_id).text == (
        "通知已读完,请核对下面的报送事项。"
    )


async def test_a_notice_past_the_character_bound_is_refused_and_creates_nothing(
    bot: Harness,
) -> None:
    campaigns = await bot.rows(m.Campaign)

    [refused] = await bot.document(COORDINATOR, _big_notice(250_000), "长通知.txt", "text/plain")
    [after] = await bot.text(COORDINATOR, "德宽路所")

    assert refused.text == (
        "通知有 250000 个字,超过可读取的 200000 字,未读取。请只发送通知正文(删去附件、名单等)。"
    )
    assert "项报送要求" not in (after.text or "")  # no review was opened
    assert [c.id for c in await bot.rows(m.Campaign)] == [c.id for c in campaigns]


async def test_a_small_docx_of_a_million_empty_paragraphs_is_refused_before_it_is_parsed(
    bot: Harness,
) -> None:
    campaigns = await bot.rows(m.Campaign)
    bomb = _docx_of_paragraphs(1_200_000)
    assert len(bomb) < 200_000

    [refused] = await bot.document(COORDINATOR, bomb, "通知.docx")

    assert refused.text == (
        "通知有 1200000 段,超过可读取的 20000 段,未读取。请只发送通知正文(删去附件、名单等)。"
    )
    assert [c.id for c in await bot.rows(m.Campaign)] == [c.id for c in campaigns]


async def test_a_docx_that_unpacks_past_the_xml_bound_is_refused(bot: Harness) -> None:
    bomb = _docx_of_paragraphs(15_000, "很" * 400)

    [refused] = await bot.document(COORDINATOR, bomb, "通知.docx")

    assert refused.text == (
        "该 .docx 解压后超过 16 MB,未读取。请另存为 .txt 或只保留通知正文后再试。"
    )


async def test_a_second_export_while_the_first_is_built_is_told_to_wait(bot: Harness) -> None:
    before = len(_coordinator_messages(bot))

    bot.fake.send_command(COORDINATOR, "export")
    bot.fake.send_command(COORDINATOR, "export")
    await _poll(lambda: len(_coordinator_messages(bot)) >= before + 2)
    await bot.idle()

    sent = _coordinator_messages(bot)[before:]
    assert [x.document is not None for x in sent] == [False, False, True]
    progress, busy, _ = sent
    assert (busy.text or "").startswith("您的上一项任务(读取通知、生成报表或通报)还在处理中")
    assert (progress.text or "").endswith("汇总报表已生成并发送。")
    [_, again] = await bot.command(COORDINATOR, "export")  # the slot is free again
    assert again.document is not None


async def test_the_coordinators_next_command_is_answered_while_the_export_is_built(
    bot: Harness,
) -> None:
    before = len(_coordinator_messages(bot))

    bot.fake.send_command(COORDINATOR, "export")
    bot.fake.send_command(COORDINATOR, "help")
    await _poll(lambda: len(_coordinator_messages(bot)) >= before + 2)
    await bot.idle()

    progress, help_text, workbook = _coordinator_messages(bot)[before:]
    assert [e.text for e in progress.edits] == [
        "“2017年元旦春节期间打假专项行动”汇总报表已生成并发送。"
    ]
    assert help_text.document is None and help_text.text
    assert workbook.document is not None


async def test_an_export_past_the_size_a_bot_may_send_stops_and_says_so(bot: Harness) -> None:
    services_of(bot.app).exporter.max_bytes = 4096

    [progress] = await bot.command(COORDINATOR, "export")

    assert progress.text == (
        "报表超过 Telegram 允许机器人发送的 0.00390625 MB,已停止生成。"
        "请在服务器上运行:cuibao export --campaign "
        "daguan-2017-anticounterfeit"
    )
    assert all(x.document is None for x in _coordinator_messages(bot))
