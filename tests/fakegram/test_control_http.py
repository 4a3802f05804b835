"""The control API over HTTP, the CLI, webhooks and running several servers at once."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import Conflict
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes

from fakegram import FakeTelegram, FakeTelegramClient, WaitTimeout
from fakegram.client import ControlError
from tests.fakegram.conftest import polling

REPO = Path(__file__).resolve().parents[2]


async def test_the_control_api_drives_a_conversation_over_http(fake: FakeTelegram) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("报到", callback_data="join")]])
        await update.effective_message.reply_text(f"args={context.args}", reply_markup=keyboard)

    async def join(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.callback_query is not None
        await update.callback_query.answer("ok")

    app = fake.application_builder().build()
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(join))
    async with polling(app), FakeTelegramClient(fake.url) as control:
        info = await control.info()
        assert info["token"] == fake.token and info["base_url"] == fake.base_url
        users = await control.add_users(3)
        user_id = users[0]["id"]
        await control.send_start(user_id, "abc")
        (reply,) = await control.wait_for_messages(user_id, 1, contains="args=")
        assert reply["text"] == "args=['abc']"
        callback_id = await control.press_button(user_id, reply["message_id"], text="报到")
        await fake.wait_for_callback_answer(callback_id)
        assert (await control.callback(callback_id))["answer"]["text"] == "ok"
        stats = await control.stats()

    assert len(fake.users) == 3
    assert stats["calls"]["sendMessage"] == 1
    assert stats["calls"]["answerCallbackQuery"] == 1


async def test_faults_and_flood_limits_can_be_set_over_http(fake: FakeTelegram) -> None:
    async with FakeTelegramClient(fake.url) as control:
        await control.fail_next("sendMessage", 2, error_code=429, retry_after=3, chat_id=5)
        config = await control.set_flood_limit(30, per_chat_per_second=1)
        await control.block_chat((await control.add_user(77))["id"])

    assert [(r.method, r.remaining, r.retry_after, r.chat_id) for r in fake.faults.rules] == [
        ("sendMessage", 2, 3, 5)
    ]
    assert config["per_second"] == 30 and config["mode"] == "bucket"
    assert fake.chat(77).blocked


async def test_a_raw_update_of_any_shape_is_queued_over_http(fake: FakeTelegram) -> None:
    async with FakeTelegramClient(fake.url) as control:
        update_id = await control.push_raw_update({"poll": {"id": "5"}, "update_id": 999})

    assert fake.updates.pending() == [{"poll": {"id": "5"}, "update_id": update_id}]
    assert update_id != 999  # ids stay the fake's own, increasing


async def test_control_api_errors_are_json(fake: FakeTelegram) -> None:
    async with FakeTelegramClient(fake.url) as control:
        with pytest.raises(ControlError) as unknown:
            await control.send_text(999, "hi")
        with pytest.raises(ControlError) as timed_out:
            await control.wait_for_messages(fake.add_user().id, 1, wait_seconds=0.05)
    assert unknown.value.status == 404
    assert timed_out.value.status == 408


async def test_wait_for_times_out_with_a_description_of_the_chat(fake: FakeTelegram) -> None:
    user = fake.add_user()
    fake.send_text(user.id, "anyone there?")
    with pytest.raises(WaitTimeout, match="anyone there"):
        await fake.wait_for(user.id, timeout=0.05)


async def test_two_servers_run_side_by_side_on_their_own_ports() -> None:
    async with FakeTelegram() as one, FakeTelegram() as two:
        assert one.port != two.port
        user = one.add_user(1)
        two.add_user(1)
        async with Bot(one.token, base_url=one.base_url) as bot:
            await bot.send_message(user.id, "only on one")
        assert [m.text for m in one.sent(1)] == ["only on one"]
        assert two.sent(1) == []


async def test_a_webhook_receives_updates_with_the_secret_token(
    fake: FakeTelegram, bot: Bot
) -> None:
    received: list[tuple[str | None, dict[str, object]]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(
            (request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json())
        )
        return web.Response(text="ok")

    receiver = web.Application()
    receiver.router.add_post("/hook", hook)
    runner = web.AppRunner(receiver, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        user = fake.add_user()
        await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cret")
        with pytest.raises(Conflict):
            await bot.get_updates()
        fake.send_text(user.id, "via webhook")
        await fake.wait_until(lambda: received and fake.updates.pending_count == 0, timeout=5)
        info = await bot.get_webhook_info()
        await bot.delete_webhook()
    finally:
        await fake.webhook.stop()
        await runner.cleanup()

    secret, update = received[0]
    assert secret == "s3cret"
    assert update["message"]["text"] == "via webhook"  # type: ignore[index]
    assert info.url.endswith("/hook") and info.pending_update_count == 0


async def test_the_cli_prints_the_base_url_and_token() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "fakegram",
        "--port",
        "0",
        "--json",
        "--users",
        "2",
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 15)
        details = json.loads(line)
        assert details["base_url"].startswith("http://127.0.0.1:")
        async with aiohttp.ClientSession() as session:
            url = f"{details['base_url']}{details['token']}/getMe"
            async with session.get(url) as response:
                me = await response.json()
            async with session.get(f"{details['control_url']}/users") as response:
                users = (await response.json())["result"]
    finally:
        process.terminate()
        await process.wait()
    assert me["result"]["username"] == "cuibao_test_bot"
    assert len(users) == 2
