"""The sending edge serves people's replies before nudges (bot/rate_limit.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from telegram.ext import AIORateLimiter

from bot.rate_limit import BACKGROUND, RepliesFirst


async def _share_of_replies(limiter: AIORateLimiter, *, background: Any) -> float:
    """Four nudge senders (the dispatcher's concurrency) and five people chatting share a
    limiter of 20 messages a second for 1.5 s: the share of the sends that were replies."""
    await limiter.initialize()
    sent: list[str] = []
    stop = asyncio.Event()

    async def send(kind: str) -> bool:
        sent.append(kind)
        return True

    async def nudges(k: int) -> None:
        while not stop.is_set():
            await limiter.process_request(
                send, ("nudge",), {}, "sendMessage", {"chat_id": 100 + k}, background
            )

    async def person(k: int) -> None:
        while not stop.is_set():
            await limiter.process_request(
                send, ("reply",), {}, "sendMessage", {"chat_id": k}, None
            )

    tasks = [asyncio.create_task(nudges(k)) for k in range(4)]
    await asyncio.sleep(0.3)  # the burst is under way when people start answering
    mark = len(sent)
    tasks += [asyncio.create_task(person(k)) for k in range(5)]
    await asyncio.sleep(1.5)
    stop.set()
    await asyncio.gather(*tasks)
    window = sent[mark:]
    return window.count("reply") / len(window)


async def test_replies_take_most_of_the_limit_while_a_burst_of_nudges_waits_behind_them() -> None:
    # yield_seconds beyond the window: only the priority is measured, not the escape that
    # keeps nudges moving (each sender goes anyway after yield_seconds, 1 s by default).
    limiter = RepliesFirst(
        overall_max_rate=20, overall_time_period=1, max_retries=0, yield_seconds=5
    )

    share = await _share_of_replies(limiter, background=BACKGROUND)

    assert share >= 0.8  # the four nudges already queued when people started still go first


async def test_without_it_replies_queue_with_the_nudges_in_arrival_order() -> None:
    limiter = AIORateLimiter(overall_max_rate=20, overall_time_period=1, max_retries=0)

    share = await _share_of_replies(limiter, background=None)

    assert share < 0.65  # half and half: what RepliesFirst is for
