"""The same chat flow through the DingTalk adapter (Stream WebSocket + OpenAPI, against the
fake DingTalk) and through the Telegram adapter (PTB over HTTP, against fakegram), in one
run: every liaison and deputy of the Daguan plan (12 people) binds, then fills weekly
report #3 by typing (报送 / a pick / eight answers), all at once. Prints updates/s and the
p50/p95 reply latency of each, and the ratio DingTalk/Telegram.

    python -m bench.dingtalk_vs_telegram [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

from fakedingtalk import Sent
from fakegram import ChatMessage
from tests.dingtalk.harness import COORDINATOR as DT_COORDINATOR
from tests.dingtalk.harness import Harness as DingTalkHarness
from tests.dingtalk.harness import dingtalk_bot
from tests.e2e.harness import Harness, running_bot

NOW = datetime(2016, 12, 14, 2, 0, tzinfo=UTC)
ANSWERS = ["12", "35", "3", "2", "1.5", "0.8", "2", "假冒白酒120瓶"]
CODE = re.compile(r"绑定 ([A-Za-z0-9_-]+)")


async def timed(latencies: list[float], step: Callable[[], Awaitable[object]]) -> object:
    start = time.perf_counter()
    found = await step()
    latencies.append(time.perf_counter() - start)
    return found


async def dingtalk_round(folder: Path, per_second: float) -> tuple[int, float, list[float]]:
    async with dingtalk_bot(folder, NOW, per_second=per_second) as bot:
        people = await _bind_dingtalk(bot)
        latencies: list[float] = []

        async def flow(user: str) -> None:
            replies = await timed(latencies, lambda: bot.say(user, "报送"))
            [menu] = cast(list[Sent], replies)
            await timed(latencies, lambda: bot.say(user, menu.option("信息周报第3期")))
            for answer in ANSWERS:
                await timed(latencies, lambda a=answer: bot.say(user, a))  # type: ignore[misc]

        start = time.perf_counter()
        await asyncio.gather(*(flow(u) for u in people))
        return len(latencies), time.perf_counter() - start, latencies


async def _bind_dingtalk(bot: DingTalkHarness) -> list[str]:
    [links, *_] = await bot.say(DT_COORDINATOR, "邀请")
    codes = [m.group(0) for m in map(CODE.search, links.text.splitlines()) if m]
    people = []
    for i, code in enumerate(codes):
        for role in ("a", "b"):  # the liaison, then the deputy
            user = f"user{i}{role}"
            bot.fake.add_user(user, user)
            await bot.say(user, code)
            people.append(user)
    return people


async def telegram_round(folder: Path) -> tuple[int, float, list[float]]:
    async with running_bot(folder, NOW) as bot:
        people = await _bind_telegram(bot)
        latencies: list[float] = []

        async def flow(user: int) -> None:
            shown = await timed(latencies, lambda: bot.command(user, "submit"))
            [pick] = cast(list[ChatMessage], shown)
            await timed(latencies, lambda: bot.press(user, pick, text="信息周报第3期"))
            for answer in ANSWERS:
                await timed(latencies, lambda a=answer: bot.text(user, a))  # type: ignore[misc]

        start = time.perf_counter()
        await asyncio.gather(*(flow(u) for u in people))
        return len(latencies), time.perf_counter() - start, latencies


async def _bind_telegram(bot: Harness) -> list[int]:
    links = await bot.invite_links()
    people = []
    for i, token in enumerate(links.values()):
        for role in (0, 1):
            user = 5000 + 10 * i + role
            await bot.join(user, f"user{user}", token)
            people.append(user)
    return people


def _line(name: str, rounds: list[tuple[int, float, list[float]]]) -> tuple[str, float]:
    rates = [n / seconds for n, seconds, _ in rounds]
    every = sorted(x for _, _, lat in rounds for x in lat)
    p95 = every[int(0.95 * (len(every) - 1))] * 1000
    p50 = statistics.median(every) * 1000
    rate = statistics.median(rates)
    return (
        f"{name:<9} {rate:7.0f} upd/s (runs {', '.join(f'{r:.0f}' for r in rates)})"
        f"  p50 {p50:6.1f} ms  p95 {p95:6.1f} ms"
    ), rate


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of each")
    parser.add_argument(
        "--per-second",
        type=float,
        default=15.0,
        help="DingTalk's app-wide send rate ([dingtalk] per_second)",
    )
    args = parser.parse_args()
    dingtalk, telegram = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.rounds):
            folder = Path(tmp) / f"d{i}"
            folder.mkdir()
            dingtalk.append(await dingtalk_round(folder, args.per_second))
            folder = Path(tmp) / f"t{i}"
            folder.mkdir()
            telegram.append(await telegram_round(folder))
    print(
        "12 people × 10 messages at once (bind first, not timed); SQLite; fakes on "
        f"loopback; DingTalk sends paced at {args.per_second:g}/s for the whole app"
    )
    d_line, d_rate = _line("DingTalk", dingtalk)
    t_line, t_rate = _line("Telegram", telegram)
    print(d_line)
    print(t_line)
    print(f"ratio DingTalk/Telegram throughput: {d_rate / t_rate:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
