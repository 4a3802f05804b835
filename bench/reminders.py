"""How close automatic reminders come to the flood limit, without a 429 or a duplicate.

    python bench/reminders.py [--reminders 10000] [--rate 300] [--burst B]
                              [--concurrency 4] [--postgres URL]

10,000 liaisons (one unit each) owe the same deadline and their nudge falls due at the same
instant. A fake Bot API server runs in its own process and answers 429 past `--rate`
sends per second (a token bucket holding `--burst`, default 1.1 × rate: requests reach it
with a few milliseconds of jitter after the bot's limiter let them through). The bot is the
real Application, its AIORateLimiter set to the same rate; the reminder dispatcher claims,
sends and records every nudge (SQLite in a temp file, or PostgreSQL in a fresh schema).

Prints the achieved rate over R (target >= 0.9) for the sending phase (first send to last)
and for the whole run (reading the database included), the 429s the server answered
(target 0) and the chats that got a nudge more than once (must be 0).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

from pydantic import SecretStr
from sqlalchemy import insert, select, text
from sqlalchemy.pool import NullPool

from bot.app import build_application
from bot.config import HEADROOM, BotSettings, DatabaseSettings, RateLimitSettings, Settings
from bot.nudge_loop import CatalogueRenderer, ReminderNotifier
from conversation.i18n import Catalogue
from domain.plan_toml import parse_plan
from fakegram.client import FakeTelegramClient
from services.nudges import ReminderConfig, ReminderDispatcher
from services.plans import load_plan
from services.ports import Button, Delivery
from storage import models as m
from storage.database import Database
from storage.db import create_engine

# Wednesday 2025-03-12 10:00 in Beijing; the deadline is Friday 03-14 17:30, so every
# liaison's "three working days before" nudge (03-11 09:00) is the one valid now.
NOW = datetime(2025, 3, 12, 2, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[1]
DUE = date(2025, 3, 14)


def plan_text(units: int) -> str:
    lines = [
        "[campaign]",
        'id = "bench-reminders"',
        'name = "催报压测"',
        'office = "压测局"',
        'coordinator = "压测中心"',
        "issued = 2025-03-01",
        "start = 2025-03-01",
        "end = 2025-03-31",
        "",
    ]
    for i in range(units):
        lines += ["[[units]]", f'id = "u{i:05d}"', f'name = "单位{i:05d}"', ""]
    lines += [
        "[forms.f]",
        'title = "报表"',
        "[[forms.f.fields]]",
        'id = "n"',
        'label = "数"',
        'type = "integer"',
        "",
        "[[obligations]]",
        'id = "report"',
        'title = "专项报表"',
        'form = "f"',
        f'schedule = {{ kind = "once", date = {DUE} }}',
        "",
    ]
    return "\n".join(lines)


async def seed(db: Database, external_ids: Sequence[int]) -> None:
    source = plan_text(len(external_ids))
    await load_plan(
        db.sessions,
        parse_plan(source, "bench.toml"),
        "bench.toml",
        source,
        datetime(2025, 3, 1, tzinfo=UTC),
    )
    async with db.sessions.begin() as s:
        campaign_id = await s.scalar(select(m.Campaign.id))
        units = (await s.scalars(select(m.Unit.id).order_by(m.Unit.position))).all()
        created = datetime(2025, 3, 1, tzinfo=UTC)
        await s.execute(
            insert(m.Person),
            [
                {
                    "platform": "telegram",
                    "external_id": str(x),
                    "display_name": f"联络员{x}",
                    "reachable": True,
                    "created_at": created,
                }
                for x in external_ids
            ],
        )
        people = dict((await s.execute(select(m.Person.external_id, m.Person.id))).all())
        await s.execute(
            insert(m.Membership),
            [
                {
                    "campaign_id": campaign_id,
                    "person_id": people[str(x)],
                    "unit_id": unit,
                    "role": "liaison",
                    "created_at": created,
                }
                for x, unit in zip(external_ids, units, strict=True)
            ],
        )


@asynccontextmanager
async def database(postgres: str | None) -> AsyncIterator[Database]:
    if postgres is None:
        with tempfile.TemporaryDirectory() as folder:
            async with Database.open(f"sqlite:///{folder}/bench.sqlite3") as db:
                yield db
        return
    schema = f"bench_{uuid4().hex[:12]}"
    admin = create_engine(postgres, poolclass=NullPool)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        options: dict[str, Any] = {"connect_args": {"server_settings": {"search_path": schema}}}
        async with Database.open(postgres, **options) as db:
            yield db
    finally:
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


@asynccontextmanager
async def fake_server(users: int) -> AsyncIterator[dict[str, Any]]:
    """fakegram in a process of its own, so serving does not slow the bot down."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "fakegram",
        "--port",
        "0",
        "--json",
        "--users",
        str(users),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        info: dict[str, Any] = json.loads(await process.stdout.readline())
        yield info
    finally:
        process.terminate()
        await process.wait()


class TimedNotifier:
    """Wraps the real sending edge to note when the first and the last send happened."""

    def __init__(self, inner: ReminderNotifier) -> None:
        self.inner = inner
        self.first = self.last = 0.0
        self.outcomes: Counter[Delivery] = Counter()

    async def send(
        self, external_id: str, text: str, buttons: Sequence[Sequence[Button]] = ()
    ) -> Delivery:
        now = time.perf_counter()
        self.first = self.first or now
        outcome = await self.inner.send(external_id, text, buttons)
        self.last = time.perf_counter()
        self.outcomes[outcome] += 1
        return outcome


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    burst = args.burst or args.rate
    limit = args.rate * args.headroom
    async with fake_server(args.reminders) as info, database(args.postgres) as db:
        control_url = info["control_url"].removesuffix("/_control")
        first_user = 10_001  # `--users N` creates ids 10001, 10002, …
        external_ids = list(range(first_user, first_user + args.reminders))
        started = time.perf_counter()
        await seed(db, external_ids)
        seeded = time.perf_counter() - started
        settings = Settings(
            bot=BotSettings(api_base_url=info["base_url"], api_file_url=info["base_file_url"]),
            database=DatabaseSettings(url="sqlite://"),
            rate_limit=RateLimitSettings(overall_per_second=limit, max_retries=5),
            token=SecretStr(info["token"]),
        )
        app = build_application(settings, clock=lambda: NOW, database=db)
        async with FakeTelegramClient(control_url) as fake, app:
            await fake.set_flood_limit(args.rate, burst=burst)
            await fake.reset_stats()
            notifier = TimedNotifier(ReminderNotifier(app.bot))
            dispatcher = ReminderDispatcher(
                db.sessions,
                notifier,
                CatalogueRenderer(Catalogue()),
                lambda: NOW,
                ReminderConfig(
                    digest_at=None, concurrency=args.concurrency, claim_batch=args.batch
                ),
            )
            # Let the limiter's bucket be full, as it is for a bot that has been idle.
            await asyncio.sleep(1.5)
            began = time.perf_counter()
            report = await dispatcher.run()
            ended = time.perf_counter()
            again = await dispatcher.run()  # a second run must find nothing to send
            stats = await fake.stats()
            calls = await fake.calls("sendMessage", limit=args.reminders * 2 + 100)
    delivered = Counter(c["params"]["chat_id"] for c in calls if c["status"] == 200)
    send_phase = notifier.last - notifier.first
    return {
        "reminders": args.reminders,
        "R": args.rate,
        "bot_limit": round(limit, 1),
        "fake_burst": burst,
        "backend": "postgresql" if args.postgres else "sqlite",
        "concurrency": args.concurrency,
        "seed_s": round(seeded, 2),
        "sent": report.sent,
        "failed": report.failed,
        "second_run_sent": again.sent,
        "delivered_chats": len(delivered),
        "duplicates": sum(n - 1 for n in delivered.values()),
        "http_429": stats["flood_429"],
        "send_phase_s": round(send_phase, 2),
        "achieved_per_s": round(report.sent / send_phase, 1) if send_phase else 0.0,
        "achieved_over_R": round(report.sent / send_phase / args.rate, 3) if send_phase else 0.0,
        "whole_run_s": round(ended - began, 2),
        "whole_run_over_R": round(report.sent / (ended - began) / args.rate, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reminders", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=300.0, help="R: the fake's msgs/s")
    parser.add_argument(
        "--burst", type=float, default=None, help="the fake's token bucket size (default R)"
    )
    parser.add_argument(
        "--headroom",
        type=float,
        default=HEADROOM,
        help=f"the bot's limiter at this share of R (default {HEADROOM}, as cuibao's own)",
    )
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--batch", type=int, default=50, help="claims per transaction")
    parser.add_argument(
        "--postgres", default=None, help="PostgreSQL URL (default: SQLite in a temp file)"
    )
    args = parser.parse_args()
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    result = asyncio.run(bench(args))
    for key, value in result.items():
        print(f"{key:>18}: {value}")
    ok = (
        result["achieved_over_R"] >= 0.9
        and result["http_429"] == 0
        and result["duplicates"] == 0
        and result["delivered_chats"] == args.reminders
    )
    print("OK" if ok else "MISSED TARGET")


if __name__ == "__main__":
    main()
