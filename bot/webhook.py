"""Webhook mode: a small aiohttp server in front of the Application.

PTB's own webhook server answers an update it cannot read with HTTP 400; Telegram then
delivers that same update again and again, and no later one gets through. Here such an
update is logged in one line and acknowledged like any other (PTB documents this seam: a
custom web server that puts updates on `application.update_queue`).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiohttp import web
from telegram import Bot, Update
from telegram.ext import Application

from bot.ops import health_routes
from bot.updates import read_update

log = logging.getLogger("cuibao.webhook")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
AnyApplication = Application[Any, Any, Any, Any, Any, Any]


class Host(Protocol):
    """What the receiver needs: the bot (to read updates) and where health is installed."""

    @property
    def bot(self) -> Bot: ...

    @property
    def bot_data(self) -> Any: ...


# Stores or queues one update; the update is acknowledged only once this returns.
Sink = Callable[[dict[str, Any], Update], Awaitable[None]]


def webhook_app(app: Host, secret: str | None, sink: Sink | None = None) -> web.Application:
    """The receiver: checks the secret, reads the update and hands it to `sink` (by default
    the Application's own update queue), then answers 200. An update that cannot be stored
    (the database away) is answered 500, so Telegram delivers it again."""

    async def in_process(_data: dict[str, Any], update: Update) -> None:
        assert isinstance(app, Application)
        await app.update_queue.put(update)

    store = sink or in_process

    async def receive(request: web.Request) -> web.Response:
        if secret is not None and not hmac.compare_digest(
            request.headers.get(SECRET_HEADER, ""), secret
        ):
            return web.Response(status=403)
        try:
            data = json.loads(await request.read())
        except ValueError:
            data = None
        update = read_update(data, app.bot)
        if update is not None and isinstance(data, dict):
            try:
                await store(data, update)
            except Exception as exc:  # not stored: not acknowledged
                log.warning("could not store update %s: %s", update.update_id, type(exc).__name__)
                return web.Response(status=500)
        return web.Response()  # 200 also for a skipped update: Telegram must not resend it

    server = web.Application(client_max_size=4 * 1024 * 1024)
    health_routes(server, app)  # before the catch-all webhook route
    # Any path: a proxy may forward the webhook URL's path or strip it.
    server.router.add_post("/{path:.*}", receive)
    return server


async def serve_webhook(
    app: AnyApplication,
    *,
    listen: str,
    port: int,
    url: str,
    secret: str | None,
    stop: asyncio.Event,
) -> None:
    """Run the Application behind the webhook until `stop` is set, with the same
    post_init / post_shutdown steps as PTB's run_webhook."""
    await app.initialize()
    try:
        if app.post_init is not None:
            await app.post_init(app)
        # shutdown_timeout: an update being handled is on the queue already; do not wait
        # a minute for a keep-alive connection of the sender.
        runner = web.AppRunner(webhook_app(app, secret), access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        try:
            await web.TCPSite(runner, listen, port).start()
            await app.bot.set_webhook(url, secret_token=secret, allowed_updates=Update.ALL_TYPES)
            await app.start()
            try:
                await stop.wait()
            finally:
                await app.stop()
                if app.post_stop is not None:
                    await app.post_stop(app)
        finally:
            await runner.cleanup()
    finally:
        await app.shutdown()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)


def run_webhook(
    app: AnyApplication, *, listen: str, port: int, url: str, secret: str | None
) -> None:
    """Serve until SIGINT or SIGTERM."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve_webhook(app, listen=listen, port=port, url=url, secret=secret, stop=stop)

    asyncio.run(main())
