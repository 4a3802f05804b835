"""Helpers for the reminder tests that need other processes, plus their entry point.

    python -m tests.e2e.reminders_worker dispatch --db URL [--schema S] --now ISO --start T
        one dispatcher run with a recording notifier; prints what it sent as JSON
    python -m tests.e2e.reminders_worker bot --db URL [--schema S] --base-url U --file-url U
                                              --token T --now ISO [--rate R] [--concurrency N]
        the real Application against a fake Bot API, sending reminders until killed
    python -m tests.e2e.reminders_worker dingtalk --db URL [--schema S] --base-url U
                                              --client-id C --secret S --files DIR --now ISO
        cuibao on DingTalk (Stream + OpenAPI) against a fake DingTalk, sending reminders
        until killed

The clock starts at --now and runs at the speed of the wall clock from there.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import time as wallclock
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select

from domain.plan_toml import parse_plan
from services.plans import load_plan
from services.ports import Button, Delivery
from storage import models as m
from storage.database import Database

BULK = "bulk-reminders"
# Wednesday 2025-03-12 10:00 in Beijing: the "three working days before" nudges of the
# deadlines on Friday 03-14 and Monday 03-17 (17:30) are both valid.
NOW = datetime(2025, 3, 12, 2, 0, tzinfo=UTC)
DATES = (date(2025, 3, 14), date(2025, 3, 17))


def bulk_plan(units: int, dates: Sequence[date] = DATES) -> str:
    """A plan with `units` units and one one-off obligation due on each of `dates`."""
    lines = [
        "[campaign]",
        f'id = "{BULK}"',
        'name = "批量催报测试"',
        'office = "测试局"',
        'coordinator = "测试中心"',
        "issued = 2025-03-01",
        "start = 2025-03-01",
        "end = 2025-03-31",
        "",
    ]
    for i in range(units):
        lines += ["[[units]]", f'id = "u{i:05d}"', f'name = "单位{i:05d}"', ""]
    lines += [
        "[forms.stats]",
        'title = "统计表"',
        "[[forms.stats.fields]]",
        'id = "cases"',
        'label = "案件数"',
        'type = "integer"',
        "",
        "[[obligations]]",
        'id = "report"',
        'title = "专项报表"',
        'form = "stats"',
        f'schedule = {{ kind = "once", dates = [{", ".join(map(str, dates))}] }}',
        "",
    ]
    return "\n".join(lines)


async def seed(db: Database, external_ids: Sequence[int], dates: Sequence[date] = DATES) -> None:
    """Load the bulk plan with one unit per external id, each its unit's liaison."""
    text = bulk_plan(len(external_ids), dates)
    await load_plan(
        db.sessions,
        parse_plan(text, "bulk.toml"),
        "bulk.toml",
        text,
        datetime(2025, 3, 1, tzinfo=UTC),
    )
    await bind_liaisons(db, external_ids)


async def bind_liaisons(db: Database, external_ids: Sequence[int]) -> None:
    """Make each external id the liaison of one unit of the bulk plan, in order."""
    await bind_people(db, [[("telegram", str(x), "liaison")] for x in external_ids])


async def bind_people(db: Database, seats: Sequence[Sequence[tuple[str, str, str]]]) -> None:
    """Seat people in the units of the bulk plan, in order: for each unit, its people as
    (platform, external id, role)."""
    async with db.sessions.begin() as s:
        campaign_id = await s.scalar(select(m.Campaign.id).where(m.Campaign.code == BULK))
        units = (
            await s.scalars(
                select(m.Unit.id)
                .where(m.Unit.campaign_id == campaign_id)
                .order_by(m.Unit.position)
            )
        ).all()
        created = datetime(2025, 3, 1, tzinfo=UTC)
        await s.execute(
            insert(m.Person),
            [
                {
                    "platform": platform,
                    "external_id": external_id,
                    "display_name": f"联络员{external_id}",
                    "reachable": True,
                    "created_at": created,
                }
                for people in seats
                for platform, external_id, _role in people
            ],
        )
        ids = {
            (platform, external_id): person_id
            for platform, external_id, person_id in (
                await s.execute(select(m.Person.platform, m.Person.external_id, m.Person.id))
            ).all()
        }
        await s.execute(
            insert(m.Membership),
            [
                {
                    "campaign_id": campaign_id,
                    "person_id": ids[(platform, external_id)],
                    "unit_id": unit,
                    "role": role,
                    "created_at": created,
                }
                for people, unit in zip(seats, units, strict=False)
                for platform, external_id, role in people
            ],
        )


@dataclass
class RunningClock:
    """Starts at `start`, then follows the wall clock."""

    start: datetime
    t0: float = field(default_factory=wallclock.monotonic)

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=wallclock.monotonic() - self.t0)


@dataclass
class RecordingNotifier:
    sent: list[str] = field(default_factory=list)

    async def send(
        self, external_id: str, text: str, buttons: Sequence[Sequence[Button]] = ()
    ) -> Delivery:
        await asyncio.sleep(0.001)  # a little latency, so two processes interleave
        self.sent.append(f"{external_id}|{buttons[0][0].data if buttons else text}")
        return Delivery.SENT


class LabelRenderer:
    def render(self, message: Any) -> tuple[str, Sequence[Sequence[Button]]]:
        return "nudge", [[Button("fill", f"sub:{message.deadline.deadline_id}")]]


def _engine_kwargs(schema: str | None) -> dict[str, Any]:
    if not schema:
        return {}
    return {"connect_args": {"server_settings": {"search_path": schema}}}


async def dispatch(args: argparse.Namespace) -> None:
    from services.nudges import ReminderConfig, ReminderDispatcher

    notifier = RecordingNotifier()
    async with Database.open(args.db, migrate=False, **_engine_kwargs(args.schema)) as db:
        dispatcher = ReminderDispatcher(
            db.sessions,
            notifier,
            LabelRenderer(),
            RunningClock(datetime.fromisoformat(args.now)),
            ReminderConfig(digest_at=None, concurrency=2, claim_batch=20),
        )
        await asyncio.sleep(max(0.0, args.start - wallclock.time()))
        lost = 0
        while True:
            report = await dispatcher.run()
            lost += report.lost
            if report.sent == 0:
                break
    print(json.dumps({"sent": notifier.sent, "lost": lost}))


async def bot(args: argparse.Namespace) -> None:
    from pydantic import SecretStr

    from bot.app import build_application
    from bot.config import (
        BotSettings,
        DatabaseSettings,
        RateLimitSettings,
        ReminderSettings,
        Settings,
    )
    from bot.nudge_loop import install_reminders

    settings = Settings(
        bot=BotSettings(api_base_url=args.base_url, api_file_url=args.file_url),
        database=DatabaseSettings(url=args.db),
        rate_limit=RateLimitSettings(overall_per_second=args.rate),
        token=SecretStr(args.token),
    )
    clock = RunningClock(datetime.fromisoformat(args.now))
    options = ReminderSettings(
        digest_at=None,
        concurrency=args.concurrency,
        claim_batch=args.batch,
        retry_after_seconds=1,
        send_backoff_seconds=0.1,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with Database.open(args.db, **_engine_kwargs(args.schema)) as db:
        app = build_application(settings, clock=clock, database=db)
        async with app:
            assert app.post_init is not None
            await app.post_init(app)
            install_reminders(app, db, settings, clock, options)
            await app.start()
            print("started", flush=True)
            await stop.wait()
            await app.stop()


async def dingtalk(args: argparse.Namespace) -> None:
    from pathlib import Path

    from pydantic import SecretStr

    from bot.config import DingTalkSettings, FileSettings, ReminderSettings, Settings
    from bot.dingtalk_app import running_dingtalk

    settings = Settings(
        dingtalk=DingTalkSettings(
            client_id=args.client_id,
            api_base_url=args.base_url,
            oapi_base_url=args.base_url,
            per_second=200,
        ),
        dingtalk_secret=SecretStr(args.secret),
        files=FileSettings(dir=args.files),
        reminders=ReminderSettings(
            digest_at=None,
            concurrency=args.concurrency,
            claim_batch=args.batch,
            retry_after_seconds=1,
            send_backoff_seconds=0.1,
        ),
        base_dir=Path(args.files),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    clock = RunningClock(datetime.fromisoformat(args.now))
    async with (
        Database.open(args.db, **_engine_kwargs(args.schema)) as db,
        running_dingtalk(settings, db, clock),
    ):
        print("started", flush=True)
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.e2e.reminders_worker")
    sub = parser.add_subparsers(dest="mode", required=True)
    one = sub.add_parser("dispatch")
    one.add_argument("--db", required=True)
    one.add_argument("--schema")
    one.add_argument("--now", default=NOW.isoformat())
    one.add_argument("--start", type=float, default=0.0, help="wall-clock time to begin at")
    two = sub.add_parser("bot")
    two.add_argument("--db", required=True)
    two.add_argument("--base-url", required=True)
    two.add_argument("--file-url", required=True)
    two.add_argument("--token", required=True)
    two.add_argument("--now", default=NOW.isoformat())
    two.add_argument("--rate", type=float, default=100.0)
    two.add_argument("--concurrency", type=int, default=1)
    two.add_argument("--batch", type=int, default=20)
    two.add_argument("--schema")
    three = sub.add_parser("dingtalk")
    three.add_argument("--db", required=True)
    three.add_argument("--schema")
    three.add_argument("--base-url", required=True)
    three.add_argument("--client-id", required=True)
    three.add_argument("--secret", required=True)
    three.add_argument("--files", required=True)
    three.add_argument("--now", default=NOW.isoformat())
    three.add_argument("--concurrency", type=int, default=2)
    three.add_argument("--batch", type=int, default=20)
    args = parser.parse_args(argv)
    runs = {"dispatch": dispatch, "bot": bot, "dingtalk": dingtalk}
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(runs[args.mode](args))


if __name__ == "__main__":
    main()
