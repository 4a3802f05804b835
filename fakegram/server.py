"""FakeTelegram: a Bot API server on 127.0.0.1 plus the in-process test-side API."""

from __future__ import annotations

import secrets
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from aiohttp import web

from fakegram.api import BotApi
from fakegram.control import ControlApi
from fakegram.params import MAX_REQUEST_BYTES
from fakegram.state import SimUser
from fakegram.waiting import WaitingWorld

if TYPE_CHECKING:
    from telegram.ext import ApplicationBuilder

HOST = "127.0.0.1"
DEFAULT_BOT_ID = 7_100_000_001


class FakeTelegram(WaitingWorld):
    """A fake Telegram Bot API server for one bot, all state in memory.

    Use as ``async with FakeTelegram() as fake:``; point python-telegram-bot at
    ``fake.base_url`` / ``fake.base_file_url`` with ``fake.token``.  Every instance listens on
    its own port (ephemeral by default), so several can run in one process.
    """

    def __init__(
        self,
        *,
        port: int = 0,
        token: str | None = None,
        bot_username: str = "cuibao_test_bot",
        bot_name: str = "催报",
    ) -> None:
        if token is None:
            token = f"{DEFAULT_BOT_ID}:AAF{secrets.token_urlsafe(24)}"
        prefix = token.split(":", 1)[0]
        bot_id = int(prefix) if prefix.isdigit() else DEFAULT_BOT_ID
        super().__init__(token, SimUser(bot_id, bot_name, bot_username, is_bot=True))
        self._requested_port = port
        self._port: int | None = None
        self._runner: web.AppRunner | None = None

    # ------------------------------------------------------------------ addresses

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeTelegram is not started")
        return self._port

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def base_url(self) -> str:
        """For ``ApplicationBuilder().base_url(...)``: PTB appends the token."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    @property
    def control_url(self) -> str:
        return f"{self.url}/_control"

    def describe(self) -> dict[str, Any]:
        return {
            "token": self.token,
            "base_url": self.base_url,
            "base_file_url": self.base_file_url,
            "control_url": self.control_url,
            "bot": self.bot.to_api(),
        }

    def application_builder(self) -> ApplicationBuilder[Any, Any, Any, Any, Any, Any]:
        """A PTB ``ApplicationBuilder`` already pointed at this server."""
        from telegram.ext import ApplicationBuilder

        return (
            ApplicationBuilder()
            .token(self.token)
            .base_url(self.base_url)
            .base_file_url(self.base_file_url)
        )

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        if self._runner is not None:
            return
        app = web.Application(client_max_size=MAX_REQUEST_BYTES)
        BotApi(self).add_routes(app)
        ControlApi(self, self.describe).add_routes(app)
        # handler_cancellation: a long poll abandoned by a stopping bot must not linger;
        # shutdown_timeout: stop() wakes pollers first, so nothing legitimate takes long.
        runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=2.0
        )
        await runner.setup()
        site = web.TCPSite(runner, HOST, self._requested_port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        self.updates.reopen()

    async def stop(self) -> None:
        if self._runner is None:
            return
        self.updates.close()
        await self.webhook.stop()
        await self._runner.cleanup()
        self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
