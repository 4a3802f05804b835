"""Update queue with getUpdates semantics (offset confirmation, long polling) and webhooks."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from fakegram.params import ApiError, bad_request
from fakegram.state import Notifier, now_ts

_LOGGER = logging.getLogger(__name__)

JSONDict = dict[str, Any]

# Telegram's default when allowed_updates is unset or empty.
_NOT_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
POLL_CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one "
    "bot instance is running"
)


@dataclass
class WebhookConfig:
    url: str = ""
    secret_token: str | None = None
    max_connections: int = 40
    allowed_updates: list[str] | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None
    delivered: int = 0


class UpdateQueue:
    def __init__(self, changed: Notifier | None = None) -> None:
        self._pending: deque[JSONDict] = deque()
        self._next_update_id = 1
        self._allowed: frozenset[str] | None = None
        self._generation = 0
        self._closing = False
        # Shared with the world so one wait can cover both bot output and update delivery.
        self.changed = changed or Notifier()
        self.webhook = WebhookConfig()
        self.delivered_by_polling = 0

    @property
    def pending_count(self) -> int:
        return len(self._pending)

    @property
    def issued(self) -> int:
        """How many updates were queued so far (ids 1 to this)."""
        return self._next_update_id - 1

    def pending(self) -> list[JSONDict]:
        return list(self._pending)

    def push(self, kind: str, payload: JSONDict) -> int | None:
        """Queue an update; returns its id, or None if the bot did not subscribe to ``kind``."""
        if not self._is_allowed(kind):
            return None
        update_id = self._next_update_id
        self._next_update_id += 1
        self._pending.append({"update_id": update_id, kind: payload})
        self.changed.notify()
        return update_id

    def push_raw(self, update: JSONDict) -> int:
        """Queue an update exactly as given (only its update_id is assigned), whatever its
        shape: for testing how a bot copes with updates its library cannot read."""
        update_id = self._next_update_id
        self._next_update_id += 1
        self._pending.append({**update, "update_id": update_id})
        self.changed.notify()
        return update_id

    def _is_allowed(self, kind: str) -> bool:
        if self._allowed is None:
            return kind not in _NOT_DEFAULT
        return kind in self._allowed

    def set_allowed(self, allowed: Any) -> None:
        if allowed is None:
            return
        if not isinstance(allowed, list):
            raise bad_request("can't parse allowed_updates JSON array")
        # An empty list restores the default subscription, like Telegram.
        self._allowed = frozenset(str(kind) for kind in allowed) if allowed else None

    def delivered(self, update_id: int) -> None:
        """One update taken by the webhook (which may take them out of order)."""
        before = len(self._pending)
        self._pending = deque(u for u in self._pending if u["update_id"] != update_id)
        if len(self._pending) != before:
            self.changed.notify()

    def confirm(self, offset: int) -> None:
        before = len(self._pending)
        if offset < 0:
            while len(self._pending) > -offset:
                self._pending.popleft()
        else:
            while self._pending and self._pending[0]["update_id"] < offset:
                self._pending.popleft()
        if len(self._pending) != before:
            self.changed.notify()

    @property
    def polls(self) -> int:
        """How many getUpdates calls have started (tests wait for a poll to be parked)."""
        return self._generation

    def drop_all(self) -> None:
        self._pending.clear()

    def close(self) -> None:
        """Release every parked long poll (server shutdown) and answer new ones at once."""
        self._closing = True
        self.changed.notify()

    def reopen(self) -> None:
        self._closing = False

    async def get_updates(
        self, offset: int | None, limit: int, poll_seconds: float, allowed: Any
    ) -> list[JSONDict]:
        if self.webhook.url:
            raise ApiError(409, WEBHOOK_CONFLICT)
        self.set_allowed(allowed)
        # A newer poll terminates an older one still waiting (Telegram answers it with 409).
        self._generation += 1
        generation = self._generation
        self.changed.notify()
        if offset is not None and offset != 0:
            self.confirm(offset)
        limit = min(max(limit, 1), 100)
        deadline = time.monotonic() + max(0.0, poll_seconds)
        while True:
            if self._closing:
                return []
            if self._pending:
                batch = list(self._pending)[:limit]
                self.delivered_by_polling += len(batch)
                return batch
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            await self.changed.wait(remaining)
            if generation != self._generation:
                raise ApiError(409, POLL_CONFLICT)


class WebhookDelivery:
    """Posts pending updates one by one to the webhook URL, like Telegram's delivery loop."""

    def __init__(self, queue: UpdateQueue) -> None:
        self._queue = queue
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None

    def configure(self, params: JSONDict) -> None:
        url = str(params.get("url") or "")
        if url:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or parts.hostname not in _LOOPBACK:
                raise bad_request(
                    "bad webhook: fakegram only delivers to http(s) URLs on 127.0.0.1/localhost"
                )
        webhook = self._queue.webhook
        webhook.url = url
        webhook.secret_token = params.get("secret_token") or None
        webhook.max_connections = int(params.get("max_connections") or 40)
        allowed = params.get("allowed_updates")
        if allowed is not None:
            self._queue.set_allowed(allowed)
            webhook.allowed_updates = list(allowed)
        if params.get("drop_pending_updates"):
            self._queue.drop_all()
        if url and (self._task is None or self._task.done()):
            self._task = asyncio.create_task(self._run(), name="fakegram-webhook")
        self._queue.changed.notify()

    def info(self) -> JSONDict:
        webhook = self._queue.webhook
        data: JSONDict = {
            "url": webhook.url,
            "has_custom_certificate": False,
            "pending_update_count": self._queue.pending_count,
        }
        if webhook.url:
            data["max_connections"] = webhook.max_connections
            data["ip_address"] = "127.0.0.1"
            if webhook.allowed_updates is not None:
                data["allowed_updates"] = webhook.allowed_updates
        if webhook.last_error_date is not None:
            data["last_error_date"] = webhook.last_error_date
            data["last_error_message"] = webhook.last_error_message
        return data

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _run(self) -> None:
        """Up to max_connections updates in flight at once, as Telegram does: updates of
        different chats, and of one chat too, may reach the bot out of order."""
        in_flight: dict[int, asyncio.Task[None]] = {}
        try:
            while True:
                webhook = self._queue.webhook
                if not webhook.url:
                    return
                free = webhook.max_connections - len(in_flight)
                waiting = [u for u in self._queue.pending() if u["update_id"] not in in_flight]
                for update in waiting[: max(0, free)]:
                    task = asyncio.create_task(self._deliver(webhook, update))
                    in_flight[update["update_id"]] = task
                    task.add_done_callback(partial(self._finished, in_flight, update["update_id"]))
                await self._queue.changed.wait(1.0)
        finally:
            for task in in_flight.values():
                task.cancel()

    def _finished(
        self, in_flight: dict[int, asyncio.Task[None]], key: int, _task: asyncio.Task[None]
    ) -> None:
        in_flight.pop(key, None)
        self._queue.changed.notify()

    async def _deliver(self, webhook: WebhookConfig, update: JSONDict) -> None:
        backoff = 0.05
        while webhook.url:
            if await self._post(webhook, update):
                self._queue.delivered(update["update_id"])
                webhook.delivered += 1
                return
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 1.0)

    async def _post(self, webhook: WebhookConfig, update: JSONDict) -> bool:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        headers = {"Content-Type": "application/json"}
        if webhook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = webhook.secret_token
        try:
            async with self._session.post(
                webhook.url,
                data=json.dumps(update),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=10),
            ) as response:
                if 200 <= response.status < 300:
                    return True
                message = f"Wrong response from the webhook: {response.status} {response.reason}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            message = f"Connection failed: {exc!r}"
        _LOGGER.debug("webhook delivery failed: %s", message)
        webhook.last_error_date = now_ts()
        webhook.last_error_message = message
        return False
