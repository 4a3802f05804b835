"""Reading updates (one unreadable update never blocks the others) and processing them
concurrently across chats but in order within one chat."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Sequence
from datetime import timedelta
from typing import Any

from telegram import Bot, Update
from telegram._utils.defaultvalue import DEFAULT_NONE, DefaultValue
from telegram.ext import BaseUpdateProcessor, ExtBot

from bot.ops import Metrics

log = logging.getLogger("cuibao.updates")


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Many liaisons can be served at once, while two quick messages from one person (an
    answer, then the next) are never handled out of order against the same draft."""

    def __init__(self, max_concurrent_updates: int = 64, metrics: Metrics | None = None) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}
        self.metrics = metrics

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        if self.metrics is None:
            await self._in_order(update, coroutine)
            return
        key = id(update)
        self.metrics.started(key)  # from here on it counts as waited on
        try:
            await self._in_order(update, coroutine)
        finally:
            self.metrics.finished(key)

    async def _in_order(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        key = chat.id
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock:
                await coroutine
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:  # forget idle chats: memory stays flat with users
                del self._waiting[key]
                del self._locks[key]

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


def read_update(data: object, bot: Bot) -> Update | None:
    """One update from the Bot API's JSON, or None (logged in one line) if
    python-telegram-bot cannot read it, e.g. a poll in the shape an older self-hosted Bot
    API server sends: one such update must not hold up every later one."""
    try:
        if not isinstance(data, dict):
            raise TypeError(f"an update must be a JSON object, not {type(data).__name__}")
        return Update.de_json(data, bot)
    except Exception as exc:  # whatever de_json trips on, the update is only skipped
        update_id = data.get("update_id") if isinstance(data, dict) else None
        kinds = ",".join(k for k in data if k != "update_id") if isinstance(data, dict) else "?"
        log.error(
            "skipped update %s (%s): unreadable: %s: %s", update_id, kinds, type(exc).__name__, exc
        )
        return None


class TolerantBot(ExtBot[Any]):
    """An ExtBot whose getUpdates reads each update on its own.

    PTB's Bot.get_updates parses the whole batch at once: one update it cannot read makes
    it raise, the Updater logs CRITICAL and fetches the same batch again, forever. Here an
    unreadable update is logged and dropped, the others are served, and its id is
    acknowledged with the next poll's offset (also when the whole batch was unreadable).
    """

    _skip_to = 0

    async def get_updates(  # type: ignore[override]
        self,
        offset: int | None = None,
        limit: int | None = None,
        timeout: float | timedelta | None = None,  # noqa: ASYNC109 - PTB's own signature
        allowed_updates: Sequence[str] | None = None,
        *,
        read_timeout: float | DefaultValue[None] | None = DEFAULT_NONE,
        write_timeout: float | DefaultValue[None] | None = DEFAULT_NONE,
        connect_timeout: float | DefaultValue[None] | None = DEFAULT_NONE,
        pool_timeout: float | DefaultValue[None] | None = DEFAULT_NONE,
        api_kwargs: dict[str, Any] | None = None,
    ) -> tuple[Update, ...]:
        if self._skip_to and (offset is None or 0 <= offset < self._skip_to):
            offset = self._skip_to
        # A long poll must be allowed to last its timeout on top of the usual read timeout.
        base = (
            self._request[0].read_timeout
            if isinstance(read_timeout, DefaultValue)
            else read_timeout
        ) or 0
        wait = timeout.total_seconds() if isinstance(timeout, timedelta) else timeout or 0
        data = {
            "timeout": timeout,
            "offset": offset,
            "limit": limit,
            "allowed_updates": allowed_updates,
        }
        raw = await self._post(
            "getUpdates",
            data,
            read_timeout=base + wait,
            write_timeout=write_timeout,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
            api_kwargs=api_kwargs,
        )
        updates = []
        for item in raw if isinstance(raw, list) else []:
            update = read_update(item, self)
            if update is None:
                update_id = item.get("update_id") if isinstance(item, dict) else None
                if isinstance(update_id, int):
                    self._skip_to = max(self._skip_to, update_id + 1)
                continue
            self.insert_callback_data(update)
            updates.append(update)
        return tuple(updates)
