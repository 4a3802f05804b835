"""Uploads and downloads: multipart sendDocument/sendPhoto, getFile, /file/bot<token>/..."""

from __future__ import annotations

import struct
import zlib

import pytest
from telegram import Bot, InputFile, Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes, MessageHandler, filters

from fakegram import FakeTelegram
from tests.fakegram.conftest import polling


def tiny_png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"".join(b"\x00" + b"\x80" * width for _ in range(height)))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", pixels)
        + chunk(b"IEND", b"")
    )


async def test_an_uploaded_document_can_be_downloaded_by_the_bot(fake: FakeTelegram) -> None:
    user = fake.add_user()
    content = "区县,报送数\n朝阳,3\n".encode()

    async def on_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        assert message is not None and message.document is not None
        file = await message.document.get_file()
        data = bytes(await file.download_as_bytearray())
        await message.reply_text(
            f"{message.document.file_name}|{message.document.mime_type}|{len(data)}|"
            f"{data == content}|{message.caption}"
        )

    app = fake.application_builder().build()
    app.add_handler(MessageHandler(filters.Document.ALL, on_document))
    async with polling(app):
        upload = fake.send_document(user.id, content, "汇总.csv", "text/csv", caption="本周")
        reply = await fake.wait_for(user.id, after=upload)

    assert reply.text == f"汇总.csv|text/csv|{len(content)}|True|本周"


async def test_a_document_sent_by_the_bot_keeps_its_bytes(fake: FakeTelegram, bot: Bot) -> None:
    user = fake.add_user()
    payload = b"PK\x03\x04 fake xlsx bytes"
    message = await bot.send_document(
        user.id, InputFile(payload, filename="报表.xlsx"), caption="<b>周报</b>", parse_mode="HTML"
    )

    stored = fake.last_sent(user.id)
    assert stored is not None and stored.document is not None
    assert stored.document_bytes == payload
    assert stored.document.file_name == "报表.xlsx"
    assert stored.document.mime_type == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert stored.caption == "周报" and stored.raw_caption == "<b>周报</b>"
    assert message.document is not None
    assert message.document.file_size == len(payload)
    assert message.document.file_id == stored.document.file_id


async def test_a_known_file_id_can_be_resent_and_a_bad_one_is_rejected(
    fake: FakeTelegram, bot: Bot
) -> None:
    user = fake.add_user()
    first = await bot.send_document(user.id, b"abc", filename="a.txt")
    assert first.document is not None
    again = await bot.send_document(user.id, first.document.file_id)

    assert again.document is not None
    assert again.document.file_unique_id == first.document.file_unique_id
    with pytest.raises(BadRequest, match="Wrong file identifier"):
        await bot.send_document(user.id, "no-such-file-id")
    with pytest.raises(BadRequest, match="Invalid file_id"):
        await bot.get_file("no-such-file-id")


async def test_a_photo_from_a_user_has_its_size_and_can_be_downloaded(
    fake: FakeTelegram, bot: Bot
) -> None:
    user = fake.add_user()
    png = tiny_png(3, 2)
    fake.send_photo(user.id, png, caption="现场照片")

    (update,) = await bot.get_updates()
    assert update.message is not None
    photo = update.message.photo[-1]
    assert (photo.width, photo.height, photo.file_size) == (3, 2, len(png))
    assert update.message.caption == "现场照片"
    file = await bot.get_file(photo.file_id)
    assert bytes(await file.download_as_bytearray()) == png


async def test_a_photo_sent_by_the_bot_is_stored(fake: FakeTelegram, bot: Bot) -> None:
    user = fake.add_user()
    png = tiny_png(4, 4)
    message = await bot.send_photo(user.id, png, caption="图")

    stored = fake.last_sent(user.id)
    assert stored is not None and stored.photo is not None
    assert stored.photo.data == png
    assert message.photo[-1].width == 4
