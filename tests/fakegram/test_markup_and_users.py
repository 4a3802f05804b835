"""Markup parsing and simulated-user behaviour, without a bot in the loop."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from fakegram import FakeTelegram
from fakegram.markup import MarkupError, parse_html, parse_markdown_v2


def test_html_entities_use_utf16_offsets_and_pre_code_becomes_one_entity() -> None:
    text, entities = parse_html(
        '𝄞<i>斜</i> <a href="https://t.me/x">链接</a>\n'
        '<pre><code class="language-python">x = 1</code></pre>'
    )
    assert text == "𝄞斜 链接\nx = 1"
    assert entities == [
        {"type": "italic", "offset": 2, "length": 1},
        {"type": "text_link", "offset": 4, "length": 2, "url": "https://t.me/x"},
        {"type": "pre", "offset": 7, "length": 5, "language": "python"},
    ]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("<b>unclosed", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("<br>", 'Unsupported start tag "br" at byte offset 0'),
    ],
)
def test_broken_html_is_described_like_telegram(source: str, message: str) -> None:
    with pytest.raises(MarkupError, match=message):
        parse_html(source)


def test_markdown_v2_honours_escapes_and_reports_unclosed_entities() -> None:
    text, entities = parse_markdown_v2(r"*粗体* 版本 1\.2 \(测试\) [链接](https://e.x/a\)b)")
    assert text == "粗体 版本 1.2 (测试) 链接"
    assert entities[0] == {"type": "bold", "offset": 0, "length": 2}
    assert entities[1]["url"] == "https://e.x/a)b"
    with pytest.raises(MarkupError, match="Can't find end of Italic entity"):
        parse_markdown_v2("_open")


def test_users_created_in_bulk_get_distinct_ids_and_private_chats() -> None:
    fake = FakeTelegram()
    users = fake.add_users(50, language_code="en")
    assert len({u.id for u in users}) == 50
    assert all(fake.chat(u.id).type == "private" for u in users)
    assert users[0].language_code == "en"
    assert fake.add_user(first_name="默认").language_code == "zh-hans"


def test_pressing_a_button_that_is_not_on_the_message_is_refused() -> None:
    fake = FakeTelegram()
    user = fake.add_user()
    message = fake.send_text(user.id, "no keyboard here")
    with pytest.raises(LookupError):
        fake.press_button(user.id, message.message_id, "ghost")
    callback_id = fake.press_button(user.id, message.message_id, "ghost", strict=False)
    assert fake.callback(callback_id).data == "ghost"
    assert not fake.callback(callback_id).answered


def test_commands_inside_text_get_bot_command_entities() -> None:
    fake = FakeTelegram()
    user = fake.add_user()
    message = fake.send_text(user.id, "请发 /report@cuibao_test_bot 或 /help")
    assert [(e["offset"], e["length"]) for e in message.entities] == [(3, 23), (29, 5)]


async def test_a_newer_get_updates_terminates_the_one_still_waiting(fake: FakeTelegram) -> None:
    url = f"{fake.base_url}{fake.token}/getUpdates"
    async with aiohttp.ClientSession() as session:

        async def poll(seconds: int) -> dict[str, object]:
            async with session.post(url, data={"timeout": str(seconds)}) as response:
                body: dict[str, object] = await response.json()
                return body

        waiting = asyncio.create_task(poll(10))
        await fake.wait_until(
            lambda: fake.updates.polls == 1 or None, 5.0, describe="the first poll parked"
        )
        newer = await poll(0)
        older = await asyncio.wait_for(waiting, 5)

    assert newer == {"ok": True, "result": []}
    assert older["error_code"] == 409
