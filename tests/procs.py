"""Several cuibao processes on one PostgreSQL, for the tests and benches that need them:
a database of their own, a round-robin proxy in front (nginx's default), free ports."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator, Sequence
from datetime import date, timedelta
from pathlib import Path
from uuid import uuid4

import aiohttp
import asyncpg
from aiohttp import web
from sqlalchemy.engine import make_url

from fakegram import FakeTelegram
from fakegram.state import ChatMessage


@contextlib.asynccontextmanager
async def fresh_database(server: str) -> AsyncIterator[str]:
    """A new database on the PostgreSQL server at `server`, dropped afterwards."""
    name = f"q_{uuid4().hex[:12]}"
    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield make_url(server).set(database=name).render_as_string(hide_password=False)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@contextlib.asynccontextmanager
async def round_robin(backends: Sequence[int]) -> AsyncIterator[int]:
    """A proxy forwarding each POST to the next backend in turn; a backend that refuses
    the connection is skipped (nginx's proxy_next_upstream error)."""
    turn = 0
    session = aiohttp.ClientSession()

    async def forward(request: web.Request) -> web.Response:
        nonlocal turn
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower().startswith("x-")}
        headers["Content-Type"] = request.headers.get("Content-Type", "application/json")
        for _ in backends:
            port = backends[turn % len(backends)]
            turn += 1
            try:
                async with session.post(
                    f"http://127.0.0.1:{port}{request.path}", data=body, headers=headers
                ) as answer:
                    return web.Response(status=answer.status, body=await answer.read())
            except aiohttp.ClientConnectionError:
                continue
        return web.Response(status=502)

    server = web.Application()
    server.router.add_post("/{path:.*}", forward)
    # shutdown_timeout: fakegram keeps its webhook connection alive
    runner = web.AppRunner(server, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()
        await session.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def form_plan(
    units: int,
    *,
    campaign: str,
    start: date,
    due: date,
    fields: int,
    name: str = "多进程测试",
) -> str:
    """A plan of `units` units owing one report (a form of `fields` integer questions,
    指标1…) due on `due`: what the multi-process tests, the soak and the deployment script
    fill in."""
    lines = [
        "[campaign]",
        f'id = "{campaign}"',
        f'name = "{name}"',
        'office = "测试局"',
        'coordinator = "测试中心"',
        f"issued = {start}",
        f"start = {start}",
        f"end = {due + timedelta(days=50)}",
        "",
    ]
    for i in range(units):
        lines += ["[[units]]", f'id = "u{i:05d}"', f'name = "单位{i:05d}"', ""]
    lines += ["[forms.stats]", 'title = "统计表"']
    for f in range(fields):
        lines += ["[[forms.stats.fields]]", f'id = "f{f}"', f'label = "指标{f + 1}"']
        lines += ['type = "integer"']
    lines += [
        "",
        "[[obligations]]",
        'id = "report"',
        'title = "专项报表"',
        'form = "stats"',
        f'schedule = {{ kind = "once", dates = [{due}] }}',
        "",
    ]
    return "\n".join(lines)


def _on_a_button(words: str, message: ChatMessage) -> bool:
    return any(words in text for text in message.button_texts)


async def bot_says(
    fake: FakeTelegram, user: int, after: int, words: str | None, seconds: float
) -> ChatMessage:
    """The bot's first message in `user`'s chat after message `after` with `words` in its
    text or its buttons (any message when None)."""
    chat = fake.chat(user)

    def found() -> ChatMessage | None:
        return next(
            (
                msg
                for msg_id, msg in chat.messages.items()
                if msg_id > after
                and msg.from_bot
                and (
                    words is None
                    or words in msg.content
                    or any(words in b for b in msg.button_texts)
                )
            ),
            None,
        )

    return await fake.wait_until(found, seconds, describe=f"{words!r} for {user}")


def webhook_config(
    fake: FakeTelegram, db_url: str, port: int, proxy: int, files: Path, bot: str = ""
) -> str:
    """The config of one `cuibao run --role all` process behind the proxy on `proxy`,
    talking to `fake` (`bot`: more lines for [bot]); the caller appends its own sections
    ([rate_limit], [ops] …)."""
    return f"""
[bot]
api_base_url = "{fake.base_url}"
api_file_url = "{fake.base_file_url}"
mode = "webhook"
webhook_listen = "127.0.0.1"
webhook_port = {port}
webhook_url = "http://127.0.0.1:{proxy}/telegram"
{bot}
[database]
url = "{db_url}"

[files]
dir = "{files}"
"""
