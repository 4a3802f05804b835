"""Bot API methods as a real telegram.Bot sees them."""

from __future__ import annotations

import aiohttp
import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    MenuButtonCommands,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, InvalidToken

from fakegram import FakeTelegram


async def test_get_me_describes_the_fake_bot(fake: FakeTelegram, bot: Bot) -> None:
    me = await bot.get_me()
    assert me.id == fake.bot.id
    assert me.is_bot
    assert me.username == "cuibao_test_bot"


async def test_an_html_message_is_stored_with_plain_text_and_entities(
    fake: FakeTelegram, bot: Bot
) -> None:
    user = fake.add_user()
    message = await bot.send_message(
        user.id, "😀 <b>截止</b> &lt;明天&gt;", parse_mode=ParseMode.HTML
    )

    stored = fake.last_sent(user.id)
    assert stored is not None
    assert message.text == stored.text == "😀 截止 <明天>"
    assert stored.raw_text == "😀 <b>截止</b> &lt;明天&gt;"
    # Offsets count UTF-16 code units: the emoji takes two.
    assert [(e.type, e.offset, e.length) for e in message.entities] == [("bold", 3, 2)]


async def test_malformed_markup_is_rejected_like_telegram_does(
    fake: FakeTelegram, bot: Bot
) -> None:
    user = fake.add_user()
    with pytest.raises(BadRequest, match="Can't parse entities: unsupported start tag"):
        await bot.send_message(user.id, "a <script> b", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match=r"character '\.' is reserved"):
        await bot.send_message(user.id, "v1.2", parse_mode=ParseMode.MARKDOWN_V2)
    assert fake.sent(user.id) == []


async def test_an_empty_or_too_long_text_is_a_bad_request(fake: FakeTelegram, bot: Bot) -> None:
    user = fake.add_user()
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(user.id, "   ")
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(user.id, "字" * 4097)
    await bot.send_message(user.id, "字" * 4096)
    assert len(fake.sent(user.id)) == 1


async def test_sending_to_an_unknown_chat_raises_chat_not_found(bot: Bot) -> None:
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(424242, "hello")


async def test_an_identical_edit_raises_message_is_not_modified(
    fake: FakeTelegram, bot: Bot
) -> None:
    user = fake.add_user()
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]])
    message = await bot.send_message(user.id, "v1", reply_markup=keyboard)

    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text("v1", user.id, message.message_id, reply_markup=keyboard)
    await bot.edit_message_text("v2", user.id, message.message_id, reply_markup=keyboard)
    await bot.edit_message_reply_markup(user.id, message.message_id, reply_markup=None)
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_reply_markup(user.id, message.message_id, reply_markup=None)

    stored = fake.message(user.id, message.message_id)
    assert stored.text == "v2"
    assert stored.reply_markup is None
    assert [e.method for e in stored.edits] == ["editMessageText", "editMessageReplyMarkup"]


async def test_a_deleted_message_can_no_longer_be_edited(fake: FakeTelegram, bot: Bot) -> None:
    user = fake.add_user()
    message = await bot.send_message(user.id, "temp")
    assert await bot.delete_message(user.id, message.message_id)
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("new", user.id, message.message_id)
    assert fake.message(user.id, message.message_id).deleted


async def test_the_reply_keyboard_is_tracked_until_removed(fake: FakeTelegram, bot: Bot) -> None:
    user = fake.add_user()
    keyboard = ReplyKeyboardMarkup([[KeyboardButton("提交报告"), "帮助"]], resize_keyboard=True)
    message = await bot.send_message(user.id, "choose", reply_markup=keyboard)

    assert message.reply_markup is None  # Telegram only echoes inline keyboards
    shown = fake.reply_keyboard(user.id)
    assert shown is not None
    assert [b["text"] if isinstance(b, dict) else b for b in shown["keyboard"][0]] == [
        "提交报告",
        "帮助",
    ]

    await bot.send_message(user.id, "done", reply_markup=ReplyKeyboardRemove())
    assert fake.reply_keyboard(user.id) is None


async def test_callback_data_longer_than_64_bytes_is_rejected(
    fake: FakeTelegram, bot: Bot
) -> None:
    user = fake.add_user()
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="数" * 22)]])
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(user.id, "hi", reply_markup=too_long)


async def test_commands_are_kept_per_scope_and_language(fake: FakeTelegram, bot: Bot) -> None:
    user = fake.add_user()
    await bot.set_my_commands([BotCommand("start", "开始"), BotCommand("report", "提交报告")])
    await bot.set_my_commands([BotCommand("start", "Start")], language_code="en")
    await bot.set_my_commands([BotCommand("admin", "管理")], scope=BotCommandScopeChat(user.id))

    assert [c["command"] for c in fake.commands()] == ["start", "report"]
    assert fake.commands(language_code="en") == [{"command": "start", "description": "Start"}]
    assert fake.commands(BotCommandScopeChat(user.id)) == [
        {"command": "admin", "description": "管理"}
    ]
    assert fake.commands({"type": "chat", "chat_id": user.id}) == fake.commands(
        BotCommandScopeChat(user.id)
    )
    assert fake.commands(BotCommandScopeAllPrivateChats()) == []
    assert [c.command for c in await bot.get_my_commands(language_code="en")] == ["start"]

    await bot.delete_my_commands(language_code="en")
    assert fake.commands(language_code="en") == []
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Bad-Name", "x")])


async def test_chat_actions_and_menu_buttons_are_recorded(fake: FakeTelegram, bot: Bot) -> None:
    user = fake.add_user()
    await bot.send_chat_action(user.id, ChatAction.TYPING)
    await bot.send_chat_action(user.id, ChatAction.UPLOAD_DOCUMENT)
    assert await bot.set_chat_menu_button(user.id, MenuButtonCommands())

    assert fake.chat_actions(user.id) == ["typing", "upload_document"]
    assert fake.chat(user.id).menu_button == {"type": "commands"}
    assert isinstance(await bot.get_chat_menu_button(user.id), MenuButtonCommands)


async def test_get_chat_returns_the_private_chat(fake: FakeTelegram, bot: Bot) -> None:
    user = fake.add_user(first_name="王五", username="wangwu")
    chat = await bot.get_chat(user.id)
    assert (chat.id, chat.type, chat.first_name, chat.username) == (
        user.id,
        "private",
        "王五",
        "wangwu",
    )


async def test_a_wrong_token_is_reported_as_invalid_token(fake: FakeTelegram) -> None:
    wrong = Bot("1:wrong", base_url=fake.base_url, base_file_url=fake.base_file_url)
    with pytest.raises(InvalidToken):
        await wrong.initialize()
    await wrong.shutdown()


async def test_unknown_methods_and_json_bodies_get_telegram_shaped_answers(
    fake: FakeTelegram,
) -> None:
    user = fake.add_user()
    async with aiohttp.ClientSession() as session:
        url = f"{fake.base_url}{fake.token}"
        async with session.post(f"{url}/sendTeleport", json={}) as response:
            assert response.status == 404
            assert await response.json() == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found",
            }
        async with session.post(
            f"{url}/sendmessage", json={"chat_id": user.id, "text": "via json"}
        ) as response:
            body = await response.json()
    assert body["ok"] is True
    assert body["result"]["text"] == "via json"
    assert body["result"]["from"]["is_bot"] is True
