"""Province soak: several `--role all` processes on one PostgreSQL behind a round-robin
proxy, under a nudge burst, people filling forms and a coordinator's export at once.

    python -m bench.province_soak [--workers 3] [--units 3000] [--nudges 10000]
                                  [--people 200] [--rate 300] [--postgres URL]

In a fresh database: a plan of `--units` units; `--nudges` liaisons spread over all but
the last `--people` units, each owed one nudge that falls due at once. Each of the
`--people` units has one more liaison, who fills in a 9-question form (12 steps, each
waiting for the bot's answer). One coordinator asks for /export as the burst starts. The
processes are the real queued serve (bot/queued.py) with the clock started on Wednesday
2025-03-12 10:00 in Beijing. fakegram runs in this process, delivers the webhook through
the proxy, and answers 429 past `--rate` (R) messages per second, in a bucket of exactly
R. The processes share one nudge budget of 0.75 R (`shared_per_second`). Each process's
limiter has 0.93 R divided among the processes, so replies keep room.

Prints, for `--workers` processes and then for one: the chat updates handled per second;
the p50 and p95 reply latency during the burst and the export; how long the export took;
nudges per second over R; 429s; duplicates and losses, counted from what fakegram received
(both must be 0). Last comes the ratio of the two runs. Exits 1 if a duplicate, a loss or
an unfinished form occurred.

Also the entry point of each process: `python -m bench.province_soak --serve CONFIG --now ISO`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp

from bot.config import load_settings
from bot.queued import serve
from domain.plan_toml import parse_plan
from fakegram import FakeTelegram
from fakegram.state import ChatMessage
from fakegram.waiting import WaitTimeout
from services.plans import load_plan
from storage.database import Database
from tests.e2e.reminders_worker import BULK, RunningClock, bind_people
from tests.procs import (
    bot_says,
    form_plan,
    free_port,
    fresh_database,
    round_robin,
    webhook_config,
)

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2025, 3, 12, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Beijing
DUE = date(2025, 3, 14)  # "3 working days before, 09:00" is due at NOW
FIELDS = 9
STEP_TIMEOUT = 120.0
CONFIRM = "✅ 确认提交"


def plan_text(units: int) -> str:
    return form_plan(
        units, campaign=BULK, start=date(2025, 3, 1), due=DUE, fields=FIELDS, name="省级压测"
    )


def config_text(
    fake: FakeTelegram, db_url: str, port: int, proxy: int, tmp: Path, args: argparse.Namespace
) -> str:
    per_process = round(args.rate * 0.93 / args.workers, 1)
    bot = f"coordinators = [{args.coordinator}]\n"
    return (
        webhook_config(fake, db_url, port, proxy, tmp / "files", bot)
        + f"""
[rate_limit]
overall_per_second = {per_process}

[reminders]
shared_per_second = {round(args.rate * 0.75)}
digest_at = "off"

[ops]
queue_concurrency = 16
queue_stalled_after_seconds = 10
"""
    )


async def step(
    fake: FakeTelegram, user: int, act: Callable[[], object], words: str, lat: list[float]
) -> ChatMessage:
    """Do `act` and wait for the bot's next message saying `words` (text or a button)."""
    began = time.monotonic()
    after = fake.chat(user).next_message_id - 1
    act()
    message = await bot_says(fake, user, after, words, STEP_TIMEOUT)
    lat.append(time.monotonic() - began)
    return message


async def fill_form(fake: FakeTelegram, user: int, lat: list[float]) -> None:
    tasks = await step(fake, user, lambda: fake.send_command(user, "submit"), "专项报表", lat)
    last = await step(
        fake,
        user,
        lambda: fake.press_button(user, tasks.message_id, tasks.buttons[0]["callback_data"]),
        "指标1",
        lat,
    )
    for f in range(FIELDS):
        expect = f"指标{f + 2}" if f + 1 < FIELDS else CONFIRM
        answer = str(user * 10 + f)
        last = await step(fake, user, partial(fake.send_text, user, answer), expect, lat)
    preview = last
    began = time.monotonic()
    fake.press_button(user, preview.message_id, text=CONFIRM)
    await fake.wait_until(lambda: bool(preview.edits) or None, STEP_TIMEOUT, describe="receipt")
    lat.append(time.monotonic() - began)


async def export(fake: FakeTelegram, coordinator: int) -> float:
    chat = fake.chat(coordinator)
    began = time.monotonic()
    fake.send_command(coordinator, "export")
    await fake.wait_until(
        lambda: any(m.document is not None for m in chat.messages.values()) or None,
        600,
        describe="the export",
    )
    return time.monotonic() - began


async def run(args: argparse.Namespace, workers: int) -> dict[str, Any]:
    args.workers = workers
    nudged_ids = list(range(10_001, 10_001 + args.nudges))
    first_form = 10_001 + args.nudges
    form_ids = list(range(first_form, first_form + args.people))
    args.coordinator = form_ids[-1] + 1
    spread = args.units - args.people
    seats: list[list[tuple[str, str, str]]] = [[] for _ in range(args.units)]
    for i, person in enumerate(nudged_ids):
        seats[i % spread].append(("telegram", str(person), "liaison"))
    for i, person in enumerate(form_ids):
        seats[spread + i].append(("telegram", str(person), "liaison"))
    with tempfile.TemporaryDirectory(prefix="cuibao-soak-") as folder:
        tmp = Path(folder)
        async with fresh_database(args.postgres) as db_url, FakeTelegram() as fake:
            fake.calls = deque(maxlen=args.nudges * 3 + 50_000)
            fake.add_users(args.nudges + args.people + 1)
            fake.set_flood_limit(args.rate, burst=args.rate)
            async with Database.open(db_url) as db:
                text = plan_text(args.units)
                await load_plan(db.sessions, parse_plan(text, "soak.toml"), "soak.toml", text, NOW)
                await bind_people(db, seats)
            ports = [free_port() for _ in range(workers)]
            async with round_robin(ports) as proxy:
                processes = []
                for i, port in enumerate(ports):
                    config = tmp / f"w{i}.toml"
                    config.write_text(
                        config_text(fake, db_url, port, proxy, tmp, args), encoding="utf-8"
                    )
                    processes.append(_spawn(config, fake.token, tmp / f"w{i}.log"))
                try:
                    await _until_healthy(ports)
                    began = time.monotonic()
                    latencies: list[float] = []
                    exporting = asyncio.create_task(export(fake, args.coordinator))
                    await asyncio.gather(*(fill_form(fake, u, latencies) for u in form_ids))
                    chat_s = time.monotonic() - began
                    export_s = await exporting
                    if nudged_ids:
                        await _until_nudged(fake, set(nudged_ids), args.nudges / 10)
                finally:
                    for process in processes:
                        process.send_signal(signal.SIGTERM)
                    for process in processes:
                        process.wait(60)
    calls = [c for c in fake.calls if c.method == "sendMessage" and c.status == 200]
    nudges = [c for c in calls if int(c.params.get("chat_id", 0)) in set(nudged_ids)]
    per_chat = Counter(int(c.params["chat_id"]) for c in nudges)
    spread_s = nudges[-1].at - nudges[0].at if len(nudges) > 1 else 0.0
    latencies.sort()
    return {
        "workers": workers,
        "updates_per_s": round(args.people * 12 / chat_s, 1),
        "chat_p50_ms": round(statistics.median(latencies) * 1000),
        "chat_p95_ms": round(latencies[int(len(latencies) * 0.95)] * 1000),
        "export_s": round(export_s, 2),
        "nudges_sent": sum(per_chat.values()),
        "nudges_over_R": round(len(nudges) / spread_s / args.rate, 3) if spread_s else 0.0,
        "http_429": fake.stats.flood_429,
        "duplicates": sum(n - 1 for n in per_chat.values() if n > 1),
        "losses": len(set(nudged_ids) - set(per_chat)),
    }


def _spawn(config: Path, token: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as stderr:  # each process's clock starts at NOW when it starts
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.province_soak",
                "--serve",
                str(config),
                "--now",
                NOW.isoformat(),
            ],
            cwd=ROOT,
            env={**os.environ, "TELEGRAM_BOT_TOKEN": token},
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )


async def _until_healthy(ports: list[int]) -> None:
    async with aiohttp.ClientSession() as session:
        for port in ports:
            for _ in range(600):
                try:
                    async with session.get(f"http://127.0.0.1:{port}/healthz") as answer:
                        if answer.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
            else:
                raise SystemExit(f"the process on port {port} never became healthy")


async def _until_nudged(fake: FakeTelegram, people: set[int], seconds: float) -> None:
    def done() -> bool | None:
        return all(fake.chat(p).next_message_id > 1 for p in people) or None

    with contextlib.suppress(WaitTimeout):  # what is missing then is counted as lost
        await fake.wait_until(done, max(60.0, seconds), describe="every nudge")


def serve_main(config: Path, now: datetime) -> None:
    settings = load_settings(config)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(settings, "all", stop, clock=RunningClock(now))

    asyncio.run(main())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--units", type=int, default=3000)
    parser.add_argument("--nudges", type=int, default=10_000)
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--rate", type=float, default=300.0)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("CUIBAO_TEST_POSTGRES_URL")
        or "postgresql://postgres@127.0.0.1:5432/postgres",
    )
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--now", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        serve_main(args.serve, datetime.fromisoformat(args.now))
        return 0
    results = [asyncio.run(run(args, n)) for n in (args.workers, 1)]
    for result in results:
        print("  ".join(f"{key}={value}" for key, value in result.items()))
    many, one = results
    speed = many["updates_per_s"] / one["updates_per_s"]
    print(
        f"{many['workers']} workers / 1: updates/s x{speed:.2f},"
        f" p95 x{many['chat_p95_ms'] / max(1, one['chat_p95_ms']):.2f},"
        f" export x{many['export_s'] / one['export_s']:.2f}"
    )
    ok = all(r["duplicates"] == 0 and r["losses"] == 0 for r in results)
    print("OK" if ok else "MISSED: duplicates or losses")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
