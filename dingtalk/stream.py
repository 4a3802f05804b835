"""The Stream-mode connection: open it over HTTPS with the app's credentials, keep a
WebSocket to the endpoint DingTalk returns, answer its pings, acknowledge every frame once
handled, and reconnect (with back-off) on a disconnect notice or a dropped socket.

A small client on aiohttp rather than the official `dingtalk-stream` package: that one
makes its connection and token calls with blocking `requests` inside the event loop, and
its endpoints are module constants, so pointing it at a test server means patching it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from dingtalk.protocol import DISCONNECT, PING, Frame

log = logging.getLogger("cuibao.dingtalk.stream")

Handler = Callable[[Frame], Awaitable[Any]]  # returns the callback's response


class StreamClient:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        client_id: str,
        client_secret: str,
        topics: dict[str, Handler],
        *,
        api_base: str = "https://api.dingtalk.com",
        max_backoff: float = 30.0,
    ) -> None:
        self.session = session
        self.client_id, self.client_secret = client_id, client_secret
        self.topics = topics
        self.api_base = api_base.rstrip("/")
        self.max_backoff = max_backoff
        self.connections = 0  # sockets opened so far (tests watch reconnects)
        self.connected = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False

    async def open(self) -> tuple[str, str]:
        """The WebSocket endpoint and its one-time ticket."""
        body = {
            "clientId": self.client_id,
            "clientSecret": self.client_secret,
            "subscriptions": [{"type": "CALLBACK", "topic": t} for t in self.topics],
            "ua": "cuibao",
        }
        async with self.session.post(
            f"{self.api_base}/v1.0/gateway/connections/open", json=body
        ) as r:
            r.raise_for_status()
            found = await r.json(content_type=None)
        return str(found["endpoint"]), str(found["ticket"])

    async def run(self) -> None:
        """Serve until cancelled: connect, read, and connect again after any failure."""
        failures = 0
        while not self._stopping:
            try:
                endpoint, ticket = await self.open()
                async with self.session.ws_connect(
                    endpoint, params={"ticket": ticket}, heartbeat=60
                ) as ws:
                    self.connections += 1
                    failures = 0
                    self.connected.set()
                    await self._read(ws)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the network, the gateway: try again later
                failures += 1
                log.warning("DingTalk Stream connection failed (%d in a row): %s", failures, error)
            finally:
                self.connected.clear()
            if not self._stopping:
                await asyncio.sleep(min(self.max_backoff, 0.2 * 2 ** min(failures, 8)))

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for message in ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            frame = Frame.parse(message.data)
            if frame is None:
                log.warning("DingTalk Stream: unreadable frame skipped")
                continue
            if frame.type == "SYSTEM":
                if frame.topic == PING:
                    await ws.send_str(frame.ack())
                elif frame.topic == DISCONNECT:
                    log.info("DingTalk Stream: the server asks to reconnect")
                    await ws.close()
                    return
                continue
            handler = self.topics.get(frame.topic)
            if handler is None:
                await ws.send_str(frame.ack())
                continue
            # Handled concurrently (the adapter keeps one person's messages in order);
            # acknowledged once handled, so an unhandled one is delivered again.
            task = asyncio.create_task(self._handle(ws, handler, frame))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _handle(
        self, ws: aiohttp.ClientWebSocketResponse, handler: Handler, frame: Frame
    ) -> None:
        try:
            response = await handler(frame)
        except Exception:
            log.exception("DingTalk Stream: handling a %s frame failed", frame.topic)
            return  # not acknowledged: DingTalk delivers it again
        if not ws.closed:
            with contextlib.suppress(ConnectionError):
                await ws.send_str(frame.ack(response))

    async def stop(self) -> None:
        self._stopping = True
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
