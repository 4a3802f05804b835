"""The bot's HTTP transport (bot/transport.py) on the wire: what it sends, how it fails,
which proxy it goes through. A recording aiohttp server stands in for Telegram (and for a
proxy); the Bot API's behaviour itself is covered by the other fakegram tests, which run
on both transports."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import certifi
import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import NetworkError, RetryAfter, TimedOut
from telegram.request import HTTPXRequest

from bot.transport import AiohttpRequest, _tls, httpx_only_proxy, telegram_request

TOKEN = "123:AAF-transport-test"
ME = {"id": 123, "is_bot": True, "first_name": "催报", "username": "cuibao_test_bot"}
MESSAGE = {"message_id": 1, "date": 0, "chat": {"id": 42, "type": "private"}, "text": "好"}


@dataclass
class Seen:
    method: str
    path: str
    url: str  # as requested: absolute when it came through as a proxy
    headers: dict[str, str]
    body: bytes


@dataclass
class Recorder:
    """An HTTP server that records every request and answers like the Bot API."""

    seen: list[Seen] = field(default_factory=list)
    answer: Callable[[web.Request], Awaitable[web.StreamResponse]] | None = None
    url: str = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(
            Seen(
                request.method,
                request.path,
                str(request.url) if request.url.is_absolute() else request.path_qs,
                dict(request.headers),
                await request.read(),
            )
        )
        if self.answer is not None:
            return await self.answer(request)
        method = request.path.rsplit("/", 1)[-1]
        result = ME if method == "getMe" else MESSAGE
        return web.json_response({"ok": True, "result": result})


@pytest.fixture
async def recorder() -> AsyncIterator[Recorder]:
    recorded = Recorder()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", recorded.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    recorded.url = f"http://127.0.0.1:{port}"
    try:
        yield recorded
    finally:
        await runner.cleanup()


@pytest.fixture(autouse=True)
def _no_proxy_from_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "no_proxy",
    ):
        monkeypatch.delenv(name, raising=False)


def bot_on(url: str, request: AiohttpRequest | None = None) -> Bot:
    return Bot(TOKEN, base_url=f"{url}/bot", request=request or AiohttpRequest())


async def test_a_message_goes_as_utf8_json_with_its_keyboard_as_objects(
    recorder: Recorder,
) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("确认提交", callback_data="ok:1")]])
    async with bot_on(recorder.url) as bot:
        sent = await bot.send_message(42, "本周报表:查办案件 3 件", reply_markup=keyboard)

    request = recorder.seen[-1]
    assert request.path == f"/bot{TOKEN}/sendMessage"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"].startswith("python-telegram-bot")
    assert "本周报表".encode() in request.body  # not percent- or \\u-escaped
    assert json.loads(request.body) == {
        "chat_id": 42,
        "text": "本周报表:查办案件 3 件",
        "reply_markup": {"inline_keyboard": [[{"text": "确认提交", "callback_data": "ok:1"}]]},
    }
    assert sent.message_id == 1


async def test_a_file_goes_as_multipart_with_its_name_and_bytes(recorder: Recorder) -> None:
    async with bot_on(recorder.url) as bot:
        await bot.send_document(
            42, b"PK\x03\x04 xlsx bytes", filename="汇总报表.xlsx", caption="汇总"
        )

    request = recorder.seen[-1]
    assert request.headers["Content-Type"].startswith("multipart/form-data")
    assert b"PK\x03\x04 xlsx bytes" in request.body
    assert "汇总报表.xlsx".encode() in request.body
    assert b'name="caption"' in request.body and "汇总".encode() in request.body


async def test_telegram_errors_keep_their_meaning(recorder: Recorder) -> None:
    async def flood(request: web.Request) -> web.StreamResponse:
        return web.json_response(
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 7",
                "parameters": {"retry_after": 7},
            },
            status=429,
        )

    async with bot_on(recorder.url) as bot:
        recorder.answer = flood
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(42, "催报")

    assert caught.value.retry_after.total_seconds() == 7  # type: ignore[union-attr]


async def test_a_server_that_does_not_answer_in_time_is_a_timeout(recorder: Recorder) -> None:
    async def stall(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(2)
        return web.json_response({"ok": True, "result": MESSAGE})

    async with bot_on(recorder.url, AiohttpRequest(read_timeout=0.2)) as bot:
        recorder.answer = stall
        with pytest.raises(TimedOut):
            await bot.send_message(42, "催报")


async def test_a_long_download_that_keeps_arriving_is_not_cut_off(recorder: Recorder) -> None:
    chunk = b"x" * 64 * 1024

    async def trickle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.content_length = 12 * len(chunk)
        await response.prepare(request)
        for _ in range(12):  # 1.8 s in all, never more than 0.15 s without data
            await response.write(chunk)
            await asyncio.sleep(0.15)
        return response

    recorder.answer = trickle
    timeouts: dict[str, Any] = {
        "read_timeout": 0.5,
        "write_timeout": 0.3,
        "connect_timeout": 0.3,
        "pool_timeout": 0.1,
    }  # 1.2 s together
    async with AiohttpRequest(**timeouts) as request:
        data = await request.retrieve(f"{recorder.url}/file/bot{TOKEN}/documents/big.xlsx")

    assert data == 12 * chunk


def test_certificates_are_checked_against_certifi_unless_the_environment_names_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = Path(certifi.where()).read_text(encoding="ascii")
    first = bundle[bundle.index("-----BEGIN CERTIFICATE-----") :]
    first = first[: first.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----")]
    own = tmp_path / "ca.pem"
    own.write_text(first + "\n", encoding="ascii")

    assert _tls().cert_store_stats()["x509_ca"] == bundle.count("BEGIN CERTIFICATE")
    monkeypatch.setenv("SSL_CERT_FILE", str(own))
    assert _tls().cert_store_stats()["x509_ca"] == 1


async def test_nobody_listening_is_a_network_error() -> None:
    request = AiohttpRequest()
    async with request:
        with pytest.raises(NetworkError, match="aiohttp"):
            await request.post("http://127.0.0.1:9/bot123:x/getMe")


async def test_an_http_proxy_from_the_environment_carries_the_requests(
    recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    telegram = "http://api.telegram.invalid"  # unresolvable: only the proxy can answer
    monkeypatch.setenv("HTTP_PROXY", recorder.url)
    async with bot_on(telegram) as bot:
        await bot.send_message(42, "催报")

    assert [seen.url for seen in recorder.seen] == [
        f"{telegram}/bot{TOKEN}/getMe",
        f"{telegram}/bot{TOKEN}/sendMessage",
    ]


async def test_no_proxy_keeps_a_host_off_the_proxy(
    recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nobody there
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    async with bot_on(recorder.url) as bot:
        await bot.send_message(42, "催报")

    assert [seen.path for seen in recorder.seen] == [
        f"/bot{TOKEN}/getMe",
        f"/bot{TOKEN}/sendMessage",
    ]


@pytest.mark.parametrize(
    ("environ", "httpx"),
    [
        ({}, False),
        ({"HTTPS_PROXY": "http://127.0.0.1:7890"}, False),
        ({"http_proxy": "http://127.0.0.1:7890", "no_proxy": "localhost"}, False),
        ({"HTTPS_PROXY": "socks5://127.0.0.1:7891"}, True),
        ({"https_proxy": "https://proxy.example:443"}, True),
        ({"ALL_PROXY": "http://127.0.0.1:7890"}, True),
        ({"all_proxy": "socks5h://127.0.0.1:7891"}, True),
    ],
)
def test_a_proxy_aiohttp_cannot_use_falls_back_to_httpx(
    environ: dict[str, str], httpx: bool
) -> None:
    assert httpx_only_proxy(environ) is httpx
    request = telegram_request(environ=environ)
    assert isinstance(request, HTTPXRequest if httpx else AiohttpRequest)


async def test_a_request_object_can_be_shut_down_and_started_again(recorder: Recorder) -> None:
    request = AiohttpRequest()
    for _ in range(2):
        async with request:
            assert await request.post(f"{recorder.url}/bot{TOKEN}/getMe") == ME
    with pytest.raises(NetworkError, match="not initialized"):
        await request.post(f"{recorder.url}/bot{TOKEN}/getMe")
