"""A real polling PTB Application talking to the fake over HTTP."""

from __future__ import annotations

import asyncio

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from fakegram import FakeTelegram
from tests.fakegram.conftest import polling


async def test_a_command_injected_by_a_user_reaches_a_polling_application(
    fake: FakeTelegram,
) -> None:
    user = fake.add_user(first_name="李四", username="lisi")

    async def hello(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_user is not None and update.effective_message is not None
        await update.effective_message.reply_text(f"你好 {update.effective_user.first_name}")

    app = fake.application_builder().build()
    app.add_handler(CommandHandler("hello", hello))
    async with polling(app):
        sent = fake.send_command(user.id, "hello")
        reply = await fake.wait_for(user.id, after=sent)

    assert reply.text == "你好 李四"
    assert reply.from_bot and reply.sender["id"] == fake.bot.id
    assert reply.message_id == sent.message_id + 1


async def test_a_deep_link_start_payload_reaches_the_command_args(fake: FakeTelegram) -> None:
    user = fake.add_user()
    seen: list[list[str]] = []

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        seen.append(list(context.args or []))
        assert update.effective_message is not None
        await update.effective_message.reply_text("welcome")

    app = fake.application_builder().build()
    app.add_handler(CommandHandler("start", start))
    async with polling(app):
        message = fake.send_start(user.id, "invite-42")
        await fake.wait_for(user.id, lambda m: m.text == "welcome")

    assert message.entities == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert seen == [["invite-42"]]


async def test_a_button_press_is_answered_and_the_message_edited(fake: FakeTelegram) -> None:
    user = fake.add_user()

    async def menu(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        keyboard = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton("确认", callback_data="yes"),
                    InlineKeyboardButton("取消", callback_data="no"),
                ]
            ]
        )
        await update.effective_message.reply_text("确认提交？", reply_markup=keyboard)

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("已确认")
        await query.edit_message_text(f"选择了 {query.data}")

    app = fake.application_builder().build()
    app.add_handler(CommandHandler("menu", menu))
    app.add_handler(CallbackQueryHandler(pressed))
    async with polling(app):
        fake.send_command(user.id, "menu")
        prompt = await fake.wait_for(user.id, lambda m: bool(m.buttons))
        assert prompt.button_texts == ["确认", "取消"]
        callback_id = fake.press_button(user.id, prompt.message_id, text="确认")
        answer = await fake.wait_for_callback_answer(callback_id)
        await fake.wait_for(user.id, lambda m: m.text == "选择了 yes")

    assert answer.text == "已确认"
    # The edit went to the same message; editing without reply_markup drops the keyboard.
    assert prompt.text == "选择了 yes"
    assert prompt.buttons == []
    assert [edit.method for edit in prompt.edits] == ["editMessageText"]


async def test_plain_text_and_replies_reach_message_handlers(fake: FakeTelegram) -> None:
    user = fake.add_user()

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        assert message is not None and message.text is not None
        replied = message.reply_to_message.text if message.reply_to_message else None
        await message.reply_text(f"echo:{message.text} re:{replied}")

    app = fake.application_builder().build()
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    async with polling(app):
        first = fake.send_text(user.id, "第一条")
        bot_reply = await fake.wait_for(user.id, after=first)
        second = fake.send_text(user.id, "第二条", reply_to_message_id=bot_reply.message_id)
        answer = await fake.wait_for(user.id, after=second)

    assert bot_reply.text == "echo:第一条 re:None"
    assert answer.text == "echo:第二条 re:echo:第一条 re:None"


async def test_get_updates_long_polls_until_an_update_arrives(
    fake: FakeTelegram, bot: Bot
) -> None:
    user = fake.add_user()
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.05)
    assert not poll.done()  # nothing queued yet: the request is parked on the server

    fake.send_text(user.id, "ping")
    updates = await asyncio.wait_for(poll, 5)

    assert [u.message.text for u in updates if u.message] == ["ping"]


async def test_confirmed_updates_are_not_delivered_again(fake: FakeTelegram, bot: Bot) -> None:
    user = fake.add_user()
    for text in ("a", "b", "c"):
        fake.send_text(user.id, text)

    first = await bot.get_updates(limit=2)
    again = await bot.get_updates(limit=2)
    rest = await bot.get_updates(offset=first[-1].update_id + 1)
    last_only = await bot.get_updates(offset=-1)
    after_all = await bot.get_updates(offset=rest[-1].update_id + 1)

    assert [u.message.text for u in first if u.message] == ["a", "b"]
    assert [u.update_id for u in again] == [u.update_id for u in first]
    assert [u.message.text for u in rest if u.message] == ["c"]
    assert [u.message.text for u in last_only if u.message] == ["c"]
    assert after_all == ()
    assert fake.updates.pending_count == 0
