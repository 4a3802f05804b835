"""Several cuibao processes on one PostgreSQL, for the tests and benches that need them:
a database of their own, a round-robin proxy in front (nginx's default), free ports."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator, Sequence
from uuid import uuid4

import aiohttp
import asyncpg
from aiohttp import web
from sqlalchemy.engine import make_url


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
