"""Replies first at the sending edge.

One process's sends share one limiter, Telegram's ~30 messages a second. During a burst
of nudges (a province's deadline: thousands due at once), PTB's limiter serves requests
in the order they came. A person's reply to an answer then waits behind hundreds of
queued nudges (4 s at the median in bench/province_soak.py). Here a nudge marked
`BACKGROUND` enters the limiter only when it has room and no reply of this process is
waiting or being sent (for at most `yield_seconds`), so people are served first and the
nudges take what is left. Across processes
the shared nudge budget (`[reminders] shared_per_second`) still caps the nudges.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from telegram._utils.types import JSONDict
from telegram.ext import AIORateLimiter


@dataclass(frozen=True)
class Background:
    """`rate_limit_args` of a send that may wait for replies (a nudge, a digest)."""

    max_retries: int | None = None


BACKGROUND = Background()
POLL = 0.005  # seconds between a waiting nudge's looks at the limiter


class RepliesFirst(AIORateLimiter):
    def __init__(self, *args: Any, yield_seconds: float = 1.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.yield_seconds = yield_seconds
        self._replies = 0

    def _has_room(self) -> bool:
        # PTB keeps its overall limiter (an aiolimiter.AsyncLimiter) in _base_limiter.
        base = getattr(self, "_base_limiter", None)
        return base is None or bool(base.has_capacity())

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Background | int | None,
    ) -> bool | JSONDict | list[JSONDict]:
        if isinstance(rate_limit_args, Background):
            # Into the limiter only when it has room and no reply waits for it (the reply
            # would queue behind): checked right before PTB acquires it, with no await in
            # between. After `yield_seconds` a nudge queues like any request.
            deadline = time.monotonic() + self.yield_seconds
            while (self._replies or not self._has_room()) and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(POLL)  # room comes with time, not with an event
            return await super().process_request(
                callback, args, kwargs, endpoint, data, rate_limit_args.max_retries
            )
        self._replies += 1
        try:
            return await super().process_request(
                callback, args, kwargs, endpoint, data, rate_limit_args
            )
        finally:
            self._replies -= 1
